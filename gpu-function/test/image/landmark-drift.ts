/**
 * How far a focused decode's landmarks lie from the whole decode's, for the focus tests (HEIC and JPEG).
 * Not bit-equal: the detector's 128 px view of the whole photo sees the painted surroundings, its box
 * moves by a fraction of one of its pixels, and the mesh model's crop with it; that must stay well
 * inside the landmarks' own error (NME ~2.7% of the box, bench:landmarks).
 */
import { expect } from 'vitest';
import type { LandmarkResult } from '../../src/face/landmarker';

/** Expects both results landmarked, and the 468 points' mean drift under 1% of the whole decode's ROI and the worst under 2.5%. */
export function expectLandmarksWithinCropJitter(whole: LandmarkResult, focused: LandmarkResult): void {
  expect(whole.ok && focused.ok).toBe(true);
  if (!whole.ok || !focused.ok) return;
  const a = whole.face.points, b = focused.face.points;
  let worst = 0, mean = 0;
  for (let i = 0; i < 468; i++) {
    const d = Math.hypot(a[3 * i] - b[3 * i], a[3 * i + 1] - b[3 * i + 1]);
    worst = Math.max(worst, d);
    mean += d / 468;
  }
  const roi = whole.face.roi.size;
  expect(mean).toBeLessThan(0.01 * roi);
  expect(worst).toBeLessThan(0.025 * roi);
}
