/**
 * The landmark quality gate (src/face/landmark-quality.ts) and its place in the landmarker: the rule
 * itself, a real photo whose face is half covered (refused, LOW_QUALITY), and, where the team's
 * AFLW2000-3D development split is present, turned heads refused as FACE_TURNED_AWAY while frontal
 * ones pass.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRgbImage } from '@facerecon/shared';
import { assessLandmarks, augmentDisagreement, detectorEyeSpan, LANDMARK_GATE, needsSecondLook, secondLookRois } from '../../src/face/landmark-quality';
import { decodeImage, readImageFile } from '../../src/adapters/image-io';
import { createFaceLandmarker, type FaceLandmarker } from '../../src/face/landmarker';
import { fixture } from '../fixtures';

const AFLW = resolve(import.meta.dirname, '../../../../shared/eval/aflw2000-dev');
const hasAflw = existsSync(AFLW);

describe('assessLandmarks', () => {
  const g = LANDMARK_GATE;
  it('scores 1 for perfect evidence, 0.5 exactly at either threshold, and refuses past it', () => {
    expect(assessLandmarks({ flipDisagreement: 0, yawDeg: 0 }).score).toBe(1);
    expect(assessLandmarks({ flipDisagreement: g.maxDisagreement, yawDeg: 0 }).score).toBeCloseTo(0.5, 12);
    expect(assessLandmarks({ flipDisagreement: 0, yawDeg: -g.maxAbsYawDeg }).score).toBeCloseTo(0.5, 12);
    expect(assessLandmarks({ flipDisagreement: g.maxDisagreement, yawDeg: 0 }).refuse).toBeUndefined();
    const unstable = assessLandmarks({ flipDisagreement: 1.5 * g.maxDisagreement, yawDeg: 10 });
    expect(unstable.refuse).toBe('LOW_QUALITY');
    expect(unstable.score).toBeCloseTo(1 / (1 + 1.5 ** 2), 12);
    expect(unstable.reasons.join()).toMatch(/mirroring/);
  });

  it('a refused head that is turned is FACE_TURNED_AWAY, whichever evidence refused it', () => {
    expect(assessLandmarks({ flipDisagreement: 0.001, yawDeg: g.maxAbsYawDeg + 1 }).refuse).toBe('FACE_TURNED_AWAY');
    expect(assessLandmarks({ flipDisagreement: 2 * g.maxDisagreement, yawDeg: -(g.turnedAwayYawDeg + 1) }).refuse).toBe('FACE_TURNED_AWAY');
    expect(assessLandmarks({ flipDisagreement: 2 * g.maxDisagreement, yawDeg: g.turnedAwayYawDeg - 1 }).refuse).toBe('LOW_QUALITY');
  });

  it('a low face-presence score refuses by itself (0.5 exactly at the threshold), and is not counted when absent', () => {
    expect(assessLandmarks({ flipDisagreement: 0, yawDeg: 0, presence: g.minPresence }).score).toBeCloseTo(0.5, 12);
    expect(assessLandmarks({ flipDisagreement: 0, yawDeg: 0, presence: g.minPresence }).refuse).toBeUndefined();
    expect(assessLandmarks({ flipDisagreement: 0, yawDeg: 0, presence: 1 }).score).toBe(1);
    // Issue 20's laughing man: presence 0.78, turned 36 degrees; a rolled frontal face at 0.82.
    const laughing = assessLandmarks({ flipDisagreement: 0.5 * g.maxDisagreement, yawDeg: 36, presence: 0.78 });
    expect(laughing.refuse).toBe('FACE_TURNED_AWAY');
    expect(laughing.reasons.join()).toMatch(/presence 0\.780 < /);
    const rolled = assessLandmarks({ flipDisagreement: 0.5 * g.maxDisagreement, yawDeg: 10, presence: 0.82 });
    expect(rolled.refuse).toBe('LOW_QUALITY');
    expect(rolled.score).toBeCloseTo(1 / (1 + ((1 - 0.82) / (1 - g.minPresence)) ** 2), 12);
    expect(assessLandmarks({ flipDisagreement: 0.5 * g.maxDisagreement, yawDeg: 10 }).refuse).toBeUndefined();
  });

  it("the detector's eye span refuses a head the mesh model calls less turned than it is, and is not counted when absent", () => {
    // image00112 of the AFLW2000-3D dev split: true yaw 65, the mesh model's landmarks say 53 (under the
    // yaw limit) with a steady flip, but BlazeFace's eye keypoints are 22% of its box apart.
    const profile = assessLandmarks({ flipDisagreement: 0.0084, yawDeg: -52.6, presence: 1, detectorEyeSpan: 0.219 });
    expect(profile.refuse).toBe('FACE_TURNED_AWAY');
    expect(profile.reasons.join()).toMatch(/eyes 22% of its box apart/);
    expect(assessLandmarks({ flipDisagreement: 0.0084, yawDeg: -52.6, presence: 1 }).refuse).toBeUndefined();
    // A frontal face's eyes are about 0.42 of the box apart: nothing to add.
    expect(assessLandmarks({ flipDisagreement: 0, yawDeg: 0, detectorEyeSpan: 0.45 }).score).toBe(1);
    expect(assessLandmarks({ flipDisagreement: 0, yawDeg: 0, detectorEyeSpan: 0.4 }).score).toBeGreaterThan(0.98);
    expect(assessLandmarks({ flipDisagreement: 0, yawDeg: 0, detectorEyeSpan: g.minDetectorEyeSpan }).score).toBeCloseTo(0.5, 12);
    // Roll does not change the span.
    const det = (angle: number) => ({ box: { width: 100 }, keypoints: [[50 - 20 * Math.cos(angle), 50 - 20 * Math.sin(angle)], [50 + 20 * Math.cos(angle), 50 + 20 * Math.sin(angle)]] as Array<[number, number]> });
    expect(detectorEyeSpan(det(0))).toBeCloseTo(0.4, 12);
    expect(detectorEyeSpan(det(0.7))).toBeCloseTo(0.4, 12);
  });

  it('without flip averaging (NaN evidence) only the yaw counts', () => {
    expect(assessLandmarks({ flipDisagreement: NaN, yawDeg: 20 }).refuse).toBeUndefined();
    expect(assessLandmarks({ flipDisagreement: NaN, yawDeg: 70 }).refuse).toBe('FACE_TURNED_AWAY');
  });
});

describe('the second look (augmentation disagreement)', () => {
  const g = LANDMARK_GATE;
  it('judges the augmentation disagreement in place of the flip when it was measured, either way', () => {
    // Flip over the limit, the steadier four-view estimate under it: accepted (AFLW image01504: flip 1.9%, NME 3.4%).
    const steadied = assessLandmarks({ flipDisagreement: 1.5 * g.maxDisagreement, augmentDisagreement: 0.8 * g.maxDisagreement, yawDeg: 30 });
    expect(steadied.refuse).toBeUndefined();
    expect(steadied.score).toBeCloseTo(1 / (1 + 0.8 ** 2), 12);
    // And the other way: a steady flip, unstable under rotation and zoom.
    const shaky = assessLandmarks({ flipDisagreement: 0.5 * g.maxDisagreement, augmentDisagreement: 1.2 * g.maxDisagreement, yawDeg: 20 });
    expect(shaky.refuse).toBe('LOW_QUALITY');
    expect(shaky.reasons.join()).toMatch(/mirroring, rotation and zoom/);
  });

  it('is taken only for borderline faces the other evidence does not already refuse', () => {
    expect(needsSecondLook({ flipDisagreement: 0.003, yawDeg: 5, presence: 1, detectorEyeSpan: 0.42 })).toBe(false);
    expect(needsSecondLook({ flipDisagreement: 0.009, yawDeg: 5, presence: 1, detectorEyeSpan: 0.42 })).toBe(true);
    expect(needsSecondLook({ flipDisagreement: 0.003, yawDeg: -40, presence: 1, detectorEyeSpan: 0.42 })).toBe(true);
    expect(needsSecondLook({ flipDisagreement: 0.003, yawDeg: 5, presence: 1, detectorEyeSpan: 0.28 })).toBe(true);
    // Already refused by the yaw, the presence or the eye span: nothing to gain.
    expect(needsSecondLook({ flipDisagreement: 0.02, yawDeg: g.maxAbsYawDeg + 1, presence: 1 })).toBe(false);
    expect(needsSecondLook({ flipDisagreement: 0.02, yawDeg: 10, presence: 0.9 })).toBe(false);
    expect(needsSecondLook({ flipDisagreement: 0.02, yawDeg: 10, detectorEyeSpan: 0.2 })).toBe(false);
    // Without flip averaging there is no flip to steady.
    expect(needsSecondLook({ flipDisagreement: NaN, yawDeg: 45 })).toBe(false);
  });

  it('rolls and zooms the final crop about its centre', () => {
    const roi = { cx: 100, cy: 80, size: 200, angle: 0.1 };
    const looks = secondLookRois(roi);
    expect(looks.map((r) => r.angle)).toEqual([0.1 + 0.2, 0.1 - 0.2, 0.1, 0.1]);
    looks.forEach((r, i) => expect(r.size).toBeCloseTo([200, 200, 220, 180][i], 9));
    for (const r of looks) expect([r.cx, r.cy]).toEqual([100, 80]);
  });

  it('averages the flip, the rolled pair and the zoomed pair, each a mean point distance over the crop side', () => {
    const n = 468;
    const points = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) points.set([i % 30, Math.floor(i / 30), 0], 3 * i);
    // Every point of each look moved by a known 2D distance (and in depth, which does not count).
    const moved = (dx: number, dy: number) => points.map((v, j) => v + (j % 3 === 0 ? dx : j % 3 === 1 ? dy : 7));
    const looks = [moved(3, 4), moved(0, 1), moved(-6, 8), moved(0, 0)];
    const roiSize = 50;
    const expected = (0.01 + (5 / roiSize + 1 / roiSize) / 2 + (10 / roiSize + 0) / 2) / 3;
    expect(augmentDisagreement({ points, looks, roiSize, flipDisagreement: 0.01 })).toBeCloseTo(expected, 6);
    expect(() => augmentDisagreement({ points, looks: looks.slice(1), roiSize, flipDisagreement: 0.01 })).toThrow(RangeError);
  });
});

describe('the landmarker gate on real photos', () => {
  let lm: FaceLandmarker;
  beforeAll(async () => {
    lm = await createFaceLandmarker({ threads: 1, segmentation: false });
  });
  afterAll(() => lm.close());

  it('the astronaut passes with a high score; with 60% of the face covered by noise it is refused as LOW_QUALITY', async () => {
    const { image } = await readImageFile(fixture('astronaut.png'));
    const r = await lm.landmarks(image);
    if (!r.ok) throw new Error(r.code);
    expect(r.face.quality.score).toBeGreaterThan(0.7);
    expect(Math.abs(r.face.quality.yawDeg)).toBeLessThan(15);
    // A frontal face with steady landmarks does not pay for the gate's second look.
    expect(r.timings.secondLook).toBeUndefined();
    expect(r.face.quality.augmentDisagreement).toBeUndefined();

    const xs = Array.from({ length: 468 }, (_, i) => r.face.points[3 * i]);
    const ys = Array.from({ length: 468 }, (_, i) => r.face.points[3 * i + 1]);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const covered = createRgbImage(image.width, image.height, image.data.slice());
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 255;
    for (let y = Math.floor(y0 - 20); y < y1 + 20; y++) {
      for (let x = Math.floor(x0 - 20); x < x0 + 0.6 * (x1 - x0); x++) for (let c = 0; c < 3; c++) covered.data[3 * (y * image.width + x) + c] = rand();
    }
    const q = await lm.landmarks(covered);
    expect(q.ok).toBe(false);
    if (q.ok) return;
    expect(q.code).toBe('LOW_QUALITY');
    expect(q.refused!.quality.score).toBeLessThan(0.5);
    expect(q.detail).toMatch(/mirroring/);
  });

  it.skipIf(!hasAflw)(hasAflw ? 'AFLW2000-3D dev: a turned head whose flip alone looks unsteady is steadied by the second look and accepted' : `skipped: ${AFLW} not found`, async () => {
    // image01504: yaw 45, flip disagreement 1.9% of the crop (over the limit), NME-68 3.4%.
    const meta = JSON.parse(readFileSync(join(AFLW, 'image01504.json'), 'utf8')) as { image: string };
    const r = await lm.landmarks((await decodeImage(new Uint8Array(readFileSync(join(AFLW, meta.image))))).image);
    if (!r.ok) throw new Error(`${r.code}: ${r.detail}`);
    expect(r.face.flipDisagreement).toBeGreaterThan(LANDMARK_GATE.maxDisagreement);
    expect(r.face.quality.augmentDisagreement).toBeLessThan(LANDMARK_GATE.maxDisagreement);
    expect(r.timings.secondLook).toBeGreaterThan(0);
  });

  it.skipIf(!hasAflw)(hasAflw ? 'AFLW2000-3D dev: heads turned past 65 degrees are refused as turned away, never sold; frontal ones pass' : `skipped: ${AFLW} not found`, async () => {
    const metas = readdirSync(AFLW)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(join(AFLW, f), 'utf8')) as { image: string; pose_deg: { yaw: number } });
    const profiles = metas.filter((m) => Math.abs(m.pose_deg.yaw) > 65 && Math.abs(m.pose_deg.yaw) <= 90);
    const frontal = metas.filter((m) => Math.abs(m.pose_deg.yaw) < 10).slice(0, 30);
    const codes: Record<string, number> = {};
    for (const m of profiles) {
      const r = await lm.landmarks((await decodeImage(new Uint8Array(readFileSync(join(AFLW, m.image))))).image);
      codes[r.ok ? 'ok' : r.code] = (codes[r.ok ? 'ok' : r.code] ?? 0) + 1;
    }
    // None sold; nearly all told to turn towards the camera, including the profiles the mesh model does
    // not take for a face at all, by the detector's layout (55 of 60 when this was written: 2 LOW_QUALITY,
    // 2 NO_FACE, 1 with a second face).
    expect(codes.ok ?? 0, JSON.stringify(codes)).toBe(0);
    expect(codes.FACE_TURNED_AWAY, JSON.stringify(codes)).toBeGreaterThanOrEqual(0.85 * profiles.length);
    expect(codes.NO_FACE ?? 0, JSON.stringify(codes)).toBeLessThanOrEqual(0.05 * profiles.length);
    let passed = 0;
    for (const m of frontal) {
      const r = await lm.landmarks((await decodeImage(new Uint8Array(readFileSync(join(AFLW, m.image))))).image);
      if (r.ok) passed++;
    }
    expect(passed).toBeGreaterThanOrEqual(0.9 * frontal.length);
  });
});
