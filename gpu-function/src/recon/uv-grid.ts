/** The "grid" texture: the UV triangle wireframe drawn over the baked texture, anti-aliased. */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { floatsToBytesKernel } from './simd/kernels';

export interface UvGridOptions {
  /** Line colour and opacity. */
  color?: readonly [number, number, number];
  opacity?: number;
}

/**
 * The wireframe's line coverage, kept sparse: the texels a line touches and their coverage (0..1).
 * A 1024 tile's lines touch a few percent of its texels, so drawing walks those, not the whole tile.
 */
export interface UvGridCoverage {
  size: number;
  texels: Uint32Array;
  coverage: Float32Array;
}

/**
 * Line coverage of each edge of `indices` drawn once in UV space, anti-aliased by a bilinear splat of
 * a 1 px line. Depends only on the layout and size, so callers cache it.
 */
export function uvGridCoverage(uvs: Float32Array, indices: Uint32Array, size: number): UvGridCoverage {
  const cover = new Float32Array(size * size);
  const seen = new Set<number>();
  const n = uvs.length / 2;
  const splat = (px: number, py: number, w: number) => {
    if (px >= 0 && py >= 0 && px < size && py < size && cover[py * size + px] < w) cover[py * size + px] = Math.min(1, w);
  };
  for (let f = 0; f < indices.length; f += 3) {
    for (let k = 0; k < 3; k++) {
      const a = indices[f + k];
      const b = indices[f + ((k + 1) % 3)];
      const key = a < b ? a * n + b : b * n + a;
      if (seen.has(key)) continue;
      seen.add(key);
      const x0 = uvs[2 * a] * size - 0.5, y0 = uvs[2 * a + 1] * size - 0.5;
      const x1 = uvs[2 * b] * size - 0.5, y1 = uvs[2 * b + 1] * size - 0.5;
      const steps = Math.max(1, Math.ceil(2 * Math.hypot(x1 - x0, y1 - y0)));
      for (let s = 0; s <= steps; s++) {
        const x = x0 + ((x1 - x0) * s) / steps;
        const y = y0 + ((y1 - y0) * s) / steps;
        const xi = Math.floor(x), yi = Math.floor(y);
        const ax = x - xi, ay = y - yi;
        splat(xi, yi, (1 - ax) * (1 - ay) + 0.25);
        splat(xi + 1, yi, ax * (1 - ay) + 0.25);
        splat(xi, yi + 1, (1 - ax) * ay + 0.25);
        splat(xi + 1, yi + 1, ax * ay + 0.25);
      }
    }
  }
  let count = 0;
  for (let i = 0; i < cover.length; i++) if (cover[i] > 0) count++;
  const texels = new Uint32Array(count);
  const coverage = new Float32Array(count);
  for (let i = 0, k = 0; i < cover.length; i++) {
    if (cover[i] <= 0) continue;
    texels[k] = i;
    coverage[k++] = cover[i];
  }
  return { size, texels, coverage };
}

/** drawUvGrid: a copy of `texture` with the wireframe whose coverage uvGridCoverage computed blended over it. */
export function drawUvGrid(texture: RgbImage, grid: UvGridCoverage, opts: UvGridOptions = {}): RgbImage {
  if (grid.size !== texture.width || grid.size !== texture.height) throw new RangeError('grid coverage does not match the texture size');
  const out = createRgbImage(texture.width, texture.height, texture.data.slice());
  const [cr, cg, cb] = opts.color ?? [20, 20, 20];
  const alpha = opts.opacity ?? 0.7;
  const d = out.data;
  const { texels, coverage } = grid;
  for (let k = 0; k < texels.length; k++) {
    const a = coverage[k] * alpha;
    const o = 3 * texels[k];
    d[o] = d[o] * (1 - a) + cr * a + 0.5;
    d[o + 1] = d[o + 1] * (1 - a) + cg * a + 0.5;
    d[o + 2] = d[o + 2] * (1 - a) + cb * a + 0.5;
  }
  return out;
}

/**
 * Float colours (0..255) to an 8-bit RGB image, each value as a Uint8ClampedArray store makes it (round
 * half to even, clamped, NaN to 0). Through a SIMD kernel: V8's clamped store took ~19 ms for a 1024 tile.
 */
export function toRgbImage(color: Float32Array, size: number): RgbImage {
  const bytes = new Uint8Array(size * size * 3);
  floatsToBytesKernel(color.subarray(0, bytes.length), bytes);
  return createRgbImage(size, size, bytes);
}
