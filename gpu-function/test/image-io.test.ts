/**
 * Decoding what phones send: the project's own portrait as HEIC (HEVC, decoded by libheif in wasm)
 * and AVIF (AV1, decoded by sharp's libvips), both made by scripts/fetch-fixtures.sh with Debian's
 * heif-enc, decode to the portrait's pixels (lossy: PSNR against the PNG original).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { createRgbImage } from '@facerecon/shared';
import { decodeImage, encodePng } from '../src/adapters/image-io';
import { FIXTURES_DIR, fixture } from './fixtures';

describe('decodeImage for phone formats', () => {
  it.each([['astronaut.heic', 'heic'], ['astronaut.avif', 'heif']])('%s decodes upright to the original pixels', async (file, format) => {
    const original = (await decodeImage(new Uint8Array(readFileSync(fixture('astronaut.png'))))).image;
    const decoded = await decodeImage(new Uint8Array(readFileSync(join(FIXTURES_DIR, file))));
    expect(decoded.format).toBe(format);
    expect([decoded.image.width, decoded.image.height]).toEqual([original.width, original.height]);
    let se = 0;
    for (let i = 0; i < original.data.length; i++) se += (original.data[i] - decoded.image.data[i]) ** 2;
    const psnr = 10 * Math.log10((255 * 255) / (se / original.data.length));
    expect(psnr).toBeGreaterThan(30);
  });

  it('a truncated or corrupted HEIC is INVALID_IMAGE or noise, never a crash, and the decoder keeps working after it', async () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES_DIR, 'astronaut.heic')));
    await expect(decodeImage(bytes.subarray(0, bytes.length >> 1))).rejects.toMatchObject({ code: 'INVALID_IMAGE' });
    for (let k = 1; k <= 8; k++) {
      const bad = bytes.slice();
      const at = Math.floor((k / 9) * bad.length);
      for (let i = 0; i < 64; i++) bad[at + i] = (i * 73 + k * 31) & 255;
      await decodeImage(bad).then(
        (r) => expect(r.image.width).toBe(512),
        (err) => expect(err).toMatchObject({ code: 'INVALID_IMAGE' }),
      );
    }
    const again = await decodeImage(bytes);
    expect([again.image.width, again.image.height]).toEqual([512, 512]);
  });

  it.each(['astronaut-grid.heic', 'astronaut.heic'])('%s: a decode aborted by a hang-up (a server aborts with a string reason) is TIMEOUT, not INVALID_IMAGE', async (file) => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES_DIR, file)));
    const hungUp = new AbortController();
    hungUp.abort('client closed the connection');
    await expect(decodeImage(bytes, { signal: hungUp.signal })).rejects.toMatchObject({ code: 'TIMEOUT' });
  });
});

describe('encodePng', () => {
  /** The PNG's chunks: type and data, each CRC checked. */
  const chunks = (png: Uint8Array) => {
    const out: Array<{ type: string; data: Uint8Array }> = [];
    const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
    for (let at = 8; at < png.byteLength; ) {
      const len = v.getUint32(at);
      const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
      expect(v.getUint32(at + 8 + len), type).toBe(crc32(png.subarray(at + 4, at + 8 + len)));
      out.push({ type, data: png.subarray(at + 8, at + 8 + len) });
      at += 12 + len;
    }
    return out;
  };

  it('tags colour images sRGB (right after IHDR, a valid chunk) and leaves data maps untagged; the pixels are the same', async () => {
    const img = createRgbImage(37, 21);
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 31) & 255;
    const colour = await encodePng(img);
    const data = await encodePng(img, { data: true });
    const types = chunks(colour).map((c) => c.type);
    expect(types.slice(0, 2)).toEqual(['IHDR', 'sRGB']);
    expect(Array.from(chunks(colour)[1].data)).toEqual([0]);
    expect(chunks(data).map((c) => c.type)).not.toContain('sRGB');
    for (const png of [colour, data]) expect(Array.from((await decodeImage(png)).image.data)).toEqual(Array.from(img.data));
  });
});
