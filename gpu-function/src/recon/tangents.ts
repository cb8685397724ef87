/**
 * Per-vertex UV tangent frames of a triangle mesh: how far the surface moves per unit of u and of v
 * (the shading-detail solve needs these metric lengths), and the glTF TANGENT attribute built from
 * them (normal maps need it).
 *
 * Method: the per-triangle solution of [dP/du dP/dv] = [e1 e2] [duv1 duv2]^-1 (Lengyel, "Computing
 * Tangent Space Basis Vectors for an Arbitrary Mesh", 2001), summed per vertex weighted by the
 * triangle's 3D area, which is what MikkTSpace also converges to on a smooth, well-parametrised mesh
 * without UV seams inside a chart. Our charts are continuous, so the simpler sum is enough; an exact
 * MikkTSpace port would matter only across mirrored UV islands, which our layouts do not have.
 */
import type { TriMesh } from '@facerecon/shared';

export interface UvTangentFrames {
  /** n x 3: dP/du at each vertex, mesh units per UV unit (not normalised). */
  du: Float32Array;
  /** n x 3: dP/dv (v grows downwards, image rows), mesh units per UV unit. */
  dv: Float32Array;
}

/**
 * uvTangentFrames: area-weighted per-vertex dP/du and dP/dv. Degenerate UV triangles (zero UV area)
 * contribute nothing; a vertex only on such triangles gets zero vectors, and callers treat that as
 * "no frame" (gltfTangents falls back to any vector orthogonal to the normal).
 */
export function uvTangentFrames(mesh: Pick<TriMesh, 'positions' | 'uvs' | 'indices'>): UvTangentFrames {
  const { positions: P, uvs: U, indices: F } = mesh;
  const n = P.length / 3;
  const du = new Float32Array(n * 3);
  const dv = new Float32Array(n * 3);
  const wsum = new Float32Array(n);
  for (let t = 0; t < F.length; t += 3) {
    const a = F[t], b = F[t + 1], c = F[t + 2];
    const e1x = P[3 * b] - P[3 * a], e1y = P[3 * b + 1] - P[3 * a + 1], e1z = P[3 * b + 2] - P[3 * a + 2];
    const e2x = P[3 * c] - P[3 * a], e2y = P[3 * c + 1] - P[3 * a + 1], e2z = P[3 * c + 2] - P[3 * a + 2];
    const s1 = U[2 * b] - U[2 * a], t1 = U[2 * b + 1] - U[2 * a + 1];
    const s2 = U[2 * c] - U[2 * a], t2 = U[2 * c + 1] - U[2 * a + 1];
    const det = s1 * t2 - s2 * t1;
    if (Math.abs(det) < 1e-12) continue;
    const r = 1 / det;
    // Area weight: a sliver triangle's frame is the least reliable.
    const cx = e1y * e2z - e1z * e2y, cy = e1z * e2x - e1x * e2z, cz = e1x * e2y - e1y * e2x;
    const w = 0.5 * Math.sqrt(cx * cx + cy * cy + cz * cz);
    const ux = (e1x * t2 - e2x * t1) * r, uy = (e1y * t2 - e2y * t1) * r, uz = (e1z * t2 - e2z * t1) * r;
    const vx = (e2x * s1 - e1x * s2) * r, vy = (e2y * s1 - e1y * s2) * r, vz = (e2z * s1 - e1z * s2) * r;
    addFrame(du, dv, wsum, a, w, ux, uy, uz, vx, vy, vz);
    addFrame(du, dv, wsum, b, w, ux, uy, uz, vx, vy, vz);
    addFrame(du, dv, wsum, c, w, ux, uy, uz, vx, vy, vz);
  }
  for (let v = 0; v < n; v++) {
    if (wsum[v] <= 0) continue;
    const k = 1 / wsum[v];
    for (let d = 0; d < 3; d++) {
      du[3 * v + d] *= k;
      dv[3 * v + d] *= k;
    }
  }
  return { du, dv };
}

/** Vertex v's sums += w (u, v): a function rather than a loop over [a, b, c], which allocated per triangle. */
function addFrame(du: Float32Array, dv: Float32Array, wsum: Float32Array, v: number, w: number, ux: number, uy: number, uz: number, vx: number, vy: number, vz: number): void {
  du[3 * v] += w * ux;
  du[3 * v + 1] += w * uy;
  du[3 * v + 2] += w * uz;
  dv[3 * v] += w * vx;
  dv[3 * v + 1] += w * vy;
  dv[3 * v + 2] += w * vz;
  wsum[v] += w;
}

/**
 * gltfTangents: the glTF 2.0 TANGENT attribute (n x 4, xyz unit and orthogonal to the vertex normal,
 * w = +-1). glTF's normal textures are "+X right, +Y up" in the image and its UV origin is the top left,
 * so the tangent is dP/du and the bitangent cross(N, T) * w must point along -dP/dv (up the image);
 * w carries that handedness. Preconditions: unit `normals`. A vertex with no UV frame gets a tangent
 * orthogonal to its normal with w = 1, so the accessor stays valid.
 */
export function gltfTangents(mesh: Pick<TriMesh, 'positions' | 'uvs' | 'indices'> & { normals: Float32Array }, frames: UvTangentFrames = uvTangentFrames(mesh)): Float32Array {
  const { normals: N } = mesh;
  const { du, dv } = frames;
  const n = N.length / 3;
  const out = new Float32Array(n * 4);
  for (let v = 0; v < n; v++) {
    const nx = N[3 * v], ny = N[3 * v + 1], nz = N[3 * v + 2];
    let tx = du[3 * v], ty = du[3 * v + 1], tz = du[3 * v + 2];
    const d = tx * nx + ty * ny + tz * nz;
    tx -= d * nx;
    ty -= d * ny;
    tz -= d * nz;
    let len = Math.hypot(tx, ty, tz);
    if (len < 1e-12) {
      // Any unit vector orthogonal to the normal.
      [tx, ty, tz] = Math.abs(nx) < 0.9 ? [0, nz, -ny] : [-nz, 0, nx];
      len = Math.hypot(tx, ty, tz) || 1;
    }
    tx /= len;
    ty /= len;
    tz /= len;
    // cross(N, T) against "up the image" = -dP/dv.
    const bx = ny * tz - nz * ty, by = nz * tx - nx * tz, bz = nx * ty - ny * tx;
    const w = bx * -dv[3 * v] + by * -dv[3 * v + 1] + bz * -dv[3 * v + 2] < 0 ? -1 : 1;
    out[4 * v] = tx;
    out[4 * v + 1] = ty;
    out[4 * v + 2] = tz;
    out[4 * v + 3] = w;
  }
  return out;
}
