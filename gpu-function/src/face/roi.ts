/**
 * Regions of interest for the landmark models, following MediaPipe's graphs:
 * - face from a detection (face_detection_front_detection_to_roi): box centre, roll from the eye
 *   keypoints, side = 1.5 x the longer box side;
 * - face from landmarks (face_landmarks_to_roi): roll from landmarks 33 -> 263, the landmarks' bounds
 *   measured in the rolled frame, side = 1.5 x the longer extent;
 * - eye from its two corners (iris_landmark_landmarks_to_roi): centre between them, roll along them,
 *   side = 2.3 x their distance.
 *
 * Frame: photo pixels, x right, y down. Angles are radians, positive clockwise on screen (the sense of
 * atan2 in a y-down frame), so that sampling the rect with that angle makes the eye line horizontal.
 */
import type { RotatedRect } from './raster';

export interface ImageDetection {
  /** Box in photo pixels. */
  box: { x: number; y: number; width: number; height: number };
  score: number;
  /** 6 keypoints [x, y] in photo pixels (subject's right eye, left eye, nose tip, mouth, right ear, left ear). */
  keypoints: Array<[number, number]>;
}

export const FACE_ROI_SCALE = 1.5;
export const EYE_ROI_SCALE = 2.3;

export function roiFromDetection(det: ImageDetection, scale = FACE_ROI_SCALE): RotatedRect {
  const [r, l] = det.keypoints;
  const angle = Math.atan2(l[1] - r[1], l[0] - r[0]);
  return {
    cx: det.box.x + det.box.width / 2,
    cy: det.box.y + det.box.height / 2,
    size: Math.max(det.box.width, det.box.height) * scale,
    angle,
  };
}

/**
 * `points` holds [x, y, z] per landmark in photo pixels. `from`/`to` pick the roll axis
 * (MediaPipe: 33 -> 263, the outer eye corners).
 */
export function roiFromLandmarks(points: Float32Array, opts: { from?: number; to?: number; scale?: number; count?: number } = {}): RotatedRect {
  const from = opts.from ?? 33;
  const to = opts.to ?? 263;
  const n = opts.count ?? points.length / 3;
  const angle = Math.atan2(points[3 * to + 1] - points[3 * from + 1], points[3 * to] - points[3 * from]);
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  let u0 = Infinity, u1 = -Infinity, v0 = Infinity, v1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = points[3 * i];
    const y = points[3 * i + 1];
    // Coordinates in the rolled frame (rotate by -angle).
    const u = c * x + s * y;
    const v = -s * x + c * y;
    if (u < u0) u0 = u;
    if (u > u1) u1 = u;
    if (v < v0) v0 = v;
    if (v > v1) v1 = v;
  }
  const mu = (u0 + u1) / 2;
  const mv = (v0 + v1) / 2;
  return { cx: c * mu - s * mv, cy: s * mu + c * mv, size: Math.max(u1 - u0, v1 - v0) * (opts.scale ?? FACE_ROI_SCALE), angle };
}

/** Square ROI around an eye from its two corners, rolled along the corner line. */
export function roiFromEyeCorners(a: readonly [number, number], b: readonly [number, number], scale = EYE_ROI_SCALE): RotatedRect {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  // The iris model expects the outer corner on the crop's left for an unflipped eye; callers order a/b.
  return { cx: (a[0] + b[0]) / 2, cy: (a[1] + b[1]) / 2, size: Math.hypot(dx, dy) * scale, angle: Math.atan2(dy, dx) };
}
