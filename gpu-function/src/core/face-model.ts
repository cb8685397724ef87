/**
 * The one interface every face model implements. A model turns the photo's landmarks into a fitted,
 * textured-ready head in its own topology and UV layout; everything after that (the UV bake, colour,
 * completion, the grid, OBJ/MTL, GLB, previews) is the core's and knows nothing of which model ran.
 * The default MediaPipe face (face-models/mediapipe.ts) and the ICT-FaceKit full head
 * (face-models/ict.ts) implement it; a third model (a licensed BFM or FLAME pack a customer brings)
 * is one more file plus a registry entry (core/registry.ts).
 *
 * Frames: every model works in the head frame of reconstructFaceGeometry (millimetres, right-handed,
 * +Y up, +Z out of the face, origin between the eyes), so pose, camera and landmarks mean the same
 * whichever model made the mesh. UVs have v growing downwards (image rows); a layout with several
 * textures uses UDIM tiles: u in [k, k + 1) is tile k.
 */
import { FACE_LIMITS, type AssetKind, type ModelName, type ReconstructOptions, type RgbImage, type TriMesh } from '@facerecon/shared';
import type { FaceLandmarks } from '../face/landmarker';
import type { FaceGeometry } from '../recon/face-geometry';
import type { GlbMorphTarget } from '../recon/export-glb';

export type UvSize = ReconstructOptions['uv_size'];

/** One baked texture of a layout. */
export interface UvTile {
  /** UDIM index: the tile's UVs are u in [index, index + 1). */
  index: number;
  /** The asset this tile is delivered as. */
  asset: 'texture' | 'texture_head';
  /** Texture side for a requested size (a tile that is mostly fill may be baked smaller). */
  sizeFor(uvSize: UvSize): number;
  /**
   * The tile is left/right symmetric under u -> 1 - u (within the tile), so the side the photo did
   * not see may be completed from the side it did. Only true where the layout really is symmetric.
   */
  mirrorU: boolean;
  /** Regions no photo can show (the back of the head) settle on the person's skin tone. */
  toneFill: boolean;
}

export interface UvLayout {
  /** Baked tiles; tile 0 is the face (colour statistics, specular handling and the grid use it). */
  tiles: readonly UvTile[];
  /** The render mesh's triangles and UDIM UVs, the same for every photo. */
  uvs: Float32Array;
  indices: Uint32Array;
  /** The wireframe drawn over tile 0 in texture_grid.png (the model's own face chart edges). */
  wire: { uvs: Float32Array; indices: Uint32Array };
  /**
   * Per render vertex, in [0, 1]: where only skin may be baked (the neck, where clothing sits), where
   * nothing from the photo is (fillOnly: the bust, clothing in nearly every photo; the tone fill
   * completes it), and where the scalp is (unseen scalp takes the seen hair's colour). Absent: none applies.
   */
  regions?: { skinOnly: Float32Array; scalp: Float32Array; fillOnly?: Float32Array };
}

/** What the photo supports: conservative mode (512, no colour changes) when it is weak. */
export interface BakeMode {
  uvSize: UvSize;
  enhance: boolean;
  conservative: { enabled: boolean; reasons: string[] };
}

/** A head fitted to one photo, in the head frame (mm). */
export interface FittedHead {
  model: ModelName;
  geometry: FaceGeometry;
  /** The render mesh: layout UVs, unit normals; what is baked and previewed. */
  mesh: TriMesh & { normals: Float32Array };
  mode: BakeMode;
  /** fit: landmarks to pose and model coefficients; mesh: building the render mesh. */
  timings: { fit: number; mesh: number };
  /**
   * Mean distance (photo px) between the landmarks and this head's own points for them, projected by
   * the pose: result.json's `reprojection_error_px.reconstructed_mesh`. Absent: the head's mesh is
   * the landmark mesh itself (geometry.meshReprojectionErrorPx).
   */
  meshReprojectionErrorPx?: number;
}

/** A material of the exported mesh: a baked tile, or a flat sRGB colour. */
export interface ExportMaterial {
  name: string;
  tile?: number;
  /** A texture the model paints itself (not baked from the photo), stored as its own asset. */
  texture?: { asset: AssetKind; image: RgbImage };
  color?: readonly [number, number, number];
  /** glTF roughness for the GLB (default skin-like); low for the wet eye. */
  roughness?: number;
  /** An open surface seen from both sides (the face mask: its inside shows past the rim). */
  doubleSided?: boolean;
}

/** What the OBJ and the GLB carry for one fitted head. */
export interface ExportDescription {
  /** The OBJ's mesh (the fitted expression), tile-local UVs. */
  obj: TriMesh & { normals: Float32Array };
  /**
   * The OBJ's welded positions: for each mesh vertex, the position it shares with the other copies
   * split at a UV seam. The OBJ then writes each position once and splits only `vt`, so an artist
   * need not merge by distance before sculpting.
   */
  objWeld?: Uint32Array;
  /** The GLB's base mesh (for a model with morph targets: the neutral face), tile-local UVs. */
  glb: TriMesh & { normals: Float32Array };
  materials: ExportMaterial[];
  /** Index ranges of the meshes' triangles and their material (default: one group, material 0). */
  groups?: Array<{ start: number; count: number; material: number }>;
  morphTargets?: GlbMorphTarget[];
  morphWeights?: ArrayLike<number>;
  /** The GLB mesh's name. */
  name: string;
}

export interface FitOptions {
  uvSize: UvSize;
  /** How a model with expressions names them: ARKit's 52 (default) or the model's own. */
  expressionNames?: 'arkit' | 'ict';
}

export interface FaceModel<H extends FittedHead = FittedHead> {
  readonly name: ModelName;
  readonly layout: UvLayout;
  /** Landmarks (photo pixels) to the fitted head. Pure computation; throws only on programming errors. */
  fit(photo: RgbImage, face: FaceLandmarks, opts: FitOptions): H;
  /** Extra texture tiles the preview samples after the baked ones (e.g. a palette of flat colours). */
  previewTiles?(head: H): RgbImage[];
  exportDescription(head: H): ExportDescription;
  /** Model-specific fields for result.json and the API response (identity, expressions, ...). */
  extras?(head: H): { result: Record<string, unknown>; response: Record<string, unknown> };
  /** What result.json says of the mesh. */
  meshNote(head: H): Record<string, unknown>;
}

/**
 * Conservative-mode thresholds: below these the photo cannot support a full-resolution, enhanced bake
 * (the face width is shared's FACE_LIMITS.conservativeBelowPx).
 */
export const CONSERVATIVE = { minPresence: 0.8, maxAbsYawDeg: 45, minFaceWidthPx: FACE_LIMITS.conservativeBelowPx } as const;

/** The bake settings a photo supports (the same rule for every model). */
export function decideBakeMode(face: FaceLandmarks, geometry: FaceGeometry, requested: UvSize): BakeMode {
  const reasons: string[] = [];
  if (face.presence < CONSERVATIVE.minPresence) reasons.push(`face presence ${face.presence.toFixed(2)} < ${CONSERVATIVE.minPresence}`);
  if (Math.abs(geometry.pose.yaw) > CONSERVATIVE.maxAbsYawDeg) reasons.push(`yaw ${geometry.pose.yaw.toFixed(0)} deg beyond +/-${CONSERVATIVE.maxAbsYawDeg}`);
  if (face.detection.box.width < CONSERVATIVE.minFaceWidthPx) reasons.push(`face ${face.detection.box.width.toFixed(0)} px wide < ${CONSERVATIVE.minFaceWidthPx}`);
  const enabled = reasons.length > 0;
  return { uvSize: enabled ? 512 : requested, enhance: !enabled, conservative: { enabled, reasons } };
}
