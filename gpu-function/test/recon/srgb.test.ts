import { describe, expect, it } from 'vitest';
import { linearToSrgb, linearToSrgbFast, srgbToLinear, srgbToLinearFast, srgbToLogLinearFast } from '../../src/recon/srgb';

// The tables against the exact IEC 61966-2-1 curve, at off-grid inputs (between the table's steps).
const inputs = Array.from({ length: 2551 }, (_, k) => k / 10 + 0.037).filter((v) => v <= 255);

describe('the exact sRGB curve', () => {
  // IEC 61966-2-1 written out here, apart from srgb.ts (the tables below are checked against srgb.ts's
  // curve, so a wrong constant there would pass them), and values published for it.
  const iecDecode = (level: number) => {
    const c = level / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const iecEncode = (linear: number) => 255 * (linear <= 0.0031308 ? 12.92 * linear : 1.055 * linear ** (1 / 2.4) - 0.055);

  it('decodes and encodes as the standard says, and as its published values', () => {
    for (let level = 0; level <= 255; level += 0.25) expect(srgbToLinear(level), `level ${level}`).toBeCloseTo(iecDecode(level), 12);
    for (let k = 0; k <= 1000; k++) expect(linearToSrgb(k / 1000), `linear ${k / 1000}`).toBeCloseTo(iecEncode(k / 1000), 9);
    expect(srgbToLinear(128)).toBeCloseTo(0.21586, 5);
    expect(srgbToLinear(10)).toBeCloseTo(0.0030353, 7);
    expect(srgbToLinear(255)).toBeCloseTo(1, 12);
    expect(linearToSrgb(0.18)).toBeCloseTo(117.65, 1); // 18% grey: 0.4614 of full scale
  });
});

describe('sRGB tables', () => {
  it('decode by table is within 1e-5 of the exact curve', () => {
    let worst = 0;
    for (const v of inputs) worst = Math.max(worst, Math.abs(srgbToLinearFast(v) - srgbToLinear(v)));
    expect(worst).toBeLessThan(1e-5);
  });

  it('encode by table is within 0.02 of a level', () => {
    let worst = 0;
    for (let k = 1; k < 5000; k++) {
      const l = (k / 5000) ** 1.7;
      worst = Math.max(worst, Math.abs(linearToSrgbFast(l) - linearToSrgb(l)));
    }
    expect(worst).toBeLessThan(0.02);
  });

  it('log of the decode by table: within 2e-3 from level 1, 1e-4 from level 5, floored at log(1e-4)', () => {
    for (const v of inputs) {
      const exact = Math.log(Math.max(1e-4, srgbToLinear(v)));
      // Below level 1 the floor's kink (at ~0.33) sits between two steps: black, where chroma means nothing.
      const tol = v >= 5 ? 1e-4 : v >= 1 ? 2e-3 : 0.07;
      expect(Math.abs(srgbToLogLinearFast(v) - exact), `v = ${v}`).toBeLessThan(tol);
    }
    expect(srgbToLogLinearFast(0)).toBeCloseTo(Math.log(1e-4), 12);
    expect(srgbToLogLinearFast(-3)).toBeCloseTo(Math.log(1e-4), 12);
    expect(srgbToLogLinearFast(300)).toBeCloseTo(0, 12);
  });
});
