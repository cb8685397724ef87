/**
 * Loop subdivision (C. Loop, "Smooth Subdivision Surfaces Based on Triangles", MSc thesis, Utah 1987)
 * with Warren's weights for even vertices and the cubic B-spline rules on boundaries, so the face's
 * open outline stays a smooth curve and is not pulled inwards by missing neighbours.
 *
 * UVs are interpolated linearly (edge midpoints), not smoothed: the face's UV chart then stays exactly
 * the canonical layout at every level, which the texel map and mirror completion rely on.
 * Preconditions: an edge-manifold triangle mesh (each edge in 1 or 2 triangles). Winding is preserved.
 */
import type { TriMesh } from '@facerecon/shared';

export interface SubdivisionResult {
  mesh: TriMesh;
  /** For each new vertex, the two parent vertices of its edge; old vertices map to themselves (a === b). */
  parents: Uint32Array;
}

export function subdivideLoop(mesh: TriMesh): SubdivisionResult {
  const { positions: P, uvs: T, indices: F } = mesh;
  const nv = P.length / 3;
  const nf = F.length / 3;
  // Edge table: key = min * nv + max -> edge index; opposite vertices for the interior rule.
  const edgeIndex = new Map<number, number>();
  const edgeA: number[] = [];
  const edgeB: number[] = [];
  const opp: number[][] = [];
  const faceEdges = new Uint32Array(nf * 3);
  for (let f = 0; f < nf; f++) {
    for (let k = 0; k < 3; k++) {
      const a = F[3 * f + k];
      const b = F[3 * f + ((k + 1) % 3)];
      const c = F[3 * f + ((k + 2) % 3)];
      const key = a < b ? a * nv + b : b * nv + a;
      let e = edgeIndex.get(key);
      if (e === undefined) {
        e = edgeA.length;
        edgeIndex.set(key, e);
        edgeA.push(Math.min(a, b));
        edgeB.push(Math.max(a, b));
        opp.push([]);
      }
      opp[e].push(c);
      if (opp[e].length > 2) throw new RangeError(`edge ${a}-${b} is shared by more than two triangles`);
      faceEdges[3 * f + k] = e;
    }
  }
  const ne = edgeA.length;
  // Vertex neighbourhoods and boundary neighbours.
  const neighbours: Set<number>[] = Array.from({ length: nv }, () => new Set<number>());
  const boundaryNb: number[][] = Array.from({ length: nv }, () => []);
  for (let e = 0; e < ne; e++) {
    neighbours[edgeA[e]].add(edgeB[e]);
    neighbours[edgeB[e]].add(edgeA[e]);
    if (opp[e].length === 1) {
      boundaryNb[edgeA[e]].push(edgeB[e]);
      boundaryNb[edgeB[e]].push(edgeA[e]);
    }
  }

  const outN = nv + ne;
  const pos = new Float32Array(outN * 3);
  const uv = new Float32Array(outN * 2);
  const parents = new Uint32Array(outN * 2);
  for (let v = 0; v < nv; v++) {
    const bn = boundaryNb[v];
    for (let d = 0; d < 3; d++) {
      let val: number;
      if (bn.length === 2) {
        val = 0.75 * P[3 * v + d] + 0.125 * (P[3 * bn[0] + d] + P[3 * bn[1] + d]);
      } else if (bn.length > 0) {
        val = P[3 * v + d]; // non-manifold corner: keep it fixed
      } else {
        const nb = neighbours[v];
        const n = nb.size;
        const beta = n > 3 ? 3 / (8 * n) : 3 / 16;
        let sum = 0;
        for (const u of nb) sum += P[3 * u + d];
        val = (1 - n * beta) * P[3 * v + d] + beta * sum;
      }
      pos[3 * v + d] = val;
    }
    uv[2 * v] = T[2 * v];
    uv[2 * v + 1] = T[2 * v + 1];
    parents[2 * v] = v;
    parents[2 * v + 1] = v;
  }
  for (let e = 0; e < ne; e++) {
    const a = edgeA[e];
    const b = edgeB[e];
    const o = nv + e;
    for (let d = 0; d < 3; d++) {
      pos[3 * o + d] = opp[e].length === 2
        ? 0.375 * (P[3 * a + d] + P[3 * b + d]) + 0.125 * (P[3 * opp[e][0] + d] + P[3 * opp[e][1] + d])
        : 0.5 * (P[3 * a + d] + P[3 * b + d]);
    }
    uv[2 * o] = 0.5 * (T[2 * a] + T[2 * b]);
    uv[2 * o + 1] = 0.5 * (T[2 * a + 1] + T[2 * b + 1]);
    parents[2 * o] = a;
    parents[2 * o + 1] = b;
  }
  const idx = new Uint32Array(nf * 12);
  for (let f = 0; f < nf; f++) {
    const [a, b, c] = [F[3 * f], F[3 * f + 1], F[3 * f + 2]];
    // Edge k joins corner k and corner k+1.
    const ab = nv + faceEdges[3 * f];
    const bc = nv + faceEdges[3 * f + 1];
    const ca = nv + faceEdges[3 * f + 2];
    idx.set([a, ab, ca, ab, b, bc, ca, bc, c, ab, bc, ca], 12 * f);
  }
  return { mesh: { positions: pos, uvs: uv, indices: idx }, parents };
}

/** Area-weighted unit vertex normals (the cross product's length is twice the area). */
export function computeVertexNormals(positions: Float32Array, indices: Uint32Array): Float32Array {
  const n = new Float32Array(positions.length);
  for (let f = 0; f < indices.length; f += 3) {
    const a = indices[f], b = indices[f + 1], c = indices[f + 2];
    const ux = positions[3 * b] - positions[3 * a], uy = positions[3 * b + 1] - positions[3 * a + 1], uz = positions[3 * b + 2] - positions[3 * a + 2];
    const vx = positions[3 * c] - positions[3 * a], vy = positions[3 * c + 1] - positions[3 * a + 1], vz = positions[3 * c + 2] - positions[3 * a + 2];
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    for (const v of [a, b, c]) {
      n[3 * v] += nx;
      n[3 * v + 1] += ny;
      n[3 * v + 2] += nz;
    }
  }
  for (let v = 0; v < n.length; v += 3) {
    const l = Math.hypot(n[v], n[v + 1], n[v + 2]) || 1;
    n[v] /= l;
    n[v + 1] /= l;
    n[v + 2] /= l;
  }
  return n;
}
