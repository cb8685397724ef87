import { describe, expect, it } from 'vitest';
import { readImageHeader, sniffFormat } from '../src/lib/image-header';
import { validateUpload } from '../src/lib/validate';
import { GIF, HEIC, makeHeif, makeJpegHeader, makePng } from './helpers';
import { readHeifHeader } from '../src/lib/heif-header';

/** The upload check's verdict: 'ok' or the error code. */
const code = (b: Uint8Array) => {
  try {
    validateUpload(b);
    return 'ok';
  } catch (e) {
    return (e as { code: string }).code;
  }
};

describe('image headers (no decoding)', () => {
  it('recognises formats by magic bytes', async () => {
    expect(sniffFormat(await makePng(4, 4))).toBe('png');
    expect(sniffFormat(makeJpegHeader(10, 10))).toBe('jpeg');
    expect(sniffFormat(GIF)).toBe('gif');
    expect(sniffFormat(HEIC)).toBe('heic');
    expect(sniffFormat(new TextEncoder().encode('<html>'))).toBe('unknown');
  });

  it('reads sizes, EXIF orientation and completeness', async () => {
    expect(readImageHeader(await makePng(640, 480))).toMatchObject({ width: 640, height: 480, complete: true });
    expect(readImageHeader(makeJpegHeader(4032, 3024, 6))).toMatchObject({ format: 'jpeg', width: 4032, height: 3024, orientation: 6, complete: true });
    const png = await makePng(300, 200);
    expect(readImageHeader(png.subarray(0, png.length - 20))).toMatchObject({ complete: false });
  });

  it('enforces the upload policy with the documented codes', async () => {
    expect(code(await makePng(300, 200))).toBe('ok');
    expect(code(new Uint8Array())).toBe('INVALID_IMAGE');
    expect(code(GIF)).toBe('UNSUPPORTED_FORMAT');
    expect(code(HEIC)).toBe('INVALID_IMAGE'); // HEIC is accepted, but this one is an empty container
    expect(code(new TextEncoder().encode('hello world, not an image'))).toBe('INVALID_IMAGE');
    expect(code(makeJpegHeader(100, 90))).toBe('IMAGE_TOO_SMALL');
    expect(code(makeJpegHeader(9000, 200))).toBe('IMAGE_TOO_LARGE');
    expect(code(makeJpegHeader(8064, 6048))).toBe('ok'); // 48.8 MP: a phone's 48 MP mode
    expect(code(makeJpegHeader(8192, 6400))).toBe('IMAGE_TOO_LARGE'); // 52 MP
    const png = await makePng(300, 200);
    expect(code(png.subarray(0, png.length - 12))).toBe('INVALID_IMAGE');
    expect(code(new Uint8Array(10 * 1024 * 1024 + 1))).toBe('IMAGE_TOO_LARGE');
  });
});

describe('HEIC and AVIF from the container, before any decode', () => {
  it('reads the primary item\'s size, a grid, and irot (a quarter turn swaps the displayed sides)', () => {
    expect(readHeifHeader(makeHeif({ width: 4032, height: 3024, grid: true }))).toMatchObject({ format: 'heic', width: 4032, height: 3024, grid: true, rotation: 0, complete: true });
    expect(readImageHeader(makeHeif({ width: 4032, height: 3024, grid: true, irot: 1 }))).toMatchObject({ format: 'heic', width: 3024, height: 4032, complete: true });
    expect(readImageHeader(makeHeif({ width: 1920, height: 1080, brand: 'avif' }))).toMatchObject({ format: 'avif', width: 1920, height: 1080 });
  });

  it('a lying or broken container is refused with the documented codes, never decoded', () => {
    expect(code(makeHeif({ width: 4032, height: 3024, grid: true }))).toBe('ok');
    expect(code(makeHeif({ width: 8064, height: 6048, grid: true }))).toBe('ok'); // 48.8 MP
    expect(code(makeHeif({ width: 8192, height: 8000 }))).toBe('IMAGE_TOO_LARGE'); // 65.5 MP
    expect(code(makeHeif({ width: 100, height: 100 }))).toBe('IMAGE_TOO_SMALL');
    expect(code(makeHeif({ width: 4032, height: 3024, ispe: false }))).toBe('INVALID_IMAGE');
    expect(code(makeHeif({ width: 4032, height: 3024, truncate: 40 }))).toBe('INVALID_IMAGE');
    expect(code(HEIC)).toBe('INVALID_IMAGE'); // a bare ftyp box: no image in it
  });
  it('a meta box flooded with boxes (a million empty ipma, thousands of free boxes) is refused at a bound, not collected', () => {
    // libheif reads every ipma in order, the primary's first entry winning: a few before the real one still read.
    expect(code(makeHeif({ width: 4032, height: 3024, grid: true, emptyIpmas: 3 }))).toBe('ok');
    expect(code(makeHeif({ width: 4032, height: 3024, grid: true, emptyIpmas: 16 }))).toBe('INVALID_IMAGE');
    // 10.4 MB of 16-byte ipma boxes under one iprp: once ~100 MB of objects in the Worker before the refusal.
    const flood = makeHeif({ width: 4032, height: 3024, grid: true, emptyIpmas: 650_000 });
    expect(flood.byteLength).toBeGreaterThan(10_000_000);
    expect(code(flood)).toBe('INVALID_IMAGE');
    expect(code(makeHeif({ width: 4032, height: 3024, grid: true, freeBoxesInMeta: 1000 }))).toBe('ok');
    expect(code(makeHeif({ width: 4032, height: 3024, grid: true, freeBoxesInMeta: 2000 }))).toBe('INVALID_IMAGE');
  });
  it('a huge ftyp box (10 MB of brands, "to the end of the file") is read in place: refused, without millions of strings', () => {
    const n = 10 * 2 ** 20;
    const b = new Uint8Array(n);
    new DataView(b.buffer).setUint32(0, 0); // size 0: runs to the end
    b.set([0x66, 0x74, 0x79, 0x70], 4); // ftyp
    for (let o = 8; o + 4 <= n; o += 4) b.set([0x61, 0x76, 0x69, 0x66], o); // avif, avif, ...
    expect(code(b)).toBe('INVALID_IMAGE'); // no meta box: no image
    // In place and bounded: only the first 64 compatible brands are looked at. A 'mif1' file whose 65th
    // brand says AVIF stays HEIC (reading them all had made arrays of millions of strings, ~100 MB).
    const heic = makeHeif({ width: 1920, height: 1080 });
    const dv = new DataView(heic.buffer, heic.byteOffset);
    const ftypSize = dv.getUint32(0);
    const brands = new Uint8Array(8 + 4 * 65);
    brands.set([0x6d, 0x69, 0x66, 0x31]); // major mif1, minor 0
    for (let k = 0; k < 64; k++) brands.set([0x78, 0x78, 0x78, 0x78], 8 + 4 * k);
    brands.set([0x61, 0x76, 0x69, 0x66], 8 + 4 * 64);
    const file = new Uint8Array(8 + brands.length + heic.length - ftypSize);
    new DataView(file.buffer).setUint32(0, 8 + brands.length);
    file.set([0x66, 0x74, 0x79, 0x70], 4);
    file.set(brands, 8);
    file.set(heic.subarray(ftypSize), 8 + brands.length);
    expect(readHeifHeader(file)).toMatchObject({ format: 'heic', width: 1920, height: 1080 });
  });

  it('the first ftyp decides the format, as libheif reads it; a later one is ignored', () => {
    const heic = makeHeif({ width: 1920, height: 1080 });
    const ftypAvif = Uint8Array.from([0, 0, 0, 16, 0x66, 0x74, 0x79, 0x70, 0x61, 0x76, 0x69, 0x66, 0, 0, 0, 0]);
    const both = new Uint8Array(heic.length + ftypAvif.length);
    both.set(heic);
    both.set(ftypAvif, heic.length);
    expect(readHeifHeader(both)).toMatchObject({ format: 'heic', width: 1920, height: 1080 });
  });
});

describe('HEIF boxes said twice are read as libheif reads them: the first counts', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const cat = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
    return out;
  };
  const box = (type: string, ...parts: Uint8Array[]) => {
    const payload = cat(...parts);
    const out = cat(new Uint8Array(4), enc(type), payload);
    new DataView(out.buffer).setUint32(0, out.length);
    return out;
  };
  const u8 = (...v: number[]) => Uint8Array.from(v);
  const u16 = (v: number) => u8(v >> 8, v & 255);
  const u32 = (v: number) => u8(v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
  const ispe = (w: number, h: number) => box('ispe', u32(0), u32(w), u32(h));
  /** An ipma box of entries for item 1, each a list of (essential) 1-based property indices. */
  const ipma = (...entries: number[][]) => box('ipma', u32(0), u32(entries.length), ...entries.map((idx) => cat(u16(1), u8(idx.length, ...idx.map((i) => 0x80 | i)))));
  /** A one-image HEIC (item 1, the primary) whose iprp holds `iprp`. */
  const heicWith = (...iprp: Uint8Array[]) => {
    const iinf = box('iinf', u32(0), u16(1), box('infe', u8(2, 0, 0, 0), u16(1), u16(0), enc('hvc1'), u8(0)));
    const meta = box('meta', u32(0), box('hdlr', u32(0), u32(0), enc('pict'), new Uint8Array(13)), box('pitm', u32(0), u16(1)), iinf, box('iprp', ...iprp));
    return cat(box('ftyp', enc('heic'), u32(0), enc('mif1'), enc('heic')), meta, box('mdat', new Uint8Array(256)));
  };

  it('a 64x64 picture with a second property list, ipma box, ipco box or ispe saying 512x512 is 64x64', () => {
    // Property 1: the picture's real size; property 2: the claim.
    const ipco = box('ipco', ispe(64, 64), ispe(512, 512));
    const files = {
      twoEntries: heicWith(ipco, ipma([1], [2])),
      twoIpma: heicWith(ipco, ipma([1]), ipma([2])),
      twoIpco: heicWith(box('ipco', ispe(64, 64)), box('ipco', ispe(512, 512)), ipma([1])),
      twoIspe: heicWith(ipco, ipma([1, 2])),
    };
    for (const [name, f] of Object.entries(files)) {
      expect(readHeifHeader(f), name).toMatchObject({ format: 'heic', width: 64, height: 64 });
      expect(code(f), name).toBe('IMAGE_TOO_SMALL');
    }
    // The same file with one property list, as a control.
    expect(readHeifHeader(heicWith(ipco, ipma([2])))).toMatchObject({ width: 512, height: 512 });
  });

  it('one brand list: the sniffer and the container reader take the major brands the decoder (libheif in sharp) opens', () => {
    const withMajor = (f: Uint8Array, brand: string) => {
      const out = Uint8Array.from(f);
      out.set(enc(brand), 8);
      return out;
    };
    const heic = makeHeif({ width: 1920, height: 1080 });
    for (const brand of ['heic', 'heix', 'hevc', 'heim', 'heis', 'mif1', 'msf1']) {
      expect(sniffFormat(withMajor(heic, brand)), brand).toBe('heic');
      expect(code(withMajor(heic, brand)), brand).toBe('ok');
    }
    // sharp's libheif does not open a file whose major brand is 'hevx': the gpu-function refused what the edge passed.
    expect(sniffFormat(withMajor(heic, 'hevx'))).toBe('unknown');
    expect(code(withMajor(heic, 'hevx'))).toBe('INVALID_IMAGE');
    const onlyHevx = withMajor(heic, 'hevx');
    onlyHevx.set(enc('hevxhevx'), 16); // compatible brands too
    expect(readHeifHeader(onlyHevx)).toBeUndefined();
  });
});
