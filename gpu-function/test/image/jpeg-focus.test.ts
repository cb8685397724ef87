/**
 * Large JPEGs decoded around the face (image/jpeg-focus.ts, adapters/image-io.ts `focus`). Each EXIF
 * orientation is checked against sharp's own whole decode turned by libvips (an independent route to
 * "which stored pixel lands where"): outside the painted rectangles the focused decode must be the
 * same bytes, inside them the preview's coarse content.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceReconError, createRgbImage, type RgbImage } from '@facerecon/shared';
import { decodeImage, encodeImage, JPEG_FOCUS_MIN_PIXELS, jpegFocusPays } from '../../src/adapters/image-io';
import { createFaceLandmarker, type FaceLandmarker } from '../../src/face/landmarker';
import { faceFocusRegions } from '../../src/face/focus';
import type { PixelRect } from '../../src/image/heif-focus';
import { rotateCcw } from '../../src/image/heif-grid';
import { exifTransforms, jpegCellPlan, storedExtract } from '../../src/image/jpeg-focus';
import { roiClearOf } from '../../src/face/focus';
import { decodeAndLandmark } from '../../src/service/pipeline';
import { fixture } from '../fixtures';
import { expectLandmarksWithinCropJitter } from './landmark-drift';

/** The astronaut at 2x in a 4096 x 2048 frame (8.4 MP, over the focus threshold), on a gradient with seeded grain. */
function widePhoto(astronaut: RgbImage): RgbImage {
  const W = 4096, H = 2048, k = 2, x0 = 2600, y0 = 600;
  const img = createRgbImage(W, H);
  let s = 7;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const n = ((s >>> 16) / 65536 - 0.5) * 8;
      const sx = Math.floor((x - x0) / k), sy = Math.floor((y - y0) / k);
      const inside = sx >= 0 && sx < 512 && sy >= 0 && sy < 512;
      for (let c = 0; c < 3; c++) {
        const v = inside ? astronaut.data[(sy * 512 + sx) * 3 + c] : 40 + (150 * x) / W + 30 * c + (40 * y) / H;
        img.data[(y * W + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v + n)));
      }
    }
  }
  return img;
}

const inRects = (rects: readonly PixelRect[], x: number, y: number) => rects.some((f) => x >= f.x0 && x < f.x1 && y >= f.y0 && y < f.y1);

/** Pixels outside `filled` that differ from `whole`, and the mean absolute difference inside it. */
function compare(part: RgbImage, whole: RgbImage, filled: readonly PixelRect[]): { decodedDiffer: number; paintedShare: number; paintedDiff: number } {
  let decodedDiffer = 0, painted = 0, diff = 0;
  for (let y = 0; y < whole.height; y++) {
    for (let x = 0; x < whole.width; x++) {
      const o = (y * whole.width + x) * 3;
      if (inRects(filled, x, y)) {
        painted++;
        // Every 16th pixel is enough for a mean.
        if ((x & 15) === 0) for (let c = 0; c < 3; c++) diff += Math.abs(part.data[o + c] - whole.data[o + c]);
      } else if (part.data[o] !== whole.data[o] || part.data[o + 1] !== whole.data[o + 1] || part.data[o + 2] !== whole.data[o + 2]) decodedDiffer++;
    }
  }
  return { decodedDiffer, paintedShare: painted / (whole.width * whole.height), paintedDiff: (16 * diff) / Math.max(1, painted) / 3 };
}

describe('decoding a large JPEG around the face', () => {
  let landmarker: FaceLandmarker;
  let photo: RgbImage;
  beforeAll(async () => {
    landmarker = await createFaceLandmarker();
    photo = widePhoto((await decodeImage(new Uint8Array(readFileSync(fixture('astronaut.png'))))).image);
  });
  afterAll(() => landmarker?.close());

  it('the EXIF orientations as quarter turns and mirrors; a region becomes the block of cells it overlaps', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 0, 9].map((o) => exifTransforms(o).length)).toEqual([0, 1, 1, 1, 2, 1, 2, 1, 0, 0]);
    const plan = jpegCellPlan(1000, 600, 1);
    expect(plan).toMatchObject({ rows: 3, cols: 4, tileWidth: 256, tileHeight: 256 });
    // x 0.3-0.6 of 1000 px is 300-600: cells 1 and 2; y 0.1-0.5 of 600 is 60-300: rows 0 and 1.
    const one = storedExtract(plan, [{ x0: 0.3, y0: 0.1, x1: 0.6, y1: 0.5 }])!;
    expect(one.rect).toEqual({ x0: 256, y0: 0, x1: 768, y1: 512 });
    expect(one.cells.flatMap((c, i) => (c ? [i] : []))).toEqual([1, 2, 5, 6]);
    // The last cells are clipped to the picture.
    expect(storedExtract(plan, [{ x0: 0.9, y0: 0.9, x1: 1, y1: 1 }])!.rect).toEqual({ x0: 768, y0: 512, x1: 1000, y1: 600 });
    // Two faces: one rectangle around both (the rows above a part are decoded anyway), its cells all decoded.
    const two = storedExtract(plan, [{ x0: 0.01, y0: 0.01, x1: 0.1, y1: 0.1 }, { x0: 0.8, y0: 0.5, x1: 0.9, y1: 0.6 }])!;
    expect(two.rect).toEqual({ x0: 0, y0: 0, x1: 1000, y1: 512 });
    expect(two.cells.filter(Boolean)).toHaveLength(8);
    expect(storedExtract(plan, [{ x0: 1.2, y0: 0, x1: 1.5, y1: 1 }])).toBeUndefined();
  });

  for (const orientation of [2, 3, 4, 5, 6, 7, 8]) {
    it(`EXIF orientation ${orientation}: the region asked for is decoded as the whole decode has it, the preview reaches the caller upright, the rest is painted`, async () => {
      const bytes = await encodeImage(photo, 'jpeg', { quality: 90, exifOrientation: orientation });
      const whole = (await decodeImage(bytes)).image;
      let seen: RgbImage | undefined;
      // A region of the displayed picture, wherever its stored pixels are.
      const part = await decodeImage(bytes, { focus: async (p) => ((seen = p), [{ x0: 0.55, y0: 0.2, x1: 0.8, y1: 0.6 }]) });
      expect(part.orientation).toBe(orientation);
      // libjpeg's 1/8 (4096 / 9 = 455 asked of libvips, which then decodes at 1/8: 512, and scales down).
      expect(Math.max(seen!.width, seen!.height)).toBe(455);
      expect(Math.abs(seen!.width / seen!.height / (whole.width / whole.height) - 1)).toBeLessThan(0.01);
      expect([part.image.width, part.image.height]).toEqual([whole.width, whole.height]);
      const f = part.focused!;
      expect(f.tiles).toBe(16 * 8);
      expect(f.tilesDecoded).toBeGreaterThan(0);
      expect(f.tilesDecoded).toBeLessThan(0.35 * f.tiles);
      const r = compare(part.image, whole, f.filled);
      expect(r.decodedDiffer).toBe(0);
      expect(r.paintedShare).toBeGreaterThan(0.6);
      // The painted part is the 1/8 preview stretched: the gradient and the face's coarse shape, not noise.
      expect(r.paintedDiff).toBeLessThan(10);
      // And the region asked for lies wholly on decoded pixels.
      const W = whole.width, H = whole.height;
      expect(f.filled.every((q) => q.x1 <= 0.55 * W || q.x0 >= 0.8 * W || q.y1 <= 0.2 * H || q.y0 >= 0.6 * H)).toBe(true);
    });
  }

  it('a picture whose sides are not a multiple of the cell, a region reaching its corner, transposed (5) and transversed (7): the clipped cells land where the whole decode has them', async () => {
    const odd = createRgbImage(4000, 2100);
    for (let y = 0; y < odd.height; y++) for (let x = 0; x < odd.width; x++) odd.data.set([(x * 3) & 255, (y * 5) & 255, ((x + y) * 7) & 255], 3 * (y * odd.width + x));
    for (const orientation of [5, 7]) {
      const bytes = await encodeImage(odd, 'jpeg', { quality: 90, exifOrientation: orientation });
      const whole = (await decodeImage(bytes)).image;
      const part = await decodeImage(bytes, { focus: async () => [{ x0: 0.7, y0: 0.75, x1: 1, y1: 1 }] });
      expect(part.focused!.tilesDecoded).toBeLessThan(part.focused!.tiles);
      const r = compare(part.image, whole, part.focused!.filled);
      expect(r.decodedDiffer).toBe(0);
      const W = whole.width, H = whole.height;
      expect(part.focused!.filled.every((q) => q.x1 <= 0.7 * W || q.y1 <= 0.75 * H)).toBe(true);
    }
  });

  it('upright, below JPEG_FOCUS_MIN_PIXELS, with no face on the preview, or when the shortcut fails, the photo is decoded whole', async () => {
    expect([1, 2, 6, 8, 9].map((o) => jpegFocusPays(4096, 2048, o))).toEqual([false, true, true, true, false]);
    expect(jpegFocusPays(4096, 2048, 6, true)).toBe(false); // progressive: every part would cost a whole decode
    let askedUpright = false;
    const upright = await decodeImage(await encodeImage(photo, 'jpeg', { quality: 90, exifOrientation: 1 }), { focus: async () => ((askedUpright = true), [{ x0: 0, y0: 0, x1: 0.1, y1: 0.1 }]) });
    expect(askedUpright).toBe(false);
    expect(upright.focused).toBeUndefined();
    const big = await encodeImage(photo, 'jpeg', { quality: 90, exifOrientation: 6 });
    const whole = (await decodeImage(big)).image;
    const same = (a: RgbImage) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(whole.data.buffer, whole.data.byteOffset, whole.data.byteLength));
    const none = await decodeImage(big, { focus: async () => undefined });
    expect(none.focused).toBeUndefined();
    expect(same(none.image)).toBe(true);
    const failed = await decodeImage(big, {
      focus: async () => {
        throw new Error('inference session failed');
      },
    });
    expect(failed.focused).toBeUndefined();
    expect(same(failed.image)).toBe(true);
    const small = createRgbImage(2000, 1500);
    expect(small.width * small.height).toBeLessThan(JPEG_FOCUS_MIN_PIXELS);
    let asked = false;
    const decoded = await decodeImage(await encodeImage(small, 'jpeg', { exifOrientation: 6 }), { focus: async () => ((asked = true), [{ x0: 0, y0: 0, x1: 0.1, y1: 0.1 }]) });
    expect(asked).toBe(false);
    expect(decoded.focused).toBeUndefined();
  });

  it("a request whose deadline passed while the preview was looked at ends with the deadline's TIMEOUT, not INVALID_IMAGE", async () => {
    const bytes = await encodeImage(photo, 'jpeg', { quality: 90, exifOrientation: 6 });
    const deadline = new AbortController();
    const err = await decodeImage(bytes, { signal: deadline.signal, focus: async () => (deadline.abort(new FaceReconError('TIMEOUT')), [{ x0: 0.5, y0: 0.2, x1: 0.8, y1: 0.5 }]) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaceReconError);
    expect((err as FaceReconError).code).toBe('TIMEOUT');
  });

  it('a damaged large JPEG gets the answer the whole decode gives it', async () => {
    const bytes = await encodeImage(photo, 'jpeg', { quality: 90, exifOrientation: 8 });
    // Cut off after 60%: the face's rows (the top) are all there, the end of the file is not.
    const damaged = bytes.slice(0, Math.floor(bytes.length * 0.6));
    const outcome = async (focus?: Parameters<typeof decodeImage>[1]) =>
      decodeImage(damaged, focus).then(
        (d) => `ok ${d.image.width}x${d.image.height}`,
        (e) => (e instanceof FaceReconError ? e.code : 'thrown'),
      );
    const whole = await outcome();
    expect(whole).toBe('INVALID_IMAGE');
    expect(await outcome({ focus: async () => [{ x0: 0.6, y0: 0.0, x1: 0.9, y1: 0.3 }] })).toBe(whole);
  });

  it("decodeAndLandmark on a phone-held JPEG (orientation 6): the face's cells only, and the whole decode's landmarks within the mesh model's jitter", async () => {
    // Stored as a phone's sensor has it (turned a quarter counter-clockwise), displayed upright.
    const bytes = await encodeImage(rotateCcw(photo, 1), 'jpeg', { quality: 90, exifOrientation: 6 });
    const layout = { tiles: [{ asset: 'texture' }] } as unknown as Parameters<typeof decodeAndLandmark>[2];
    const whole = await landmarker.landmarks((await decodeImage(bytes)).image);
    const focused = await decodeAndLandmark(bytes, landmarker, layout, new AbortController().signal);
    expect(whole.ok && focused.lm.ok).toBe(true);
    expect(focused.focused!.tilesDecoded).toBeLessThan(0.5 * focused.focused!.tiles);
    // The focused picture stood (the landmarker's crops lie on decoded cells), not a second, whole decode.
    expect(focused.focused!.filled.length).toBeGreaterThan(0);
    expect(focused.lm.ok && roiClearOf(focused.lm.face.roi, focused.focused!.filled)).toBe(true);
    // The detector on the preview found the face: its regions are what was decoded.
    const preview = (await decodeImage(bytes, { focus: async (p) => faceFocusRegions(await landmarker.detectFaces(p), p) })).focused!;
    expect(preview.tilesDecoded).toBe(focused.focused!.tilesDecoded);
    // As for HEIC (heif-focus.test.ts): the painted surroundings move the detector's box a little.
    expectLandmarksWithinCropJitter(whole, focused.lm);
  });
});
