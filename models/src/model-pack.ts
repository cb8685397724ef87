/**
 * The morphable-model pack format (version 2): a manifest and little-endian binaries, so the service
 * loads a model with a few typed-array views and no parsing. Room is left for other models (BFM,
 * FLAME: `kind`) whose licences a customer holds.
 *
 *   manifest.json   { format: "facerecon-3dmm", version: 2, name, kind, source, licence, units,
 *                     mmPerUnit, vertexCount, uvCount, triangleCount, identity: { count, file, names },
 *                     expression: { count, file, names }, files: {...}, parts: {...},
 *                     landmarks68?: number[], correspondence468: { count, file, barycentrics } }
 *   mean.f32               vertexCount x 3
 *   identity.f32           identity.count x vertexCount x 3 (offsets from the mean)
 *   expression.f32         expression.count x vertexCount x 3 (offsets from the mean)
 *   triangles.u32          triangleCount x 3 (position indices; quads split, winding kept)
 *   uv_triangles.u32       triangleCount x 3 (UV indices: UV seams have their own indices)
 *   uvs.f32                uvCount x 2 (v up, as in the OBJ; UDIM tiles: u in [k, k + 1) is tile 100k+1)
 *   triangle_materials.u16 triangleCount: index into manifest.materials (the source's usemtl names)
 *   correspondence468.u32  count x 2: MediaPipe landmark index, model triangle it lies on
 *   correspondence468.f32  count x 3: barycentric weights of that triangle's corners
 *   LICENSE                the model's licence, copied verbatim
 *
 * Version 2 added the 468-point correspondence (version 1 packs must be rebuilt) and the head-part
 * ranges of ICT-FaceKit's topology.
 */
export const PACK_FORMAT = 'facerecon-3dmm';
export const PACK_VERSION = 2;

export interface PackManifest {
  format: typeof PACK_FORMAT;
  version: typeof PACK_VERSION;
  name: string;
  kind: 'ict-facekit' | 'bfm' | 'flame';
  source: string;
  licence: string;
  /** Human-readable units of the source. */
  units: string;
  /** Millimetres per unit of the stored coordinates (ICT-FaceKit: 10, centimetres). */
  mmPerUnit: number;
  vertexCount: number;
  uvCount: number;
  triangleCount: number;
  identity: { count: number; file: string; names: string[] };
  expression: { count: number; file: string; names: string[] };
  files: { mean: string; triangles: string; uvTriangles: string; uvs: string; triangleMaterials: string; licence: string };
  /** Material names of the source, indexed by triangle_materials. */
  materials: string[];
  /** Vertex index ranges [start, end) of head parts. */
  parts: Record<string, [number, number]>;
  /** Model vertices of the 68 iBUG landmarks, when the model defines them. */
  landmarks68?: number[];
  /**
   * The 468-point landmark embedding on the model's face surface (models/src/correspondence.ts):
   * `count` landmarks, each on one triangle with barycentrics; `maxDistanceMm` the largest snap
   * distance the alignment accepted.
   */
  correspondence468: { count: number; file: string; barycentrics: string; maxDistanceMm: number; medianDistanceMm: number };
}
