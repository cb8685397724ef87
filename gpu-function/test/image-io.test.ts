/**
 * Decoding what phones send: the project's own portrait as HEIC (HEVC, decoded by libheif in wasm)
 * and AVIF (AV1, decoded by sharp's libvips), both made by scripts/fetch-fixtures.sh with Debian's
 * heif-enc, decode to the portrait's pixels (lossy: PSNR against the PNG original).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/adapters/image-io';
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
});
