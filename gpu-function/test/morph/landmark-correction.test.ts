/**
 * The landmark residual correction on synthetic surfaces (no model files): what it must reproduce
 * (a uniform shift where landmarks are, nothing far away), that its refinement passes converge at the
 * landmarks, and that the smoothing keeps constants and flattens spikes.
 */
import { describe, expect, it } from 'vitest';
import { correctToLandmarks, prepareLandmarkCorrection, smoothField, vertexAdjacency } from '../../src/morph/landmark-correction';

/** A 1 mm grid on the plane z = 0, n x n vertices, two triangles per cell. */
function grid(n: number) {
  const positions = new Float64Array(n * n * 3);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) positions.set([x, y, 0], 3 * (y * n + x));
  const indices: number[] = [];
  for (let y = 0; y + 1 < n; y++) for (let x = 0; x + 1 < n; x++) {
    const a = y * n + x;
    indices.push(a, a + 1, a + n, a + 1, a + n + 1, a + n);
  }
  return { positions, indices };
}

describe('correctToLandmarks', () => {
  const n = 61;
  const { positions } = grid(n);
  // Landmarks every 5 mm over the central 30 x 30 mm.
  const lms: number[] = [];
  for (let y = 15; y <= 45; y += 5) for (let x = 15; x <= 45; x += 5) lms.push(x, y, 0);
  const c = prepareLandmarkCorrection(positions, lms, { sigmaMm: 3, fadeMm: 6, fadeWidthMm: 10 });
  const k = lms.length / 3;

  it('moves the surface among the landmarks by a uniform residual, and leaves far vertices alone', () => {
    const r = new Float64Array(3 * k);
    for (let i = 0; i < k; i++) r.set([0.5, -1, 2], 3 * i);
    const d = correctToLandmarks(c, r);
    const at = (x: number, y: number) => [d[3 * (y * n + x)], d[3 * (y * n + x) + 1], d[3 * (y * n + x) + 2]];
    for (const [x, y] of [[30, 30], [17, 22], [44, 41]]) at(x, y).forEach((v, i) => expect(v).toBeCloseTo([0.5, -1, 2][i], 6));
    for (const [x, y] of [[0, 0], [60, 60], [0, 60]]) for (const v of at(x, y)) expect(Math.abs(v)).toBeLessThan(1e-9); // > 16 mm from every landmark
    // Below the lowest row (y = 15) the shift fades smoothly: full to 6 mm away, half at 11, none at 16.
    expect(at(30, 9)[2]).toBeCloseTo(2, 6);
    expect(at(30, 4)[2]).toBeCloseTo(1, 1);
    const profile = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0].map((y) => at(30, y)[2]);
    for (let i = 1; i < profile.length; i++) expect(profile[i]).toBeLessThanOrEqual(profile[i - 1] + 1e-12);
  });

  it('refinement passes drive a varying residual towards interpolation at the landmarks', () => {
    const r = new Float64Array(3 * k);
    for (let i = 0; i < k; i++) r[3 * i + 2] = Math.sin(lms[3 * i] / 6) * Math.cos(lms[3 * i + 1] / 7);
    const errAt = (passes: number) => {
      const d = correctToLandmarks(c, r, { passes });
      let e = 0;
      for (let i = 0; i < k; i++) e = Math.max(e, Math.abs(d[3 * (lms[3 * i + 1] * n + lms[3 * i]) + 2] - r[3 * i + 2]));
      return e;
    };
    const e1 = errAt(1);
    const e6 = errAt(6);
    expect(e6).toBeLessThan(e1 * 0.5);
    expect(e6).toBeLessThan(0.05);
  });

  it('caps the displacement', () => {
    const r = new Float64Array(3 * k).fill(30);
    const d = correctToLandmarks(c, r, { maxMm: 8 });
    for (let v = 0; v < n * n; v++) expect(Math.hypot(d[3 * v], d[3 * v + 1], d[3 * v + 2])).toBeLessThanOrEqual(8 + 1e-9);
  });
});

describe('smoothField', () => {
  it('keeps a constant field and flattens a spike while keeping most of its neighbourhood mean', () => {
    const n = 21;
    const { indices } = grid(n);
    const adj = vertexAdjacency(indices, n * n);
    const constant = new Float64Array(n * n * 3).fill(2.5);
    smoothField(adj, constant, 5);
    for (const v of constant) expect(v).toBeCloseTo(2.5, 12);
    const spike = new Float64Array(n * n * 3);
    const centre = 10 * n + 10;
    spike[3 * centre + 2] = 6;
    smoothField(adj, spike, 4);
    expect(spike[3 * centre + 2]).toBeLessThan(2);
    let total = 0;
    for (let v = 0; v < n * n; v++) total += spike[3 * v + 2];
    expect(total).toBeGreaterThan(4); // spread out, not deleted
  });
});
