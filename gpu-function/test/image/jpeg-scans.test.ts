/**
 * The JPEG scan count walks the marker structure: a baseline JPEG has 1 scan, sharp's progressive JPEG
 * its script's 10, an EXIF thumbnail's scan inside APP1 is not counted, and a progressive JPEG padded
 * with thousands of empty refinement scans (a decode-time bomb: each scan is a pass of libjpeg over the
 * whole image) is refused as INVALID_IMAGE before sharp decodes it.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FaceReconError } from '@facerecon/shared';
import { decodeImage } from '../../src/adapters/image-io';
import { countJpegScans, MAX_JPEG_SCANS } from '../../src/image/jpeg-scans';

const flat = (progressive: boolean) => sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 120, g: 130, b: 140 } } }).jpeg({ progressive, quality: 80 }).toBuffer();

/** `base` with `n` empty luma AC refinement scans (Ss=1..63, only end-of-band runs) spliced in before its EOI. */
function withEmptyScans(base: Uint8Array, n: number, width: number, height: number): Uint8Array {
  const eoi = base.length - 2;
  // An AC Huffman table (class 1, id 3) of one 1-bit code for EOB14 (a run of 16384+ blocks).
  const counts = new Array(16).fill(0);
  counts[0] = 1;
  const dht = [0xff, 0xc4, 0, 2 + 1 + 16 + 1, 0x13, ...counts, 0xe0];
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const bits: number[] = [];
  for (let r = 0; r < Math.ceil(blocks / 32767); r++) bits.push(0, ...new Array(14).fill(1));
  while (bits.length % 8) bits.push(1);
  const ent: number[] = [];
  for (let k = 0; k < bits.length; k += 8) {
    const v = bits.slice(k, k + 8).reduce((a, x) => (a << 1) | x, 0);
    ent.push(v, ...(v === 0xff ? [0] : []));
  }
  const sos = [0xff, 0xda, 0, 8, 1, 1, 0x03, 1, 63, 0x00, ...ent];
  const out: number[] = [...base.subarray(0, eoi), ...dht];
  for (let k = 0; k < n; k++) out.push(...sos);
  out.push(...base.subarray(eoi));
  return Uint8Array.from(out);
}

describe('JPEG scans', () => {
  it('baseline 1, progressive 10 (sharp), an EXIF thumbnail\'s own scan not counted', async () => {
    const baseline = new Uint8Array(await flat(false));
    const progressive = new Uint8Array(await flat(true));
    expect(countJpegScans(baseline)).toBe(1);
    expect(countJpegScans(progressive)).toBe(10);
    // A whole JPEG (with its SOS) inside an APP1 segment, as EXIF thumbnails are stored.
    const app1 = [0xff, 0xe1, ((baseline.length + 2) >> 8) & 255, (baseline.length + 2) & 255, ...baseline];
    const withThumb = Uint8Array.from([...baseline.subarray(0, 2), ...app1, ...baseline.subarray(2)]);
    expect(countJpegScans(withThumb)).toBe(1);
    expect((await decodeImage(withThumb)).image.width).toBe(320);
    expect(countJpegScans(new Uint8Array([1, 2, 3, 4]))).toBe(0);
  });

  it('a progressive JPEG with thousands of empty scans is INVALID_IMAGE before decoding; a few extra still decode', async () => {
    const progressive = new Uint8Array(await flat(true));
    const bomb = withEmptyScans(progressive, 5000, 320, 240);
    expect(bomb.byteLength).toBeLessThan(100_000);
    expect(countJpegScans(bomb)).toBe(MAX_JPEG_SCANS + 1); // counting stops once over
    const err = await decodeImage(bomb).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaceReconError);
    expect((err as FaceReconError).code).toBe('INVALID_IMAGE');
    // The same construction under the limit is a valid JPEG libjpeg decodes (so the count, not the bytes, refused it).
    const few = withEmptyScans(progressive, 20, 320, 240);
    expect(countJpegScans(few)).toBe(30);
    expect((await decodeImage(few)).image.width).toBe(320);
  });

  it('stray bytes between segments (skipped by libjpeg with a warning) do not hide the scans after them', async () => {
    const progressive = new Uint8Array(await flat(true));
    const bomb = withEmptyScans(progressive, 500, 320, 240);
    // One 0x00, then FF 00, right after the spliced DHT segment (before the first empty scan): libjpeg skips both.
    const at = progressive.length - 2 + 22;
    const stray = Uint8Array.from([...bomb.subarray(0, at), 0x00, 0xff, 0x00, ...bomb.subarray(at)]);
    expect(countJpegScans(stray)).toBe(MAX_JPEG_SCANS + 1);
    expect(((await decodeImage(stray).catch((e: unknown) => e)) as FaceReconError).code).toBe('INVALID_IMAGE');
    // Under the limit, the same stray bytes decode (a warning, not an error), and every scan is counted.
    const few = withEmptyScans(progressive, 20, 320, 240);
    const fewStray = Uint8Array.from([...few.subarray(0, at), 0x00, 0xff, 0x00, ...few.subarray(at)]);
    expect(countJpegScans(fewStray)).toBe(30);
    expect((await decodeImage(fewStray)).image.width).toBe(320);
  });
});
