/**
 * The exported head of a morphable model as a render mesh: model vertices split at UV seams (one
 * render vertex per distinct position/UV pair), triangles grouped by output material, and the
 * mapping back to model vertices so each photo only evaluates the vertices it exports.
 *
 * UVs follow ICT-FaceKit's UDIM layout: tile 0 (u in [0, 1)) is the face, tile 1 the back of the
 * head, neck, ears' backs and the mouth and eye sockets. Both are baked from the photo. The eyeballs
 * share tile 2, a texture painted from the photo's eyes (eye-texture.ts) over a planar projection along
 * each eyeball's optical axis. Teeth and gums get flat colours, which the renderer reaches through a
 * small palette on tile 3. Eyelashes and the
 * translucent eye overlays (tear film, blend, occlusion shells) need alpha blending and are left out.
 * UVs here have v growing downwards (image rows), as everywhere in the reconstruction.
 */
import type { MorphableModel } from './model-pack';

export type HeadGroupName = 'face' | 'head' | 'eye' | 'teeth' | 'gums';
/** Flat-colour groups in palette order (tile 3, one texel each). */
export const PALETTE_GROUPS = ['teeth', 'gums'] as const;
/** UDIM tiles of the layout: the two baked ones, the painted eyes, the palette. */
export const EYE_TILE = 2;
export const PALETTE_TILE = 3;
/** Limbus radius (mm) for painting the eyeball: ICT's sclera mesh is the whole visible eye. */
export const IRIS_RADIUS_MM = 5.9;
/** Half-side of the eye texture (mm across the optical axis): covers the visible eyeball. */
export const EYE_UV_RADIUS_MM = 12.5;

/** ICT-FaceKit material -> output group; materials not listed are not exported. */
const ICT_MATERIAL_GROUPS: Record<string, HeadGroupName> = {
  M_Face: 'face',
  M_BackHead: 'head',
  M_ScleraLeft: 'eye',
  M_ScleraRight: 'eye',
  M_IrisLeft: 'eye',
  M_IrisRight: 'eye',
  M_Teeth: 'teeth',
  M_GumsTongue: 'gums',
};
const GROUP_ORDER: HeadGroupName[] = ['face', 'head', 'eye', 'teeth', 'gums'];

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
  /** Per render vertex: UDIM UV (face tile 0, head tile 1, eyes tile 2, palette tile 3), v down. */
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
  // Each eyeball looks down +Z in the neutral pose: its sclera's front-most vertex marks the optical
  // axis. Left and right are told by the material's name (ICT: M_ScleraLeft, M_IrisLeft, ...).
  const mean = model.mean;
  const side = names.map((m) => (/Left$/.test(m) ? 'L' : /Right$/.test(m) ? 'R' : ''));
  const axis = new Map<string, [number, number, number]>();
  for (let t = 0; t < triangleMaterials.length; t++) {
    const mat = triangleMaterials[t];
    if (groupOf[mat] !== 'eye' || !/^M_Sclera/.test(names[mat])) continue;
    for (let c = 0; c < 3; c++) {
      const v = triangles[3 * t + c];
      const a = axis.get(side[mat]);
      if (!a || mean[3 * v + 2] > a[2]) axis.set(side[mat], [mean[3 * v], mean[3 * v + 1], mean[3 * v + 2]]);
    }
  }
  for (let t = 0; t < triangleMaterials.length; t++) {
    const g = groupOf[triangleMaterials[t]];
    if (g === 'eye' && !axis.has(side[triangleMaterials[t]])) throw new HeadTopologyError(`pack ${model.manifest.name}: ${names[triangleMaterials[t]]} has no sclera to find its axis`);
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
        // Palette groups share one UV per group; the eyes take one planar UV per vertex; the baked
        // groups keep the model's UV (seams split).
        const key = palette >= 0 ? -1 - (v * 8 + palette) : g === 'eye' ? -1 - (v * 8 + 7) : v * nUv + uvIndex;
        let r = renderKey.get(key);
        if (r === undefined) {
          r = renderToUsed.push(ui) - 1;
          renderKey.set(key, r);
          if (palette >= 0) {
            const u = (palette + 0.5) / PALETTE_GROUPS.length;
            uvOut.push(PALETTE_TILE + u, 0.5);
            localOut.push(u, 0.5);
          } else if (g === 'eye') {
            // Seen from the front: +u is the subject's left (+X), v grows downwards (-Y).
            const [ax, ay] = axis.get(side[triangleMaterials[t]])!;
            const u = Math.min(1, Math.max(0, 0.5 + (mean[3 * v] - ax) / (2 * EYE_UV_RADIUS_MM)));
            const vv = Math.min(1, Math.max(0, 0.5 - (mean[3 * v + 1] - ay) / (2 * EYE_UV_RADIUS_MM)));
            uvOut.push(EYE_TILE + u, vv);
            localOut.push(u, vv);
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
