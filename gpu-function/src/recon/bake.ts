/**
 * The UV bake: every covered texel looks up where its surface point lands in the photo under the
 * fitted camera and samples the full-resolution photo there, weighted by how well the photo sees it.
 *
 * Visibility: a z-buffer of the projected mesh (photo pixels, depth towards the viewer) rejects
 * occluded texels (the far side of the nose on a turned face); the view angle weight
 * smoothstep(0.1, 0.45, n_z) fades texels towards the silhouette instead of cutting them, so
 * grazing samples, which smear one photo pixel over many texels, never show as streaks.
 *
 * Occlusion margin: a texel that is visible but lies within OCCLUSION_MARGIN_MM (in the image) of an
 * occluding edge, i.e. next to a surface that stands in front of it (the far cheek beside the nose of a
 * turned head), fades in with smoothstep(0, margin, distance). A landmark error of a few pixels there
 * samples the occluder instead, and the completion would copy that streak; faded, the texel is
 * completed from the face's other side.
 *
 * Segmentation: with a person mask, the weight is also multiplied by smoothstep(0.3, 0.8, p_person).
 * A texel whose fitted surface lands on the background (landmarks a few pixels off at the silhouette,
 * the ears and neck of a full head, which no landmark pins) is then unseen and gets completed.
 * Without the mask its background colour would be baked and mirrored.
 */
import type { RgbImage, TriMesh } from '@facerecon/shared';
import { projectHeadPoint, type WeakPerspectiveCamera } from './face-geometry';
import { EDGE_TOLERANCE, setupTriangle } from './raster-kernel';
import type { TexelMap } from './texel-map';
import { personMaskOnGrid, type PersonMask } from '../face/person-mask';

export interface BakeOptions {
  mesh: TriMesh & { normals: Float32Array };
  camera: WeakPerspectiveCamera;
  photo: RgbImage;
  texelMap: TexelMap;
  /** Depth tolerance for the z-buffer test, millimetres. */
  depthToleranceMm?: number;
  /** Precomputed visibility of this mesh under this camera (bakeVisibility), shared by several tiles. */
  visibility?: BakeVisibility;
  /** Person vs background in the photo: texels on the background count as unseen (used when no visibility is given). */
  personMask?: PersonMask;
  /** Buffers to reuse (size*size*3 and size*size); they are cleared first. Saves ~16 MB of garbage per 1024 bake. */
  scratch?: { color: Float32Array; weight: Float32Array };
}

export interface BakeResult {
  size: number;
  /** size*size*3 colours 0..255 (0 where weight is 0). */
  color: Float32Array;
  /** size*size confidence in [0, 1] that the colour comes from a clear view of the surface. */
  weight: Float32Array;
  /** Projected vertices [x, y, depth] in photo pixels, reused by later stages. */
  projected: Float32Array;
}


/** What the photo sees of the mesh: projected vertices, their facing (n_z in the camera), the z-buffer. */
export interface BakeVisibility {
  projected: Float32Array;
  facing: Float32Array;
  zb: ReturnType<typeof depthBuffer>;
  /**
   * The person mask's weight smoothstep(0.3, 0.8, p) resampled onto the z-buffer's grid (<= 512 px on
   * the face's longer side): the bake then reads it with the index it already computes for the depth
   * test, instead of a rotated bilinear lookup per texel.
   */
  personWeight?: Float32Array;
  /** The occlusion-margin weight on the z-buffer's grid (1 away from occluding edges). */
  occlusionWeight: Float32Array;
}

/** How far from an occluding edge (in the image, millimetres at the face) texels fade in, and the depth step that makes an edge. */
export const OCCLUSION_MARGIN_MM = 3;
export const OCCLUSION_DEPTH_STEP_MM = 5;

/** Computed once per mesh and camera (and person mask); several texture tiles of one mesh share it. */
export function bakeVisibility(mesh: TriMesh & { normals: Float32Array }, camera: WeakPerspectiveCamera, photo: RgbImage, personMask?: PersonMask): BakeVisibility {
  const nv = mesh.positions.length / 3;
  const projected = new Float32Array(nv * 3);
  const facing = new Float32Array(nv);
  const R = camera.rotation;
  for (let v = 0; v < nv; v++) {
    const p = projectHeadPoint(camera, mesh.positions[3 * v], mesh.positions[3 * v + 1], mesh.positions[3 * v + 2]);
    projected.set(p, 3 * v);
    const n = mesh.normals;
    facing[v] = R[6] * n[3 * v] + R[7] * n[3 * v + 1] + R[8] * n[3 * v + 2];
  }
  const zb = depthBuffer(projected, mesh.indices, photo.width, photo.height);
  const occlusionWeight = occlusionMarginGrid(zb, { marginPx: OCCLUSION_MARGIN_MM * camera.pixelsPerMm, depthStep: OCCLUSION_DEPTH_STEP_MM * camera.pixelsPerMm });
  return { projected, facing, zb, occlusionWeight, ...(personMask ? { personWeight: personWeightGrid(personMask, zb) } : {}) };
}

/**
 * occlusionMarginGrid: on the z-buffer's grid, smoothstep(0, marginPx, d) where d is the distance
 * (photo pixels, 3-4 chamfer metric: Borgefors, "Distance transformations in digital images",
 * CVGIP 1986) to the nearest cell on the deeper side of an occluding edge, i.e. a covered cell with a
 * 4-neighbour nearer to the viewer by more than `depthStep` (photo pixels of depth), for cells that lie
 * behind that edge's occluder; 1 elsewhere, and everywhere when the mesh occludes nothing of itself.
 */
export function occlusionMarginGrid(zb: ReturnType<typeof depthBuffer>, opts: { marginPx: number; depthStep: number }): Float32Array {
  const { buf, width: bw, height: bh, scale } = zb;
  const n = bw * bh;
  const out = new Float32Array(n).fill(1);
  const margin = opts.marginPx * scale; // in grid cells
  if (!(margin > 0)) return out;
  // d: distance to the nearest seed (units of 1/3 cell); occ: that seed's occluder depth, so that only
  // surfaces behind the occluder fade, never the occluder's own rim.
  const d = new Float32Array(n).fill(1e9);
  const occ = new Float32Array(n).fill(-Infinity);
  if (seedOccludingEdges(buf, bw, bh, opts.depthStep, d, occ) === 0) return out;
  chamferForward(d, occ, bw, bh);
  chamferBackward(d, occ, bw, bh);
  behindOccluderWeights(buf, d, occ, opts.depthStep, margin, out);
  return out;
}

// occlusionMarginGrid's passes are functions of their own over typed arrays, for V8's sake (see
// detail-maps.ts): with a closure per call for the relaxation they took ~80 ns a cell.

/** d = 0 and occ = the nearer neighbour's depth at each covered cell with a 4-neighbour nearer by more than `step`; returns their count. */
function seedOccludingEdges(buf: Float32Array, bw: number, bh: number, step: number, d: Float32Array, occ: Float32Array): number {
  let seeds = 0;
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const i = y * bw + x;
      const z = buf[i];
      if (z === -Infinity) continue;
      let near = -Infinity;
      if (x > 0 && buf[i - 1] > near) near = buf[i - 1];
      if (x < bw - 1 && buf[i + 1] > near) near = buf[i + 1];
      if (y > 0 && buf[i - bw] > near) near = buf[i - bw];
      if (y < bh - 1 && buf[i + bw] > near) near = buf[i + bw];
      if (near > z + step) {
        d[i] = 0;
        occ[i] = near;
        seeds++;
      }
    }
  }
  return seeds;
}

/** One chamfer relaxation: cell i takes j's distance plus `cost`, and j's occluder, when that is shorter. */
function relax(d: Float32Array, occ: Float32Array, i: number, j: number, cost: number): void {
  if (d[j] + cost < d[i]) {
    d[i] = d[j] + cost;
    occ[i] = occ[j];
  }
}

/** The 3-4 chamfer's first raster pass (left, upper left, up, upper right). */
function chamferForward(d: Float32Array, occ: Float32Array, bw: number, bh: number): void {
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const i = y * bw + x;
      if (x > 0) relax(d, occ, i, i - 1, 3);
      if (y > 0) {
        relax(d, occ, i, i - bw, 3);
        if (x > 0) relax(d, occ, i, i - bw - 1, 4);
        if (x < bw - 1) relax(d, occ, i, i - bw + 1, 4);
      }
    }
  }
}

/** The 3-4 chamfer's second raster pass, backwards (right, lower right, down, lower left). */
function chamferBackward(d: Float32Array, occ: Float32Array, bw: number, bh: number): void {
  for (let y = bh - 1; y >= 0; y--) {
    for (let x = bw - 1; x >= 0; x--) {
      const i = y * bw + x;
      if (x < bw - 1) relax(d, occ, i, i + 1, 3);
      if (y < bh - 1) {
        relax(d, occ, i, i + bw, 3);
        if (x < bw - 1) relax(d, occ, i, i + bw + 1, 4);
        if (x > 0) relax(d, occ, i, i + bw - 1, 4);
      }
    }
  }
}

/** out = smoothstep(0, margin, d) for the cells behind their edge's occluder (d in thirds of a cell). */
function behindOccluderWeights(buf: Float32Array, d: Float32Array, occ: Float32Array, step: number, margin: number, out: Float32Array): void {
  for (let i = 0; i < out.length; i++) {
    if (!(buf[i] < occ[i] - step)) continue; // not behind the edge's occluder
    const t = d[i] / 3 / margin;
    if (t < 1) out[i] = t * t * (3 - 2 * t);
  }
}

function personWeightGrid(mask: PersonMask, zb: BakeVisibility['zb']): Float32Array {
  const probability = personMaskOnGrid(mask, zb);
  const out = new Float32Array(probability.length);
  for (let i = 0; i < out.length; i++) {
    const p = probability[i];
    const m = p <= 0.3 ? 0 : p >= 0.8 ? 1 : (p - 0.3) / 0.5;
    out[i] = m * m * (3 - 2 * m);
  }
  return out;
}

export function bakeUvTexture(opts: BakeOptions): BakeResult {
  const { mesh, camera, photo, texelMap } = opts;
  const { projected, facing, zb, personWeight, occlusionWeight } = opts.visibility ?? bakeVisibility(mesh, camera, photo, opts.personMask);
  const tol = (opts.depthToleranceMm ?? 3) * camera.pixelsPerMm;

  const size = texelMap.size;
  const reuse = opts.scratch && opts.scratch.color.length === size * size * 3 && opts.scratch.weight.length === size * size;
  const color = reuse ? opts.scratch!.color.fill(0) : new Float32Array(size * size * 3);
  const weight = reuse ? opts.scratch!.weight.fill(0) : new Float32Array(size * size);
  bakeTexels(texelMap, mesh.indices, projected, facing, photo, zb, personWeight, occlusionWeight, tol, color, weight);
  return { size, color, weight, projected };
}

/**
 * bakeUvTexture's texel loop, a function of its own for V8's sake (see detail-maps.ts: as the tail of
 * a longer function it was compiled on-stack on each request and discarded at the object literal after
 * it).
 */
function bakeTexels(texelMap: TexelMap, F: Uint32Array, projected: Float32Array, facing: Float32Array, photo: RgbImage, zb: BakeVisibility['zb'], personWeight: Float32Array | undefined, occlusionWeight: Float32Array, tol: number, color: Float32Array, weight: Float32Array): void {
  const { texels, triangle, b1, b2 } = texelMap;
  const { width: W, height: H, data } = photo;
  const { buf: zbuf, minX, minY, scale: zs, width: bw, height: bh } = zb;
  for (let k = 0; k < texels.length; k++) {
    const t = 3 * triangle[k];
    const va = F[t], vb = F[t + 1], vc = F[t + 2];
    const a = 3 * va, b = 3 * vb, c = 3 * vc;
    const w1 = b1[k], w2 = b2[k], w0 = 1 - w1 - w2;
    const f = w0 * facing[va] + w1 * facing[vb] + w2 * facing[vc];
    if (f <= 0.1) continue; // smoothstep(0.1, 0.45, f) is 0 here
    // Weak perspective is affine, so interpolating projected corners is exact.
    const x = w0 * projected[a] + w1 * projected[b] + w2 * projected[c];
    const y = w0 * projected[a + 1] + w1 * projected[b + 1] + w2 * projected[c + 1];
    const sx = x - 0.5;
    const sy = y - 0.5;
    const x0 = Math.floor(sx);
    const y0 = Math.floor(sy);
    if (x0 < 0 || y0 < 0 || x0 >= W - 1 || y0 >= H - 1) continue; // outside the photo: nothing seen
    const z = w0 * projected[a + 2] + w1 * projected[b + 2] + w2 * projected[c + 2];
    let zx = ((x - minX) * zs) | 0;
    let zy = ((y - minY) * zs) | 0;
    zx = zx < 0 ? 0 : zx >= bw ? bw - 1 : zx;
    zy = zy < 0 ? 0 : zy >= bh ? bh - 1 : zy;
    if (z < zbuf[zy * bw + zx] - tol) continue; // occluded
    const ax = sx - x0, ay = sy - y0;
    const i00 = (y0 * W + x0) * 3;
    const i10 = i00 + W * 3;
    const q00 = (1 - ax) * (1 - ay), q01 = ax * (1 - ay), q10 = (1 - ax) * ay, q11 = ax * ay;
    const o = texels[k] * 3;
    color[o] = data[i00] * q00 + data[i00 + 3] * q01 + data[i10] * q10 + data[i10 + 3] * q11;
    color[o + 1] = data[i00 + 1] * q00 + data[i00 + 4] * q01 + data[i10 + 1] * q10 + data[i10 + 4] * q11;
    color[o + 2] = data[i00 + 2] * q00 + data[i00 + 5] * q01 + data[i10 + 2] * q10 + data[i10 + 5] * q11;
    const u = f >= 0.45 ? 1 : (f - 0.1) / 0.35;
    const w = u * u * (3 - 2 * u);
    const cell = zy * bw + zx;
    weight[texels[k]] = (personWeight ? w * personWeight[cell] : w) * occlusionWeight[cell];
  }
}

/**
 * Nearest-surface depth (largest depth towards the viewer) of the projected triangles over the
 * photo, stored at up to 512 px on the face's longer side: occlusion boundaries need no finer
 * resolution than the tolerance, and this keeps the raster cheap on 12 MP photos.
 */
export function depthBuffer(projected: Float32Array, indices: Uint32Array, width: number, height: number) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let v = 0; v < projected.length; v += 3) {
    minX = Math.min(minX, projected[v]);
    maxX = Math.max(maxX, projected[v]);
    minY = Math.min(minY, projected[v + 1]);
    maxY = Math.max(maxY, projected[v + 1]);
  }
  minX = Math.max(0, Math.floor(minX));
  minY = Math.max(0, Math.floor(minY));
  maxX = Math.min(width, Math.ceil(maxX));
  maxY = Math.min(height, Math.ceil(maxY));
  const scale = Math.min(1, 512 / Math.max(1, maxX - minX, maxY - minY));
  const bw = Math.max(1, Math.ceil((maxX - minX) * scale));
  const bh = Math.max(1, Math.ceil((maxY - minY) * scale));
  const buf = new Float32Array(bw * bh).fill(-Infinity);
  rasterDepth(projected, indices, minX, minY, scale, bw, bh, buf);
  return { buf, minX, minY, scale, width: bw, height: bh };
}

/** depthBuffer's raster loop, a function of its own for V8's sake (see detail-maps.ts): buf = the largest depth per cell. */
function rasterDepth(projected: Float32Array, indices: Uint32Array, minX: number, minY: number, scale: number, bw: number, bh: number, buf: Float32Array): void {
  for (let f = 0; f < indices.length; f += 3) {
    const a = indices[f], b = indices[f + 1], c = indices[f + 2];
    const ax = (projected[3 * a] - minX) * scale, ay = (projected[3 * a + 1] - minY) * scale, az = projected[3 * a + 2];
    const bx = (projected[3 * b] - minX) * scale, by = (projected[3 * b + 1] - minY) * scale, bz = projected[3 * b + 2];
    const cx = (projected[3 * c] - minX) * scale, cy = (projected[3 * c + 1] - minY) * scale, cz = projected[3 * c + 2];
    const tri = setupTriangle(ax, ay, bx, by, cx, cy, bw, bh, 1e-9);
    if (!tri) continue;
    for (let y = tri.y0; y <= tri.y1; y++) {
      const py = y + 0.5;
      for (let x = tri.x0; x <= tri.x1; x++) {
        const px = x + 0.5;
        const w1 = ((px - ax) * (cy - ay) - (py - ay) * (cx - ax)) * tri.inv;
        const w2 = ((bx - ax) * (py - ay) - (by - ay) * (px - ax)) * tri.inv;
        const w0 = 1 - w1 - w2;
        if (w0 < -EDGE_TOLERANCE || w1 < -EDGE_TOLERANCE || w2 < -EDGE_TOLERANCE) continue;
        const z = w0 * az + w1 * bz + w2 * cz;
        const i = y * bw + x;
        if (z > buf[i]) buf[i] = z;
      }
    }
  }
}
