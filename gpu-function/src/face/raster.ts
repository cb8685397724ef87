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
  /** Number of levels; level 0 is the original, each next one halves both sides (2x2 box filter). */
  readonly count: number;
  /** Built on first use: a detector crop of a 12 MP photo needs level 3 or 4, a mesh crop maybe none. */
  level(i: number): RgbImage;
}

export function buildPyramid(image: RgbImage, minSide = 64): Pyramid {
  let count = 1;
  for (let s = Math.min(image.width, image.height); s >= 2 * minSide; s >>= 1) count++;
  const levels: RgbImage[] = [image];
  return {
    count,
    level(i) {
      if (i < 0 || i >= count) throw new RangeError(`pyramid level ${i} of ${count}`);
      while (levels.length <= i) levels.push(halve(levels[levels.length - 1]));
      return levels[i];
    },
  };
}

function halve(cur: RgbImage): RgbImage {
  const w = cur.width >> 1;
  const h = cur.height >> 1;
  const out = new Uint8Array(w * h * 3);
  const src = cur.data;
  const stride = cur.width * 3;
  for (let y = 0; y < h; y++) {
    let i0 = 2 * y * stride;
    let i1 = i0 + stride;
    let o = y * w * 3;
    for (let x = 0; x < w; x++, i0 += 6, i1 += 6, o += 3) {
      out[o] = (src[i0] + src[i0 + 3] + src[i1] + src[i1 + 3] + 2) >> 2;
      out[o + 1] = (src[i0 + 1] + src[i0 + 4] + src[i1 + 1] + src[i1 + 4] + 2) >> 2;
      out[o + 2] = (src[i0 + 2] + src[i0 + 5] + src[i1 + 2] + src[i1 + 5] + 2) >> 2;
    }
  }
  return { width: w, height: h, data: out };
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
  if (dst.length < size * size * 3) throw new RangeError(`crop buffer holds ${dst.length} values, needs ${size * size * 3}`);
  const step = rect.size / size;
  const level = Math.max(0, Math.min(pyr.count - 1, Math.floor(Math.log2(Math.max(step, 1)))));
  const img = pyr.level(level);
  const f = 1 / 2 ** level;
  const { width: W, height: H, data } = img;
  const stride = W * 3;
  // Per output pixel the source position advances by (c, n) along u and (-n, c) along v.
  const c = Math.cos(rect.angle) * step * f;
  const n = Math.sin(rect.angle) * step * f;
  const half = size / 2;
  const k = scale / 255;
  // Source position of crop pixel centre (u + 0.5, v + 0.5), minus 0.5 to index pixel centres.
  const x00 = rect.cx * f + c * (0.5 - half) - n * (0.5 - half) - 0.5;
  const y00 = rect.cy * f + n * (0.5 - half) + c * (0.5 - half) - 0.5;
  const tap = (x: number, y: number, ch: number) => (x >= 0 && y >= 0 && x < W && y < H ? data[y * stride + x * 3 + ch] : 0);
  for (let v = 0; v < size; v++) {
    let sx = x00 - n * v;
    let sy = y00 + c * v;
    const row = v * size;
    for (let u = 0; u < size; u++, sx += c, sy += n) {
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const ax = sx - x0;
      const ay = sy - y0;
      const o = (row + (opts.flip ? size - 1 - u : u)) * 3;
      if (x0 >= 0 && y0 >= 0 && x0 < W - 1 && y0 < H - 1) {
        // Interior: all four taps exist (the common case, no per-tap bounds checks).
        const i00 = y0 * stride + x0 * 3;
        const i10 = i00 + stride;
        const w00 = (1 - ax) * (1 - ay) * k;
        const w01 = ax * (1 - ay) * k;
        const w10 = (1 - ax) * ay * k;
        const w11 = ax * ay * k;
        dst[o] = data[i00] * w00 + data[i00 + 3] * w01 + data[i10] * w10 + data[i10 + 3] * w11 + offset;
        dst[o + 1] = data[i00 + 1] * w00 + data[i00 + 4] * w01 + data[i10 + 1] * w10 + data[i10 + 4] * w11 + offset;
        dst[o + 2] = data[i00 + 2] * w00 + data[i00 + 5] * w01 + data[i10 + 2] * w10 + data[i10 + 5] * w11 + offset;
      } else {
        for (let ch = 0; ch < 3; ch++) {
          const val = (tap(x0, y0, ch) * (1 - ax) + tap(x0 + 1, y0, ch) * ax) * (1 - ay) + (tap(x0, y0 + 1, ch) * (1 - ax) + tap(x0 + 1, y0 + 1, ch) * ax) * ay;
          dst[o + ch] = val * k + offset;
        }
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
