/**
 * The landmark targets of the full-head fit: which MediaPipe points are silhouette points (their
 * surface position drifts with yaw) or lie on lids and lips (MediaPipe's mean face is no neutral
 * there), and the neutral calibration between the two topologies.
 */
import type { CanonicalFace } from '../recon/canonical';
import { fitPoseProcrustes } from '../recon/pose';
import type { Mat3 } from '../recon/linalg';
import type { LandmarkModel } from './fit-3dmm';

/** MediaPipe's face-oval landmarks: silhouette points, whose surface position drifts with yaw. */
export const FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109];

const OVAL = new Set(FACE_OVAL);

/**
 * Fit weights per landmark: 1 inside the face; on the face oval, `contourWeight` times how squarely
 * the point faces the camera (smoothstep of n_z over [0, 0.5], canonical normals under the head
 * rotation). A silhouette point is where the surface turns away: on the far side of a turned head the
 * detector puts it on another surface point, so it must not pull the jaw there (no drift with yaw).
 */
export function landmarkWeights(landmarkIds: ArrayLike<number>, normals: Float32Array, rotation: Mat3, contourWeight: number): Float64Array {
  const w = new Float64Array(landmarkIds.length);
  const R = rotation;
  for (let i = 0; i < landmarkIds.length; i++) {
    const id = landmarkIds[i];
    if (!OVAL.has(id)) {
      w[i] = 1;
      continue;
    }
    const facing = R[6] * normals[3 * id] + R[7] * normals[3 * id + 1] + R[8] * normals[3 * id + 2];
    const s = Math.min(1, Math.max(0, facing / 0.5));
    w[i] = contourWeight * s * s * (3 - 2 * s);
  }
  return w;
}

/**
 * Lid margins and lips: MediaPipe's canonical face has parted lips (5.8 mm) and narrow eyes (6.1 mm
 * lid gap, ICT's neutral 8.4 mm), so it is no neutral there; these points keep the anchored
 * correspondence uncalibrated (their iBUG anchors map them exactly onto ICT's lid and lip landmarks).
 */
export const EXPRESSIVE_CONTOURS = new Set([
  33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173,
  263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398,
  61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
  78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
]);

/**
 * Away from the anchors the two topologies do not place their points identically (nose wings, cheeks
 * and brows differ by a millimetre or two between MediaPipe's mean face and where its points land on
 * ICT's), so a mean face would read as an expression (noseSneer, cheekPuff). The offset (ICT mean at
 * the correspondences, similarity-aligned to the canonical face) - canonical face, added to the
 * targets, makes MediaPipe's mean face fit as ICT's mean there with zero coefficients. Points in
 * `exclude` keep a zero offset. Head-frame mm.
 */
export function calibrateNeutral(lm: LandmarkModel, landmarkIds: Uint32Array, canonical: CanonicalFace, exclude: ReadonlySet<number> = EXPRESSIVE_CONTOURS): Float64Array {
  const k = landmarkIds.length;
  const target = new Float32Array(3 * k);
  for (let i = 0; i < k; i++) for (let d = 0; d < 3; d++) target[3 * i + d] = canonical.positions[3 * landmarkIds[i] + d];
  const pose = fitPoseProcrustes({ source: Float32Array.from(lm.mean), target });
  const out = new Float64Array(3 * k);
  const R = pose.rotation;
  for (let i = 0; i < k; i++) {
    if (exclude.has(landmarkIds[i])) continue;
    const x = lm.mean[3 * i], y = lm.mean[3 * i + 1], z = lm.mean[3 * i + 2];
    for (let d = 0; d < 3; d++) out[3 * i + d] = pose.scale * (R[3 * d] * x + R[3 * d + 1] * y + R[3 * d + 2] * z) + pose.translation[d] - target[3 * i + d];
  }
  return out;
}
