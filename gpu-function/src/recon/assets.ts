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
import { expressionTargets, expressionWeights, headMaterials, headMesh } from '../morph/morph-export';
import { paletteTexture } from '../morph/reconstruct-morph';

export const ASSET_NAMES = {
  obj: 'face.obj',
  mtl: 'face.mtl',
  texture: 'texture.png',
  textureHead: 'texture_head.png',
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
  textureHead: 'image/png',
  textureGrid: 'image/png',
  glb: 'model/gltf-binary',
  preview: 'image/png',
  previewGeometry: 'image/png',
  result: 'application/json',
};

export interface ExportTimings { png: number; obj: number; glb: number; preview: number }

export interface ExportedAssets {
  /** Every asset; textureHead only for a full-head (morphable-model) reconstruction. */
  files: Record<Exclude<AssetKey, 'textureHead'>, Uint8Array> & { textureHead?: Uint8Array };
  timings: ExportTimings;
}

/** Three-quarter preview: the subject's right cheek towards the camera, slightly from above. */
export const PREVIEW_VIEW = { kind: 'orbit', yawDeg: -30, pitchDeg: 8, fovDeg: 24, fill: 0.92 } as const;

export function renderPreviews(recon: Reconstruction, size = 512): { preview: RgbImage; geometry: RgbImage } {
  const geometry = createRgbImage(size, size);
  const textures = recon.morph ? { tiles: [recon.texture, recon.morph.headTexture, paletteTexture(recon.morph.palette)] } : { texture: recon.texture };
  const preview = renderMesh({ mesh: recon.mesh, width: size, height: size, camera: PREVIEW_VIEW, mode: 'textured', ...textures, flatTarget: geometry }).image;
  return { preview, geometry };
}

export async function exportAssets(recon: Reconstruction, extra: { result: object }): Promise<ExportedAssets> {
  const timings: ExportTimings = { png: 0, obj: 0, glb: 0, preview: 0 };
  // The texture PNGs encode on libuv's pool while the previews render on this thread.
  let t = performance.now();
  const texturePngs = Promise.all([encodePng(recon.texture), encodePng(recon.textureGrid), recon.morph ? encodePng(recon.morph.headTexture) : undefined]);
  const tp = performance.now();
  const { preview, geometry } = renderPreviews(recon);
  timings.preview = performance.now() - tp;
  const [[texture, textureGrid, textureHead], previewPng, geometryPng] = await Promise.all([texturePngs, encodePng(preview), encodePng(geometry)]);
  timings.png = performance.now() - t - timings.preview;
  t = performance.now();
  const enc = new TextEncoder();
  const names = { mtl: ASSET_NAMES.mtl, texture: ASSET_NAMES.texture };
  let obj: Uint8Array;
  let mtl: Uint8Array;
  let glb: Uint8Array;
  if (recon.morph && textureHead) {
    const m = recon.morph;
    const mats = headMaterials(m, { texture: ASSET_NAMES.texture, textureHead: ASSET_NAMES.textureHead });
    const groups = m.topology.groups.map((g, i) => ({ start: g.start, count: g.count, material: mats[i] }));
    obj = enc.encode(writeObj(headMesh(m, recon.mesh, false), { ...names, groups }));
    mtl = enc.encode(writeMtl({ ...names, groups }));
    timings.obj = performance.now() - t;
    t = performance.now();
    const pngOf = (file: string) => (file === ASSET_NAMES.texture ? texture : textureHead);
    glb = writeGlb({
      mesh: headMesh(m, recon.mesh, true),
      materials: mats.map((x) => ({ name: x.name, color: x.color, texturePng: x.texture ? pngOf(x.texture) : undefined })),
      groups: m.topology.groups.map((g, i) => ({ start: g.start, count: g.count, material: i })),
      morphTargets: expressionTargets(m),
      morphWeights: m.expression,
      name: 'head',
    });
  } else {
    obj = enc.encode(writeObj(recon.mesh, names));
    mtl = enc.encode(writeMtl(names));
    timings.obj = performance.now() - t;
    t = performance.now();
    glb = writeGlb({ mesh: recon.mesh, texturePng: texture });
  }
  timings.glb = performance.now() - t;
  const result = enc.encode(JSON.stringify(extra.result, null, 2));
  return { files: { obj, mtl, texture, textureGrid, glb, preview: previewPng, previewGeometry: geometryPng, result, ...(textureHead ? { textureHead } : {}) }, timings };
}

const r = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** The morphable-model part of the result: what an avatar pipeline stores and drives. */
export function morphJson(recon: Reconstruction): object {
  const m = recon.morph!;
  return {
    model: m.model,
    licence: m.pack.manifest.licence,
    identity: Array.from(m.identity, (x) => r(x, 4)),
    identity_names: m.pack.manifest.identity.names,
    identity_convention: 'coefficients of the model\'s identity modes (ICT: one standard deviation each); mean + sum(a_j identity_j) gives this head\'s shape up to a small global similarity, which the pose carries',
    expressions: expressionWeights(m),
    expression_convention: 'ARKit blendshape names and ranges: 0 = neutral, 1 = the full blendshape',
    fit: { rms_mm: r(m.fit.rmsMm, 3), iterations: m.fit.iterations, converged: m.fit.converged, scale: r(m.fit.scale, 4), landmarks: m.fit.landmarks },
    textures: { face: `${ASSET_NAMES.texture} (UV tile 1001, u in [0, 1))`, head: `${ASSET_NAMES.textureHead} (UV tile 1002, u in [1, 2) in the model's own UVs; stored tile-local in the OBJ and GLB)` },
  };
}

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
    mesh: recon.morph
      ? { vertices: recon.mesh.positions.length / 3, triangles: recon.mesh.indices.length / 3, model: recon.morph.model, parts: recon.morph.topology.groups.map((g) => g.name), note: 'full head in the model\'s topology; vertices split at UV seams; the OBJ carries the fitted expression, the GLB the neutral face with one morph target per ARKit blendshape and the fitted weights as defaults' }
      : { vertices: recon.mesh.positions.length / 3, triangles: recon.mesh.indices.length / 3, subdivision: 'Loop, 2 levels, from MediaPipe canonical topology (468 vertices, 898 triangles)' },
    ...(recon.morph ? { morph: morphJson(recon) } : {}),
    landmarks: { count: pts2.length, layout: '468 MediaPipe mesh points, then right iris (468-472) and left iris (473-477): centre + 4 contour points', image_px: pts2, head_mm: pts3 },
    timings_ms: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, r(v)])),
  };
}
