/**
 * How the face detector's own keypoint layout reads a profile: the mesh model does not know heads
 * turned past ~60 degrees (it scores them as no face at all), but BlazeFace still finds them, and lays
 * their keypoints out differently from a frontal face's and from what it mistakes for a face. A
 * confident detection laid out as a profile is answered FACE_TURNED_AWAY ("turn towards the camera")
 * instead of NO_FACE (landmarker.ts). Pure functions of one detection (photo pixels, x right).
 */
import type { ImageDetection } from './roi';

/**
 * A detection is a profile when its two eye keypoints are less than this fraction of its box width
 * apart (AFLW2000-3D dev: median 0.41 for |yaw| <= 15 degrees, 0.26 at 45-60, 0.18 past 60), and
 * confident enough not to be a cup or a cat (their candidates score 0.3-0.8 with spans 0.12-0.31).
 */
const PROFILE_EYE_SPAN = 0.18;
const PROFILE_MIN_SCORE = 0.5;

/**
 * How far the detection's nose-tip keypoint sits from its box's vertical centre line, over the box
 * width (0 centred, 0.5 on the box's side). BlazeFace places a frontal face's nose near the centre,
 * and what it mistakes for a face too (it lays its keypoints out like a frontal face's); a profile's
 * nose points out of the face, towards the box's side. On the AFLW2000-3D dev split's profiles the
 * mesh model rejects, 0.27-0.70 on all but one; on the non-faces the detector scores >= 0.5 (skimage's
 * cat, coffee cup, cell, horse, microaneurysms and Hubble field) 0.16 at most.
 */
export function noseOffCentre(det: ImageDetection): number {
  return Math.abs((det.keypoints[2][0] - det.box.x) / det.box.width - 0.5);
}
const PROFILE_NOSE_OFF_CENTRE = 0.22;

/** A confident detection laid out as a profile (eyes together, or the nose out at the side): see the constants above. */
export function detectorProfile(f: ImageDetection): boolean {
  return f.score >= PROFILE_MIN_SCORE && (eyeSpanRatio(f) < PROFILE_EYE_SPAN || noseOffCentre(f) > PROFILE_NOSE_OFF_CENTRE);
}

/**
 * Horizontal distance of the detection's eye keypoints over its box width. The quality gate's
 * detectorEyeSpan measures the full distance (roll does not change it); for this profile check the
 * horizontal one holds up better, since a profile's eye keypoints are the detector's guess and often
 * sit one above the other (the full distance moved one AFLW dev profile from FACE_TURNED_AWAY to NO_FACE).
 */
export function eyeSpanRatio(det: ImageDetection): number {
  return Math.abs(det.keypoints[0][0] - det.keypoints[1][0]) / det.box.width;
}

/** The words a FACE_TURNED_AWAY refusal by layout carries in its detail. */
export function profileDetail(f: ImageDetection): string {
  return `a face in profile (detector ${f.score.toFixed(2)}, eyes ${(100 * eyeSpanRatio(f)).toFixed(0)}% of its width apart, nose ${(100 * noseOffCentre(f)).toFixed(0)}% off its centre)`;
}
