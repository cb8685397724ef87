/**
 * Pixel resampling for model inputs: a box-filtered image pyramid and bilinear sampling through a
 * rotated square region of interest. Coordinates are continuous image pixels: pixel (i, j) covers
 * [i, i+1) x [j, j+1) and its centre is (i + 0.5, j + 0.5).
 *
 * Why a pyramid: the photo can be 12 MP while the detector sees 256 px; bilinear sampling alone would
 * alias (skip most pixels). Sampling from the level whose scale is within 2x of the target keeps the
 * input close to what an area resize gives, at a fraction of the cost of a full-size filter.
 */
import type { RgbImage } from '@facerecon/shared';

export interface Pyramid {
  /** levels[0] is the original; each next level halves both sides (2x2 box filter). */
  readonly levels: readonly RgbImage[];
}

export function buildPyramid(image: RgbImage, minSide = 64): Pyramid {
  const levels: RgbImage[] = [image];
  let cur = image;
  while (Math.min(cur.width, cur.height) >= 2 * minSide) {
    const w = cur.width >> 1;
    const h = cur.height >> 1;
    const out = new Uint8Array(w * h * 3);
    const src = cur.data;
    const stride = cur.width * 3;
    for (let y = 0; y < h; y++) {
      const r0 = 2 * y * stride;
      const r1 = r0 + stride;
      for (let x = 0; x < w; x++) {
        const c = 6 * x;
        const o = (y * w + x) * 3;
        for (let k = 0; k < 3; k++) {
          out[o + k] = (src[r0 + c + k] + src[r0 + c + 3 + k] + src[r1 + c + k] + src[r1 + c + 3 + k] + 2) >> 2;
        }
      }
    }
    cur = { width: w, height: h, data: out };
    levels.push(cur);
  }
  return { levels };
}

/** A square region in the photo, rotated by `angle` radians (image frame: x right, y down, clockwise positive). */
export interface RotatedRect {
  readonly cx: number;
  readonly cy: number;
  readonly size: number;
  readonly angle: number;
}

/** Maps a point in crop pixels (continuous, 0..cropSize) to continuous photo pixels. */
export function cropToImage(rect: RotatedRect, cropSize: number, x: number, y: number): [number, number] {
  const s = rect.size / cropSize;
  const dx = (x - cropSize / 2) * s;
  const dy = (y - cropSize / 2) * s;
  const c = Math.cos(rect.angle);
  const n = Math.sin(rect.angle);
  return [rect.cx + c * dx - n * dy, rect.cy + n * dx + c * dy];
}

export interface CropOptions {
  /** Output side in pixels. */
  size: number;
  /** Output value = pixel / 255 * scale + offset (e.g. [0,1]: scale 1, offset 0; [-1,1]: 2, -1). */
  scale: number;
  offset: number;
  /** Mirror the crop left-right (the iris model only knows one eye). */
  flip?: boolean;
}

/**
 * Samples a rotated square region into an NHWC float tensor (1 x size x size x 3), bilinear, from the
 * pyramid level that keeps the sampling step between 1 and 2 source pixels. Outside the photo is black
 * (value 0 before normalisation), as MediaPipe's ImageToTensor pads with zeros.
 */
export function sampleRotatedCrop(pyr: Pyramid, rect: RotatedRect, opts: CropOptions, out?: Float32Array): Float32Array {
  const { size, scale, offset } = opts;
  const dst = out ?? new Float32Array(size * size * 3);
  const step = rect.size / size;
  const level = Math.max(0, Math.min(pyr.levels.length - 1, Math.floor(Math.log2(Math.max(step, 1)))));
  const img = pyr.levels[level];
  const f = 1 / 2 ** level;
  const { width: W, height: H, data } = img;
  const c = Math.cos(rect.angle) * step * f;
  const n = Math.sin(rect.angle) * step * f;
  // Position of crop pixel centre (u+0.5, v+0.5) in level pixels, minus 0.5 to index pixel centres.
  const half = size / 2;
  const k = scale / 255;
  for (let v = 0; v < size; v++) {
    const dy = v + 0.5 - half;
    for (let u = 0; u < size; u++) {
      const dx = (opts.flip ? size - 1 - u : u) + 0.5 - half;
      const sx = rect.cx * f + c * dx - n * dy - 0.5;
      const sy = rect.cy * f + n * dx + c * dy - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const ax = sx - x0;
      const ay = sy - y0;
      const o = (v * size + u) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const p00 = x0 >= 0 && y0 >= 0 && x0 < W && y0 < H ? data[(y0 * W + x0) * 3 + ch] : 0;
        const p10 = x0 + 1 >= 0 && y0 >= 0 && x0 + 1 < W && y0 < H ? data[(y0 * W + x0 + 1) * 3 + ch] : 0;
        const p01 = x0 >= 0 && y0 + 1 >= 0 && x0 < W && y0 + 1 < H ? data[((y0 + 1) * W + x0) * 3 + ch] : 0;
        const p11 = x0 + 1 >= 0 && y0 + 1 >= 0 && x0 + 1 < W && y0 + 1 < H ? data[((y0 + 1) * W + x0 + 1) * 3 + ch] : 0;
        const val = (p00 * (1 - ax) + p10 * ax) * (1 - ay) + (p01 * (1 - ax) + p11 * ax) * ay;
        dst[o + ch] = val * k + offset;
      }
    }
  }
  return dst;
}

/**
 * The letterbox the detector sees: the photo centred in a square of side max(w, h), padded with black.
 * Returned as a rect so that detector coordinates map back with cropToImage.
 */
export function letterboxRect(width: number, height: number): RotatedRect {
  return { cx: width / 2, cy: height / 2, size: Math.max(width, height), angle: 0 };
}
