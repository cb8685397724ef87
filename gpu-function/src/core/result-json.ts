/**
 * result.json, typed: landmarks (2D photo px and 3D head-frame mm), pose, camera, scale prior,
 * quality, the texture report, the mesh, the model's own extras, the photo's lighting and, with
 * formats=detail, how the shading-detail maps were made and are read. The API response is built from
 * the same object (service/pipeline.ts), so the two cannot disagree.
 */
import { ASSET_FILES } from '@facerecon/shared';
import type { FaceLandmarks } from '../face/landmarker';
import { DEPTH_AXIS_HEAD_MM, depthAxisPx, ibug68From } from '../face/ibug68';
import type { ColourReport } from '../recon/colour';
import type { FaceGeometry } from '../recon/face-geometry';
import type { FaceModel, FittedHead } from './face-model';
import type { TextureSet } from './texture';

const r = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

export interface ResultJson {
  frame: string;
  pose: { yaw_deg: number; pitch_deg: number; roll_deg: number; rotation: number[]; translation_px: [number, number]; convention: string };
  camera: { model: 'weak_perspective'; pixels_per_mm: number; projection: string };
  scale_prior: { method: string; value_mm: number; measured_px: number; note?: string };
  reprojection_error_px: { canonical_face: number; reconstructed_mesh: number };
  confidences: { detection: number; face_presence: number; landmarks: number; landmark_evidence: { flip_disagreement: number; yaw_deg: number; detector_eye_span: number; augment_disagreement?: number } };
  conservative: boolean;
  conservative_reasons: string[];
  texture: {
    size: number;
    format: string;
    coverage: { from_photo: number; from_mirror: number; interpolated: number };
    colour: ColourReport;
    specular_texels_downweighted: number;
    /**
     * Whether the person segmentation kept the background out of the bake, and how far it agreed that
     * the face is a person (mean probability at the landmarks; under 0.3 it is not used).
     */
    person_segmentation?: { used: boolean; agreement: number };
  };
  mesh: Record<string, unknown>;
  model: string;
  /** The model's own fields (ICT: identity, ARKit expressions, fit). */
  morph?: Record<string, unknown>;
  landmarks: { count: number; layout: string; image_px: number[][]; head_mm: number[][]; image?: { width: number; height: number; frame: string } };
  /** The 68 iBUG points (300-W order), from the landmarks by face/ibug68.ts. */
  landmarks_68: { layout: string; image_px: number[][]; head_mm: number[][] };
  /** The photo's estimated lighting (absent when too little of the face was seen clearly). */
  lighting?: { model: string; frame: string; sh: number[]; samples: number; inlier_share: number; rms_residual: number; albedo_reference?: number[]; shading_floor?: number[]; albedo_relation?: string };
  /** The face's shading detail (formats=detail): how normal.png and displacement.png were made and how to read them. */
  detail?: {
    method: string;
    normal_map: { file: string; convention: string };
    displacement_map: { file: string; encoding: string; range_mm: number };
    /** Side of the square grid the height was solved on (texels over the face tile's UV square). */
    work_size: number;
    /** RMS of the solved height over the face chart, mm. */
    rms_height_mm: number;
    /** Working-grid texels that gave shading evidence (clear skin with a shading gradient). */
    evidence_texels: number;
  };
  timings_ms: Record<string, number>;
}

const LAYOUT_68 =
  'iBUG-68 (300-W order: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67); brows on their centre line; the 16 side jaw points at equal 3D arclength steps along the face oval from the chin to the ears, 10 mm deeper into the head (the mandible line; 3 mm beside the chin); the nose base 4 mm behind the nostril rim (gpu-function/src/face/ibug68.ts)';

/** The 68 iBUG points in the photo (from the 478 landmarks, the jaw's depth through `camera`) and in the head frame. */
function landmarks68Json(points: Float32Array, head: number[][], camera: FaceGeometry['camera']): ResultJson['landmarks_68'] {
  const photo = Array.from({ length: 478 }, (_, i) => [points[3 * i], points[3 * i + 1], points[3 * i + 2]]);
  return {
    layout: LAYOUT_68,
    image_px: ibug68From(photo, { depthAxis: depthAxisPx(camera) }).map((p) => [r(p[0]), r(p[1])]),
    head_mm: ibug68From(head, { depthAxis: DEPTH_AXIS_HEAD_MM }).map((p) => p.map((v) => r(v))),
  };
}

/** What image_px is measured in: tools that open a phone photo without applying EXIF get another frame. */
const IMAGE_FRAME = 'pixels of the photo as displayed: EXIF orientation and HEIF irot/imir applied, origin top-left, x right, y down; a reader that ignores EXIF (e.g. PIL Image.open without ImageOps.exif_transpose) sees a rotated photo whose width and height differ from these';

export function reconstructionResultJson<H extends FittedHead>(opts: { model: FaceModel<H>; face: FaceLandmarks; head: H; textures: TextureSet; timings: Record<string, number>; image?: { width: number; height: number } }): ResultJson {
  const { model, face, head, textures } = opts;
  const g = head.geometry;
  const pts2: number[][] = [];
  const pts3: number[][] = [];
  for (let i = 0; i < face.points.length / 3; i++) {
    pts2.push([r(face.points[3 * i]), r(face.points[3 * i + 1])]);
    pts3.push([r(g.points[3 * i]), r(g.points[3 * i + 1]), r(g.points[3 * i + 2])]);
  }
  const extras = model.extras?.(head);
  return {
    frame: "head frame: millimetres, right-handed, +Y up, +Z out of the face, +X towards the subject's left, origin between the eyes; meshes (OBJ, GLB) in metres",
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
    reprojection_error_px: { canonical_face: r(g.canonicalReprojectionErrorPx), reconstructed_mesh: r(head.meshReprojectionErrorPx ?? g.meshReprojectionErrorPx, 4) },
    confidences: {
      detection: r(face.detection.score, 4),
      face_presence: r(face.presence, 4),
      landmarks: r(face.quality.score, 4),
      landmark_evidence: { flip_disagreement: r(face.flipDisagreement, 5), yaw_deg: r(face.quality.yawDeg, 1), detector_eye_span: r(face.quality.detectorEyeSpan, 3), ...(face.quality.augmentDisagreement !== undefined ? { augment_disagreement: r(face.quality.augmentDisagreement, 5) } : {}) },
    },
    conservative: head.mode.conservative.enabled,
    conservative_reasons: head.mode.conservative.reasons,
    texture: {
      size: head.mode.uvSize,
      format: 'PNG, 8-bit RGB, sRGB; fully filled (no alpha): texels the photo did not see are completed from the mirrored side where the layout is symmetric, then interpolated',
      coverage: { from_photo: r(textures.completion.fromPhoto, 4), from_mirror: r(textures.completion.fromMirror, 4), interpolated: r(textures.completion.interpolated, 4) },
      colour: textures.colour,
      specular_texels_downweighted: textures.specularTexels,
      ...(face.personMaskAgreement !== undefined ? { person_segmentation: { used: face.personMask !== undefined, agreement: r(face.personMaskAgreement, 3) } } : {}),
    },
    mesh: model.meshNote(head),
    model: model.name,
    ...(extras ? { morph: extras.result } : {}),
    landmarks: { count: pts2.length, layout: '468 MediaPipe mesh points, then right iris (468-472) and left iris (473-477): centre + 4 contour points', image_px: pts2, head_mm: pts3, ...(opts.image ? { image: { width: opts.image.width, height: opts.image.height, frame: IMAGE_FRAME } } : {}) },
    landmarks_68: landmarks68Json(face.points, pts3, g.camera),
    ...(textures.lighting
      ? {
          lighting: {
            model: 'second-order spherical harmonics, 9 coefficients per channel (R, then G, then B), Lambertian irradiance with the clamped-cosine kernel folded in (Ramamoorthi & Hanrahan 2001), linear light, albedo folded in: shading = sum_k sh[9c + k] B_k(n), B = [A0 Y00, A1 Y1-1 (y), A1 Y10 (z), A1 Y11 (x), A2 Y2-2 (xy), A2 Y2-1 (yz), A2 Y20 (3z^2-1), A2 Y21 (xz), A2 Y22 (x^2-y^2)], real orthonormal SH, A0 = pi, A1 = 2pi/3, A2 = pi/4 (gpu-function/src/recon/sh-lighting.ts)',
            frame: 'camera: x right, y up, z towards the viewer (the pose rotation maps head normals into it)',
            sh: Array.from(textures.lighting.sh, (x) => r(x, 5)),
            samples: textures.lighting.samples,
            inlier_share: r(textures.lighting.inlierShare, 3),
            rms_residual: r(textures.lighting.rmsResidual, 4),
            ...(textures.lighting.albedoReference
              ? {
                  albedo_reference: textures.lighting.albedoReference.map((x) => r(x, 5)),
                  shading_floor: (textures.lighting.shadingFloor ?? [0, 0, 0]).map((x) => r(x, 5)),
                  albedo_relation: 'linear light, per channel c, where the camera saw the surface: texture = albedo * max(shading_c(n), shading_floor[c]) / albedo_reference[c]; albedo.png is the texture divided by the shading, scaled to fit in 8 bits',
                }
              : {}),
          },
        }
      : {}),
    ...(textures.detail
      ? {
          detail: {
            method: 'linearised shape-from-shading in UV space on the fitted mesh under the estimated SH lighting (Kemelmacher-Shlizerman & Basri 2011), screened towards the mesh at scales over ~12 mm (Nehab et al. 2005); see gpu-function/src/recon/shading-detail.ts',
            normal_map: { file: ASSET_FILES.normal.file, convention: "tangent space, glTF/OpenGL: R = +T (increasing u), G = +B (up the image), B = +N; needs the GLB's TANGENT or MikkTSpace-like tangents" },
            displacement_map: { file: ASSET_FILES.displacement.file, encoding: 'grey 8-bit, 128 = 0, level L = (L - 128) / 127 * range_mm millimetres along the normal, outward positive', range_mm: r(textures.detail.rangeMm, 4) },
            work_size: textures.detail.workSize,
            rms_height_mm: r(textures.detail.stats.rmsHeightMm, 4),
            evidence_texels: textures.detail.stats.evidenceTexels,
          },
        }
      : {}),
    timings_ms: Object.fromEntries(Object.entries(opts.timings).map(([k, v]) => [k, r(v)])),
  };
}
