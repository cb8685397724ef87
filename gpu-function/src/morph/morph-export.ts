/**
 * The morphable model's expression blendshapes as GLB morph targets (named by arkit.ts).
 */
import type { GlbMorphTarget } from '../recon/export-glb';
import type { Mat3 } from '../recon/linalg';
import type { HeadTopology } from './head-topology';
import type { MorphableModel } from './model-pack';

/**
 * Offsets shorter than this (mm, in the pack's frame) are left out of a morph target. ICT's blendshapes
 * are not exactly zero where they do not act: a third of the full model's stored offsets moved a vertex
 * by less than a micrometre (float noise from the source's export; eyeBlink_L touched 1,898 gum
 * vertices), and morph data is most of the full head's GLB. A micrometre is 1/1000 of the mesh's own
 * accuracy; all 55 targets at full weight together move no vertex by more than 55 um for it.
 */
export const MORPH_DELTA_FLOOR_MM = 1e-3;

/**
 * One morph target per expression of the pack: the blendshape's offsets at the exported vertices,
 * rotated and scaled into the head frame (mm); each target stores only the vertices it moves by at
 * least MORPH_DELTA_FLOOR_MM.
 */
export function expressionTargets(opts: { pack: MorphableModel; topology: HeadTopology; expressionNames: string[]; rotation: Mat3; scale: number }): GlbMorphTarget[] {
  const { pack, topology, rotation: R, scale: s } = opts;
  const n = pack.manifest.vertexCount;
  const nr = topology.renderToUsed.length;
  return opts.expressionNames.map((name, j) => {
    const idx: number[] = [];
    const d: number[] = [];
    const base = j * n * 3;
    for (let r = 0; r < nr; r++) {
      const v = topology.usedVertices[topology.renderToUsed[r]];
      const x = pack.expression[base + 3 * v], y = pack.expression[base + 3 * v + 1], z = pack.expression[base + 3 * v + 2];
      if (x * x + y * y + z * z < MORPH_DELTA_FLOOR_MM * MORPH_DELTA_FLOOR_MM) continue;
      idx.push(r);
      d.push(s * (R[0] * x + R[1] * y + R[2] * z), s * (R[3] * x + R[4] * y + R[5] * z), s * (R[6] * x + R[7] * y + R[8] * z));
    }
    return { name, indices: Uint32Array.from(idx), deltas: Float32Array.from(d) };
  });
}

/**
 * The normal change of each morph target at full weight (glTF morph targets may carry NORMAL deltas;
 * without them a smile is lit like the neutral face): area-weighted vertex normals of base + target
 * minus those of the base, on the vertices whose normal moves by more than 1e-5. Only the triangles
 * around the displaced vertices are recomputed. `weld` (vertex -> shared position) makes copies split
 * at UV seams share one normal, as the base mesh's smooth normals do.
 *
 * Units: positions and deltas in mm, normals unit-free. Precondition: targets' indices address
 * `base.positions`; an empty target gets no normal deltas.
 */
export function withNormalDeltas(targets: readonly GlbMorphTarget[], base: { positions: Float32Array; indices: Uint32Array; weld?: Uint32Array }): GlbMorphTarget[] {
  const { positions: P, indices: I } = base;
  const n = P.length / 3;
  const nt = I.length / 3;
  const W = base.weld ?? Uint32Array.from({ length: n }, (_, i) => i);
  let nw = 0;
  for (let v = 0; v < n; v++) nw = Math.max(nw, W[v] + 1);
  // Welded vertex -> incident triangles, and -> its render copies (both CSR).
  const csr = (count: number, keyOf: (k: number) => number, items: number, valueOf: (k: number) => number) => {
    const start = new Uint32Array(count + 1);
    for (let k = 0; k < items; k++) start[keyOf(k) + 1]++;
    for (let w = 0; w < count; w++) start[w + 1] += start[w];
    const out = new Uint32Array(items);
    const fill = start.slice(0, count);
    for (let k = 0; k < items; k++) out[fill[keyOf(k)]++] = valueOf(k);
    return { start, out };
  };
  const tri = csr(nw, (k) => W[I[k]], I.length, (k) => (k / 3) | 0);
  const cp = csr(nw, (v) => W[v], n, (v) => v);

  const fn = new Float64Array(3 * nt); // face normals (area-weighted): the base's, patched per target
  const setFace = (pos: Float32Array, t: number) => {
    const a = 3 * I[3 * t], b = 3 * I[3 * t + 1], c = 3 * I[3 * t + 2];
    const ux = pos[b] - pos[a], uy = pos[b + 1] - pos[a + 1], uz = pos[b + 2] - pos[a + 2];
    const vx = pos[c] - pos[a], vy = pos[c + 1] - pos[a + 1], vz = pos[c + 2] - pos[a + 2];
    fn[3 * t] = uy * vz - uz * vy;
    fn[3 * t + 1] = uz * vx - ux * vz;
    fn[3 * t + 2] = ux * vy - uy * vx;
  };
  for (let t = 0; t < nt; t++) setFace(P, t);
  const normalOf = (w: number, out: Float64Array, o: number) => {
    let x = 0, y = 0, z = 0;
    for (let k = tri.start[w]; k < tri.start[w + 1]; k++) {
      const t = 3 * tri.out[k];
      x += fn[t];
      y += fn[t + 1];
      z += fn[t + 2];
    }
    const l = Math.hypot(x, y, z) || 1;
    out[o] = x / l;
    out[o + 1] = y / l;
    out[o + 2] = z / l;
  };
  const baseN = new Float64Array(3 * nw);
  for (let w = 0; w < nw; w++) normalOf(w, baseN, 3 * w);

  const moved = Float32Array.from(P);
  const touched = new Uint8Array(nt);
  const mark = new Uint8Array(nw);
  const now = new Float64Array(3);
  const has = new Uint8Array(n);
  const outD = new Float32Array(3 * n);
  return targets.map((t) => {
    if (!t.indices.length) return { ...t };
    const tris: number[] = [];
    const ws: number[] = [];
    for (let k = 0; k < t.indices.length; k++) {
      const v = t.indices[k];
      for (let d = 0; d < 3; d++) moved[3 * v + d] = P[3 * v + d] + t.deltas[3 * k + d];
      const w = W[v];
      for (let j = tri.start[w]; j < tri.start[w + 1]; j++) {
        const f = tri.out[j];
        if (touched[f]) continue;
        touched[f] = 1;
        tris.push(f);
      }
    }
    for (const f of tris) {
      setFace(moved, f);
      for (let c = 0; c < 3; c++) {
        const w = W[I[3 * f + c]];
        if (!mark[w]) {
          mark[w] = 1;
          ws.push(w);
        }
      }
    }
    let count = 0;
    for (const w of ws) {
      normalOf(w, now, 0);
      const dx = now[0] - baseN[3 * w], dy = now[1] - baseN[3 * w + 1], dz = now[2] - baseN[3 * w + 2];
      mark[w] = 0;
      if (Math.abs(dx) + Math.abs(dy) + Math.abs(dz) <= 1e-5) continue;
      for (let j = cp.start[w]; j < cp.start[w + 1]; j++) {
        const v = cp.out[j];
        has[v] = 1;
        outD[3 * v] = dx;
        outD[3 * v + 1] = dy;
        outD[3 * v + 2] = dz;
        count++;
      }
    }
    // Back to the base for the next target.
    for (const f of tris) {
      touched[f] = 0;
      setFace(P, f);
    }
    for (const v of t.indices) for (let d = 0; d < 3; d++) moved[3 * v + d] = P[3 * v + d];
    // In vertex order (glTF's sparse indices must increase): one pass over the marks.
    const normalIndices = new Uint32Array(count);
    const normalDeltas = new Float32Array(3 * count);
    for (let v = 0, i = 0; i < count; v++) {
      if (!has[v]) continue;
      has[v] = 0;
      normalIndices[i] = v;
      normalDeltas[3 * i] = outD[3 * v];
      normalDeltas[3 * i + 1] = outD[3 * v + 1];
      normalDeltas[3 * i + 2] = outD[3 * v + 2];
      i++;
    }
    return { ...t, normalIndices, normalDeltas };
  });
}

/**
 * The target that makes a base plus weighted targets land on a given mesh, to be exported at weight 1:
 * positions `target - (base + sum of weights[k] * targets[k].deltas)` on the vertices it moves by at least
 * MORPH_DELTA_FLOOR_MM, and, given normals, `targetNormals - (baseNormals + sum of weights[k] *
 * targets[k].normalDeltas)` where that exceeds NORMAL_RESIDUAL_FLOOR. Why: under ARKit naming a split
 * pair of the model's (ICT's browInnerUp_L/_R, cheekPuff_L/_R) is one symmetric target at the mean of its
 * halves' weights, so a GLB at its default weights missed the fitted mesh (the OBJ) by half the halves'
 * difference; and normal deltas, each taken at full weight on the mean head, do not add up to the fitted
 * mesh's normals where several large shapes meet (>20 degrees on ~100 lip vertices of a smile).
 *
 * Units: mm and unit-free normals, the frame of `base` and the targets (the head frame). Precondition:
 * `target`, `base` (and the normals) have the same vertex count; targets' indices address them.
 * The normals are exact at the default weights only: a renderer normalises the sum, so the direction is
 * the fitted mesh's there, and elsewhere the correction is a constant offset (a rig that animates the
 * other weights sets this target to 0).
 */
export function residualTarget(name: string, opts: { target: Float32Array; base: Float32Array; targets: readonly GlbMorphTarget[]; weights: ArrayLike<number>; normals?: { target: Float32Array; base: Float32Array } }): GlbMorphTarget {
  // target - (base + sum of weights[k] * one sparse attribute of targets[k]), kept where longer than floor.
  const leftOver = (target: Float32Array, base: Float32Array, of: (t: GlbMorphTarget) => readonly [Uint32Array, Float32Array] | undefined, floor: number) => {
    const r = new Float64Array(target.length);
    for (let i = 0; i < r.length; i++) r[i] = target[i] - base[i];
    opts.targets.forEach((t, k) => {
      const w = opts.weights[k];
      const sparse = of(t);
      if (!w || !sparse) return;
      const [idx, d] = sparse;
      for (let i = 0; i < idx.length; i++) for (let c = 0; c < 3; c++) r[3 * idx[i] + c] -= w * d[3 * i + c];
    });
    const indices: number[] = [];
    const deltas: number[] = [];
    for (let v = 0; v < r.length / 3; v++) {
      const x = r[3 * v], y = r[3 * v + 1], z = r[3 * v + 2];
      if (x * x + y * y + z * z < floor * floor) continue;
      indices.push(v);
      deltas.push(x, y, z);
    }
    return [Uint32Array.from(indices), Float32Array.from(deltas)] as const;
  };
  const [indices, deltas] = leftOver(opts.target, opts.base, (t) => [t.indices, t.deltas], MORPH_DELTA_FLOOR_MM);
  if (!opts.normals) return { name, indices, deltas };
  const [normalIndices, normalDeltas] = leftOver(opts.normals.target, opts.normals.base, (t) => (t.normalIndices && t.normalDeltas ? [t.normalIndices, t.normalDeltas] : undefined), NORMAL_RESIDUAL_FLOOR);
  return { name, indices, deltas, normalIndices, normalDeltas };
}

/** Normal corrections shorter than this (unit-free; ~0.6 degrees) are left out of a residual target. */
export const NORMAL_RESIDUAL_FLOOR = 0.01;
