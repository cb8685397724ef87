import { describe, expect, it } from 'vitest';
import { histQuantile, median, selectKth } from '../../src/recon/select';

// A fixed-seed generator, so a failure reproduces.
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('selectKth and median against a full sort', () => {
  it('agree on random arrays with and without ties, odd and even lengths', () => {
    const rnd = lcg(7);
    for (let t = 0; t < 3000; t++) {
      const n = 1 + Math.floor(rnd() * 80);
      const levels = t % 3 === 0 ? 3 : 1000; // many ties, or few
      const v = Float64Array.from({ length: n }, () => Math.floor(rnd() * levels) - levels / 2);
      const sorted = Float64Array.from(v).sort();
      const m = n >> 1;
      expect(median(v)).toBe(n % 2 ? sorted[m] : 0.5 * (sorted[m - 1] + sorted[m]));
      const k = Math.floor(rnd() * n);
      const a = Float32Array.from(v);
      expect(selectKth(a, k)).toBe(sorted[k]);
      for (let i = 0; i < k; i++) expect(a[i]).toBeLessThanOrEqual(a[k]);
      for (let i = k + 1; i < n; i++) expect(a[i]).toBeGreaterThanOrEqual(a[k]);
    }
  });

  it('median leaves its input as it was', () => {
    const v = Float64Array.of(5, 1, 4, 2, 3);
    median(v);
    expect(Array.from(v)).toEqual([5, 1, 4, 2, 3]);
  });
});

describe('histQuantile against the sorted values it counts', () => {
  it('gives the value at rank ceil(q n) - 1 of 8-bit samples, for several quantiles', () => {
    const rnd = lcg(11);
    const values = Array.from({ length: 1001 }, () => Math.floor(rnd() * rnd() * 256));
    const hist = new Uint32Array(256);
    for (const v of values) hist[v]++;
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.01, 0.3, 0.5, 0.9, 0.99, 1]) expect(histQuantile(hist, values.length, q), `q ${q}`).toBe(sorted[Math.max(0, Math.ceil(q * values.length) - 1)]);
    expect(histQuantile(new Uint32Array(256), 0, 0.5)).toBe(0); // empty: the first bin already reaches 0
  });
});
