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

/**
 * One subdivision level of a fixed topology, split into what depends only on the connectivity (built
 * once: new triangles, UVs, stencils) and the per-face part, `apply`, a sparse weighted sum of the
 * parent positions. Every face shares MediaPipe's topology, so the service plans once at start-up.
 */
export interface LoopPlan {
  readonly indices: Uint32Array;
  readonly uvs: Float32Array;
  readonly parents: Uint32Array;
  readonly vertexCount: number;
  apply(positions: Float32Array): Float32Array;
}

export function planLoopSubdivision(indices: Uint32Array, uvs: Float32Array, nv: number): LoopPlan {
  const F = indices;
  const T = uvs;
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
  // Even-vertex stencils in CSR form: self weight, then (neighbour, weight) pairs.
  const selfW = new Float32Array(nv);
  const start = new Uint32Array(nv + 1);
  const nbr: number[] = [];
  const nbrW: number[] = [];
  for (let v = 0; v < nv; v++) {
    const bn = boundaryNb[v];
    if (bn.length === 2) {
      selfW[v] = 0.75;
      nbr.push(bn[0], bn[1]);
      nbrW.push(0.125, 0.125);
    } else if (bn.length > 0) {
      selfW[v] = 1; // non-manifold corner: keep it fixed
    } else {
      const n = neighbours[v].size;
      const beta = n > 3 ? 3 / (8 * n) : 3 / 16;
      selfW[v] = 1 - n * beta;
      for (const u of neighbours[v]) {
        nbr.push(u);
        nbrW.push(beta);
      }
    }
    start[v + 1] = nbr.length;
  }
  const nbrIdx = Uint32Array.from(nbr);
  const nbrWt = Float32Array.from(nbrW);
  const eA = Uint32Array.from(edgeA);
  const eB = Uint32Array.from(edgeB);
  const oC = Int32Array.from(opp.map((o) => (o.length === 2 ? o[0] : -1)));
  const oD = Int32Array.from(opp.map((o) => (o.length === 2 ? o[1] : -1)));

  const outN = nv + ne;
  const uv = new Float32Array(outN * 2);
  const parents = new Uint32Array(outN * 2);
  for (let v = 0; v < nv; v++) {
    uv[2 * v] = T[2 * v];
    uv[2 * v + 1] = T[2 * v + 1];
    parents[2 * v] = v;
    parents[2 * v + 1] = v;
  }
  for (let e = 0; e < ne; e++) {
    const o = nv + e;
    uv[2 * o] = 0.5 * (T[2 * eA[e]] + T[2 * eB[e]]);
    uv[2 * o + 1] = 0.5 * (T[2 * eA[e] + 1] + T[2 * eB[e] + 1]);
    parents[2 * o] = eA[e];
    parents[2 * o + 1] = eB[e];
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
  return {
    indices: idx,
    uvs: uv,
    parents,
    vertexCount: outN,
    apply(P) {
      if (P.length !== nv * 3) throw new RangeError(`plan is for ${nv} vertices, got ${P.length / 3}`);
      const pos = new Float32Array(outN * 3);
      for (let v = 0; v < nv; v++) {
        const w = selfW[v];
        let x = w * P[3 * v], y = w * P[3 * v + 1], z = w * P[3 * v + 2];
        for (let k = start[v]; k < start[v + 1]; k++) {
          const u = 3 * nbrIdx[k];
          const q = nbrWt[k];
          x += q * P[u];
          y += q * P[u + 1];
          z += q * P[u + 2];
        }
        pos[3 * v] = x;
        pos[3 * v + 1] = y;
        pos[3 * v + 2] = z;
      }
      for (let e = 0; e < ne; e++) {
        const a = 3 * eA[e], b = 3 * eB[e], o = 3 * (nv + e);
        if (oC[e] >= 0) {
          const c = 3 * oC[e], d = 3 * oD[e];
          for (let k = 0; k < 3; k++) pos[o + k] = 0.375 * (P[a + k] + P[b + k]) + 0.125 * (P[c + k] + P[d + k]);
        } else {
          for (let k = 0; k < 3; k++) pos[o + k] = 0.5 * (P[a + k] + P[b + k]);
        }
      }
      return pos;
    },
  };
}

/** One Loop level of a mesh (plans and applies; use planLoopSubdivision to reuse the plan). */
export function subdivideLoop(mesh: TriMesh): SubdivisionResult {
  const plan = planLoopSubdivision(mesh.indices, mesh.uvs, mesh.positions.length / 3);
  return { mesh: { positions: plan.apply(mesh.positions), uvs: plan.uvs, indices: plan.indices }, parents: plan.parents };
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
    const l = Math.sqrt(n[v] * n[v] + n[v + 1] * n[v + 1] + n[v + 2] * n[v + 2]) || 1;
    n[v] /= l;
    n[v + 1] /= l;
    n[v + 2] /= l;
  }
  return n;
}
