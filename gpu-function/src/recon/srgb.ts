/**
 * The sRGB transfer curve (IEC 61966-2-1), both ways: exact, and as interpolated tables for loops over
 * every texel of a 1024 texture (~600k texels x 3 channels), where two pows each cost more than the
 * rest of the work. Values: sRGB 0..255, linear 0..1.
 */

export function srgbToLinear(v: number): number {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** Clamped to 0..255. */
export function linearToSrgb(l: number): number {
  const c = l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055;
  return Math.max(0, Math.min(255, c * 255));
}

// Decode: 8 steps per sRGB level (error < 1e-5). Encode: indexed by sqrt(linear), which spreads the
// steep toe of the curve (error < 0.02 level).
const DECODE_STEPS = 8;
const DECODE = Float64Array.from({ length: 255 * DECODE_STEPS + 2 }, (_, k) => srgbToLinear(Math.min(255, k / DECODE_STEPS)));
const ENCODE_SIZE = 4096;
const ENCODE = Float64Array.from({ length: ENCODE_SIZE + 2 }, (_, k) => linearToSrgb(Math.min(1, (k / ENCODE_SIZE) ** 2)));

/** srgbToLinear by table (input clamped to 0..255). */
export function srgbToLinearFast(v: number): number {
  const x = (v <= 0 ? 0 : v >= 255 ? 255 : v) * DECODE_STEPS;
  const k = x | 0;
  return DECODE[k] + (x - k) * (DECODE[k + 1] - DECODE[k]);
}

// log(max(LOG_FLOOR, linear)) at the decode table's steps: two logarithms and three decodes become three
// lookups in log-chromaticity loops. Linear interpolation of the log is within 2e-3 from level 1 and 1e-4
// from level 5 up (the error falls as 1 / v^2), far inside any chroma tolerance used with it; below
// level 1 (black) the floor's kink costs up to 0.07.
const LOG_FLOOR = 1e-4;
const LOG_DECODE = Float64Array.from(DECODE, (l) => Math.log(Math.max(LOG_FLOOR, l)));

/** srgbToLogLinearFast's table and its steps per sRGB level, for kernels that make the same lookups (simd/albedo-residual.wat). */
export const LOG_LINEAR_TABLE: { readonly table: Float64Array; readonly steps: number } = { table: LOG_DECODE, steps: DECODE_STEPS };

/** log(max(1e-4, srgbToLinear(v))) by table (input clamped to 0..255). */
export function srgbToLogLinearFast(v: number): number {
  const x = (v <= 0 ? 0 : v >= 255 ? 255 : v) * DECODE_STEPS;
  const k = x | 0;
  return LOG_DECODE[k] + (x - k) * (LOG_DECODE[k + 1] - LOG_DECODE[k]);
}

/** linearToSrgb by table. */
export function linearToSrgbFast(l: number): number {
  if (!(l > 0)) return 0;
  if (l >= 1) return 255;
  const x = Math.sqrt(l) * ENCODE_SIZE;
  const k = x | 0;
  return ENCODE[k] + (x - k) * (ENCODE[k + 1] - ENCODE[k]);
}
