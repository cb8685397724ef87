/**
 * directionBalanceWeights (photo-lighting.ts): a face's normals are mostly frontal, so a lighting fit
 * weighted by area matches the frontal directions and extrapolates to the steep ones; balanced by
 * direction it fits the steep ones (the nose's sides, the jaw) too. Checked on real, non-truncated
 * Lambertian shading (an exact clamped cosine has order > 2 content the 9 coefficients cannot hold,
 * so where the fit puts its error depends on how the samples are spread).
 */
import { describe, expect, it } from 'vitest';
import { directionBalanceWeights } from '../../src/recon/photo-lighting';
import { estimateShLighting } from '../../src/recon/sh-fit';
import { shadeSh } from '../../src/recon/sh-lighting';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
const encode = (l: number) => 255 * Math.min(1, l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055);

describe('directionBalanceWeights', () => {
  // 4000 frontal normals (n_z 0.8-1) and 400 steep ones (n_z 0.15-0.6), as a face's area spreads them.
  const rnd = lcg(11);
  const pts: number[] = [];
  const push = (zLo: number, zHi: number, count: number) => {
    for (let i = 0; i < count; i++) {
      const z = zLo + (zHi - zLo) * rnd(), r = Math.sqrt(1 - z * z), phi = 2 * Math.PI * rnd();
      pts.push(r * Math.cos(phi), r * Math.sin(phi), z);
    }
  };
  push(0.8, 1, 4000);
  push(0.15, 0.6, 400);
  const normals = Float32Array.from(pts), n = normals.length / 3;
  // A key light from the camera (a phone's flash, a window behind it) and some ambient, exact (not
  // SH-truncated), on an albedo of 0.5. With a key from above instead, whose terminator crosses the steep
  // normals, neither fit follows the kink (~15% error on them either way).
  const L = [0, 0, 1], len = 1, shade = new Float64Array(n);
  const colors = new Float32Array(3 * n);
  for (let j = 0; j < n; j++) {
    shade[j] = 0.12 + 0.75 * Math.max(0, (normals[3 * j] * L[0] + normals[3 * j + 1] * L[1] + normals[3 * j + 2] * L[2]) / len);
    colors.fill(Math.round(encode(0.5 * shade[j])), 3 * j, 3 * j + 3);
  }
  /** Relative RMS shading error (green channel) over the samples `keep` selects. */
  const error = (est: { sh: Float64Array }, keep: (j: number) => boolean) => {
    const s = new Float64Array(3);
    let se = 0, m = 0;
    for (let j = 0; j < n; j++) {
      if (!keep(j)) continue;
      shadeSh(est, normals[3 * j], normals[3 * j + 1], normals[3 * j + 2], s);
      se += (s[1] / (0.5 * shade[j]) - 1) ** 2;
      m++;
    }
    return Math.sqrt(se / m);
  };

  it('weights each occupied direction bin alike, capped', () => {
    const w = directionBalanceWeights(normals);
    let frontal = 0, steep = 0;
    for (let j = 0; j < n; j++) (normals[3 * j + 2] >= 0.8 ? (frontal += w[j]) : (steep += w[j]));
    // By area the steep samples are 9% of the weight; balanced, they carry most of it (they span more bins).
    expect(steep / (frontal + steep)).toBeGreaterThan(0.4);
    expect(Math.max(...w)).toBeLessThanOrEqual(8);
    expect(Math.min(...w)).toBeGreaterThan(0);
  });

  it('fits the steep directions better than an area-weighted fit, without losing the frontal ones', () => {
    // Robust reweighting (as photos are fitted) is where the area-weighted fit loses the steep samples:
    // few and badly fitted, they look like outliers. Plain least squares: 1.4% against 0.5%.
    const area = estimateShLighting({ colors, normals, redescend: false });
    const balanced = estimateShLighting({ colors, normals, weights: directionBalanceWeights(normals), redescend: false });
    const steep = (j: number) => normals[3 * j + 2] < 0.6, frontal = (j: number) => normals[3 * j + 2] >= 0.8;
    const eA = error(area, steep), eB = error(balanced, steep);
    console.log(`steep normals: shading error area-weighted ${(100 * eA).toFixed(2)}%, balanced ${(100 * eB).toFixed(2)}%; frontal ${(100 * error(area, frontal)).toFixed(2)}% / ${(100 * error(balanced, frontal)).toFixed(2)}%`);
    expect(eA).toBeGreaterThan(0.03);
    expect(eB).toBeLessThan(0.3 * eA);
    expect(error(balanced, frontal)).toBeLessThan(0.05);
  });
});
