/**
 * Hostile HEIF containers (an audit's reproductions, built here from the fixtures with the project's own
 * writer): bytes located for items nobody decodes, a grid naming one item hundreds of times, a file of
 * two images whose primary is not the first, boxes said twice, and valid files under brands one reader
 * took and another refused. Each is refused with HeifFormatError / INVALID_IMAGE, bounded in what it
 * allocates, or decoded as libheif reads it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaceReconError, type RgbImage } from '@facerecon/shared';
import { decodeImage } from '../../src/adapters/image-io';
import { gridDescriptor, HeifFormatError, heifProperty, readHeif, writeHeif, type HeifItem, type HeifWriteItem } from '../../src/image/heif-container';
import { planHeifGrid } from '../../src/image/heif-grid';
import { FIXTURES_DIR } from '../fixtures';

const bytesOf = (f: string) => new Uint8Array(readFileSync(join(FIXTURES_DIR, f)));
const astronaut = () => readHeif(bytesOf('astronaut.heic'));
const asWritten = (it: HeifItem, id: number, hidden = false): HeifWriteItem => ({ id, type: it.type, data: it.data, hidden, props: it.props.map((p) => ({ box: p.property.box, essential: p.essential })) });
const meanAbs = (a: RgbImage, b: RgbImage) => {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
};
const codeOf = async (p: Promise<unknown>) => {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FaceReconError);
  return (err as FaceReconError).code;
};
/** ArrayBuffer bytes allocated (and still held) while `fn` runs. */
const allocated = <T>(fn: () => T): { value: T; bytes: number } => {
  const before = process.memoryUsage().arrayBuffers;
  const value = fn();
  return { value, bytes: process.memoryUsage().arrayBuffers - before };
};

/**
 * A writeHeif file with some items' iloc entries replaced by the given extents ([offset, length] in the
 * file; length 0: to its end). writeHeif's iloc is version 0 with 4-byte offsets and lengths, no base
 * offset and one extent per item, 14 bytes each after a 16-byte header; the other items' offsets move
 * by what the iloc grows.
 */
function withExtents(file: Uint8Array, extents: Record<number, Array<[number, number]>>): Uint8Array {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const type = (o: number) => String.fromCharCode(...file.subarray(o + 4, o + 8));
  let meta = 0;
  while (type(meta) !== 'meta') meta += dv.getUint32(meta);
  let iloc = meta + 12;
  while (type(iloc) !== 'iloc') iloc += dv.getUint32(iloc);
  const entries = Array.from({ length: dv.getUint16(iloc + 14) }, (_, k) => {
    const o = iloc + 16 + 14 * k;
    return { id: dv.getUint16(o), offset: dv.getUint32(o + 6), length: dv.getUint32(o + 10) };
  });
  const oldSize = dv.getUint32(iloc);
  const newSize = 16 + entries.reduce((s, e) => s + 6 + 8 * (extents[e.id]?.length ?? 1), 0);
  const grow = newSize - oldSize;
  const out = new Uint8Array(file.byteLength + grow);
  const o32 = new DataView(out.buffer);
  out.set(file.subarray(0, iloc + 16));
  o32.setUint32(meta, dv.getUint32(meta) + grow);
  o32.setUint32(iloc, newSize);
  let o = iloc + 16;
  for (const e of entries) {
    const list = extents[e.id] ?? [[e.offset + grow, e.length]];
    o32.setUint16(o, e.id);
    o32.setUint16(o + 2, 0);
    o32.setUint16(o + 4, list.length);
    o += 6;
    for (const [offset, length] of list) {
      o32.setUint32(o, offset);
      o32.setUint32(o + 4, length);
      o += 8;
    }
  }
  out.set(file.subarray(iloc + oldSize), o);
  return out;
}

/** `n` extents that are each the whole file (offset 0, length 0: to the end), libheif's limit being 32. */
const wholeFile = (n: number) => Array.from({ length: n }, (): [number, number] => [0, 0]);

describe('item bytes are read when used, and never more of them than the file', () => {
  it('items nobody decodes, each 32 times the whole file, cost nothing: the photo decodes, such an item is refused when read', async () => {
    const pic = astronaut().items.get(1)!;
    const bombs = Array.from({ length: 16 }, (_, k) => ({ id: 100 + k, type: 'Exif', data: new Uint8Array(0), hidden: true, props: [] }));
    const file = withExtents(writeHeif({ brands: ['heic', 'mif1'], primary: 1, items: [asWritten(pic, 1), ...bombs] }), Object.fromEntries(bombs.map((b) => [b.id, wholeFile(32)])));
    // Read eagerly, the 16 items were 16 x 32 copies of the file: ~60 MB from ~120 KB.
    const { value: f, bytes } = allocated(() => readHeif(file));
    expect(bytes).toBeLessThan(file.byteLength);
    expect(f.items.get(1)!.data).toEqual(pic.data);
    expect(() => f.items.get(100)!.data).toThrow(HeifFormatError);
    expect(() => f.items.get(100)!.data).toThrow("extents add up to more than the file's");
    // libheif reads the file too (32 extents is its limit): the primary decodes.
    const { image } = await decodeImage(file);
    expect([image.width, image.height]).toEqual([512, 512]);
  });

  it('an item past libheif\'s limits (33 extents, 1001 iloc items) is a format error, not work', () => {
    const pic = astronaut().items.get(1)!;
    const file = withExtents(writeHeif({ brands: ['heic', 'mif1'], primary: 1, items: [asWritten(pic, 1), { id: 2, type: 'Exif', data: new Uint8Array(0), hidden: true, props: [] }] }), { 2: Array.from({ length: 33 }, (): [number, number] => [0, 1]) });
    expect(() => readHeif(file)).toThrow('33 extents, over 32');
    const many = writeHeif({ brands: ['heic', 'mif1'], primary: 1, items: Array.from({ length: 1001 }, (_, k) => ({ id: k + 1, type: 'Exif', data: Uint8Array.of(k & 255), props: [] })) });
    expect(() => readHeif(many)).toThrow('1001 items, over 1000');
  });

  it('more than 1024 boxes at one level (2000 free boxes after the photo) is a format error, not a list built box by box', async () => {
    const photo = bytesOf('astronaut.heic');
    const free = Uint8Array.from([0, 0, 0, 8, 0x66, 0x72, 0x65, 0x65]);
    const padded = (n: number) => {
      const out = new Uint8Array(photo.length + 8 * n);
      out.set(photo);
      for (let k = 0; k < n; k++) out.set(free, photo.length + 8 * k);
      return out;
    };
    expect(readHeif(padded(100)).primary).toBe(readHeif(photo).primary);
    expect(() => readHeif(padded(2000))).toThrow('more than 1024 boxes at one level');
    expect(await codeOf(decodeImage(padded(2000)))).toBe('INVALID_IMAGE');
  });

  it('a long ftyp is read to its first 64 compatible brands, not made into a string per brand', () => {
    const file = writeHeif({ brands: Array(100_000).fill('heic'), primary: 1, items: [{ id: 1, type: 'hvc1', data: Uint8Array.of(1), props: [] }] });
    expect(readHeif(file).brands).toHaveLength(65);
  });

  it('a reference list longer than its box is a format error (12-byte boxes each claiming 65535 ids)', () => {
    const file = writeHeif({ brands: ['heic', 'mif1'], primary: 1, items: [{ id: 1, type: 'grid', data: gridDescriptor({ rows: 1, cols: 2, width: 1024, height: 512 }), props: [] }, { id: 2, type: 'hvc1', data: Uint8Array.of(1), hidden: true, props: [] }, { id: 3, type: 'hvc1', data: Uint8Array.of(2), hidden: true, props: [] }], refs: [{ type: 'dimg', from: 1, to: [2, 3] }] });
    const at = Buffer.from(file).indexOf('dimg');
    new DataView(file.buffer, file.byteOffset).setUint16(at + 6, 65535); // the count after the from id
    expect(() => readHeif(file)).toThrow(HeifFormatError);
    expect(() => readHeif(file)).toThrow('runs past its box');
  });
});

describe('grid tiles', () => {
  /** A rows x cols grid of tile items `tiles` (ids 2...), each declared `tile` px square. */
  const grid = (rows: number, cols: number, tile: number, tiles: HeifWriteItem[], names: number[]) => {
    const pic = astronaut().items.get(1)!;
    const props = pic.props.map((p) => ({ box: p.property.type === 'ispe' ? heifProperty.ispe(tile, tile) : p.property.box, essential: p.essential }));
    return writeHeif({
      brands: ['heic', 'mif1'],
      primary: 1,
      items: [{ id: 1, type: 'grid', data: gridDescriptor({ rows, cols, width: cols * tile, height: rows * tile }), props: [{ box: heifProperty.ispe(cols * tile, rows * tile) }] }, ...tiles.map((t) => ({ ...t, props }))],
      refs: [{ type: 'dimg', from: 1, to: names }],
    });
  };

  it('a grid whose 16 tiles name one item of 32 whole-file extents is refused before its bytes are copied', async () => {
    const file = withExtents(grid(4, 4, 32, [{ id: 2, type: 'hvc1', data: new Uint8Array(0), hidden: true, props: [] }], Array(16).fill(2)), { 2: wholeFile(32) });
    // Copied per name, that was 16 x 32 x the file (~60 MB; 256 names made 1.2 GB of a 120 KB upload).
    const { value: threw, bytes } = allocated(() => {
      try {
        planHeifGrid(file);
      } catch (e) {
        return e;
      }
    });
    expect(threw).toBeInstanceOf(HeifFormatError);
    expect((threw as Error).message).toContain("extents add up to more than the file's");
    expect(bytes).toBeLessThan(file.byteLength);
    expect(await codeOf(decodeImage(file))).toBe('INVALID_IMAGE');
  });

  it('a tile named many times is written once; distinct tiles sharing the same bytes are refused', () => {
    const pic = astronaut().items.get(1)!;
    const plan = planHeifGrid(grid(4, 4, 32, [{ id: 2, type: 'hvc1', data: pic.data, hidden: true, props: [] }], Array(16).fill(2)))!;
    expect(plan.tiles).toHaveLength(16);
    expect(new Set(plan.tiles).size).toBe(1);
    // Four items, each one extent over the whole file: each alone fits in the file, together they are 4 x it.
    const four = [2, 3, 4, 5].map((id) => ({ id, type: 'hvc1', data: new Uint8Array(0), hidden: true, props: [] }));
    const shared = withExtents(grid(2, 2, 32, four, [2, 3, 4, 5]), { 2: [[0, 0]], 3: [[0, 0]], 4: [[0, 0]], 5: [[0, 0]] });
    expect(() => planHeifGrid(shared)).toThrow("grid tiles add up to more than the file's");
  });
});

describe('the primary image, as libheif reads the container', () => {
  it('a file of two images whose primary is the second decodes the primary', async () => {
    const thumb = readHeif(bytesOf('astronaut-grid.heic')).items.get(8)!; // the grid's 320 px thumbnail: another picture
    const pic = astronaut().items.get(1)!;
    const file = writeHeif({ brands: ['heic', 'mif1'], primary: 2, items: [asWritten(thumb, 1), asWritten(pic, 2)] });
    const ours = (await decodeImage(file)).image;
    const reference = (await decodeImage(bytesOf('astronaut.heic'))).image;
    expect([ours.width, ours.height]).toEqual([512, 512]);
    expect(meanAbs(ours, reference)).toBeLessThan(0.5);
  });

  it('an item said twice (infe, iloc and ipma entries) is read from its first entries, as libheif does', () => {
    const file = writeHeif({
      brands: ['heic', 'mif1'],
      primary: 1,
      items: [
        { id: 1, type: 'hvc1', data: Uint8Array.of(1, 2, 3), props: [{ box: heifProperty.ispe(64, 64) }] },
        { id: 1, type: 'av01', data: Uint8Array.of(4), props: [{ box: heifProperty.ispe(512, 512) }] },
      ],
    });
    const it = readHeif(file).items.get(1)!;
    expect(it.type).toBe('hvc1');
    expect(Array.from(it.data)).toEqual([1, 2, 3]);
    expect(it.props.map((p) => p.property.box)).toEqual([heifProperty.ispe(64, 64)]);
  });
});

describe('brands', () => {
  const withMajorBrand = (file: Uint8Array, brand: string) => {
    const out = Uint8Array.from(file);
    out.set(Buffer.from(brand, 'latin1'), 8);
    return out;
  };

  it.each(['heim', 'heis'])('a valid HEIC whose major brand is %s decodes, whole and as a grid', async (brand) => {
    const whole = (await decodeImage(withMajorBrand(bytesOf('astronaut.heic'), brand))).image;
    expect([whole.width, whole.height]).toEqual([512, 512]);
    const grid = (await decodeImage(withMajorBrand(bytesOf('astronaut-grid.heic'), brand))).image;
    expect([grid.width, grid.height]).toEqual([1400, 1000]);
  });

  it('a grid\'s tiles and thumbnail are written as HEVC stills (heic, mif1), whatever the photo\'s brands', () => {
    const plan = planHeifGrid(withMajorBrand(bytesOf('astronaut-grid.heic'), 'heis'))!;
    for (const f of [...plan.tiles, plan.thumbnail!.file]) expect(readHeif(f).brands.slice(0, 3)).toEqual(['heic', 'heic', 'mif1']);
  });
});

describe('derived primaries (iden, iovl, tmap)', () => {
  /** `file` with its primary wrapped in an `iden` item (id 99, the new primary) declared w x h. */
  const inIden = (file: Uint8Array, w: number, h: number) => {
    const f = readHeif(file);
    return writeHeif({
      brands: f.brands,
      primary: 99,
      items: [{ id: 99, type: 'iden', data: new Uint8Array(0), props: [{ box: heifProperty.ispe(w, h) }] }, ...[...f.items.values()].map((it) => asWritten(it, it.id, true))],
      refs: [...f.refs, { type: 'dimg', from: 99, to: [f.primary] }],
    });
  };

  it('a grid wrapped in an iden item gets the grid checks: 256 names of one 512 px tile under a 512x512 picture are refused before any decode', async () => {
    const pic = astronaut().items.get(1)!;
    const tiled = writeHeif({
      brands: ['heic', 'mif1'],
      primary: 1,
      items: [{ id: 1, type: 'grid', data: gridDescriptor({ rows: 16, cols: 16, width: 512, height: 512 }), props: [{ box: heifProperty.ispe(512, 512) }] }, asWritten(pic, 2, true)],
      refs: [{ type: 'dimg', from: 1, to: Array(256).fill(2) }],
    });
    const bomb = inIden(tiled, 512, 512);
    // As a primary grid this was always refused; under an iden it went to the decoder whole (64 MP of tiles).
    expect(() => planHeifGrid(tiled)).toThrow('does not fit');
    expect(() => planHeifGrid(bomb, { maxPixels: 50_000_000 })).toThrow('does not fit');
    expect(await codeOf(decodeImage(bomb))).toBe('INVALID_IMAGE');
    // Several images that each pass but together decode past the limit: refused by their sum.
    const many = writeHeif({
      brands: ['heic', 'mif1'],
      primary: 99,
      items: [{ id: 99, type: 'iovl', data: new Uint8Array(0), props: [{ box: heifProperty.ispe(512, 512) }] }, asWritten(pic, 2, true)],
      refs: [{ type: 'dimg', from: 99, to: Array(8).fill(2) }],
    });
    expect(() => planHeifGrid(many, { maxPixels: 1_000_000 })).toThrow('over');
  });

  it('a valid grid under an iden item is not refused, and decodes as the grid does', async () => {
    const ok = inIden(bytesOf('astronaut-grid.heic'), 1400, 1000);
    expect(planHeifGrid(ok, { maxPixels: 50_000_000 })).toBeUndefined();
    const ours = (await decodeImage(ok)).image;
    const reference = (await decodeImage(bytesOf('astronaut-grid.heic'))).image;
    expect([ours.width, ours.height]).toEqual([1400, 1000]);
    expect(meanAbs(ours, reference)).toBeLessThan(0.5);
  });
});
