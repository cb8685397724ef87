/**
 * Morph target normal deltas and welded OBJ positions, against independent computations: full-mesh
 * vertex normals (recon/subdivide's computeVertexNormals) of base and base + target, and a parse of
 * the OBJ text back into triangles in space.
 */
import { describe, expect, it } from 'vitest';
import { withNormalDeltas } from '../../src/morph/morph-export';
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
    // Split vertex 14 into a copy (36) used by half of its triangles.
    const p = new Float32Array(positions.length + 3);
    p.set(positions);
    p.set(positions.subarray(42, 45), positions.length);
    const I = Uint32Array.from(indices);
    for (let k = 0; k < I.length / 2; k++) if (I[k] === 14) I[k] = 36;
    const weld = Uint32Array.from({ length: 37 }, (_, i) => (i === 36 ? 14 : i));
    const [t] = withNormalDeltas([{ name: 'bump', indices: Uint32Array.of(14, 36), deltas: Float32Array.of(0, 0, 4, 0, 0, 4) }], { positions: p, indices: I, weld });
    const k14 = Array.from(t.normalIndices!).indexOf(14);
    const k36 = Array.from(t.normalIndices!).indexOf(36);
    expect(Array.from(t.normalDeltas!.subarray(3 * k14, 3 * k14 + 3))).toEqual(Array.from(t.normalDeltas!.subarray(3 * k36, 3 * k36 + 3)));
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
