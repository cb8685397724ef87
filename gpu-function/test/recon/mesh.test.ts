/** Loop subdivision and normals: topology invariants, exact UV interpolation, convergence on a sphere. */
import { describe, expect, it } from 'vitest';
import type { TriMesh } from '@facerecon/shared';
import { loadCanonicalFace } from '../../src/recon/canonical';
import { computeVertexNormals, subdivideLoop } from '../../src/recon/subdivide';

function edges(indices: Uint32Array) {
  const undirected = new Map<string, number>();
  const directed = new Set<string>();
  let dupDirected = 0;
  for (let f = 0; f < indices.length; f += 3) {
    for (let k = 0; k < 3; k++) {
      const a = indices[f + k], b = indices[f + ((k + 1) % 3)];
      const key = a < b ? `${a},${b}` : `${b},${a}`;
      undirected.set(key, (undirected.get(key) ?? 0) + 1);
      if (directed.has(`${a},${b}`)) dupDirected++;
      directed.add(`${a},${b}`);
    }
  }
  const boundary = [...undirected.values()].filter((n) => n === 1).length;
  const nonManifold = [...undirected.values()].filter((n) => n > 2).length;
  return { count: undirected.size, boundary, nonManifold, dupDirected };
}

function icosahedron(): TriMesh {
  const t = (1 + Math.sqrt(5)) / 2;
  const v = [[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t], [0, -1, -t], [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]]
    .map((p) => p.map((x) => x / Math.hypot(...p)));
  const f = [0, 11, 5, 0, 5, 1, 0, 1, 7, 0, 7, 10, 0, 10, 11, 1, 5, 9, 5, 11, 4, 11, 10, 2, 10, 7, 6, 7, 1, 8, 3, 9, 4, 3, 4, 2, 3, 2, 6, 3, 6, 8, 3, 8, 9, 4, 9, 5, 2, 4, 11, 6, 2, 10, 8, 6, 7, 9, 8, 1];
  return { positions: Float32Array.from(v.flat()), uvs: new Float32Array(24), indices: Uint32Array.from(f) };
}

describe('subdivideLoop on the face', () => {
  const c = loadCanonicalFace();
  const base: TriMesh = { positions: c.positions, uvs: c.uvs, indices: c.triangles };
  const l1 = subdivideLoop(base);
  const l2 = subdivideLoop(l1.mesh);

  it('multiplies triangles by 4 and keeps the open disk a disk (Euler characteristic 1, one boundary)', () => {
    for (const [mesh, tris] of [[base, 898], [l1.mesh, 3592], [l2.mesh, 14368]] as const) {
      const e = edges(mesh.indices);
      expect(mesh.indices.length / 3).toBe(tris);
      expect(mesh.positions.length / 3 - e.count + tris).toBe(1);
      expect(e.nonManifold).toBe(0);
      expect(e.dupDirected).toBe(0); // consistent winding: every shared edge is walked both ways
    }
    expect(edges(l1.mesh.indices).boundary).toBe(2 * edges(base.indices).boundary);
    expect(l2.mesh.positions.length / 3).toBe(7257);
  });

  it('interpolates UVs exactly at edge midpoints and keeps old UVs', () => {
    const { mesh, parents } = l1;
    for (let v = 0; v < mesh.positions.length / 3; v++) {
      const a = parents[2 * v], b = parents[2 * v + 1];
      for (let d = 0; d < 2; d++) expect(mesh.uvs[2 * v + d]).toBeCloseTo((c.uvs[2 * a + d] + c.uvs[2 * b + d]) / 2, 6);
    }
  });

  it('keeps the face outward: normals point out of the face (+Z) on the front', () => {
    const n = computeVertexNormals(l2.mesh.positions, l2.mesh.indices);
    // Nose tip (vertex 4 keeps its index) faces forward.
    expect(n[3 * 4 + 2]).toBeGreaterThan(0.9);
    let front = 0;
    for (let v = 0; v < n.length / 3; v++) if (n[3 * v + 2] > 0) front++;
    expect(front / (n.length / 3)).toBeGreaterThan(0.9);
  });

  it('smooths: the boundary stays a curve between its old positions (no shrink-wrapping)', () => {
    const before = Math.max(...Array.from({ length: 468 }, (_, i) => Math.abs(c.positions[3 * i])));
    const after = Math.max(...Array.from({ length: l2.mesh.positions.length / 3 }, (_, i) => Math.abs(l2.mesh.positions[3 * i])));
    expect(after / before).toBeGreaterThan(0.97);
    expect(after / before).toBeLessThanOrEqual(1.0001);
  });
});

describe('subdivideLoop on a closed surface', () => {
  it('a closed icosahedron stays closed and converges towards its sphere with radial normals', () => {
    let m: TriMesh = icosahedron();
    for (let k = 0; k < 3; k++) m = subdivideLoop(m).mesh;
    const e = edges(m.indices);
    expect(e.boundary).toBe(0);
    expect(m.positions.length / 3 - e.count + m.indices.length / 3).toBe(2); // sphere
    const n = computeVertexNormals(m.positions, m.indices);
    let rmin = Infinity, rmax = 0, minDot = 1;
    for (let v = 0; v < m.positions.length / 3; v++) {
      const p = [m.positions[3 * v], m.positions[3 * v + 1], m.positions[3 * v + 2]];
      const r = Math.hypot(...p);
      rmin = Math.min(rmin, r);
      rmax = Math.max(rmax, r);
      minDot = Math.min(minDot, (p[0] * n[3 * v] + p[1] * n[3 * v + 1] + p[2] * n[3 * v + 2]) / r);
    }
    // Loop's limit surface of the unit icosahedron lies inside the sphere, at nearly constant radius.
    expect(rmax).toBeLessThanOrEqual(1.0001);
    expect(rmax - rmin).toBeLessThan(0.05);
    expect(minDot).toBeGreaterThan(0.99); // outward and radial
  });

  it('rejects non-manifold input', () => {
    const bad: TriMesh = { positions: new Float32Array(15), uvs: new Float32Array(10), indices: Uint32Array.from([0, 1, 2, 0, 1, 3, 0, 1, 4]) };
    expect(() => subdivideLoop(bad)).toThrow(/more than two triangles/);
  });
});
