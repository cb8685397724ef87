/**
 * PNG text chunks are left out before libvips reads a PNG: libpng inflates every zTXt / iTXt chunk and
 * sharp hands them all to JavaScript, so a small file of compressed text was a memory bomb. The pixels
 * are the same with and without them.
 */
import sharp from 'sharp';
import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { decodeImage } from '../../src/adapters/image-io';
import { isPng, stripPngText } from '../../src/image/png-chunks';

// The real function, watched: the decode must hand libvips what it returns (a bomb decodes to the same
// pixels either way, only minutes and gigabytes apart, which a test cannot time).
vi.mock('../../src/image/png-chunks', async (original) => {
  const real = await original<typeof import('../../src/image/png-chunks')>();
  return { ...real, stripPngText: vi.fn(real.stripPngText) };
});

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  const typed = new Uint8Array([...type].map((c) => c.charCodeAt(0)));
  out.set(typed, 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(Buffer.concat([typed, data])));
  return out;
}
const latin1 = (s: string) => new Uint8Array([...s].map((c) => c.charCodeAt(0)));
/** zTXt: keyword, NUL, method 0, deflated text of `bytes` 'A's. */
const ztxt = (bytes: number) => chunk('zTXt', Uint8Array.from([...latin1('Comment'), 0, 0, ...deflateSync(Buffer.alloc(bytes, 0x41), { level: 9 })]));
/** The chunk types of a PNG, in order. */
function types(b: Uint8Array): string[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: string[] = [];
  for (let i = 8; i + 12 <= b.length; i += 12 + dv.getUint32(i)) out.push(String.fromCharCode(...b.subarray(i + 4, i + 8)));
  return out;
}
/** `png` with `extra` chunks spliced in right after IHDR (before the pixels, where libpng reads them first). */
function withChunks(png: Uint8Array, extra: Uint8Array[]): Uint8Array {
  const afterIhdr = 8 + 12 + new DataView(png.buffer, png.byteOffset).getUint32(8);
  return Uint8Array.from([...png.subarray(0, afterIhdr), ...extra.flatMap((c) => [...c]), ...png.subarray(afterIhdr)]);
}

describe('PNG text chunks', () => {
  it('zTXt, tEXt and iTXt are left out before decoding; every other chunk stays, the pixels are the same', async () => {
    const png = new Uint8Array(await sharp({ create: { width: 200, height: 160, channels: 3, background: { r: 180, g: 120, b: 90 } } }).png().toBuffer());
    const iccp = chunk('iCCP', Uint8Array.from([...latin1('x'), 0, 0, ...deflateSync(Buffer.alloc(16))]));
    const text = [ztxt(1 << 20), chunk('tEXt', Uint8Array.from([...latin1('Title'), 0, ...latin1('selfie')])), chunk('iTXt', Uint8Array.from([...latin1('XML'), 0, 0, 0, 0, 0, ...latin1('<x/>')])), ztxt(1 << 20)];
    const bomb = withChunks(png, [text[0], iccp, ...text.slice(1)]);
    // What libvips would read without the strip: the inflated text, handed to JavaScript.
    expect((await sharp(bomb).metadata()).comments?.length).toBe(4);
    const stripped = stripPngText(bomb);
    expect(types(stripped)).toEqual(types(png).toSpliced(1, 0, 'iCCP'));
    expect(types(bomb).filter((t) => ['tEXt', 'zTXt', 'iTXt'].includes(t))).toHaveLength(4);
    expect((await sharp(stripped).metadata()).comments ?? []).toEqual([]);
    const a = (await decodeImage(bomb)).image;
    const b = (await decodeImage(png)).image;
    expect([a.width, a.height]).toEqual([200, 160]);
    expect(Buffer.compare(Buffer.from(a.data), Buffer.from(b.data))).toBe(0);
  });

  it('a file of hundreds of megabytes of compressed text decodes as its pixels, the text never inflated', async () => {
    const png = new Uint8Array(await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 90, g: 90, b: 90 } } }).png().toBuffer());
    // 30 chunks of 10 MB of text each: 300 MB inflated from a file of about 300 KB.
    const bomb = withChunks(png, Array.from({ length: 30 }, () => ztxt(10 << 20)));
    expect(bomb.byteLength).toBeLessThan(400_000);
    expect(stripPngText(bomb).byteLength).toBe(png.byteLength);
    vi.mocked(stripPngText).mockClear();
    expect((await decodeImage(bomb)).image.width).toBe(64);
    // The decode took the upload through the strip before anything else, and got the text-free file back.
    expect(vi.mocked(stripPngText)).toHaveBeenCalledTimes(1);
    expect(vi.mocked(stripPngText).mock.calls[0][0]).toBe(bomb);
    expect(vi.mocked(stripPngText).mock.results[0].value.byteLength).toBe(png.byteLength);
  });

  it('a file that is not a PNG, has no text, or whose chunks cannot be followed is passed on as it is', () => {
    const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0]);
    expect(stripPngText(jpeg)).toBe(jpeg);
    expect(isPng(jpeg)).toBe(false);
    const noText = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10, ...chunk('IEND', new Uint8Array(0))]);
    expect(stripPngText(noText)).toBe(noText);
    const truncated = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10, ...ztxt(100).subarray(0, 20)]);
    expect([...stripPngText(truncated)]).toEqual([...truncated]);
  });

  it('text before a chunk whose length runs past the end is still left out; the rest is kept as it is', async () => {
    const png = new Uint8Array(await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 90, g: 90, b: 90 } } }).png().toBuffer());
    // Ten 4 MB text chunks, then a chunk header claiming 2 GB, then the real IDAT and IEND (a file the edge calls complete).
    const liar = Uint8Array.from([0x7f, 0xff, 0xff, 0xff, ...latin1('tEXt')]);
    const bomb = withChunks(png, [...Array.from({ length: 10 }, () => ztxt(4 << 20)), liar]);
    const out = stripPngText(bomb);
    expect(out.byteLength).toBe(bomb.byteLength - 10 * ztxt(4 << 20).byteLength);
    expect(Buffer.from(out.subarray(out.byteLength - 12)).equals(Buffer.from(bomb.subarray(bomb.byteLength - 12)))).toBe(true);
    expect((await sharp(out).metadata().catch(() => ({ comments: [] }))).comments ?? []).toEqual([]);
  });
});
