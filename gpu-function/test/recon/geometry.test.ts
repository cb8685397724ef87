/**
 * Canonical face data, pose fitting and metric geometry against independent computations: the UV
 * table of another package, synthetic poses with known answers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCanonicalFace } from '../../src/recon/canonical';
import { headYawDeg, IRIS_DIAMETER_MM, projectHeadPoint, reconstructFaceGeometry } from '../../src/recon/face-geometry';
import { rotationAngleBetween } from '../../src/recon/linalg';
import { eulerFromRotation, fitPoseProcrustes, rotationFromEuler } from '../../src/recon/pose';
import { FIXTURES_DIR } from '../fixtures';

const canonical = loadCanonicalFace();
const DEG = Math.PI / 180;

/** Deterministic Gaussian-ish noise (sum of uniforms). */
function noise(seed: number) {
  let s = seed >>> 0;
  return () => {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      s = (s * 1664525 + 1013904223) >>> 0;
      v += s / 2 ** 32 - 0.5;
    }
    return v;
  };
}

describe('canonical face (MediaPipe geometry pipeline metadata)', () => {
  it('has 468 vertices in millimetres, 898 triangles and the Procrustes basis', () => {
    expect(canonical.positions.length).toBe(468 * 3);
    expect(canonical.triangles.length).toBe(898 * 3);
    expect(canonical.procrustesIds.length).toBeGreaterThan(20);
    // Outer eye corners of an average adult are ~90 mm apart; nose tip in front of the eyes.
    const d = Math.hypot(canonical.positions[3 * 33] - canonical.positions[3 * 263], canonical.positions[3 * 33 + 1] - canonical.positions[3 * 263 + 1]);
    expect(d).toBeGreaterThan(80);
    expect(d).toBeLessThan(100);
    expect(canonical.positions[3 * 4 + 2]).toBeGreaterThan(canonical.positions[3 * 33 + 2]);
    expect(canonical.positions[3 * 33]).toBeLessThan(0); // subject's right eye at -X
  });

  it('UVs agree with @tensorflow-models/facemesh uv_coords.js (v grows downwards in both)', () => {
    const src = readFileSync(join(FIXTURES_DIR, 'tfjs-facemesh-uv_coords.js'), 'utf8');
    const table = JSON.parse(src.slice(src.indexOf('['), src.lastIndexOf(']') + 1)) as number[][];
    expect(table).toHaveLength(468);
    let worst = 0;
    table.forEach(([u, v], i) => {
      worst = Math.max(worst, Math.abs(u - canonical.uvs[2 * i]), Math.abs(v - canonical.uvs[2 * i + 1]));
    });
    expect(worst).toBeLessThan(1e-5);
  });

  it('the left/right mirror map is an involution and the UV layout is mirror-symmetric (u -> 1 - u)', () => {
    let self = 0;
    for (let i = 0; i < 468; i++) {
      const j = canonical.mirror[i];
      expect(canonical.mirror[j]).toBe(i);
      if (j === i) self++;
      expect(Math.abs(canonical.uvs[2 * i] + canonical.uvs[2 * j] - 1)).toBeLessThan(2e-3);
      expect(Math.abs(canonical.uvs[2 * i + 1] - canonical.uvs[2 * j + 1])).toBeLessThan(2e-3);
    }
    expect(canonical.mirror[33]).toBe(263);
    expect(self).toBeGreaterThan(10); // the midline
  });
});

describe('fitPoseProcrustes', () => {
  it.each([
    [0, 0, 0],
    [30, -10, 15],
    [-45, 20, -30],
    [60, 5, 170],
  ])('recovers yaw %i, pitch %i, roll %i from noisy points (rotation < 1 deg, scale within 1 percent)', (yaw, pitch, roll) => {
    const R = rotationFromEuler({ yaw, pitch, roll });
    const s = 3.7;
    const t = [412, -230, 17];
    const rnd = noise(yaw * 7 + pitch * 13 + roll);
    const target = new Float32Array(468 * 3);
    for (let i = 0; i < 468; i++) {
      const p = canonical.positions.subarray(3 * i, 3 * i + 3);
      for (let r = 0; r < 3; r++) target[3 * i + r] = s * (R[3 * r] * p[0] + R[3 * r + 1] * p[1] + R[3 * r + 2] * p[2]) + t[r] + rnd() * 2;
    }
    const fit = fitPoseProcrustes({ source: canonical.positions, target, ids: canonical.procrustesIds, weights: canonical.procrustesWeights });
    expect(rotationAngleBetween(fit.rotation, R) / DEG).toBeLessThan(1);
    expect(Math.abs(fit.scale / s - 1)).toBeLessThan(0.01);
    const e = eulerFromRotation(fit.rotation);
    expect(e.yaw).toBeCloseTo(yaw, 0);
    expect(e.pitch).toBeCloseTo(pitch, 0);
  });

  it('is exact on noiseless data and rejects degenerate input', () => {
    const R = rotationFromEuler({ yaw: 12, pitch: 34, roll: 56 });
    const src = Float32Array.from([0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10]);
    const dst = new Float32Array(12);
    for (let i = 0; i < 4; i++) for (let r = 0; r < 3; r++) dst[3 * i + r] = 2 * (R[3 * r] * src[3 * i] + R[3 * r + 1] * src[3 * i + 1] + R[3 * r + 2] * src[3 * i + 2]) + 5;
    const fit = fitPoseProcrustes({ source: src, target: dst });
    expect(rotationAngleBetween(fit.rotation, R)).toBeLessThan(1e-5);
    expect(fit.scale).toBeCloseTo(2, 5);
    expect(fit.rms).toBeLessThan(1e-4);
    expect(() => fitPoseProcrustes({ source: new Float32Array(6), target: new Float32Array(6) })).toThrow(RangeError);
    expect(() => fitPoseProcrustes({ source: new Float32Array(12), target: dst })).toThrow(/spread/);
  });

  it('Euler angles round-trip and follow the documented signs', () => {
    for (const e of [{ yaw: 20, pitch: -15, roll: 40 }, { yaw: -70, pitch: 30, roll: -120 }]) {
      const back = eulerFromRotation(rotationFromEuler(e));
      expect(back.yaw).toBeCloseTo(e.yaw, 6);
      expect(back.pitch).toBeCloseTo(e.pitch, 6);
      expect(back.roll).toBeCloseTo(e.roll, 6);
    }
    // yaw > 0: the face normal (+Z) turns towards +X, the image's right.
    const R = rotationFromEuler({ yaw: 30, pitch: 0, roll: 0 });
    expect(R[2]).toBeGreaterThan(0);
    // pitch > 0: the normal turns down (-Y).
    expect(rotationFromEuler({ yaw: 0, pitch: 30, roll: 0 })[5]).toBeLessThan(0);
  });
});

describe('reconstructFaceGeometry', () => {
  /** Photo landmarks of the canonical face scaled by `size`, posed, at `k` px/mm, irises of a known diameter. */
  function syntheticLandmarks(opts: { yaw: number; pitch: number; roll: number; k: number; size: number; irisMm: number }) {
    const R = rotationFromEuler(opts);
    const lm = new Float32Array(478 * 3);
    const put = (i: number, x: number, y: number, z: number) => {
      const c = [R[0] * x + R[1] * y + R[2] * z, R[3] * x + R[4] * y + R[5] * z, R[6] * x + R[7] * y + R[8] * z];
      lm[3 * i] = 500 + opts.k * c[0];
      lm[3 * i + 1] = 400 - opts.k * c[1];
      lm[3 * i + 2] = -opts.k * c[2];
    };
    const P = canonical.positions;
    for (let i = 0; i < 468; i++) put(i, P[3 * i] * opts.size, P[3 * i + 1] * opts.size, P[3 * i + 2] * opts.size);
    for (const [base, corners] of [[468, [33, 133]], [473, [263, 362]]] as const) {
      const c = [0, 1, 2].map((d) => ((P[3 * corners[0] + d] + P[3 * corners[1] + d]) / 2) * opts.size);
      const r = opts.irisMm / 2;
      put(base, c[0], c[1], c[2]);
      put(base + 1, c[0] + r, c[1], c[2]);
      put(base + 2, c[0], c[1] + r, c[2]);
      put(base + 3, c[0] - r, c[1], c[2]);
      put(base + 4, c[0], c[1] - r, c[2]);
    }
    return { lm, R };
  }

  it('recovers pose, metric scale from the iris prior, and a mesh that reprojects exactly', () => {
    const { lm, R } = syntheticLandmarks({ yaw: 25, pitch: -8, roll: 12, k: 2.5, size: 1.05, irisMm: IRIS_DIAMETER_MM });
    const g = reconstructFaceGeometry(lm, canonical);
    expect(g.scalePrior.method).toBe('iris_diameter');
    expect(Math.abs(g.camera.pixelsPerMm / 2.5 - 1)).toBeLessThan(0.01);
    expect(rotationAngleBetween(g.camera.rotation, R) / DEG).toBeLessThan(0.5);
    expect(g.pose.yaw).toBeCloseTo(25, 0);
    expect(g.meshReprojectionErrorPx).toBeLessThan(1e-3);
    // The face was 5% larger than the canonical one: the canonical fit leaves a residual; the mesh keeps the size.
    const eyeDist = (p: Float32Array) => Math.hypot(p[3 * 33] - p[3 * 263], p[3 * 33 + 1] - p[3 * 263 + 1], p[3 * 33 + 2] - p[3 * 263 + 2]);
    // Within 1%: the iris is measured as the larger of its projected extents, foreshortened by cos(pitch).
    expect(Math.abs(eyeDist(g.points) / eyeDist(canonical.positions) / 1.05 - 1)).toBeLessThan(0.01);
    // Head frame: origin between the eyes, pose removed (the eye line is along +X).
    const mid = [0, 1, 2].map((d) => (g.points[3 * 33 + d] + g.points[3 * 133 + d] + g.points[3 * 263 + d] + g.points[3 * 362 + d]) / 4);
    mid.forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-3));
    expect(Math.abs(g.points[3 * 263 + 1] - g.points[3 * 33 + 1])).toBeLessThan(0.01);
    // Projection of a head point lands where the landmark is.
    const [x, y] = projectHeadPoint(g.camera, g.points[3 * 4], g.points[3 * 4 + 1], g.points[3 * 4 + 2]);
    expect(x).toBeCloseTo(lm[3 * 4], 3);
    expect(y).toBeCloseTo(lm[3 * 4 + 1], 3);
  });

  it('headYawDeg: the pose fit yaw on a posed face; undefined, not a throw, on points that carry no pose', () => {
    const { lm } = syntheticLandmarks({ yaw: -30, pitch: 5, roll: 0, k: 2, size: 1, irisMm: IRIS_DIAMETER_MM });
    expect(headYawDeg(lm, canonical)).toBeCloseTo(-30, 1);
    expect(headYawDeg(new Float32Array(478 * 3).fill(200), canonical)).toBeUndefined();
    const nan = lm.slice();
    nan[3 * 4] = Number.NaN;
    expect(headYawDeg(nan, canonical)).toBeUndefined();
  });

  it('falls back to the average face size, and says so, when the irises are implausible', () => {
    const { lm } = syntheticLandmarks({ yaw: 0, pitch: 0, roll: 0, k: 3, size: 1, irisMm: 6 }); // half-closed eyes
    const g = reconstructFaceGeometry(lm, canonical);
    expect(g.scalePrior.method).toBe('canonical_face_size');
    expect(g.scalePrior.note).toMatch(/iris diameter/);
    expect(g.camera.pixelsPerMm).toBeCloseTo(3, 2);
  });
});
