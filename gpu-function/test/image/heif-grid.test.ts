/**
 * Grid-tiled and rotated HEIC (what iPhones write): the container reader and writer round-trip, the
 * grid is cut into standalone tiles and put back, irot/imir follow the HEIF rule, and the parallel
 * decode gives the same picture as Debian's native libheif (heif-convert, an independent decoder and
 * grid assembler) and as the PNG the fixtures were made from.
 */
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRgbImage, FaceReconError, type RgbImage } from '@facerecon/shared';
import { decodeImage, readImageFile } from '../../src/adapters/image-io';
import { gridDescriptor, HeifFormatError, heifProperty, readGridDescriptor, readHeif, readIspe, writeHeif } from '../../src/image/heif-container';
import { assembleHeifGrid, cropImage, MAX_TILE_OVERHANG, mirror, planHeifGrid, readClap, rotateCcw } from '../../src/image/heif-grid';
import { FIXTURES_DIR } from '../fixtures';

const bytesOf = (f: string) => new Uint8Array(readFileSync(join(FIXTURES_DIR, f)));
/** A clap box: width and height in pixels, the centre's offsets as [numerator, denominator]. */
function withClapBox(w: number, h: number, dx: [number, number], dy: [number, number]): Uint8Array {
  const box = new Uint8Array(40);
  const dv = new DataView(box.buffer);
  dv.setUint32(0, 40);
  box.set([0x63, 0x6c, 0x61, 0x70], 4);
  [w, 1, h, 1].forEach((v, i) => dv.setUint32(8 + 4 * i, v));
  dv.setInt32(24, dx[0]);
  dv.setUint32(28, dx[1]);
  dv.setInt32(32, dy[0]);
  dv.setUint32(36, dy[1]);
  return box;
}
const meanAbs = (a: RgbImage, b: RgbImage) => {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
};

describe('HEIF container', () => {
  it('writes what it reads: items, hidden flags, properties in ipma order with essential flags, references', () => {
    const file = writeHeif({
      brands: ['heic', 'mif1'],
      primary: 1,
      items: [
        { id: 1, type: 'grid', data: gridDescriptor({ rows: 2, cols: 3, width: 1400, height: 1000 }), props: [{ box: heifProperty.ispe(1400, 1000) }, { box: heifProperty.irot(3), essential: true }, { box: heifProperty.imir(1), essential: true }] },
        { id: 2, type: 'hvc1', data: Uint8Array.of(1, 2, 3), props: [{ box: heifProperty.ispe(512, 512) }], hidden: true },
        { id: 3, type: 'hvc1', data: Uint8Array.of(4, 5), props: [{ box: heifProperty.ispe(512, 512) }], hidden: true },
      ],
      refs: [{ type: 'dimg', from: 1, to: [2, 3] }],
    });
    const f = readHeif(file);
    expect(f.brands.slice(0, 2)).toEqual(['heic', 'heic']);
    expect(f.primary).toBe(1);
    expect([...f.items.keys()]).toEqual([1, 2, 3]);
    expect(Array.from(f.items.get(3)!.data)).toEqual([4, 5]);
    expect(f.items.get(1)!.props.map((p) => [p.property.type, p.essential])).toEqual([['ispe', false], ['irot', true], ['imir', true]]);
    // One ispe 512x512 box serves both tiles.
    expect(f.items.get(2)!.props[0].property.box).toEqual(f.items.get(3)!.props[0].property.box);
    expect(readGridDescriptor(f.items.get(1)!.data)).toEqual({ rows: 2, cols: 3, width: 1400, height: 1000 });
    expect(f.refs).toEqual([{ type: 'dimg', from: 1, to: [2, 3] }]);
    // The edge's own header reader (a separate parser) sees the same picture.
    return import('../../../edge/src/lib/heif-header').then(({ readHeifHeader }) => expect(readHeifHeader(file)).toMatchObject({ format: 'heic', width: 1400, height: 1000, rotation: 3, mirror: 'horizontal', grid: true, complete: true }));
  });

  it('a box that runs past its parent is a format error, not a read past the end', () => {
    const file = writeHeif({ brands: ['heic'], primary: 1, items: [{ id: 1, type: 'hvc1', data: Uint8Array.of(9), props: [] }] });
    expect(() => readHeif(file.subarray(0, file.byteLength - 30))).toThrow(/runs past/);
  });
});

describe('grid assembly and transforms', () => {
  // A 3x2 picture with distinct pixels, turned by hand.
  const px = (img: RgbImage) => Array.from({ length: img.width * img.height }, (_, i) => img.data[i * 3]);
  const small = createRgbImage(3, 2, Uint8Array.from([1, 2, 3, 4, 5, 6].flatMap((v) => [v, 0, 0])));

  it('irot turns counter-clockwise; four turns are the identity; imir axes swap columns or rows', () => {
    // 1 2 3      3 6
    // 4 5 6  ->  2 5   (a quarter turn counter-clockwise)
    //            1 4
    expect(px(rotateCcw(small, 1))).toEqual([3, 6, 2, 5, 1, 4]);
    expect(px(rotateCcw(small, 2))).toEqual([6, 5, 4, 3, 2, 1]);
    expect(px(rotateCcw(small, 3))).toEqual([4, 1, 5, 2, 6, 3]);
    expect(rotateCcw(rotateCcw(rotateCcw(rotateCcw(small, 1), 1), 1), 1).data).toEqual(small.data);
    expect(px(mirror(small, 0))).toEqual([3, 2, 1, 6, 5, 4]);
    expect(px(mirror(small, 1))).toEqual([4, 5, 6, 1, 2, 3]);
  });

  it('tiles are placed row-major and cropped to the grid output size', () => {
    const tile = (v: number) => ({ width: 2, height: 2, data: Uint8Array.from({ length: 16 }, (_, i) => (i % 4 === 3 ? 255 : v)) });
    const img = assembleHeifGrid({ rows: 2, cols: 2, width: 3, height: 3, tileWidth: 2, tileHeight: 2, tiles: [], transforms: [] }, [tile(10), tile(20), tile(30), tile(40)]);
    expect(px(img)).toEqual([10, 10, 20, 10, 10, 20, 30, 30, 40]);
  });
});

describe('decoding grid-tiled and rotated HEIC', () => {
  it.each(['astronaut-grid.heic', 'astronaut-rot.heic'])('%s: planned as tiles, decoded upright, equal to native libheif and to the source PNG', async (file) => {
    const bytes = bytesOf(file);
    const plan = planHeifGrid(bytes)!;
    const rotated = file.includes('rot');
    expect([plan.rows, plan.cols, plan.width, plan.height]).toEqual(rotated ? [3, 2, 1000, 1400] : [2, 3, 1400, 1000]);
    expect(plan.transforms).toEqual(rotated ? [{ irot: 1 }] : []);
    const ours = (await decodeImage(bytes)).image;
    const frame = (await readImageFile(join(FIXTURES_DIR, 'astronaut-frame.png'))).image;
    const out = join(mkdtempSync(join(tmpdir(), 'heif-')), 'native.png');
    execFileSync('heif-convert', [join(FIXTURES_DIR, file), out], { stdio: 'ignore' });
    const native = (await readImageFile(out)).image;
    expect(meanAbs(ours, native)).toBeLessThan(0.5); // two decoders of the same bitstream: rounding only
    expect(meanAbs(ours, frame)).toBeLessThan(1.5); // HEVC at q80 against the source
  });

  /**
   * The file with a `clap` (width, height, offsets as numerator/denominator) added to its primary item,
   * after its other properties. Its ICC profile is left out: heif-convert's PNG writer refuses the
   * encoder's (libpng: "known incorrect sRGB profile"), and a profile does not change the decoded values.
   */
  const withClap = (file: string, c: { w: number; h: number; dx: [number, number]; dy: [number, number] }) => {
    const f = readHeif(bytesOf(file));
    const box = withClapBox(c.w, c.h, c.dx, c.dy);
    return writeHeif({ brands: f.brands, primary: f.primary, items: [...f.items.values()].map((it) => ({ id: it.id, type: it.type, data: it.data, hidden: it.id !== f.primary, props: [...it.props.filter((p) => p.property.type !== 'colr').map((p) => ({ box: p.property.box, essential: p.essential })), ...(it.id === f.primary ? [{ box, essential: true }] : [])] })), refs: f.refs });
  };
  const native = async (bytes: Uint8Array) => {
    const dir = mkdtempSync(join(tmpdir(), 'heif-clap-'));
    writeFileSync(join(dir, 'in.heic'), bytes);
    execFileSync('heif-convert', [join(dir, 'in.heic'), join(dir, 'out.png')], { stdio: 'ignore' });
    return (await readImageFile(join(dir, 'out.png'))).image;
  };

  it('a clean aperture (clap) crops where libheif does: a single image, a grid, and a grid turned by irot before the crop', async () => {
    // 512 x 512 -> 412 x 452, centre moved by (-20, +10): left = -20 + 511/2 - 411/2 = 30, top = 10 + 511/2 - 451/2 = 40.
    expect(readClap(withClapBox(412, 452, [-20, 1], [10, 1]), 512, 512)).toEqual({ x: 30, y: 40, width: 412, height: 452 });
    // Half-pixel edges round as libheif rounds them: the left one down (29.5 -> 29), the top one up (40.5 -> 41).
    expect(readClap(withClapBox(412, 452, [-41, 2], [21, 2]), 512, 512)).toEqual({ x: 29, y: 41, width: 412, height: 452 });
    expect(() => readClap(withClapBox(412, 452, [60, 1], [0, 1]), 512, 512)).toThrow(HeifFormatError);
    expect(() => readClap(withClapBox(412, 452, [0, 0], [0, 1]), 512, 512)).toThrow('zero denominator');
    const whole = (await decodeImage(bytesOf('astronaut.heic'))).image;
    for (const c of [{ w: 500, h: 490, dx: [-3, 1], dy: [2, 1] }, { w: 412, h: 452, dx: [-41, 2], dy: [21, 2] }] as const) {
      const bytes = withClap('astronaut.heic', { ...c, dx: [...c.dx], dy: [...c.dy] });
      const ours = (await decodeImage(bytes)).image;
      const rect = readClap(withClapBox(c.w, c.h, [...c.dx], [...c.dy]), 512, 512);
      expect([ours.width, ours.height]).toEqual([c.w, c.h]);
      // The same HEVC picture, cropped: bit-equal to the uncropped decode's rectangle.
      expect(meanAbs(ours, cropImage(whole, rect))).toBe(0);
      // And where libheif itself can crop (it refuses past 64 px off a side), where it crops.
      if (c.w >= 512 - 64) expect(meanAbs(ours, await native(bytes))).toBeLessThan(0.5);
    }
    for (const file of ['astronaut-grid.heic', 'astronaut-rot.heic']) {
      const bytes = withClap(file, { w: 901, h: 941, dx: [-7, 2], dy: [15, 1] });
      const turned = file.includes('rot');
      const plan = planHeifGrid(bytes)!;
      expect(plan.crop).toMatchObject({ after: turned ? 1 : 0 });
      expect(plan.thumbnail).toBeUndefined();
      const ours = (await decodeImage(bytes)).image;
      const ref = await native(bytes);
      expect([ours.width, ours.height]).toEqual([ref.width, ref.height]);
      expect(meanAbs(ours, ref)).toBeLessThan(0.5);
    }
  });

  it('a grid that lies about its tiles is INVALID_IMAGE', async () => {
    const f = readHeif(bytesOf('astronaut-grid.heic'));
    const grid = f.items.get(f.primary)!;
    const tiles = f.refs[0].to.map((id) => f.items.get(id)!);
    const lie = writeHeif({
      brands: f.brands,
      primary: 1,
      items: [{ id: 1, type: 'grid', data: gridDescriptor({ rows: 3, cols: 3, width: 1400, height: 1400 }), props: grid.props.map((p) => ({ box: p.property.box })) }, ...tiles.map((t, k) => ({ id: 2 + k, type: t.type, data: t.data, hidden: true, props: t.props.map((p) => ({ box: p.property.box, essential: p.essential })) }))],
      refs: [{ type: 'dimg', from: 1, to: tiles.map((_, k) => 2 + k) }],
    });
    const err = await decodeImage(lie).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaceReconError);
    expect((err as FaceReconError).code).toBe('INVALID_IMAGE');
  });
  /** A grid of `rows` x `cols` references to the fixture's first tile (512x512), declared as a `width` x `height` picture. */
  const gridOfOneTile = (rows: number, cols: number, width: number, height: number, tileProps?: (p: Uint8Array) => Uint8Array) => {
    const f = readHeif(bytesOf('astronaut-grid.heic'));
    const grid = f.items.get(f.primary)!;
    const t = f.items.get(f.refs[0].to[0])!;
    return writeHeif({
      brands: f.brands,
      primary: 1,
      items: [
        { id: 1, type: 'grid', data: gridDescriptor({ rows, cols, width, height }), props: grid.props.map((p) => ({ box: p.property.type === 'ispe' ? heifProperty.ispe(width, height) : p.property.box })) },
        { id: 2, type: t.type, data: t.data, hidden: true, props: t.props.map((p) => ({ box: tileProps ? tileProps(p.property.box) : p.property.box, essential: p.essential })) },
      ],
      refs: [{ type: 'dimg', from: 1, to: Array(rows * cols).fill(2) }],
    });
  };

  it('a grid whose tiles hold far more than its picture (256 references to a 512 px tile, declared 512x512) is refused before any decode', async () => {
    const bomb = gridOfOneTile(16, 16, 512, 512);
    // Small, and small is what the upload limits see: 512x512.
    expect(bomb.byteLength).toBeLessThan(200_000);
    expect(() => planHeifGrid(bomb)).toThrow(HeifFormatError);
    expect(() => planHeifGrid(bomb)).toThrow('does not fit its 512x512 picture');
    const err = await decodeImage(bomb).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaceReconError);
    expect((err as FaceReconError).code).toBe('INVALID_IMAGE');
  });

  it('tiles that just cover the picture pass (the last row and column may overhang); the pixel bound counts every tile', () => {
    // 2 x 3 tiles of 512 for 1400 x 1000, as the fixture: the overhang is 136 and 24 px.
    const ok = gridOfOneTile(2, 3, 1400, 1000);
    const plan = planHeifGrid(ok)!;
    expect([plan.tileWidth, plan.tileHeight, plan.tiles.length]).toEqual([512, 512, 6]);
    // The bound: the limit plus the overhang a real grid has (MAX_TILE_OVERHANG).
    expect(() => planHeifGrid(ok, { maxPixels: (6 * 512 * 512) / MAX_TILE_OVERHANG })).not.toThrow();
    expect(() => planHeifGrid(ok, { maxPixels: (6 * 512 * 512) / MAX_TILE_OVERHANG - 1 })).toThrow('over');
    // An iPhone 48 MP photo: 8064 x 6048 (48.8 MP, under the 50 MP limit) in 16 x 12 tiles of 512 (50.3 MP).
    expect(planHeifGrid(gridOfOneTile(12, 16, 8064, 6048), { maxPixels: 50_000_000 })!.tiles).toHaveLength(192);
    // One column of one tile declared far wider than its picture passes the cover rule; the bound refuses it.
    expect(() => planHeifGrid(gridOfOneTile(1, 1, 1000, 1000, (b) => (String.fromCharCode(...b.subarray(4, 8)) === 'ispe' && new DataView(b.buffer, b.byteOffset).getUint32(12) === 512 ? heifProperty.ispe(100_000, 100_000) : b)), { maxPixels: 50_000_000 })).toThrow('over');
    // A whole spare column (3 x 512 > 1024 + 512) or too few tiles is refused.
    expect(() => planHeifGrid(gridOfOneTile(2, 3, 1024, 1000))).toThrow('does not fit');
    expect(() => planHeifGrid(gridOfOneTile(2, 2, 1400, 1000))).toThrow('does not fit');
  });

  it('a tile that declares no size, or another size than it decodes to, is INVALID_IMAGE', async () => {
    const noSize = gridOfOneTile(2, 3, 1400, 1000, (b) => (String.fromCharCode(...b.subarray(4, 8)) === 'ispe' ? heifProperty.irot(0) : b));
    expect(() => planHeifGrid(noSize)).toThrow('declares no size');
    // Declared 256x256 (a 4x4 grid of them for 1000 x 1000 fits), but the bitstream is 512x512: libheif or the thread refuses it.
    const lying = gridOfOneTile(4, 4, 1000, 1000, (b) => (String.fromCharCode(...b.subarray(4, 8)) === 'ispe' ? heifProperty.ispe(256, 256) : b));
    expect(readIspe(heifProperty.ispe(256, 256))).toEqual({ width: 256, height: 256 });
    expect(planHeifGrid(lying)!.tileWidth).toBe(256);
    const err = await decodeImage(lying).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaceReconError);
    expect((err as FaceReconError).code).toBe('INVALID_IMAGE');
  });
  it('the checks hold with a clap on the grid too (that grid decodes whole, so it was once let through unchecked)', async () => {
    const clap = new Uint8Array(40); // clean aperture: 8 x uint32 (width, height, offsets as fractions)
    new DataView(clap.buffer).setUint32(0, 40);
    clap.set([0x63, 0x6c, 0x61, 0x70], 4);
    const f = readHeif(gridOfOneTile(16, 16, 512, 512));
    const withClap = writeHeif({
      brands: f.brands,
      primary: 1,
      items: [...f.items.values()].map((it) => ({ id: it.id, type: it.type, data: it.data, hidden: it.id !== 1, props: [...it.props.map((p) => ({ box: p.property.box, essential: p.essential })), ...(it.id === 1 ? [{ box: clap, essential: true }] : [])] })),
      refs: f.refs,
    });
    expect(() => planHeifGrid(withClap)).toThrow('does not fit');
    expect(((await decodeImage(withClap).catch((e: unknown) => e)) as FaceReconError).code).toBe('INVALID_IMAGE');
  });

  /** An AVIF grid of `rows` x `cols` references to one `tile` px AV1 tile: output `out`, its ispe `ispe` (default the output). */
  const avifGrid = async (tile: number, rows: number, cols: number, out: [number, number], ispe = out) => {
    const one = readHeif(new Uint8Array(await sharp({ create: { width: tile, height: tile, channels: 3, background: { r: 120, g: 130, b: 140 } } }).avif({ effort: 0, quality: 30 }).toBuffer()));
    const it = one.items.get(one.primary)!;
    const av1C = it.props.find((p) => p.property.type === 'av1C')!;
    return writeHeif({
      brands: ['avif', 'mif1', 'miaf'],
      primary: 1,
      items: [
        { id: 1, type: 'grid', data: gridDescriptor({ rows, cols, width: out[0], height: out[1] }), props: [{ box: heifProperty.ispe(ispe[0], ispe[1]) }] },
        { id: 2, type: 'av01', data: it.data, hidden: true, props: [{ box: av1C.property.box, essential: true }, { box: heifProperty.ispe(tile, tile) }] },
      ],
      refs: [{ type: 'dimg', from: 1, to: Array(rows * cols).fill(2) }],
    });
  };

  it('AVIF grids (decoded by sharp, not the HEVC pool) get the same checks: tiles that overhang, or a descriptor larger than its ispe, are INVALID_IMAGE', async () => {
    const ok = await avifGrid(256, 2, 2, [500, 480]);
    expect(planHeifGrid(ok)).toBeUndefined(); // checked, then decoded whole by sharp
    const image = (await decodeImage(ok)).image;
    expect([image.width, image.height]).toEqual([500, 480]);
    const overhang = await avifGrid(256, 8, 8, [500, 480]);
    expect(() => planHeifGrid(overhang)).toThrow('does not fit');
    expect(((await decodeImage(overhang).catch((e: unknown) => e)) as FaceReconError).code).toBe('INVALID_IMAGE');
    // The descriptor says 2048 x 2048 (tiles that fit it), the ispe sharp reads says 500 x 480.
    const lying = await avifGrid(256, 8, 8, [2048, 2048], [500, 480]);
    expect(() => planHeifGrid(lying)).toThrow('declares 500x480');
    expect(((await decodeImage(lying).catch((e: unknown) => e)) as FaceReconError).code).toBe('INVALID_IMAGE');
  });

  it('a grid whose tile items are missing is refused, not decoded whole', async () => {
    const f = readHeif(bytesOf('astronaut-grid.heic'));
    const grid = f.items.get(f.primary)!;
    // The grid's tile reference points at an item that is not there.
    const broken = writeHeif({ brands: f.brands, primary: 1, items: [{ id: 1, type: 'grid', data: grid.data, props: grid.props.map((p) => ({ box: p.property.box })) }], refs: [{ type: 'dimg', from: 1, to: [7, 8, 9, 10, 11, 12] }] });
    expect(() => planHeifGrid(broken)).toThrow(HeifFormatError);
    expect(((await decodeImage(broken).catch((e: unknown) => e)) as FaceReconError).code).toBe('INVALID_IMAGE');
  });
});
