import { describe, expect, it } from 'vitest';
import { readImageHeader, sniffFormat } from '../src/lib/image-header';
import { validateUpload } from '../src/lib/validate';
import { GIF, HEIC, makeJpegHeader, makePng } from './helpers';

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
    const code = (b: Uint8Array) => {
      try {
        validateUpload(b);
        return 'ok';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(code(await makePng(300, 200))).toBe('ok');
    expect(code(new Uint8Array())).toBe('INVALID_IMAGE');
    expect(code(GIF)).toBe('UNSUPPORTED_FORMAT');
    expect(code(HEIC)).toBe('UNSUPPORTED_FORMAT');
    expect(code(new TextEncoder().encode('hello world, not an image'))).toBe('INVALID_IMAGE');
    expect(code(makeJpegHeader(100, 90))).toBe('IMAGE_TOO_SMALL');
    expect(code(makeJpegHeader(9000, 200))).toBe('IMAGE_TOO_LARGE');
    expect(code(makeJpegHeader(8000, 6000))).toBe('IMAGE_TOO_LARGE'); // 48 MP
    const png = await makePng(300, 200);
    expect(code(png.subarray(0, png.length - 12))).toBe('INVALID_IMAGE');
    expect(code(new Uint8Array(10 * 1024 * 1024 + 1))).toBe('IMAGE_TOO_LARGE');
  });
});
