/**
 * The bounded least-squares step of the morphable-model fit (solveBoxQp) against brute force: for a
 * small box QP the optimum is the best feasible solution among all 3^q choices of which variables sit
 * at 0, at 1 or are free (each an unconstrained solve), an independent computation of the same minimum.
 */
import { describe, expect, it } from 'vitest';
import { solveBoxQp } from '../../src/morph/fit-3dmm';
import { solveSymmetricPositiveDefinite } from '../../src/recon/linalg';

let seed = 5;
const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;

function randomSpd(q: number): Float64Array {
  const A = Float64Array.from({ length: q * q }, rnd);
  const H = new Float64Array(q * q);
  for (let i = 0; i < q; i++) for (let j = 0; j < q; j++) for (let k = 0; k < q; k++) H[i * q + j] += A[k * q + i] * A[k * q + j];
  for (let i = 0; i < q; i++) H[i * q + i] += 0.05;
  return H;
}

const objective = (H: Float64Array, g: Float64Array, x: ArrayLike<number>, q: number) => {
  let v = 0;
  for (let i = 0; i < q; i++) {
    v -= g[i] * x[i];
    for (let j = 0; j < q; j++) v += 0.5 * x[i] * H[i * q + j] * x[j];
  }
  return v;
};

function bruteForce(H: Float64Array, g: Float64Array, q: number): { x: Float64Array; value: number } {
  let best = { x: new Float64Array(q), value: Infinity };
  for (let code = 0; code < 3 ** q; code++) {
    const state = Array.from({ length: q }, (_, j) => Math.floor(code / 3 ** j) % 3); // 0 free, 1 at 0, 2 at 1
    const x = new Float64Array(q);
    const free = state.flatMap((s, j) => (s === 0 ? [j] : []));
    state.forEach((s, j) => (x[j] = s === 2 ? 1 : 0));
    if (free.length) {
      const f = free.length;
      const M = new Float64Array(f * f);
      const b = new Float64Array(f);
      free.forEach((i, u) => {
        b[u] = g[i] - state.reduce((acc, s, j) => acc + (s === 2 ? H[i * q + j] : 0), 0);
        free.forEach((j, v) => (M[u * f + v] = H[i * q + j]));
      });
      const y = solveSymmetricPositiveDefinite(M, b, f);
      if ([...y].some((v) => v < -1e-12 || v > 1 + 1e-12)) continue;
      free.forEach((j, u) => (x[j] = y[u]));
    }
    const value = objective(H, g, x, q);
    if (value < best.value) best = { x, value };
  }
  return best;
}

describe('solveBoxQp', () => {
  it('finds the brute-force optimum of random 5-variable box QPs, from cold and warm starts', () => {
    for (let trial = 0; trial < 60; trial++) {
      const q = 5;
      const H = randomSpd(q);
      const g = Float64Array.from({ length: q }, () => rnd() * 3);
      const truth = bruteForce(H, g, q);
      const x = new Float64Array(q);
      const bounds = new Int8Array(q).fill(-1);
      solveBoxQp(H, g, x, bounds, q);
      for (const v of x) expect(v >= 0 && v <= 1).toBe(true);
      expect(objective(H, g, x, q)).toBeCloseTo(truth.value, 9);
      for (let j = 0; j < q; j++) expect(x[j]).toBeCloseTo(truth.x[j], 6);
      // Warm start from another problem's answer and working set: same optimum.
      const g2 = Float64Array.from({ length: q }, () => rnd() * 3);
      solveBoxQp(H, g2, x, bounds, q);
      expect(objective(H, g2, x, q)).toBeCloseTo(bruteForce(H, g2, q).value, 9);
    }
  });

  it('an interior optimum is the unconstrained solution', () => {
    const H = Float64Array.from([2, 0.5, 0.5, 1]);
    const g = Float64Array.from([0.6, 0.4]);
    const x = new Float64Array(2);
    solveBoxQp(H, g, x, new Int8Array(2).fill(-1), 2);
    const free = solveSymmetricPositiveDefinite(H, g, 2);
    expect(x[0]).toBeCloseTo(free[0], 12);
    expect(x[1]).toBeCloseTo(free[1], 12);
  });
});
