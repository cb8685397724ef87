/**
 * Thumbnail-first decoding of grid HEICs (image/heif-focus.ts, adapters/image-io.ts `focus`,
 * service/pipeline.ts decodeAndLandmark). The tile bookkeeping is checked against pictures whose
 * every pixel names its tile, turned by the same transforms the decoder applies (an independent
 * route to "which tile is where"); the decode against the whole-picture decode of the same file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { decodeImage } from '../../src/adapters/image-io';
import { createFaceLandmarker, type FaceLandmarker } from '../../src/face/landmarker';
import { faceFocusRegions, roiBounds } from '../../src/face/focus';
import { filledRects, previewDisagreement, previewInStoredFrame, stretchPreview, tilesCovering, type NormRect } from '../../src/image/heif-focus';
import { assembleHeifGrid, mirror, planHeifGrid, rotateCcw, type HeifGridPlan, type HeifTransform } from '../../src/image/heif-grid';
import { decodeAndLandmark } from '../../src/service/pipeline';
import { FIXTURES_DIR } from '../fixtures';
import { expectLandmarksWithinCropJitter } from './landmark-drift';

const bytesOf = (f: string) => new Uint8Array(readFileSync(join(FIXTURES_DIR, f)));
/** Byte equality of two pictures' pixels (vitest's deep equality takes minutes over megapixels). */
const samePixels = (a: RgbImage, b: RgbImage) => a.width === b.width && a.height === b.height && Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));

/** A plan whose tiles are flat colours: R = tile index + 1, so any pixel says which tile it came from. */
function indexPicture(plan: HeifGridPlan): RgbImage {
  const tiles = Array.from({ length: plan.rows * plan.cols }, (_, i) => ({ width: plan.tileWidth, height: plan.tileHeight, data: new Uint8Array(plan.tileWidth * plan.tileHeight * 4).fill(i + 1) }));
  return assembleHeifGrid(plan, tiles);
}
const planOf = (transforms: HeifTransform[]): HeifGridPlan => ({ rows: 3, cols: 4, width: 70, height: 50, tileWidth: 20, tileHeight: 20, tiles: [], transforms });

const TRANSFORMS: HeifTransform[][] = [[], [{ irot: 1 }], [{ irot: 2 }], [{ irot: 3 }], [{ imir: 0 }], [{ imir: 1 }], [{ irot: 1 }, { imir: 0 }], [{ imir: 1 }, { irot: 3 }]];

describe('tile bookkeeping under the grid transforms', () => {
  for (const transforms of TRANSFORMS) {
    it(`transforms ${JSON.stringify(transforms)}: the tiles a displayed rectangle needs, and where the undecoded ones land`, () => {
      const plan = planOf(transforms);
      const shown = indexPicture(plan);
      const rect: NormRect = { x0: 0.31, y0: 0.22, x1: 0.58, y1: 0.71 };
      // Independently: the tile indices found under the rectangle's pixels in the displayed picture.
      const under = new Set<number>();
      for (let y = Math.floor(rect.y0 * shown.height); y < Math.ceil(rect.y1 * shown.height); y++) {
        for (let x = Math.floor(rect.x0 * shown.width); x < Math.ceil(rect.x1 * shown.width); x++) under.add(shown.data[(y * shown.width + x) * 3] - 1);
      }
      const need = tilesCovering(plan, [rect]);
      expect(new Set(need.flatMap((n, i) => (n ? [i] : [])))).toEqual(under);
      // Every displayed pixel of an undecoded tile lies in one of the filled rectangles, and no decoded one does.
      const filled = filledRects(plan, need);
      for (let y = 0; y < shown.height; y++) {
        for (let x = 0; x < shown.width; x++) {
          const inFilled = filled.some((f) => x >= f.x0 && x < f.x1 && y >= f.y0 && y < f.y1);
          expect(inFilled).toBe(!need[shown.data[(y * shown.width + x) * 3] - 1]);
        }
      }
    });
  }

  it('stretchPreview: linear across a row between pixel centres, each preview row repeated down the rows it stands for', () => {
    const preview = createRgbImage(2, 2, Uint8Array.from([0, 0, 0, 100, 200, 40, 10, 10, 10, 250, 250, 250]));
    const big = stretchPreview(preview, 8, 4);
    const R = (x: number, y: number) => big.data[(y * 8 + x) * 3];
    // Picture x = 0..7 maps to preview x (x + 0.5) / 4 - 0.5: -0.375 (clamped to 0), -0.125 (0), 0.125, ... 1.375 (clamped to 1).
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((x) => R(x, 0))).toEqual([0, 0, 13, 38, 63, 88, 100, 100]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((x) => R(x, 3))).toEqual([10, 10, 40, 100, 160, 220, 250, 250]);
    expect(big.data.subarray(0, 24)).toEqual(big.data.subarray(24, 48)); // rows 0 and 1 are preview row 0
    expect(big.data[(2 * 8 + 4) * 3 + 1]).toBe(big.data[(3 * 8 + 4) * 3 + 1]);
  });

  it('the preview in the stored frame is the stored picture: turning it back undoes each transform', () => {
    const stored = createRgbImage(5, 3, Uint8Array.from({ length: 45 }, (_, i) => i));
    for (const transforms of TRANSFORMS) {
      let shown = stored;
      for (const t of transforms) shown = 'irot' in t ? rotateCcw(shown, t.irot) : mirror(shown, t.imir);
      expect(previewInStoredFrame(shown, transforms)).toEqual(stored);
    }
  });
});

describe('decoding only the tiles around the face', () => {
  let landmarker: FaceLandmarker;
  beforeAll(async () => {
    landmarker = await createFaceLandmarker();
  });
  afterAll(() => landmarker?.close());
  const focus = async (preview: RgbImage) => faceFocusRegions(await landmarker.detectFaces(preview), preview);

  it('a small face in a wide frame: a few tiles decoded, exactly as the whole decode has them; the rest painted from the thumbnail', async () => {
    const bytes = bytesOf('astronaut-wide.heic');
    const plan = planHeifGrid(bytes)!;
    expect(plan.thumbnail).toMatchObject({ width: 320, height: 192 });
    const whole = (await decodeImage(bytes)).image;
    const part = await decodeImage(bytes, { focus });
    expect(part.focused!.tiles).toBe(15);
    expect(part.focused!.tilesDecoded).toBeGreaterThan(0);
    expect(part.focused!.tilesDecoded).toBeLessThanOrEqual(6);
    const { filled } = part.focused!;
    let inFilled = 0, diff = 0, decodedDiffer = 0;
    for (let y = 0; y < whole.height; y++) {
      for (let x = 0; x < whole.width; x++) {
        const o = (y * whole.width + x) * 3;
        if (filled.some((f) => x >= f.x0 && x < f.x1 && y >= f.y0 && y < f.y1)) {
          inFilled++;
          for (let c = 0; c < 3; c++) diff += Math.abs(part.image.data[o + c] - whole.data[o + c]);
        } else if (part.image.data[o] !== whole.data[o] || part.image.data[o + 1] !== whole.data[o + 1] || part.image.data[o + 2] !== whole.data[o + 2]) decodedDiffer++;
      }
    }
    expect(decodedDiffer).toBe(0);
    expect(inFilled).toBeGreaterThan(0.5 * whole.width * whole.height);
    // The painted part is the thumbnail scaled up: the picture's coarse content (a striped wall of
    // 32 px stripes, 8x coarser than the thumbnail's pixels), not noise.
    expect(diff / inFilled / 3).toBeLessThan(12);
    // The face is wholly on decoded tiles: the astronaut sits at (1500, 420), 512 px.
    expect(filled.every((f) => f.x1 <= 1500 + 140 || f.x0 >= 1500 + 380 || f.y1 <= 420 + 100 || f.y0 >= 420 + 360)).toBe(true);
  });

  it('a rotated photo (irot): the preview reaches the caller upright and the decoded tiles land where the whole decode has them', async () => {
    const bytes = bytesOf('astronaut-rot.heic');
    const whole = (await decodeImage(bytes)).image;
    let seen: { width: number; height: number } | undefined;
    // A region around the displayed picture's left third: whatever the tiles' stored layout is.
    const part = await decodeImage(bytes, { focus: async (p) => ((seen = p), [{ x0: 0, y0: 0, x1: 0.3, y1: 0.4 }]) });
    expect(seen).toMatchObject({ width: 320, height: 228 });
    expect(part.image.width).toBe(whole.width);
    const f = part.focused!;
    expect(f.tilesDecoded).toBeLessThan(f.tiles);
    let differ = 0;
    for (let y = 0; y < 0.4 * whole.height; y++) for (let x = 0; x < 0.3 * whole.width; x++) for (let c = 0; c < 3; c++) if (part.image.data[(y * whole.width + x) * 3 + c] !== whole.data[(y * whole.width + x) * 3 + c]) differ++;
    expect(differ).toBe(0);
  });

  it("the shortcut's own failure (the detector on the thumbnail throws) decodes the whole photo, never INVALID_IMAGE", async () => {
    const bytes = bytesOf('astronaut-wide.heic');
    const part = await decodeImage(bytes, {
      focus: async () => {
        throw new Error('inference session failed');
      },
    });
    expect(part.focused).toBeUndefined();
    expect(samePixels(part.image, (await decodeImage(bytes)).image)).toBe(true);
  });

  it('a thumbnail that is not this picture (turned half round) is noticed: every tile is decoded instead', async () => {
    const bytes = bytesOf('astronaut-wide-badthumb.heic');
    const whole = (await decodeImage(bytes)).image;
    const part = await decodeImage(bytes, { focus: async () => [{ x0: 0.55, y0: 0.2, x1: 0.85, y1: 0.65 }] });
    expect(part.focused).toMatchObject({ filled: [], tilesDecoded: 15, tiles: 15 });
    expect(samePixels(part.image, whole)).toBe(true);
  });

  it('previewDisagreement: a few levels for the picture scaled down, tens for it turned half round', () => {
    const plan: HeifGridPlan = { rows: 1, cols: 2, width: 64, height: 32, tileWidth: 32, tileHeight: 32, tiles: [], transforms: [] };
    const px = (x: number, y: number) => [(x * 4) & 255, (y * 8) & 255, ((x + y) * 3) & 255];
    const tiles = [0, 1].map((c) => ({ width: 32, height: 32, data: Uint8Array.from({ length: 32 * 32 * 4 }, (_, i) => (i % 4 === 3 ? 255 : px(c * 32 + ((i >> 2) % 32), (i >> 2) >> 5)[i % 4])) }));
    const small = createRgbImage(16, 8);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) {
      // The mean of each 4x4 block, computed from the formula.
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) s += px(4 * x + dx, 4 * y + dy)[c];
        small.data[(y * 16 + x) * 3 + c] = Math.round(s / 16);
      }
    }
    expect(previewDisagreement(plan, tiles, small)).toBeLessThan(1);
    expect(previewDisagreement(plan, tiles, rotateCcw(small, 2))).toBeGreaterThan(20);
  });

  it("decodeAndLandmark: the focused decode gives the whole decode's landmarks (within the mesh model's jitter), and a face the focus missed is decoded whole", async () => {
    const bytes = bytesOf('astronaut-wide.heic');
    const layout = { tiles: [{ asset: 'texture' }] } as unknown as Parameters<typeof decodeAndLandmark>[2];
    const signal = new AbortController().signal;
    const whole = await landmarker.landmarks((await decodeImage(bytes)).image);
    const focused = await decodeAndLandmark(bytes, landmarker, layout, signal);
    expect(whole.ok && focused.lm.ok).toBe(true);
    expect(focused.focused!.tilesDecoded).toBeLessThan(15);
    // Within the mesh model's crop jitter (landmark-drift.ts: the painted surroundings move the detector's box, 20 photo pixels a pixel here).
    expectLandmarksWithinCropJitter(whole, focused.lm);
    // A preview box far from the face: the landmarker's ROI falls on painted tiles, so the photo is decoded whole.
    const misled = { ...landmarker, detectFaces: async (img: RgbImage) => (img.width <= 320 ? [{ box: { x: 10, y: 10, width: 20, height: 20 }, score: 0.9, keypoints: [] }] : landmarker.detectFaces(img)) } as FaceLandmarker;
    misled.landmarks = landmarker.landmarks.bind(landmarker);
    const redone = await decodeAndLandmark(bytes, misled, layout, signal);
    expect(redone.lm.ok && whole.ok && Array.from(redone.lm.face.points)).toEqual(whole.ok && Array.from(whole.face.points));
    expect(samePixels(redone.image, (await decodeImage(bytes)).image)).toBe(true);
    // A full head's bake reads beyond the face's crops: no focus at all.
    const head = await decodeAndLandmark(bytes, landmarker, { tiles: [{ asset: 'texture' }, { asset: 'texture_head' }] } as unknown as typeof layout, signal);
    expect(head.focused).toBeUndefined();
    // The ROI's bounds: a square of side 10 turned 45 degrees reaches 5 sqrt(2) from its centre.
    expect(roiBounds({ cx: 0, cy: 0, size: 10, angle: Math.PI / 4 })).toEqual({ x0: -8, y0: -8, x1: 8, y1: 8 });
  });
});
