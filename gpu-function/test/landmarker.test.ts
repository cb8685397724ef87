/**
 * The landmarker on real photos the project fetches itself (Debian's python3-skimage samples), plus
 * cases built from them: rolled, tiled twice, shrunk, stored sideways with an EXIF orientation.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onnxModelPath } from '@facerecon/models';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { decodeImage, encodeImage, readImageFile } from '../src/adapters/image-io';
import { ModelLoadError, createModelSession, modelRuntimeHealth } from '../src/adapters/onnx';
import { createFaceLandmarker, sameFace, type FaceLandmarker, type FaceLandmarks } from '../src/face/landmarker';
import { detectorProfile, noseOffCentre } from '../src/face/detector-profile';
import { MESH_TOPOLOGY } from '../src/face/landmarks';
import { P, expectFaceAnatomy, mean } from './anatomy';
import { NON_FACE_FIXTURES, fixture } from './fixtures';
import { cropImage, rollImage, rotatePixelsCcw, shrinkOnto, tileHorizontally } from './image-ops';

let landmarker: FaceLandmarker;
let astronaut: RgbImage;

beforeAll(async () => {
  landmarker = await createFaceLandmarker();
  astronaut = (await readImageFile(fixture('astronaut.png'))).image;
});
afterAll(() => landmarker?.close());

function meanDistance(a: Float32Array, b: Float32Array, n = 478): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.hypot(a[3 * i] - b[3 * i], a[3 * i + 1] - b[3 * i + 1]);
  return s / n;
}

describe('landmarks on a real portrait (astronaut.png)', () => {
  it('finds one face and 478 points that land on its eyes, nose and mouth', async () => {
    const r = await landmarker.landmarks(astronaut);
    if (!r.ok) throw new Error(`${r.code}: ${r.detail}`);
    expect(r.faces).toHaveLength(1);
    expect(r.face.points).toHaveLength(478 * 3);
    expect(r.face.refinedEyes).toEqual({ right: true, left: true });
    expectFaceAnatomy(r.face);
    // The person segmentation agrees that the face is a person, so the bake may use it.
    expect(r.face.personMaskAgreement).toBeGreaterThan(0.9);
    expect(r.face.personMask).toBeDefined();
  });

  it('detector keypoints agree with the mesh (eyes, nose) to a fraction of the face size', async () => {
    const [d] = await landmarker.detectFaces(astronaut);
    const r = await landmarker.landmarks(astronaut);
    if (!r.ok) throw new Error(r.code);
    const tol = 0.12 * d.box.width;
    const rightEye = mean(r.face, [33, 133]);
    const leftEye = mean(r.face, [263, 362]);
    expect(Math.hypot(d.keypoints[0][0] - rightEye[0], d.keypoints[0][1] - rightEye[1])).toBeLessThan(tol);
    expect(Math.hypot(d.keypoints[1][0] - leftEye[0], d.keypoints[1][1] - leftEye[1])).toBeLessThan(tol);
    const nose = P(r.face, MESH_TOPOLOGY.points.noseTip);
    expect(Math.hypot(d.keypoints[2][0] - nose[0], d.keypoints[2][1] - nose[1])).toBeLessThan(tol);
  });

  it('follows a rolled head: a 35-degree roll gives the same points, rolled', async () => {
    const angle = (35 * Math.PI) / 180;
    const upright = await landmarker.landmarks(astronaut);
    const rolled = await landmarker.landmarks(rollImage(astronaut, angle));
    if (!upright.ok || !rolled.ok) throw new Error('no face');
    // rollImage samples photo point R(angle) * (p - c) + c at crop point p, so crop = R(-angle) (photo - c) + c.
    const c = 256;
    const expected = new Float32Array(478 * 3);
    for (let i = 0; i < 478; i++) {
      const dx = upright.face.points[3 * i] - c;
      const dy = upright.face.points[3 * i + 1] - c;
      expected[3 * i] = Math.cos(angle) * dx + Math.sin(angle) * dy + c;
      expected[3 * i + 1] = -Math.sin(angle) * dx + Math.cos(angle) * dy + c;
    }
    expect(meanDistance(rolled.face.points, expected)).toBeLessThan(2.5); // px, on a ~100 px face
    expect((rolled.face.roi.angle * 180) / Math.PI).toBeCloseTo(-35, -1);
  });

  it('honours EXIF orientation: pixels stored sideways with orientation 6 give the upright landmarks', async () => {
    const part = cropImage(astronaut, 0, 0, 512, 400); // not square, so a missed rotation changes the size
    const plain = (await decodeImage(await encodeImage(part, 'jpeg', { quality: 95 }))).image;
    const sideways = await decodeImage(await encodeImage(rotatePixelsCcw(part), 'jpeg', { quality: 95, exifOrientation: 6 }));
    expect(sideways.orientation).toBe(6);
    expect([sideways.image.width, sideways.image.height]).toEqual([512, 400]);
    const a = await landmarker.landmarks(plain);
    const b = await landmarker.landmarks(sideways.image);
    if (!a.ok || !b.ok) throw new Error('no face');
    expect(meanDistance(a.face.points, b.face.points)).toBeLessThan(1.5);
  });
});

describe('photos without exactly one usable face', () => {
  it('two people side by side: MULTIPLE_FACES with both reported', async () => {
    const r = await landmarker.landmarks(tileHorizontally(astronaut, rollImage(astronaut, 0.1)));
    expect(r.ok ? 'ok' : r.code).toBe('MULTIPLE_FACES');
    expect(r.faces.length).toBeGreaterThanOrEqual(2);
  });

  it('one face the detector boxes twice (a close crop turned upside down) is one face, not MULTIPLE_FACES', async () => {
    // The astronaut's face filling a 128 px frame, rotated 180 degrees: BlazeFace returns two boxes of it
    // overlapping ~30%, and both crops give the mesh model a face.
    const crop = rotatePixelsCcw(rotatePixelsCcw(cropImage(astronaut, 161, 59, 128, 128)));
    const r = await landmarker.landmarks(crop);
    expect(r.faces.length).toBeGreaterThanOrEqual(2);
    // Merged into one face, which then reaches the quality gate: upside down in 128 px its landmarks are
    // unstable under mirroring, rotation and zoom, so the outcome is LOW_QUALITY for that one face,
    // with its landmarks attached (only a single landmarked face gets there).
    expect(r.ok ? 'ok' : r.code).toBe('LOW_QUALITY');
    if (r.ok) return;
    expect(r.detail).toMatch(/unstable/);
    expect(r.refused?.points).toHaveLength(478 * 3);
    expect(r.faces).toContain(r.refused!.detection);
  });

  it('sameFace: meshes offset by a third of the face are one face; side by side, or overlapping short of the centre, two', () => {
    const mesh = (dx: number, dy = 0) => Float32Array.from({ length: 468 * 3 }, (_, k) => (k % 3 === 0 ? dx + ((k / 3) % 10) * 10 : k % 3 === 1 ? dy + Math.floor(k / 30) : 0));
    expect(sameFace(mesh(0), mesh(30))).toBe(true); // 100 px wide, shifted 30: a duplicate crop
    expect(sameFace(mesh(0), mesh(40, 10))).toBe(true);
    expect(sameFace(mesh(0), mesh(60))).toBe(false); // the other's centre (110) is past this box (0-90)
    expect(sameFace(mesh(0), mesh(200))).toBe(false);
  });

  it.each(NON_FACE_FIXTURES)('%s (no person, yet a confident detection): NO_FACE, not taken for a profile', async (name) => {
    const { image } = await readImageFile(fixture(name));
    const r = await landmarker.landmarks(image);
    expect(r.ok ? 'ok' : r.code).toBe('NO_FACE');
    // The detector did fire: what keeps these from FACE_TURNED_AWAY is the profile rule, not silence.
    expect(Math.max(...r.faces.map((f) => f.score))).toBeGreaterThan(0.45);
  });

  it("a confident detection laid out as a profile (the nose at the box's side, or the eyes together) reads as one", () => {
    const det = (nose: number, eyes: [number, number], score = 0.7) => ({
      box: { x: 100, y: 50, width: 200, height: 200 },
      score,
      keypoints: [[100 + eyes[0] * 200, 120], [100 + eyes[1] * 200, 120], [100 + nose * 200, 160], [200, 200], [110, 130], [290, 130]] as Array<[number, number]>,
    });
    expect(noseOffCentre(det(0.5, [0.3, 0.7]))).toBeCloseTo(0, 12);
    expect(noseOffCentre(det(0.1, [0.3, 0.7]))).toBeCloseTo(0.4, 12);
    expect(noseOffCentre(det(0.9, [0.3, 0.7]))).toBeCloseTo(0.4, 12);
    expect(detectorProfile(det(0.5, [0.3, 0.7]))).toBe(false); // frontal layout
    expect(detectorProfile(det(0.84, [0.45, 0.7]))).toBe(true); // nose 34% off centre, as on the dev split's profiles
    expect(detectorProfile(det(0.5, [0.45, 0.55]))).toBe(true); // eyes 10% apart
    expect(detectorProfile(det(0.66, [0.3, 0.7]))).toBe(false); // 16% off: the coffee cup's
    expect(detectorProfile(det(0.9, [0.45, 0.7], 0.4))).toBe(false); // not confident enough
  });

  it('a uniform grey image: NO_FACE with no candidates', async () => {
    const r = await landmarker.landmarks(createRgbImage(200, 150, new Uint8Array(200 * 150 * 3).fill(128)));
    expect(r.ok ? 'ok' : r.code).toBe('NO_FACE');
    expect(r.faces).toHaveLength(0);
  });

  it('a face far from the camera: FACE_TOO_SMALL', async () => {
    // The astronaut shrunk 2x (face ~52 px) in the middle of a 300x300 frame.
    const small = shrinkOnto(astronaut, 2, { width: 300, height: 300, x: 22, y: 22 });
    const r = await landmarker.landmarks(small);
    expect(r.ok ? 'ok' : r.code).toBe('FACE_TOO_SMALL');
    expect(r.faces[0].box.width).toBeLessThan(64);
  });

  it('a face cut by the border: FACE_CUT_OFF from a third of it, while a tight crop through the forehead passes', async () => {
    const whole = await landmarker.landmarks(astronaut);
    if (!whole.ok) throw new Error(whole.code);
    const p = whole.face.points;
    const xs = Array.from({ length: 468 }, (_, i) => p[3 * i]);
    const ys = Array.from({ length: 468 }, (_, i) => p[3 * i + 1]);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const W = astronaut.width;
    const H = astronaut.height;
    // A third of the landmarks' box cut away on the left, or at the chin.
    const left = Math.round(x0 + 0.3 * (x1 - x0));
    const cutLeft = await landmarker.landmarks(cropImage(astronaut, left, 0, W - left, H));
    expect(cutLeft.ok ? 'ok' : cutLeft.code).toBe('FACE_CUT_OFF');
    if (!cutLeft.ok) expect(cutLeft.detail).toMatch(/% of the face's landmarks lie outside the photo/);
    const chin = await landmarker.landmarks(cropImage(astronaut, 0, 0, W, Math.round(y1 - 0.3 * (y1 - y0))));
    expect(chin.ok ? 'ok' : chin.code).toBe('FACE_CUT_OFF');
    // A tenth of the box off the top (the hairline and the top of the forehead): a selfie held close.
    const top = Math.round(y0 + 0.1 * (y1 - y0));
    const tight = await landmarker.landmarks(cropImage(astronaut, 0, top, W, H - top));
    expect(tight.ok ? 'ok' : tight.code).toBe('ok');
  });

  it('failures are results, not exceptions, and carry what was detected', async () => {
    const r = await landmarker.landmarks(tileHorizontally(astronaut, astronaut));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.detail).toMatch(/faces/);
  });
});

describe('start-up fails fast on bad models', () => {
  it('a missing model is a ModelLoadError naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facerecon-models-'));
    await expect(createFaceLandmarker({ modelsDir: dir })).rejects.toThrow(ModelLoadError);
    await expect(createFaceLandmarker({ modelsDir: dir })).rejects.toThrow(/blazeface\.onnx.*missing/);
  });

  it('a malformed model is a ModelLoadError, and no half-loaded landmarker is returned', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facerecon-models-'));
    copyFileSync(onnxModelPath('blazeface'), join(dir, 'blazeface.onnx'));
    copyFileSync(onnxModelPath('iris'), join(dir, 'iris.onnx'));
    writeFileSync(join(dir, 'facemesh.onnx'), Buffer.from('this is not an onnx model'));
    await expect(createFaceLandmarker({ modelsDir: dir })).rejects.toThrow(ModelLoadError);
  });

  it('falls back from CUDA to CPU when the CUDA provider is not installed', async () => {
    // npm ci skips the CUDA binaries (.npmrc), so in any checkout that ran it CUDA cannot initialise.
    const s = await createModelSession(onnxModelPath('iris'), { providers: ['cuda', 'cpu'] });
    expect(s.provider).toBe('cpu');
    // And says why, for /readyz and the log: an image meant for the GPU silently on CPU is a deploy fault.
    expect(modelRuntimeHealth().fallbacks?.iris?.[0]).toMatch(/^cuda: /);
    await s.release();
  });

  it('a provider whose session loads but whose warm-up run fails is passed over like one that does not load', async () => {
    const bad = { input: { data: new Float32Array(3), dims: [1, 3] } }; // no such input, wrong shape
    const err = await createModelSession(onnxModelPath('iris'), { providers: ['cpu', 'cpu'], warmup: bad }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(String((err as Error).message).match(/cpu: warm-up run failed/g)).toHaveLength(2);
  });
});
