/**
 * The export stage: from a reconstruction to the files a caller downloads. PNG encoding goes through
 * the image adapter; everything else is built here in memory.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { encodePng } from '../adapters/image-io';
import type { FaceLandmarks } from '../face/landmarker';
import { writeGlb } from './export-glb';
import { writeMtl, writeObj } from './export-obj';
import type { Reconstruction } from './reconstruct';
import { renderMesh } from './render';

export const ASSET_NAMES = {
  obj: 'face.obj',
  mtl: 'face.mtl',
  texture: 'texture.png',
  textureGrid: 'texture_grid.png',
  glb: 'face.glb',
  preview: 'preview.png',
  previewGeometry: 'preview_geometry.png',
  result: 'result.json',
} as const;

export type AssetKey = keyof typeof ASSET_NAMES;

export const ASSET_TYPES: Record<AssetKey, string> = {
  obj: 'text/plain',
  mtl: 'text/plain',
  texture: 'image/png',
  textureGrid: 'image/png',
  glb: 'model/gltf-binary',
  preview: 'image/png',
  previewGeometry: 'image/png',
  result: 'application/json',
};

export interface ExportTimings { png: number; obj: number; glb: number; preview: number }

export interface ExportedAssets {
  files: Record<AssetKey, Uint8Array>;
  timings: ExportTimings;
}

/** Three-quarter preview: the subject's right cheek towards the camera, slightly from above. */
export const PREVIEW_VIEW = { kind: 'orbit', yawDeg: -30, pitchDeg: 8, fovDeg: 24, fill: 0.92 } as const;

export function renderPreviews(recon: Reconstruction, size = 512): { preview: RgbImage; geometry: RgbImage } {
  const geometry = createRgbImage(size, size);
  const preview = renderMesh({ mesh: recon.mesh, width: size, height: size, camera: PREVIEW_VIEW, mode: 'textured', texture: recon.texture, flatTarget: geometry }).image;
  return { preview, geometry };
}

export async function exportAssets(recon: Reconstruction, extra: { result: object }): Promise<ExportedAssets> {
  const timings: ExportTimings = { png: 0, obj: 0, glb: 0, preview: 0 };
  // The texture PNGs encode on libuv's pool while the previews render on this thread.
  let t = performance.now();
  const texturePngs = Promise.all([encodePng(recon.texture), encodePng(recon.textureGrid)]);
  const tp = performance.now();
  const { preview, geometry } = renderPreviews(recon);
  timings.preview = performance.now() - tp;
  const [[texture, textureGrid], previewPng, geometryPng] = await Promise.all([texturePngs, encodePng(preview), encodePng(geometry)]);
  timings.png = performance.now() - t - timings.preview;
  t = performance.now();
  const enc = new TextEncoder();
  const obj = enc.encode(writeObj(recon.mesh, { mtl: ASSET_NAMES.mtl, texture: ASSET_NAMES.texture }));
  const mtl = enc.encode(writeMtl({ mtl: ASSET_NAMES.mtl, texture: ASSET_NAMES.texture }));
  timings.obj = performance.now() - t;
  t = performance.now();
  const glb = writeGlb({ mesh: recon.mesh, texturePng: texture });
  timings.glb = performance.now() - t;
  const result = enc.encode(JSON.stringify(extra.result, null, 2));
  return { files: { obj, mtl, texture, textureGrid, glb, preview: previewPng, previewGeometry: geometryPng, result }, timings };
}

const r = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** The result JSON: landmarks (2D photo px and 3D head-frame mm), pose, camera, scale prior, quality. */
export function reconstructionResultJson(face: FaceLandmarks, recon: Reconstruction, timings: Record<string, number>): object {
  const g = recon.geometry;
  const pts2: number[][] = [];
  const pts3: number[][] = [];
  for (let i = 0; i < face.points.length / 3; i++) {
    pts2.push([r(face.points[3 * i]), r(face.points[3 * i + 1])]);
    pts3.push([r(g.points[3 * i]), r(g.points[3 * i + 1]), r(g.points[3 * i + 2])]);
  }
  return {
    frame: 'head frame: millimetres, right-handed, +Y up, +Z out of the face, +X towards the subject\'s left, origin between the eyes; meshes (OBJ, GLB) in metres',
    pose: {
      yaw_deg: r(g.pose.yaw, 1),
      pitch_deg: r(g.pose.pitch, 1),
      roll_deg: r(g.pose.roll, 1),
      rotation: Array.from(g.camera.rotation, (x) => r(x, 6)),
      translation_px: [r(g.camera.origin[0]), r(g.camera.origin[1])],
      convention: 'rotation maps head frame to camera frame (x right, y up, z towards the viewer), row-major, R = Ry(yaw) Rx(pitch) Rz(roll); yaw > 0 turns the face towards the image right, pitch > 0 looks down, roll > 0 tilts counter-clockwise; translation is the photo position of the head origin',
    },
    camera: {
      model: 'weak_perspective',
      pixels_per_mm: r(g.camera.pixelsPerMm, 4),
      projection: 'x_px = tx + s * (R X)_x, y_px = ty - s * (R X)_y, with s = pixels_per_mm and X in head-frame mm',
    },
    scale_prior: { method: g.scalePrior.method, value_mm: g.scalePrior.valueMm, measured_px: r(g.scalePrior.measuredPx), ...(g.scalePrior.note ? { note: g.scalePrior.note } : {}) },
    reprojection_error_px: { canonical_face: r(g.canonicalReprojectionErrorPx), reconstructed_mesh: r(g.meshReprojectionErrorPx, 4) },
    confidences: { detection: r(face.detection.score, 4), face_presence: r(face.presence, 4) },
    conservative: recon.conservative.enabled,
    conservative_reasons: recon.conservative.reasons,
    texture: {
      size: recon.uvSize,
      format: 'PNG, 8-bit RGB, sRGB; fully filled (no alpha): texels the photo did not see are completed from the mirrored side, then interpolated',
      coverage: { from_photo: r(recon.completion.fromPhoto, 4), from_mirror: r(recon.completion.fromMirror, 4), interpolated: r(recon.completion.interpolated, 4) },
      colour: recon.colour,
      specular_texels_downweighted: recon.specularTexels,
    },
    mesh: { vertices: recon.mesh.positions.length / 3, triangles: recon.mesh.indices.length / 3, subdivision: 'Loop, 2 levels, from MediaPipe canonical topology (468 vertices, 898 triangles)' },
    landmarks: { count: pts2.length, layout: '468 MediaPipe mesh points, then right iris (468-472) and left iris (473-477): centre + 4 contour points', image_px: pts2, head_mm: pts3 },
    timings_ms: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, r(v)])),
  };
}
