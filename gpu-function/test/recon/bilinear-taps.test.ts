import { describe, expect, it } from 'vitest';
import { bilinearTaps } from '../../src/recon/bilinear-taps';

describe('bilinearTaps', () => {
  for (const [n, size] of [[256, 1024], [512, 1024], [128, 256], [64, 64]] as const) {
    it(`${n} -> ${size}: reproduces a linear ramp with centres aligned, clamped at the edges, in runs that share their cells`, () => {
      const { at0, at1, frac, runs } = bilinearTaps(n, size);
      for (let t = 0; t < size; t++) {
        // Interpolating the ramp v[i] = i gives the grid coordinate of the output's centre.
        const expected = Math.min(n - 1, Math.max(0, ((t + 0.5) * n) / size - 0.5));
        expect(at0[t] * (1 - frac[t]) + at1[t] * frac[t]).toBeCloseTo(expected, 6);
        expect(at1[t] - at0[t]).toBeLessThanOrEqual(1);
        expect(frac[t]).toBeGreaterThanOrEqual(0);
        expect(frac[t]).toBeLessThan(1);
      }
      expect(runs[0]).toBe(0);
      expect(runs[runs.length - 1]).toBe(size);
      for (let r = 0; r + 1 < runs.length; r++) {
        for (let t = runs[r]; t < runs[r + 1]; t++) {
          expect(at0[t]).toBe(at0[runs[r]]);
          expect(at1[t]).toBe(at1[runs[r]]);
        }
        if (r > 0) expect(at0[runs[r]] !== at0[runs[r] - 1] || at1[runs[r]] !== at1[runs[r] - 1]).toBe(true);
      }
      // One run per pair of neighbouring cells (the clamped start joins the first), and the clamped end's: n.
      expect(runs.length - 1).toBe(n);
    });
  }
});
