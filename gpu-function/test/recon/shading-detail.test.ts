/**
 * Shading detail (src/recon/shading-detail.ts, src/recon/sfs-solve.ts): on a flat textured plane whose
 * "photo" is rendered in its own UV space from a known height field under known SH lighting, the
 * solve recovers a bump, leaves a flat plane flat, leaves wide shapes to the coarse mesh and does not
 * turn a dark spot of albedo into a hole; the normal map follows the glTF convention (decoded with the
 * glTF tangents it gives n0 - grad h); and the conjugate-gradient solve matches a dense direct solve.
 */
import { describe, expect, it } from 'vitest';
import { mat3Identity } from '../../src/recon/linalg';
import { encodeDetailMaps } from '../../src/recon/detail-maps';
import { computeShadingDetail } from '../../src/recon/shading-detail';
import { solveScreenedSfs, solveSfsCascadic, type SfsProblem } from '../../src/recon/sfs-solve';
import { shIrradianceBasis } from '../../src/recon/sh-lighting';
import { gltfTangents, uvTangentFrames } from '../../src/recon/tangents';
import { rasterizeUvTriangles } from '../../src/recon/texel-map';
import { planeMesh } from '../synthetic-meshes';

const HALF = 50; // the plane spans [-50, 50] mm in x and y
const toSrgb = (l: number) => 255 * (l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055);

/** The test plane (synthetic-meshes.ts): z = 0 facing +z, 100 mm wide, u = x, v = -y (image rows down). */
const plane = (cells = 64) => planeMesh({ size: 2 * HALF, cells });

/** Ambient plus a directional light from the upper left front, grey: sh_k = E Y_k(l) + ambient in the DC term. */
function sideLight(): Float64Array {
  const l = [-0.5, 0.5, 0.7071];
  const len = Math.hypot(l[0], l[1], l[2]);
  const B = shIrradianceBasis(l[0] / len, l[1] / len, l[2] / len);
  const A = [Math.PI, ...Array(3).fill((2 * Math.PI) / 3), ...Array(5).fill(Math.PI / 4)];
  const sh = new Float64Array(27);
  for (let c = 0; c < 3; c++) for (let k = 0; k < 9; k++) sh[9 * c + k] = (0.8 * B[k]) / A[k] / Math.PI + (k === 0 ? 0.25 / 0.886227 : 0);
  return sh;
}

/** The tile (sRGB) of albedo(x, y) x shading(true normal of height(x, y)), rendered per texel centre. */
function renderTile(size: number, sh: Float64Array, height: (x: number, y: number) => number, albedo: (x: number, y: number) => number = () => 0.6) {
  const color = new Float32Array(size * size * 3);
  const B = new Float64Array(9);
  const e = 1e-3;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const x = -HALF + ((px + 0.5) / size) * 2 * HALF, y = HALF - ((py + 0.5) / size) * 2 * HALF;
      const hx = (height(x + e, y) - height(x - e, y)) / (2 * e), hy = (height(x, y + e) - height(x, y - e)) / (2 * e);
      const L = Math.hypot(hx, hy, 1);
      shIrradianceBasis(-hx / L, -hy / L, 1 / L, B);
      let s = 0;
      for (let k = 0; k < 9; k++) s += sh[k] * B[k];
      color.fill(toSrgb(albedo(x, y) * s), 3 * (py * size + px), 3 * (py * size + px) + 3);
    }
  }
  return color;
}

function solveOn(height: (x: number, y: number) => number, albedo?: (x: number, y: number) => number) {
  const mesh = plane();
  const size = 512, work = 256;
  const sh = sideLight();
  const color = renderTile(size, sh, height, albedo);
  const detail = computeShadingDetail({
    color,
    weight: new Float32Array(size * size).fill(1),
    size,
    workMap: rasterizeUvTriangles(mesh.uvs, mesh.indices, work),
    mesh,
    frames: uvTangentFrames(mesh),
    rotation: mat3Identity(),
    lighting: { sh },
  });
  // The true height at the working grid's texel centres.
  const truth = new Float32Array(work * work);
  for (let i = 0; i < truth.length; i++) truth[i] = height(-HALF + (((i % work) + 0.5) / work) * 2 * HALF, HALF - ((Math.floor(i / work) + 0.5) / work) * 2 * HALF);
  return { detail, truth, work };
}

function correlation(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) (ab += a[i] * b[i]), (aa += a[i] * a[i]), (bb += b[i] * b[i]);
  return ab / Math.sqrt(aa * bb);
}
const rms = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);

describe('shape from shading on a plane', () => {
  it('recovers a known 1 mm bump (sigma 2.5 mm) under a side light: right place, sign and size', () => {
    const { detail, truth, work } = solveOn((x, y) => Math.exp(-(x * x + y * y) / (2 * 2.5 * 2.5)));
    expect(correlation(detail.height, truth)).toBeGreaterThan(0.8);
    const centre = (work / 2) * work + work / 2;
    const peak = Math.max(detail.height[centre], detail.height[centre - 1], detail.height[centre - work], detail.height[centre - work - 1]);
    // Shading sees the slope along the light's gradient only; the smoothness and screening shrink it a little.
    expect(peak).toBeGreaterThan(0.45);
    expect(peak).toBeLessThan(1.2);
    expect(detail.rangeMm).toBeGreaterThanOrEqual(peak);
  });

  it('leaves a flat plane flat: zero height, a flat normal map, a mid-grey displacement', () => {
    const { detail } = solveOn(() => 0);
    expect(Math.max(...detail.height.map(Math.abs))).toBeLessThan(0.005);
    let off = 0;
    for (let i = 0; i < detail.normal.data.length; i += 3) {
      off = Math.max(off, Math.abs(detail.normal.data[i] - 128), Math.abs(detail.normal.data[i + 1] - 128), 255 - detail.normal.data[i + 2]);
    }
    expect(off).toBeLessThanOrEqual(1);
    expect(new Set(detail.displacement.data).size).toBe(1);
    expect(detail.displacement.data[0]).toBe(128);
  });

  it('leaves a wide shape (sigma 25 mm, 6 mm high) to the coarse mesh: the detail takes little of it', () => {
    const { detail, truth } = solveOn((x, y) => 6 * Math.exp(-(x * x + y * y) / (2 * 25 * 25)));
    // The wide dome's shading is explained by neither the flat mesh nor a smooth albedo; what the
    // detail may take is bounded by its screening (12 mm): well under a third of the dome.
    expect(rms(detail.height)).toBeLessThan(0.3 * rms(truth));
  });

  it('does not dig a hole for a dark spot of albedo (a mole) on a flat plane', () => {
    const { detail, work } = solveOn(
      () => 0,
      (x, y) => (x * x + y * y < 2 * 2 ? 0.25 : 0.6),
    );
    const centre = (work / 2) * work + work / 2;
    expect(Math.abs(detail.height[centre])).toBeLessThan(0.05);
    expect(rms(detail.height)).toBeLessThan(0.01);
  });
});

describe('the normal map convention', () => {
  it('decoded with the glTF tangents (B = cross(N, T) w), it gives the normal of n0 - grad h', () => {
    const mesh = plane(16);
    const work = 64, size = 128;
    const workMap = rasterizeUvTriangles(mesh.uvs, mesh.indices, work);
    const frames = uvTangentFrames(mesh);
    // h = 0.05 x + 0.08 y (mm, head frame): the true normal is normalize(-0.05, -0.08, 1).
    const height = new Float32Array(work * work);
    const active = new Uint8Array(work * work);
    for (const i of workMap.texels) {
      active[i] = 1;
      height[i] = 0.05 * (-HALF + (((i % work) + 0.5) / work) * 2 * HALF) + 0.08 * (HALF - ((Math.floor(i / work) + 0.5) / work) * 2 * HALF);
    }
    const { normal } = encodeDetailMaps({ height, active, workSize: work, size, workMap, indices: mesh.indices, frames });
    const tangents = gltfTangents(mesh);
    const T = tangents.subarray(0, 3), w = tangents[3];
    const N = [0, 0, 1];
    const B = [(N[1] * T[2] - N[2] * T[1]) * w, (N[2] * T[0] - N[0] * T[2]) * w, (N[0] * T[1] - N[1] * T[0]) * w];
    const want = [-0.05, -0.08, 1].map((v) => v / Math.hypot(0.05, 0.08, 1));
    const o = 3 * ((size / 2) * size + size / 2);
    const [x, y, z] = [0, 1, 2].map((c) => (normal.data[o + c] / 255) * 2 - 1);
    const got = [0, 1, 2].map((d) => x * T[d] + y * B[d] + z * N[d]);
    const len = Math.hypot(got[0], got[1], got[2]);
    expect(len).toBeGreaterThan(0.99);
    expect(len).toBeLessThan(1.01);
    for (let d = 0; d < 3; d++) expect(got[d] / len).toBeCloseTo(want[d], 1);
    expect(Math.abs(got[0] / len - want[0])).toBeLessThan(0.01);
    expect(Math.abs(got[1] / len - want[1])).toBeLessThan(0.01);
  });
});

/** The energy solveScreenedSfs states, written out independently (alpha, beta relative to the mean data stiffness). */
function energyOf(p: SfsProblem, h: ArrayLike<number>, alpha: number, beta: number): number {
  const S = p.size, N = S * S;
  let stiff = 0, n = 0;
  for (let i = 0; i < N; i++) if (p.weight[i] > 0) (stiff += p.weight[i] * (p.aU[i] ** 2 + p.aV[i] ** 2)), n++;
  stiff /= n;
  const at = (i: number, ok: boolean) => (ok && p.active[i] ? h[i] : 0);
  let e = 0;
  for (let i = 0; i < N; i++) {
    if (!p.active[i]) continue;
    const dx = at(i + 1, (i % S) + 1 < S) - h[i], dy = at(i + S, i + S < N) - h[i];
    e += p.weight[i] * (p.aU[i] * dx + p.aV[i] * dy - p.residual[i]) ** 2 + alpha * stiff * (dx * dx + dy * dy) + beta * stiff * h[i] * h[i];
  }
  return e;
}

describe('the linear solve', () => {
  /** A small random problem with a hole in its active set. */
  function problem(S: number, seed = 1): SfsProblem {
    let s = seed;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const N = S * S;
    const p: SfsProblem = { size: S, active: new Uint8Array(N), weight: new Float32Array(N), aU: new Float32Array(N), aV: new Float32Array(N), residual: new Float32Array(N) };
    for (let i = 0; i < N; i++) {
      const x = i % S, y = Math.floor(i / S);
      if (Math.abs(x - S / 2) < 1 && Math.abs(y - S / 2) < 1) continue;
      p.active[i] = 1;
      p.weight[i] = rnd() < 0.2 ? 0 : rnd();
      p.aU[i] = rnd() - 0.3;
      p.aV[i] = rnd() - 0.6;
      p.residual[i] = 0.2 * (rnd() - 0.5);
    }
    return p;
  }

  it('conjugate gradients reach the minimiser of the stated energy (dense normal equations, solved directly)', () => {
    const S = 6, alpha = 0.3, beta = 0.05;
    const p = problem(S);
    const N = S * S;
    const energy = (h: Float64Array) => energyOf(p, h, alpha, beta);
    const act = [...Array(N).keys()].filter((i) => p.active[i]);
    const m = act.length;
    const H = act.map(() => new Float64Array(m));
    const g0 = new Float64Array(m);
    const h = new Float64Array(N);
    const e0 = energy(h);
    for (let a = 0; a < m; a++) {
      h[act[a]] = 1;
      const ea = energy(h);
      h[act[a]] = -1;
      g0[a] = (ea - energy(h)) / 2; // dE/dh_a at 0 (exact: E is quadratic)
      H[a][a] = ea + energy(h) - 2 * e0; // d2E/dh_a^2
      h[act[a]] = 0;
    }
    for (let a = 0; a < m; a++) {
      for (let b = a + 1; b < m; b++) {
        h[act[a]] = 1;
        h[act[b]] = 1;
        const eab = energy(h);
        h[act[a]] = h[act[b]] = 0;
        h[act[a]] = 1;
        const ea = energy(h);
        h[act[a]] = 0;
        h[act[b]] = 1;
        const eb = energy(h);
        h[act[b]] = 0;
        H[a][b] = H[b][a] = eab - ea - eb + e0;
      }
    }
    // Solve H h = -g0 by Gaussian elimination with partial pivoting.
    const A = H.map((row, a) => [...row, -g0[a]]);
    for (let c = 0; c < m; c++) {
      let piv = c;
      for (let r = c + 1; r < m; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
      [A[c], A[piv]] = [A[piv], A[c]];
      for (let r = 0; r < m; r++) {
        if (r === c) continue;
        const k = A[r][c] / A[c][c];
        for (let q = c; q <= m; q++) A[r][q] -= k * A[c][q];
      }
    }
    const direct = act.map((_, a) => A[a][m] / A[a][a]);
    const cg = solveScreenedSfs({ ...p, alpha, beta, maxIterations: 500, tolerance: 1e-7 });
    act.forEach((i, a) => expect(cg.height[i]).toBeCloseTo(direct[a], 4));
    for (let i = 0; i < N; i++) if (!p.active[i]) expect(cg.height[i]).toBe(0);
  });

  // 132 restricts to 66 and then to an odd 33 (the coarser grids' arrays are not multiples of 16 bytes).
  for (const S of [128, 132]) it(`the cascadic solve gets within 5% of the minimum energy, with fewer iterations than one level (${S} x ${S})`, () => {
    // A smooth problem like a face's: slopes and weights vary slowly, the residual is a few blobs.
    const N = S * S;
    const p: SfsProblem = { size: S, active: new Uint8Array(N), weight: new Float32Array(N), aU: new Float32Array(N), aV: new Float32Array(N), residual: new Float32Array(N) };
    for (let i = 0; i < N; i++) {
      const x = (i % S) / S - 0.5, y = Math.floor(i / S) / S - 0.5;
      if (x * x + y * y > 0.2) continue;
      p.active[i] = 1;
      p.weight[i] = Math.abs(x - 0.1) < 0.04 ? 0 : 0.5 + 0.5 * Math.cos(3 * y);
      p.aU[i] = 0.6 + 0.3 * Math.sin(4 * x);
      p.aV[i] = -0.4 + 0.2 * y;
      p.residual[i] = 0.1 * Math.exp(-((x - 0.15) ** 2 + y ** 2) / 0.002) - 0.08 * Math.exp(-((x + 0.2) ** 2 + (y - 0.1) ** 2) / 0.004);
    }
    const alpha = 0.02, scale = 24;
    const exact = solveScreenedSfs({ ...p, alpha, beta: alpha / scale ** 2, maxIterations: 5000, tolerance: 1e-7 });
    const cascadic = solveSfsCascadic(p, { alpha, scaleTexels: scale, iterations: 15 });
    const e = (h: Float32Array) => energyOf(p, h, alpha, alpha / scale ** 2);
    const e0 = e(new Float32Array(N)), eMin = e(exact.height);
    expect((e(cascadic.height) - eMin) / (e0 - eMin)).toBeLessThan(0.05);
    expect(cascadic.iterations).toBeLessThan(exact.iterations);
  });
});
