/**
 * From 478 photo landmarks to a metric face in the head frame, with the camera that maps it back.
 *
 * Frames. Photo: pixels, x right, y down, z = MediaPipe relative depth (smaller = nearer). Camera:
 * the photo frame turned right-handed with y up and z towards the viewer: (x, -y, -z), in pixels.
 * Head: millimetres, right-handed, +Y up, +Z out of the face, +X towards the subject's left; origin
 * between the eyes (midpoint of the two eye centres, each the mean of its corners 33/133, 263/362).
 *
 * Camera model: weak perspective (scaled orthographic). A selfie's focal length is unknown and the
 * landmark model's depth is orthographic-like, so a perspective model would add an unobservable
 * parameter. photo = origin + k * (R X)_xy with y flipped; depth (towards the viewer) = k * (R X)_z.
 */
import { MESH_TOPOLOGY } from '../face/landmarks';
import type { CanonicalFace } from './canonical';
import { mat3Transpose, type Mat3 } from './linalg';
import { eulerFromRotation, fitPoseProcrustes, type EulerAngles, type SimilarityFit } from './pose';

/** Human visible iris diameter: 11.7 +/- 0.5 mm across populations (e.g. Rüfer et al., Cornea 2005). */
export const IRIS_DIAMETER_MM = 11.7;

export interface WeakPerspectiveCamera {
  model: 'weak_perspective';
  /** Pixels per millimetre at the face. */
  pixelsPerMm: number;
  /** Head -> camera rotation, row-major. */
  rotation: Mat3;
  /** Photo position (px) of the head origin, and its depth in camera pixels (towards the viewer). */
  origin: [number, number, number];
}

export interface ScalePrior {
  method: 'iris_diameter' | 'canonical_face_size';
  /** The anatomical value assumed (mm). */
  valueMm: number;
  /** What it was matched to in the photo (px). */
  measuredPx: number;
  /** Why the fallback was used, when it was. */
  note?: string;
}

export interface FaceGeometry {
  /** 478 x 3 head-frame millimetres (468 mesh vertices + 10 iris points). */
  points: Float32Array;
  camera: WeakPerspectiveCamera;
  pose: EulerAngles;
  scalePrior: ScalePrior;
  /** Mean distance (px) between the detected landmarks and the canonical face under the fitted pose. */
  canonicalReprojectionErrorPx: number;
  /** Mean distance (px) between the detected landmarks and the reconstructed mesh projected back. */
  meshReprojectionErrorPx: number;
}

/**
 * Mean distance (photo px) between the first `count` landmarks (x, y, z triples in photo pixels) and
 * the head-frame points (mm) of the same indices projected by the camera: how far a mesh's own
 * landmark vertices land from the landmarks.
 */
export function landmarkReprojectionErrorPx(cam: WeakPerspectiveCamera, positions: ArrayLike<number>, landmarks: ArrayLike<number>, count = 468): number {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const [x, y] = projectHeadPoint(cam, positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]);
    sum += Math.hypot(x - landmarks[3 * i], y - landmarks[3 * i + 1]);
  }
  return sum / count;
}

/** Projects a head-frame point (mm) to [x, y, depth] in photo pixels (depth grows towards the viewer). */
export function projectHeadPoint(cam: WeakPerspectiveCamera, x: number, y: number, z: number): [number, number, number] {
  const R = cam.rotation;
  const k = cam.pixelsPerMm;
  return [
    cam.origin[0] + k * (R[0] * x + R[1] * y + R[2] * z),
    cam.origin[1] - k * (R[3] * x + R[4] * y + R[5] * z),
    cam.origin[2] + k * (R[6] * x + R[7] * y + R[8] * z),
  ];
}

/**
 * fitHeadPoseToLandmarks: the similarity transform of the canonical face (head frame, mm, as
 * canonical.ts defines it) onto the landmarks (photo pixels, y down, z away from the viewer as
 * MediaPipe reports it), over MediaPipe's Procrustes landmarks and weights; `cam` is the landmarks in
 * the camera frame (x right, y up, z towards the viewer) the fit maps to.
 */
export function fitHeadPoseToLandmarks(landmarks: Float32Array, canonical: CanonicalFace): { fit: SimilarityFit; cam: Float32Array } {
  const n = landmarks.length / 3;
  const cam = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    cam[3 * i] = landmarks[3 * i];
    cam[3 * i + 1] = -landmarks[3 * i + 1];
    cam[3 * i + 2] = -landmarks[3 * i + 2];
  }
  return { fit: fitPoseProcrustes({ source: canonical.positions, target: cam, ids: canonical.procrustesIds, weights: canonical.procrustesWeights }), cam };
}

/**
 * headYawDeg: the head's yaw in degrees (eulerFromRotation's convention) from the canonical pose fit
 * to the landmarks, or undefined when the points cannot carry a pose at all (collapsed, mirrored or
 * not finite: the Procrustes fit's RangeError). A model fed a crop of noise can answer such points;
 * the caller refuses them as it refuses any other poor face rather than failing the request.
 */
export function headYawDeg(landmarks: Float32Array, canonical: CanonicalFace): number | undefined {
  try {
    const yaw = eulerFromRotation(fitHeadPoseToLandmarks(landmarks, canonical).fit.rotation).yaw;
    return Number.isFinite(yaw) ? yaw : undefined;
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    throw e;
  }
}

/**
 * reconstructFaceGeometry: pose by fitPoseProcrustes of the canonical face to the landmarks (MediaPipe's
 * Procrustes landmarks and weights), metric scale from the iris prior, and the person's own landmark
 * shape carried into the head frame. Preconditions: 478 refined landmarks. The iris prior falls back
 * to the canonical (average adult) face size when the measured irises imply a face outside 80-125%
 * of it (blinks, glasses glare), and says so.
 */
export function reconstructFaceGeometry(landmarks: Float32Array, canonical: CanonicalFace): FaceGeometry {
  const n = landmarks.length / 3;
  if (n !== 478) throw new RangeError(`expected 478 landmarks, got ${n}`);
  const { fit, cam } = fitHeadPoseToLandmarks(landmarks, canonical);

  // Iris diameter: the larger of the horizontal and vertical extents (turning only shrinks one), of
  // the eye with the larger iris (the nearer, less foreshortened one).
  const diam = (c: number) => {
    const d = (a: number, b: number) => Math.hypot(landmarks[3 * a] - landmarks[3 * b], landmarks[3 * a + 1] - landmarks[3 * b + 1]);
    return Math.max(d(c + 1, c + 3), d(c + 2, c + 4));
  };
  const irisPx = Math.max(diam(MESH_TOPOLOGY.refinedIndices.rightIris[0]), diam(MESH_TOPOLOGY.refinedIndices.leftIris[0]));
  let k = irisPx / IRIS_DIAMETER_MM;
  let scalePrior: ScalePrior = { method: 'iris_diameter', valueMm: IRIS_DIAMETER_MM, measuredPx: irisPx };
  const sizeRatio = fit.scale / k; // person size / canonical size
  if (!(sizeRatio > 0.8 && sizeRatio < 1.25)) {
    k = fit.scale;
    const canonWidth = Math.hypot(canonical.positions[3 * 33] - canonical.positions[3 * 263], canonical.positions[3 * 33 + 1] - canonical.positions[3 * 263 + 1]);
    scalePrior = {
      method: 'canonical_face_size',
      valueMm: Math.round(canonWidth * 10) / 10,
      measuredPx: canonWidth * fit.scale,
      note: `iris diameter ${irisPx.toFixed(1)} px implies a face ${(sizeRatio * 100).toFixed(0)}% of average; using the average adult face size (outer eye corners ${canonWidth.toFixed(1)} mm apart)`,
    };
  }

  // Head origin: between the eye centres, in camera pixels.
  const eyeMid = (d: number) => (cam[3 * 33 + d] + cam[3 * 133 + d] + cam[3 * 263 + d] + cam[3 * 362 + d]) / 4;
  const O = [eyeMid(0), eyeMid(1), eyeMid(2)];
  const Rt = mat3Transpose(fit.rotation);
  const points = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const d = [(cam[3 * i] - O[0]) / k, (cam[3 * i + 1] - O[1]) / k, (cam[3 * i + 2] - O[2]) / k];
    for (let r = 0; r < 3; r++) points[3 * i + r] = Rt[3 * r] * d[0] + Rt[3 * r + 1] * d[1] + Rt[3 * r + 2] * d[2];
  }
  const camera: WeakPerspectiveCamera = { model: 'weak_perspective', pixelsPerMm: k, rotation: fit.rotation, origin: [O[0], -O[1], O[2]] };

  let canonErr = 0;
  const R = fit.rotation;
  for (let i = 0; i < 468; i++) {
    const a = canonical.positions.subarray(3 * i, 3 * i + 3);
    const px = fit.scale * (R[0] * a[0] + R[1] * a[1] + R[2] * a[2]) + fit.translation[0];
    const py = -(fit.scale * (R[3] * a[0] + R[4] * a[1] + R[5] * a[2]) + fit.translation[1]);
    canonErr += Math.hypot(px - landmarks[3 * i], py - landmarks[3 * i + 1]);
  }
  return {
    points,
    camera,
    pose: eulerFromRotation(fit.rotation),
    scalePrior,
    canonicalReprojectionErrorPx: canonErr / 468,
    meshReprojectionErrorPx: landmarkReprojectionErrorPx(camera, points, landmarks),
  };
}
