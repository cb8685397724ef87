/** Anatomical plausibility of a landmark result, shared by the core and the wider photo suites. */
import { expect } from 'vitest';
import type { FaceLandmarks } from '../src/face/landmarker';
import { MESH_TOPOLOGY, irisDiameters } from '../src/face/landmarks';

export const P = (f: FaceLandmarks, i: number) => [f.points[3 * i], f.points[3 * i + 1]] as const;
export const mean = (f: FaceLandmarks, idx: number[]) => {
  let x = 0, y = 0;
  for (const i of idx) { x += f.points[3 * i]; y += f.points[3 * i + 1]; }
  return [x / idx.length, y / idx.length] as const;
};

/** Plausibility checks every upright, unmirrored face must pass. */
export function expectFaceAnatomy(f: FaceLandmarks): void {
  const { x, y, width, height } = f.detection.box;
  // The box is the detector's own estimate; a 5% margin absorbs its jitter, not a misplaced point.
  const m = 0.05 * width;
  const inside = (i: number) => {
    const [px, py] = P(f, i);
    return px >= x - m && px <= x + width + m && py >= y - m && py <= y + height + m;
  };
  const E = MESH_TOPOLOGY;
  const keyPoints = [...E.rightEye.upper0, ...E.rightEye.lower0, ...E.leftEye.upper0, ...E.leftEye.lower0, 468, 473, E.points.noseTip, E.points.mouthLeft, E.points.mouthRight, E.points.upperLip, E.points.lowerLip];
  expect(keyPoints.filter((i) => !inside(i)), 'eye/nose/mouth landmarks outside the detector box').toEqual([]);
  const right = P(f, 468);
  const left = P(f, 473);
  const nose = P(f, E.points.noseTip);
  const mouth = mean(f, [E.points.upperLip, E.points.lowerLip]);
  // Unmirrored photo: the subject's right eye appears on the image's left. (Not "left of the nose":
  // on a three-quarter view the nose tip passes the near eye.)
  expect(right[0]).toBeLessThan(left[0]);
  expect(Math.max(right[1], left[1])).toBeLessThan(nose[1]);
  expect(nose[1]).toBeLessThan(mouth[1]);
  const iod = Math.hypot(left[0] - right[0], left[1] - right[1]);
  expect(iod / width).toBeGreaterThan(0.25);
  expect(iod / width).toBeLessThan(0.6);
  // Human iris ~11.7 mm, inter-pupil ~63 mm: ratio ~0.19 for a frontal face.
  const d = irisDiameters(f.points);
  expect((d.left + d.right) / 2 / iod).toBeGreaterThan(0.12);
  expect((d.left + d.right) / 2 / iod).toBeLessThan(0.28);
  expect(f.presence).toBeGreaterThan(0.9);
}

