/**
 * The correspondence math on synthetic data (no model files needed): the closest point on a triangle
 * against dense sampling, and the radial warp against maps it must reproduce.
 */
import { describe, expect, it } from 'vitest';
import { closestPointBarycentric, embedLandmarksOnSurface, fitRadialWarp } from '../src/correspondence';

let seed = 11;
const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;

describe('closestPointBarycentric', () => {
  it('matches a dense barycentric search on random triangles and points', () => {
    for (let trial = 0; trial < 40; trial++) {
      const a = [rnd(), rnd(), rnd()], b = [rnd(), rnd(), rnd()], c = [rnd(), rnd(), rnd()];
      const p = [rnd() * 2, rnd() * 2, rnd() * 2];
      const at = (w: number[]) => [0, 1, 2].map((d) => w[0] * a[d] + w[1] * b[d] + w[2] * c[d]);
      const dist = (q: number[]) => Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
      let best = Infinity;
      const N = 300;
      for (let i = 0; i <= N; i++) for (let j = 0; i + j <= N; j++) best = Math.min(best, dist(at([1 - (i + j) / N, i / N, j / N])));
      const w = closestPointBarycentric(p, a, b, c);
      expect(Math.min(...w)).toBeGreaterThanOrEqual(0);
      expect(w[0] + w[1] + w[2]).toBeCloseTo(1, 12);
      expect(dist(at(w))).toBeLessThanOrEqual(best + 1e-12);
      expect(best - dist(at(w))).toBeLessThan(0.02);
    }
  });
});

describe('fitRadialWarp', () => {
  const anchors = Float64Array.from({ length: 30 }, () => rnd() * 5);

  it('reproduces an affine map exactly, away from the anchors too', () => {
    const A = [1.1, 0.2, -0.1, 0.05, 0.9, 0.3, -0.2, 0.1, 1.2];
    const t = [3, -1, 2];
    const map = (x: number, y: number, z: number) => [0, 1, 2].map((r) => A[3 * r] * x + A[3 * r + 1] * y + A[3 * r + 2] * z + t[r]);
    const to = new Float64Array(anchors.length);
    for (let i = 0; i < anchors.length / 3; i++) to.set(map(anchors[3 * i], anchors[3 * i + 1], anchors[3 * i + 2]), 3 * i);
    const warp = fitRadialWarp(anchors, to);
    for (let trial = 0; trial < 20; trial++) {
      const x = rnd() * 8, y = rnd() * 8, z = rnd() * 8;
      const got = warp(x, y, z);
      map(x, y, z).forEach((v, d) => expect(got[d]).toBeCloseTo(v, 8));
    }
  });

  it('interpolates a non-rigid bend at the anchors', () => {
    const to = anchors.map((v, i) => (i % 3 === 2 ? v + 0.1 * anchors[i - 2] ** 2 : v));
    const warp = fitRadialWarp(anchors, to);
    for (let i = 0; i < anchors.length / 3; i++) {
      const got = warp(anchors[3 * i], anchors[3 * i + 1], anchors[3 * i + 2]);
      for (let d = 0; d < 3; d++) expect(got[d]).toBeCloseTo(to[3 * i + d], 8);
    }
  });
});

describe('embedLandmarksOnSurface', () => {
  it('puts points of a scaled, shifted plane grid on the target plane, and leaves out far ones', () => {
    // Target: the unit square z = 0 as two triangles. Source: the same square scaled by 2, lifted to z = 5.
    const target = [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0];
    const triangles = [0, 1, 2, 0, 2, 3];
    const source = [0, 0, 5, 2, 0, 5, 2, 2, 5, 0, 2, 5, 0.5, 1.5, 5, 1, 1, 9, 3, 3, 5];
    const anchors = [[0, 0], [1, 1], [2, 2], [3, 3]] as const;
    // Four coplanar anchors leave the affine part singular out of plane; a fifth point fixes it.
    const e = embedLandmarksOnSurface({ source: [...source, 0, 0, 6], target: [...target, 0, 0, 1], triangles, anchors: [...anchors, [7, 4]], maxDistance: 0.5 });
    const got = new Map([...e.source].map((s, k) => [s, k]));
    // (0.5, 1.5, 5) maps to (0.25, 0.75, 0), on the plane.
    const k = got.get(4)!;
    expect(e.distance[k]).toBeLessThan(1e-9);
    // (1, 1, 9) maps to z = 4: too far from the plane, so left out; (3, 3, 5) maps to (1.5, 1.5, 0), off the square by 0.71.
    expect(got.has(5)).toBe(false);
    expect(got.has(6)).toBe(false);
  });
});
