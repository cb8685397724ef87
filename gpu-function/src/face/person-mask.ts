/**
 * The person mask as data: a probability over a rotated square of the photo, where that square sits
 * for a face, and bilinear lookup at photo positions. Pure functions; the model that fills the mask
 * is segmenter.ts.
 */
import type { RotatedRect } from './raster';

/** Crop side as a multiple of the face ROI's side, and how far its centre sits below the face's. */
export const SEGMENTATION_CROP = { scale: 2.2, down: 0.3 } as const;

/** Person probability over a rotated square of the photo (row-major, size x size, values 0..1). */
export interface PersonMask {
  rect: RotatedRect;
  size: number;
  data: Float32Array;
}

/** The square the model sees for a face whose landmark ROI is `roi` (photo pixels, y down). */
export function segmentationRect(roi: RotatedRect): RotatedRect {
  const size = roi.size * SEGMENTATION_CROP.scale;
  const d = roi.size * SEGMENTATION_CROP.down;
  // "Down" in the face's own frame: rotated with its roll.
  return { cx: roi.cx - Math.sin(roi.angle) * d, cy: roi.cy + Math.cos(roi.angle) * d, size, angle: roi.angle };
}

/**
 * A lookup of person probability at continuous photo positions (bilinear over the mask's pixel
 * centres), with the crop's rotation worked out once: the bake calls it for every texel. Outside the
 * crop there is no evidence, and 0 is returned: what the crop does not cover is far from the face
 * and is completed rather than trusted.
 */
export function personMaskSampler(mask: PersonMask): (x: number, y: number) => number {
  const { rect, size, data } = mask;
  const { c, s, off } = maskFrame(mask);
  return (x, y) => maskAt(data, size, rect.cx, rect.cy, c, s, off, x, y);
}

/**
 * personMaskSampler over a grid of photo positions, x = minX + (gx + 0.5) / scale (and likewise y) for
 * gx < width, gy < height: the same values (in f64, as the sampler returns them), without a closure
 * call per cell (the bake's visibility grid has up to 512 x 512 cells).
 */
export function personMaskOnGrid(mask: PersonMask, grid: { minX: number; minY: number; scale: number; width: number; height: number }): Float64Array {
  const { rect, size, data } = mask;
  const { c, s, off } = maskFrame(mask);
  const out = new Float64Array(grid.width * grid.height);
  for (let gy = 0; gy < grid.height; gy++) {
    const y = grid.minY + (gy + 0.5) / grid.scale;
    for (let gx = 0; gx < grid.width; gx++) out[gy * grid.width + gx] = maskAt(data, size, rect.cx, rect.cy, c, s, off, grid.minX + (gx + 0.5) / grid.scale, y);
  }
  return out;
}

/** The crop's rotation and scale (photo pixels to mask pixels) as c, s, and the offset to the mask's centre. */
function maskFrame(mask: PersonMask): { c: number; s: number; off: number } {
  const k = mask.size / mask.rect.size;
  return { c: Math.cos(mask.rect.angle) * k, s: Math.sin(mask.rect.angle) * k, off: mask.size / 2 - 0.5 };
}

/** The mask's bilinear value at photo position (x, y), the crop's rotation and scale given as c, s. */
function maskAt(data: Float32Array, size: number, cx: number, cy: number, c: number, s: number, off: number, x: number, y: number): number {
  const dx = x - cx, dy = y - cy;
  const u = c * dx + s * dy + off;
  const v = -s * dx + c * dy + off;
  if (u < -0.5 || v < -0.5 || u > size - 0.5 || v > size - 0.5) return 0;
  const u0 = Math.max(0, Math.min(size - 2, Math.floor(u)));
  const v0 = Math.max(0, Math.min(size - 2, Math.floor(v)));
  const au = Math.max(0, Math.min(1, u - u0)), av = Math.max(0, Math.min(1, v - v0));
  const i = v0 * size + u0;
  return (data[i] * (1 - au) + data[i + 1] * au) * (1 - av) + (data[i + size] * (1 - au) + data[i + size + 1] * au) * av;
}

/** One lookup (see personMaskSampler). */
export function samplePersonMask(mask: PersonMask, x: number, y: number): number {
  return personMaskSampler(mask)(x, y);
}

/**
 * How far the mask agrees that the landmarked face is a person: the mean probability at the first
 * `count` landmarks (photo pixels, [x, y, z] each). Over the 431 faces the landmarker accepts on the
 * shared portraits and the AFLW2000-3D dev split it is >= 0.57 (a face half in deep shadow against a
 * dark background), and >= 0.83 on all but five; the one below is a segmentation that failed outright
 * (a black-and-white print on a black page: 0.02), where trusting it left 0.7% of the face to bake and
 * the rest was invented.
 */
export function personMaskAgreement(mask: PersonMask, points: ArrayLike<number>, count: number): number {
  const sample = personMaskSampler(mask);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += sample(points[3 * i], points[3 * i + 1]);
  return count > 0 ? sum / count : 0;
}

/** Below this agreement the segmentation, not the face, is wrong: the bake goes without it. */
export const MIN_PERSON_MASK_AGREEMENT = 0.3;
