/**
 * Bilinear upsampling taps from an n-texel grid to a size-texel one (texel centres aligned, clamped at
 * the edges), shared by every pass that upsamples a coarse grid: the albedo's gain field, the detail
 * maps, the shading solve's prolongation and the mirror fill's factors.
 */
export interface BilinearTaps {
  /** Per output column (or row): the two grid cells it blends, and the weight of the second. */
  at0: Int32Array;
  at1: Int32Array;
  frac: Float32Array;
  /** Start of each run of outputs that share their two cells, and `size` at the end: a run reads its cells once. */
  runs: Int32Array;
}

/** Output t sits at grid coordinate (t + 0.5) n / size - 0.5. Preconditions: n <= size, both > 0. */
export function bilinearTaps(n: number, size: number): BilinearTaps {
  const f = n / size;
  const at0 = new Int32Array(size), at1 = new Int32Array(size), frac = new Float32Array(size);
  const starts = [0];
  for (let t = 0; t < size; t++) {
    const s = Math.min(n - 1, Math.max(0, (t + 0.5) * f - 0.5));
    at0[t] = Math.floor(s);
    at1[t] = Math.min(n - 1, at0[t] + 1);
    frac[t] = s - at0[t];
    if (t > 0 && (at0[t] !== at0[t - 1] || at1[t] !== at1[t - 1])) starts.push(t);
  }
  starts.push(size);
  return { at0, at1, frac, runs: Int32Array.from(starts) };
}
