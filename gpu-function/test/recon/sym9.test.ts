import { describe, expect, it } from 'vitest';
import { addSymmetricRankOne9 } from '../../src/recon/sym9';

/** The sums as the plain loops define them: A[r][s] += (w x[r]) x[s], s <= r, rows in order, weight > 0 only. */
function looped(A: Float64Array, rows: Float64Array, stride: number, offset: number, w: Float64Array, n: number): number {
  let count = 0;
  for (let j = 0; j < n; j++) {
    if (!(w[j] > 0)) continue;
    count++;
    const o = stride * j + offset;
    for (let r = 0; r < 9; r++) {
      const u = w[j] * rows[o + r];
      for (let s = 0; s <= r; s++) A[r * 9 + s] += u * rows[o + s];
    }
  }
  return count;
}

describe('addSymmetricRankOne9', () => {
  it('gives the plain loops\' sums bit for bit, from a non-zero start, with strided rows and skipped weights', () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
    const n = 500, stride = 27, offset = 9;
    const rows = Float64Array.from({ length: stride * n }, rnd);
    const w = Float64Array.from({ length: n }, (_, j) => (j % 7 === 3 ? 0 : j % 11 === 5 ? -1 : j % 13 === 2 ? NaN : Math.abs(rnd()) * 4));
    const start = Float64Array.from({ length: 81 }, rnd);
    const expected = start.slice();
    const got = start.slice();
    const nExpected = looped(expected, rows, stride, offset, w, n);
    expect(addSymmetricRankOne9(got, rows, stride, offset, w, n)).toBe(nExpected);
    for (let r = 0; r < 9; r++) for (let s = 0; s < 9; s++) expect(Object.is(got[r * 9 + s], expected[r * 9 + s]), `A[${r}][${s}]`).toBe(true);
    // The upper triangle is left as it was.
    for (let r = 0; r < 9; r++) for (let s = r + 1; s < 9; s++) expect(got[r * 9 + s]).toBe(start[r * 9 + s]);
  });
});
