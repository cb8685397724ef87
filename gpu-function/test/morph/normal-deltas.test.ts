/**
 * Morph target normal deltas and welded OBJ positions, against independent computations: full-mesh
 * vertex normals (recon/subdivide's computeVertexNormals) of base and base + target, and a parse of
 * the OBJ text back into triangles in space.
 */
import { describe, expect, it } from 'vitest';
import { MORPH_DELTA_FLOOR_MM, residualTarget, withNormalDeltas } from '../../src/morph/morph-export';
import { writeObj } from '../../src/recon/export-obj';
import { computeVertexNormals } from '../../src/recon/subdivide';

/** A bumpy 6x6 grid (mm), two triangles per cell. */
function grid() {
  const N = 6;
  const positions = new Float32Array(N * N * 3);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) positions.set([x * 10, y * 10, Math.sin(x) * 3 + Math.cos(y) * 2], 3 * (y * N + x));
  const idx: number[] = [];
  for (let y = 0; y < N - 1; y++) for (let x = 0; x < N - 1; x++) {
    const a = y * N + x;
    idx.push(a, a + 1, a + N, a + 1, a + N + 1, a + N);
  }
  return { positions, indices: Uint32Array.from(idx), N };
}

describe('withNormalDeltas', () => {
  it('equals the difference of full-mesh vertex normals, on exactly the vertices whose normal moves', () => {
    const { positions, indices } = grid();
    const target = { name: 'bump', indices: Uint32Array.of(14, 15, 21), deltas: Float32Array.of(0, 0, 4, 1, 0, 3, 0, -2, 5) };
    const [t] = withNormalDeltas([target], { positions, indices });
    const moved = Float32Array.from(positions);
    target.indices.forEach((v, k) => {
      for (let d = 0; d < 3; d++) moved[3 * v + d] += target.deltas[3 * k + d];
    });
    const a = computeVertexNormals(moved, indices);
    const b = computeVertexNormals(positions, indices);
    const expected = new Map<number, number[]>();
    for (let v = 0; v < positions.length / 3; v++) {
      const d = [a[3 * v] - b[3 * v], a[3 * v + 1] - b[3 * v + 1], a[3 * v + 2] - b[3 * v + 2]];
      if (Math.abs(d[0]) + Math.abs(d[1]) + Math.abs(d[2]) > 1e-5) expected.set(v, d);
    }
    expect(Array.from(t.normalIndices!)).toEqual([...expected.keys()].sort((p, q) => p - q));
    Array.from(t.normalIndices!).forEach((v, k) => {
      for (let d = 0; d < 3; d++) expect(t.normalDeltas![3 * k + d]).toBeCloseTo(expected.get(v)![d], 4);
    });
  });

  it('copies split at a seam share one normal (weld), as the base mesh\'s smooth normals do', () => {
    const { positions, indices } = grid();
    // Split vertex 14 (x 2, y 2) into a copy (36) used by the triangles below it (centroid y < 20 mm), as at a UV seam.
    const p = new Float32Array(positions.length + 3);
    p.set(positions);
    p.set(positions.subarray(42, 45), positions.length);
    const I = Uint32Array.from(indices);
    for (let t = 0; t < I.length / 3; t++) {
      const cy = (positions[3 * I[3 * t] + 1] + positions[3 * I[3 * t + 1] + 1] + positions[3 * I[3 * t + 2] + 1]) / 3;
      if (cy < 20) for (let c = 0; c < 3; c++) if (I[3 * t + c] === 14) I[3 * t + c] = 36;
    }
    expect(Array.from(I).filter((v) => v === 14).length).toBeGreaterThan(0); // a real split: both copies in use
    expect(Array.from(I).filter((v) => v === 36).length).toBeGreaterThan(0);
    const weld = Uint32Array.from({ length: 37 }, (_, i) => (i === 36 ? 14 : i));
    // Both copies of 14 move with it, and so does its neighbour 15 (a vertex's own move leaves its closed fan's
    // area-weighted normal unchanged, so 15 is what turns the normal at 14).
    const target = { name: 'bump', indices: Uint32Array.of(14, 36, 15), deltas: Float32Array.of(0, 0, 4, 0, 0, 4, 0, 0, 3) };
    const [t] = withNormalDeltas([target], { positions: p, indices: I, weld });
    const k14 = Array.from(t.normalIndices!).indexOf(14);
    const k36 = Array.from(t.normalIndices!).indexOf(36);
    expect(k14).toBeGreaterThanOrEqual(0);
    expect(k36).toBeGreaterThanOrEqual(0);
    expect(Array.from(t.normalDeltas!.subarray(3 * k14, 3 * k14 + 3))).toEqual(Array.from(t.normalDeltas!.subarray(3 * k36, 3 * k36 + 3)));
    // Independent: the welded mesh is the unsplit grid; every render copy carries its welded vertex's full-mesh normal change.
    const moved = Float32Array.from(positions);
    moved[3 * 14 + 2] += 4;
    moved[3 * 15 + 2] += 3;
    const a = computeVertexNormals(moved, indices);
    const b = computeVertexNormals(positions, indices);
    const expected = new Map<number, number[]>();
    for (let v = 0; v < 37; v++) {
      const w = weld[v];
      const d = [0, 1, 2].map((j) => a[3 * w + j] - b[3 * w + j]);
      if (Math.abs(d[0]) + Math.abs(d[1]) + Math.abs(d[2]) > 1e-5) expected.set(v, d);
    }
    expect(Math.hypot(...expected.get(14)!)).toBeGreaterThan(1e-3); // the normal at the seam really turns
    expect(Array.from(t.normalIndices!)).toEqual([...expected.keys()].sort((x, y) => x - y));
    Array.from(t.normalIndices!).forEach((v, k) => {
      for (let d = 0; d < 3; d++) expect(t.normalDeltas![3 * k + d]).toBeCloseTo(expected.get(v)![d], 4);
    });
  });
});

describe('welded OBJ', () => {
  it('writes each shared position once, splits only vt, and describes the same triangles in space', () => {
    // A quad with its right edge's vertices duplicated (as at a UV seam): 6 vertices, 4 positions.
    const positions = Float32Array.of(0, 0, 0, 10, 0, 0, 0, 10, 0, 10, 10, 0, 10, 0, 0, 10, 10, 0);
    const uvs = Float32Array.of(0, 0, 0.5, 0, 0, 1, 0.5, 1, 1, 0, 1, 1);
    const indices = Uint32Array.of(0, 1, 2, 4, 5, 2);
    const normals = new Float32Array(18).map((_, i) => (i % 3 === 2 ? 1 : 0));
    const weld = Uint32Array.of(0, 1, 2, 3, 1, 3);
    const obj = writeObj({ positions, uvs, indices, normals }, { mtl: 'face.mtl', texture: 't.png' }, { weld, unitsPerMm: 1 });
    const v = obj.split('\n').filter((l) => l.startsWith('v ')).map((l) => l.slice(2).split(' ').map(Number));
    const vt = obj.split('\n').filter((l) => l.startsWith('vt '));
    expect(v).toHaveLength(4);
    expect(vt).toHaveLength(6);
    const faces = obj.split('\n').filter((l) => l.startsWith('f ')).map((l) => l.slice(2).split(' ').map((c) => c.split('/').map(Number)));
    faces.forEach((f, t) => {
      for (let c = 0; c < 3; c++) {
        const i = indices[3 * t + c];
        expect(v[f[c][0] - 1]).toEqual(Array.from(positions.subarray(3 * i, 3 * i + 3))); // the same point in space
        expect(f[c][1]).toBe(i + 1); // its own UV
      }
    });
  });
});

describe('residualTarget', () => {
  it("an averaged split pair's left-over, found exactly: base + weighted targets + it at weight 1 is the fitted mesh", () => {
    const { positions: base } = grid();
    const n = base.length / 3;
    // A split pair (left and right halves of one shape) fitted at different weights, and one other shape.
    const left = { name: 'L', indices: Uint32Array.of(7, 8, 13), deltas: Float32Array.of(1, 0, 2, 0.5, 0, 1, 0, 1, 1) };
    const right = { name: 'R', indices: Uint32Array.of(10, 11, 16), deltas: Float32Array.of(-1, 0, 2, -0.5, 0, 1, 0, 1, 1) };
    const other = { name: 'O', indices: Uint32Array.of(30, 31), deltas: Float32Array.of(0, 0, -3, 0, 0, -2) };
    const [wl, wr, wo] = [0.9, 0.3, 0.5];
    const fitted = Float32Array.from(base);
    for (const [t, w] of [[left, wl], [right, wr], [other, wo]] as const) t.indices.forEach((v, k) => [0, 1, 2].forEach((d) => (fitted[3 * v + d] += w * t.deltas[3 * k + d])));
    // As exported under a symmetric name: one target, the halves' sum, at the mean of their weights.
    const sum = { name: 'pair', indices: Uint32Array.of(7, 8, 10, 11, 13, 16), deltas: Float32Array.of(1, 0, 2, 0.5, 0, 1, -1, 0, 2, -0.5, 0, 1, 0, 1, 1, 0, 1, 1) };
    const r = residualTarget('fitResidual', { target: fitted, base, targets: [sum, other], weights: [(wl + wr) / 2, wo] });
    // Independently: the halves' difference times half the weights' difference, on the pair's vertices only.
    const expected = new Map<number, number[]>();
    for (const [t, sign] of [[left, 1], [right, -1]] as const) t.indices.forEach((v, k) => expected.set(v, [0, 1, 2].map((d) => (sign * (wl - wr) / 2) * t.deltas[3 * k + d])));
    expect(Array.from(r.indices)).toEqual([...expected.keys()].sort((a, b) => a - b));
    r.indices.forEach((v, k) => [0, 1, 2].forEach((d) => expect(r.deltas[3 * k + d]).toBeCloseTo(expected.get(v)![d], 5)));
    // And the sum holds on every vertex.
    const rebuilt = Float64Array.from(base);
    for (const [t, w] of [[sum, (wl + wr) / 2], [other, wo], [r, 1]] as const) t.indices.forEach((v, k) => [0, 1, 2].forEach((d) => (rebuilt[3 * v + d] += w * t.deltas[3 * k + d])));
    for (let i = 0; i < 3 * n; i++) expect(Math.abs(rebuilt[i] - fitted[i])).toBeLessThan(MORPH_DELTA_FLOOR_MM);
  });

  it('is empty when the targets already make the mesh', () => {
    const { positions: base } = grid();
    const t = { name: 't', indices: Uint32Array.of(3), deltas: Float32Array.of(0, 0, 5) };
    const fitted = Float32Array.from(base);
    fitted[3 * 3 + 2] += 2.5;
    expect(residualTarget('r', { target: fitted, base, targets: [t], weights: [0.5] }).indices.length).toBe(0);
  });
});
