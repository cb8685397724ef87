/**
 * The exported head of a morphable model as a render mesh: model vertices split at UV seams (one
 * render vertex per distinct position/UV pair), triangles grouped by output material, and the
 * mapping back to model vertices so each photo only evaluates the vertices it exports.
 *
 * UVs follow ICT-FaceKit's UDIM layout: tile 0 (u in [0, 1)) is the face, tile 1 the back of the
 * head, neck, ears' backs and the mouth and eye sockets. Both are baked from the photo. Eyes, teeth and
 * gums get flat colours; the renderer reaches them through a small palette on tile 2. Eyelashes and the
 * translucent eye overlays (tear film, blend, occlusion shells) need alpha blending and are left out.
 * UVs here have v growing downwards (image rows), as everywhere in the reconstruction.
 */
import type { MorphableModel } from './model-pack';

export type HeadGroupName = 'face' | 'head' | 'sclera' | 'iris' | 'pupil' | 'teeth' | 'gums';
/** Flat-colour groups in palette order (tile 2, one texel each). */
export const PALETTE_GROUPS = ['sclera', 'iris', 'pupil', 'teeth', 'gums'] as const;
/** Limbus and pupil radii (mm) for painting the eyeball: ICT's sclera mesh is the whole visible eye. */
export const IRIS_RADIUS_MM = 5.9;
export const PUPIL_RADIUS_MM = 2;

/** ICT-FaceKit material -> output group; materials not listed are not exported. */
const ICT_MATERIAL_GROUPS: Record<string, HeadGroupName> = {
  M_Face: 'face',
  M_BackHead: 'head',
  M_ScleraLeft: 'sclera',
  M_ScleraRight: 'sclera',
  M_IrisLeft: 'iris',
  M_IrisRight: 'iris',
  M_Teeth: 'teeth',
  M_GumsTongue: 'gums',
};
const GROUP_ORDER: HeadGroupName[] = ['face', 'head', 'sclera', 'iris', 'pupil', 'teeth', 'gums'];

export interface HeadGroup {
  name: HeadGroupName;
  /** First index into `indices` and index count. */
  start: number;
  count: number;
}

export interface HeadTopology {
  /** Model vertices the head uses, ascending. */
  usedVertices: Uint32Array;
  /** Per render vertex: its index into usedVertices. */
  renderToUsed: Uint32Array;
  /** Per render vertex: UDIM UV (face tile 0, head tile 1, palette tile 2), v down. */
  uvs: Float32Array;
  /** Per render vertex: UV within its own tile, v down (what OBJ/GLB materials reference). */
  localUvs: Float32Array;
  /** Triangles over render vertices, grouped in GROUP_ORDER. */
  indices: Uint32Array;
  groups: HeadGroup[];
  /** The same triangles over usedVertices (no seams), for smooth normals. */
  smoothIndices: Uint32Array;
  /** Face-tile triangles over the model's UV indices, for the grid overlay: UVs (v down) and indices. */
  faceWireUvs: Float32Array;
  faceWireIndices: Uint32Array;
}

export class HeadTopologyError extends Error {
  override name = 'HeadTopologyError';
}

export function buildHeadTopology(model: MorphableModel): HeadTopology {
  const { triangles, uvTriangles, uvs, triangleMaterials } = model;
  const names = model.manifest.materials;
  const groupOf = names.map((m) => ICT_MATERIAL_GROUPS[m]);
  if (!groupOf.includes('face')) throw new HeadTopologyError(`pack ${model.manifest.name} has no M_Face material; materials: ${names.join(', ')}`);
  const byGroup = new Map<HeadGroupName, number[]>(GROUP_ORDER.map((g) => [g, []]));
  // Each eyeball looks down +Z in the neutral pose: its front-most vertex marks the optical axis.
  const mean = model.mean;
  const axis = new Map<number, [number, number, number]>();
  for (let t = 0; t < triangleMaterials.length; t++) {
    if (groupOf[triangleMaterials[t]] !== 'sclera') continue;
    for (let c = 0; c < 3; c++) {
      const v = triangles[3 * t + c];
      const a = axis.get(triangleMaterials[t]);
      if (!a || mean[3 * v + 2] > a[2]) axis.set(triangleMaterials[t], [mean[3 * v], mean[3 * v + 1], mean[3 * v + 2]]);
    }
  }
  for (let t = 0; t < triangleMaterials.length; t++) {
    let g = groupOf[triangleMaterials[t]];
    if (g === 'sclera') {
      const [ax, ay, az] = axis.get(triangleMaterials[t])!;
      let cx = 0, cy = 0, cz = 0;
      for (let c = 0; c < 3; c++) {
        const v = triangles[3 * t + c];
        cx += mean[3 * v] / 3;
        cy += mean[3 * v + 1] / 3;
        cz += mean[3 * v + 2] / 3;
      }
      const r = Math.hypot(cx - ax, cy - ay);
      if (az - cz < IRIS_RADIUS_MM) g = r < PUPIL_RADIUS_MM ? 'pupil' : r < IRIS_RADIUS_MM ? 'iris' : 'sclera';
    }
    if (g) byGroup.get(g)!.push(t);
  }

  const usedMap = new Map<number, number>();
  const used: number[] = [];
  const renderKey = new Map<number, number>();
  const renderToUsed: number[] = [];
  const uvOut: number[] = [];
  const localOut: number[] = [];
  const indices: number[] = [];
  const smooth: number[] = [];
  const groups: HeadGroup[] = [];
  const nUv = model.manifest.uvCount;
  for (const g of GROUP_ORDER) {
    const list = byGroup.get(g)!;
    if (list.length === 0) continue;
    const start = indices.length;
    const palette = (PALETTE_GROUPS as readonly string[]).indexOf(g);
    for (const t of list) {
      for (let c = 0; c < 3; c++) {
        const v = triangles[3 * t + c];
        let ui = usedMap.get(v);
        if (ui === undefined) {
          ui = used.push(v) - 1;
          usedMap.set(v, ui);
        }
        smooth.push(ui);
        const uvIndex = uvTriangles[3 * t + c];
        // Palette groups share one UV per group; textured groups keep the model's UV (seams split).
        const key = palette >= 0 ? -1 - (v * 8 + palette) : v * nUv + uvIndex;
        let r = renderKey.get(key);
        if (r === undefined) {
          r = renderToUsed.push(ui) - 1;
          renderKey.set(key, r);
          if (palette >= 0) {
            const u = (palette + 0.5) / PALETTE_GROUPS.length;
            uvOut.push(2 + u, 0.5);
            localOut.push(u, 0.5);
          } else {
            const u = uvs[2 * uvIndex];
            const vDown = 1 - uvs[2 * uvIndex + 1];
            const tile = g === 'face' ? 0 : 1;
            const lu = Math.min(1, Math.max(0, u - tile));
            uvOut.push(tile + lu, vDown);
            localOut.push(lu, vDown);
          }
        }
        indices.push(r);
      }
    }
    groups.push({ name: g, start, count: indices.length - start });
  }
  // Used vertices sorted, so evaluating the model walks memory forward.
  const order = used.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
  const remap = new Uint32Array(used.length);
  order.forEach(([, old], i) => (remap[old] = i));
  const faceTris = byGroup.get('face')!;
  const wireIdx = new Uint32Array(faceTris.length * 3);
  faceTris.forEach((t, k) => wireIdx.set([uvTriangles[3 * t], uvTriangles[3 * t + 1], uvTriangles[3 * t + 2]], 3 * k));
  const wireUvs = new Float32Array(nUv * 2);
  for (let i = 0; i < nUv; i++) {
    wireUvs[2 * i] = uvs[2 * i];
    wireUvs[2 * i + 1] = 1 - uvs[2 * i + 1];
  }
  return {
    usedVertices: Uint32Array.from(order.map(([v]) => v)),
    renderToUsed: Uint32Array.from(renderToUsed, (u) => remap[u]),
    uvs: Float32Array.from(uvOut),
    localUvs: Float32Array.from(localOut),
    indices: Uint32Array.from(indices),
    groups,
    smoothIndices: Uint32Array.from(smooth, (u) => remap[u]),
    faceWireUvs: wireUvs,
    faceWireIndices: wireIdx,
  };
}
