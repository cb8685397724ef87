/** Box filters over square grids of typed arrays, by running sums. */
import { boxSumKernel } from './simd/kernels';

/**
 * In place, `passes` times over each grid of `planes`: box sums of radius r (window 2r + 1, clipped at
 * the edges), rows then columns, by running sums in f64 (simd/box-sum.wat, each plane copied into the
 * kernels' memory once for all its passes); `tmp` (S * S) is scratch for windows wider than the grid.
 * Not divided by the window: the callers blur a numerator and its weights alike and divide one by the
 * other, so the window size cancels.
 */
export function boxSums(planes: readonly Float32Array[], tmp: Float32Array, S: number, r: number, passes: number): void {
  if (2 * r + 1 <= S) return boxSumKernel(planes, S, r, passes);
  for (let pass = 0; pass < passes; pass++) for (const a of planes) boxSumClipped(a, tmp, S, r);
}

/** One box sum for windows wider than the grid: every sum clipped at both edges. */
function boxSumClipped(a: Float32Array, tmp: Float32Array, S: number, r: number): void {
  for (let y = 0; y < S; y++) {
    const base = y * S;
    let acc = 0;
    for (let x = 0; x < r && x < S; x++) acc += a[base + x];
    for (let x = 0; x < S; x++) {
      if (x + r < S) acc += a[base + x + r];
      tmp[base + x] = acc;
      if (x - r >= 0) acc -= a[base + x - r];
    }
  }
  const acc = new Float64Array(S);
  for (let y = 0; y < r && y < S; y++) for (let x = 0; x < S; x++) acc[x] += tmp[y * S + x];
  for (let y = 0; y < S; y++) {
    if (y + r < S) for (let x = 0, o = (y + r) * S; x < S; x++) acc[x] += tmp[o + x];
    for (let x = 0, o = y * S; x < S; x++) a[o + x] = acc[x];
    if (y - r >= 0) for (let x = 0, o = (y - r) * S; x < S; x++) acc[x] -= tmp[o + x];
  }
}
