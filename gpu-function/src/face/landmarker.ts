/**
 * Face finding and landmarks: BlazeFace -> face mesh (two passes) -> iris -> person segmentation, on sessions from the onnx
 * adapter. Model failures stay exceptions (they are bugs or outages); photo problems come back as a
 * typed result so callers map them to error codes without catching anything.
 */
import { MODEL_CATALOG, canonicalFacePath, onnxModelPath, type FaceModelId } from '@facerecon/models';
import { FACE_LIMITS, type RgbImage } from '@facerecon/shared';
import { createModelSession, type ExecutionProvider, type ModelSession } from '../adapters/onnx';
import { BLAZEFACE_INPUT_SIZE, decodeBlazeFace, generateSsdAnchors, weightedNonMaxSuppression } from './blazeface';
import { MESH_TOPOLOGY, mapIrisToImage, mapMeshToImage, mirrorMap, refineEyesWithIris } from './landmarks';
import { loadCanonicalFace } from '../recon/canonical';
import { buildPyramid, cropToImage, letterboxRect, sampleRotatedCrop, type Pyramid, type RotatedRect } from './raster';
import { MIN_PERSON_MASK_AGREEMENT, personMaskAgreement, type PersonMask } from './person-mask';
import { createPersonSegmenter, type PersonSegmenter } from './segmenter';
import { roiFromDetection, roiFromEyeCorners, roiFromLandmarks, type ImageDetection } from './roi';
import { detectorProfile, profileDetail } from './detector-profile';
import { assessLandmarks, augmentDisagreement, detectorEyeSpan, LANDMARK_GATE, needsSecondLook, secondLookRois, type LandmarkAssessment, type LandmarkEvidence, type LandmarkGate } from './landmark-quality';
import { MAX_SHARE_OUTSIDE_FRAME, shareOutsideFrame } from './framing';
import { headYawDeg } from '../recon/face-geometry';
import type { CanonicalFace } from '../recon/canonical';

export type LandmarkFailure = 'NO_FACE' | 'MULTIPLE_FACES' | 'FACE_TOO_SMALL' | 'FACE_CUT_OFF' | 'LOW_CONFIDENCE' | 'FACE_TURNED_AWAY' | 'LOW_QUALITY';

export interface FaceLandmarks {
  detection: ImageDetection;
  /** Face-presence probability from the mesh model's final pass. */
  presence: number;
  /** 478 x (x, y, z) in photo pixels (see landmarks.ts for the layout). */
  points: Float32Array;
  refinedEyes: { right: boolean; left: boolean };
  /** The crop the final mesh pass saw. */
  roi: RotatedRect;
  /** Which mesh pass was kept: 1 from the detector's ROI, 2 re-cropped from the first pass's landmarks. */
  pass: 1 | 2;
  /**
   * Mean 2D distance between the landmarks of the crop and of its mirror image (mapped back), as a
   * fraction of the crop side: the model's own uncertainty, large where it guesses (turned, occluded
   * or blurred faces). NaN when flip averaging is off.
   */
  flipDisagreement: number;
  /** How far the landmarks can be trusted (landmark-quality.ts), with the yaw and detector eye span it was judged on. */
  quality: LandmarkAssessment & { yawDeg: number; detectorEyeSpan: number; augmentDisagreement?: number };
  /**
   * Person vs background around the face (absent when the landmarker was made without segmentation,
   * or when the segmentation disagreed with the face: see personMaskAgreement).
   */
  personMask?: PersonMask;
  /** The segmentation's mean person probability at the face's 468 landmarks (person-mask.ts). */
  personMaskAgreement?: number;
}

/** Milliseconds per stage; secondLook only when the gate took one (landmark-quality.ts needsSecondLook). */
export interface StageTimings { detect: number; mesh: number; iris: number; segment: number; secondLook?: number }

export type LandmarkResult =
  | { ok: true; face: FaceLandmarks; faces: ImageDetection[]; timings: StageTimings }
  | {
      ok: false;
      code: LandmarkFailure;
      detail: string;
      faces: ImageDetection[];
      timings: StageTimings;
      /** The landmarks the quality gate refused (FACE_TURNED_AWAY, LOW_QUALITY), for measurement. */
      refused?: FaceLandmarks;
    };

export interface LandmarkerOptions {
  providers?: readonly ExecutionProvider[];
  threads?: number;
  modelsDir?: string;
  /** Detector probability to count a face. */
  minDetectionScore?: number;
  /** Faces whose box is narrower than this (photo pixels) are too small to texture well. */
  minFaceSize?: number;
  /** A second face at least this fraction of the largest face's width makes the photo ambiguous. */
  multiFaceRatio?: number;
  /** Minimum face-presence probability from the mesh model. */
  minPresence?: number;
  /** Also segment the person around the face (for the texture bake); default true. */
  segmentation?: boolean;
  /**
   * Horizontal-flip test-time averaging of the mesh model (default on): the crop and its mirror image
   * in one batch, the mirror's points mapped back through the mesh's left/right symmetry (mirrorMap of
   * the canonical face) and averaged, presence too. On the AFLW2000-3D dev split it lowered the
   * balanced NME-68 from 7.99% to 7.76% and found 3 more faces past 60 degrees, for +0.7 ms
   * (bench:landmarks).
   */
  flipAverage?: boolean;
  /**
   * Refuse landmarks that cannot be trusted (FACE_TURNED_AWAY, LOW_QUALITY) by landmark-quality.ts's
   * gate; default LANDMARK_GATE, false to return every face (measurement only).
   */
  qualityGate?: LandmarkGate | false;
  /**
   * Refuse a face more than this share of whose 468 landmarks lie outside the photo as FACE_CUT_OFF
   * (framing.ts); default MAX_SHARE_OUTSIDE_FRAME, off with the quality gate.
   */
  maxShareOutsideFrame?: number;
}

export interface FaceLandmarker {
  readonly provider: ExecutionProvider;
  /** Every face the detector finds, largest first, in photo pixels. */
  detectFaces(image: RgbImage, pyramid?: Pyramid): Promise<ImageDetection[]>;
  /** Landmarks of the one face in the photo, or why there is not exactly one usable face. */
  landmarks(image: RgbImage): Promise<LandmarkResult>;
  close(): Promise<void>;
}

/** Below this the mesh model says the detector's candidate is not a face at all, rather than a poor one. */
const NOT_A_FACE_PRESENCE = 0.1;
const MAX_VETTED_CANDIDATES = 8;
/** The detector threshold of the second look when the first finds nothing, and the presence its candidates need. */
const RETRY_DETECTION_SCORE = 0.25;
const RETRY_MIN_PRESENCE = 0.3;
/** Re-crop when the landmark ROI differs from the first crop by more than this (see roiDisagreement). */
const REFINE_ROI_THRESHOLD = 0.08;

/**
 * How far apart two face ROIs are, as one number: centre shift over the side, relative size change,
 * and roll difference in radians, whichever is largest. 0.08 ~ a shift of 8% of the crop, an 8% zoom
 * or 4.6 degrees of roll.
 */
export function roiDisagreement(a: RotatedRect, b: RotatedRect): number {
  const shift = Math.hypot(a.cx - b.cx, a.cy - b.cy) / a.size;
  const zoom = Math.abs(Math.log(b.size / a.size));
  const roll = Math.abs(Math.atan2(Math.sin(a.angle - b.angle), Math.cos(a.angle - b.angle)));
  return Math.max(shift, zoom, roll);
}

type MeshPass = { roi: RotatedRect; points: Float32Array; presence: number; flipDisagreement: number };
const MESH_SIZE = MODEL_CATALOG.models.facemesh.input.shape[1];
const IRIS_SIZE = MODEL_CATALOG.models.iris.input.shape[1];

function zeros(id: FaceModelId) {
  const shape = MODEL_CATALOG.models[id].input.shape.map((d) => (d < 0 ? 1 : d));
  return { [MODEL_CATALOG.models[id].input.name]: { data: new Float32Array(shape.reduce((a, b) => a * b, 1)), dims: shape } };
}

/** Loads and warms the models; throws ModelLoadError if any is missing or malformed. */
export async function createFaceLandmarker(options: LandmarkerOptions = {}): Promise<FaceLandmarker> {
  const load = (id: FaceModelId) =>
    createModelSession(onnxModelPath(id, options.modelsDir), { providers: options.providers, threads: options.threads, warmup: zeros(id) });
  const [sessions, segmenter, canonical] = await Promise.all([
    Promise.allSettled([load('blazeface'), load('facemesh'), load('iris')]),
    Promise.allSettled([options.segmentation === false ? undefined : createPersonSegmenter(options)]).then(([s]) => s),
    // The canonical face: the head pose the quality gate judges, and the mesh's left/right pairs for flip averaging.
    Promise.allSettled([Promise.resolve().then(() => loadCanonicalFace(options.modelsDir ? canonicalFacePath(options.modelsDir) : undefined))]).then(([s]) => s),
  ]);
  const failed = [...sessions, segmenter, canonical].find((s) => s.status === 'rejected');
  if (failed) {
    // Never a half-loaded landmarker: release whatever did load, then fail.
    await Promise.all(sessions.map((s) => (s.status === 'fulfilled' ? s.value.release() : undefined)));
    if (segmenter.status === 'fulfilled') await segmenter.value?.close();
    throw (failed as PromiseRejectedResult).reason;
  }
  const [detector, mesh, iris] = sessions.map((s) => (s as PromiseFulfilledResult<ModelSession>).value);
  const canon = (canonical as PromiseFulfilledResult<CanonicalFace>).value;
  const mirror = options.flipAverage === false ? undefined : mirrorMap(canon.positions);
  return new OnnxFaceLandmarker(detector, mesh, iris, (segmenter as PromiseFulfilledResult<PersonSegmenter | undefined>).value, canon, mirror, options);
}

class OnnxFaceLandmarker implements FaceLandmarker {
  private readonly anchors = generateSsdAnchors();

  constructor(
    private readonly detector: ModelSession,
    private readonly mesh: ModelSession,
    private readonly iris: ModelSession,
    private readonly segmenter: PersonSegmenter | undefined,
    private readonly canonical: CanonicalFace,
    /** The mesh's left/right vertex pairs when flip averaging is on. */
    private readonly mirror: Uint16Array | undefined,
    private readonly opts: LandmarkerOptions,
  ) {}

  get provider() {
    return this.detector.provider;
  }

  async detectFaces(image: RgbImage, pyramid = buildPyramid(image), minScore = this.opts.minDetectionScore ?? 0.5): Promise<ImageDetection[]> {
    const size = BLAZEFACE_INPUT_SIZE;
    const box = letterboxRect(image.width, image.height);
    const input = sampleRotatedCrop(pyramid, box, { size, scale: 2, offset: -1 });
    const out = await this.detector.run({ [MODEL_CATALOG.models.blazeface.input.name]: { data: input, dims: [1, size, size, 3] } });
    const scores = concat(out.scores_16.data, out.scores_8.data);
    const boxes = concat(out.boxes_16.data, out.boxes_8.data);
    const raw = weightedNonMaxSuppression(decodeBlazeFace(scores, boxes, this.anchors, { minScore }));
    const k = box.size / size;
    return raw
      .map((d): ImageDetection => {
        const [x, y] = cropToImage(box, size, d.x, d.y);
        const keypoints: Array<[number, number]> = [];
        for (let i = 0; i < 6; i++) keypoints.push(cropToImage(box, size, d.keypoints[2 * i], d.keypoints[2 * i + 1]));
        return { box: { x, y, width: d.width * k, height: d.height * k }, score: d.score, keypoints };
      })
      .sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
  }

  async landmarks(image: RgbImage): Promise<LandmarkResult> {
    const timings: StageTimings = { detect: 0, mesh: 0, iris: 0, segment: 0 };
    let t = performance.now();
    const pyr = buildPyramid(image);
    let faces = await this.detectFaces(image, pyr);
    // BlazeFace scores profiles low (0.3-0.5 where a frontal face scores 0.9): a second look at a lower
    // threshold finds them, the mesh model's presence vets them, and the gate then refuses them as
    // turned away instead of the photo being called faceless (bench:landmarks, issue 18).
    const retried = faces.length === 0;
    if (retried) faces = await this.detectFaces(image, pyr, RETRY_DETECTION_SCORE);
    timings.detect = performance.now() - t;
    const fail = (code: LandmarkFailure, detail: string): LandmarkResult & { ok: false } => ({ ok: false, code, detail, faces, timings });
    if (faces.length === 0) return fail('NO_FACE', 'the detector found no face');
    const ratio = this.opts.multiFaceRatio ?? 0.5;
    const minPresence = this.opts.minPresence ?? 0.5;
    t = performance.now();
    // BlazeFace scores cats and coffee cups up to ~0.8; the mesh model's presence score separates faces
    // (~1) from such candidates (~0), so it vets candidates, largest first, until the outcome is clear.
    const vetted: Array<{ det: ImageDetection; first: MeshPass }> = [];
    let looked = 0;
    for (const f of faces.slice(0, MAX_VETTED_CANDIDATES)) {
      if (vetted.length > 0 && f.box.width < ratio * vetted[0].det.box.width) continue;
      looked++;
      const pass = await this.runMesh(pyr, roiFromDetection(f));
      if (pass.presence < (retried ? RETRY_MIN_PRESENCE : NOT_A_FACE_PRESENCE)) continue;
      // The detector can box one face twice (boxes overlapping ~30% survive its suppression, on a face
      // that fills a small frame or sits rolled): where the mesh puts the two faces decides, and the
      // crop the mesh model was surer of is kept.
      const same = vetted.findIndex((v) => sameFace(v.first.points, pass.points));
      if (same >= 0) {
        if (pass.presence > vetted[same].first.presence) vetted[same] = { det: f, first: pass };
        continue;
      }
      vetted.push({ det: f, first: pass });
      if (vetted.length > 1) break;
    }
    timings.mesh = performance.now() - t;
    if (vetted.length === 0) {
      // The mesh model does not know profiles (presence ~0), but the detector does: a confident
      // detection whose eyes nearly coincide is a head turned away, not a faceless photo.
      const profile = faces.find(detectorProfile);
      if (profile) return fail('FACE_TURNED_AWAY', profileDetail(profile));
      return fail('NO_FACE', `no detector candidate is a face (${looked} of ${faces.length} vetted by the mesh model)`);
    }
    // A second face the mesh model half believes (a profile, a face cut by the border: presence 0.1-0.5)
    // still makes the photo ambiguous: a mirror portrait of two profiles is two faces.
    if (vetted.length > 1) return fail('MULTIPLE_FACES', 'several faces of comparable size');
    const { det: main, first } = vetted[0];
    const minSize = this.opts.minFaceSize ?? FACE_LIMITS.minFaceWidthPx;
    if (main.box.width < minSize) return fail('FACE_TOO_SMALL', `face box ${main.box.width.toFixed(0)} px wide < ${minSize}`);

    t = performance.now();
    // MediaPipe tracks with an ROI derived from the landmarks, the crop the mesh model was trained on;
    // the detector's ROI only bootstraps it. On the deep3d portraits a second pass from that ROI moved
    // the mean error by < 0.002 IOD, so it runs only when the two ROIs disagree enough to matter
    // (a rolled, off-centre or badly sized first crop), not on every photo.
    const secondRoi = roiFromLandmarks(first.points, { count: 468 });
    let best: MeshPass & { pass: 1 | 2 } = { ...first, pass: 1 };
    if (roiDisagreement(first.roi, secondRoi) > REFINE_ROI_THRESHOLD) {
      const second = await this.runMesh(pyr, secondRoi);
      if (second.presence >= minPresence || second.presence >= first.presence) best = { ...second, pass: 2 };
    }
    timings.mesh += performance.now() - t;
    // Before any judgement of the face: a face cut by the border reads as a poor or turned one, and
    // what the user must change is the framing (framing.ts).
    const maxOutside = this.opts.maxShareOutsideFrame ?? (this.opts.qualityGate === false ? 1 : MAX_SHARE_OUTSIDE_FRAME);
    const outside = shareOutsideFrame(best.points, 468, image.width, image.height);
    if (outside > maxOutside) return fail('FACE_CUT_OFF', `${(100 * outside).toFixed(0)}% of the face's landmarks lie outside the photo (> ${(100 * maxOutside).toFixed(0)}%)`);
    if (best.presence < minPresence) {
      // A profile reads as a poor face to the mesh model; say it is turned when the points say so.
      const yaw = headYawDeg(best.points, this.canonical);
      if (yaw === undefined) return fail('LOW_CONFIDENCE', `face presence ${best.presence.toFixed(2)} < ${minPresence}; the points carry no pose`);
      const gate = this.opts.qualityGate ?? LANDMARK_GATE;
      if (gate && Math.abs(yaw) > gate.turnedAwayYawDeg) return fail('FACE_TURNED_AWAY', `face presence ${best.presence.toFixed(2)} < ${minPresence}, head turned ${Math.abs(yaw).toFixed(0)} degrees`);
      // The mesh model under-reports a profile's turn; the detector's layout still shows it.
      if (gate && detectorProfile(main)) return fail('FACE_TURNED_AWAY', `face presence ${best.presence.toFixed(2)} < ${minPresence}; ${profileDetail(main)}`);
      return fail('LOW_CONFIDENCE', `face presence ${best.presence.toFixed(2)} < ${minPresence}`);
    }

    t = performance.now();
    const p = best.points;
    const pt = (i: number) => [p[3 * i], p[3 * i + 1]] as const;
    const [r0, r1] = MESH_TOPOLOGY.rightEye.corners;
    const [l0, l1] = MESH_TOPOLOGY.leftEye.corners;
    const rightRoi = roiFromEyeCorners(pt(r0), pt(r1));
    const leftRoi = roiFromEyeCorners(pt(l1), pt(l0)); // inner -> outer, then mirrored: same shape as a right eye
    const crops = new Float32Array(2 * IRIS_SIZE * IRIS_SIZE * 3);
    const one = IRIS_SIZE * IRIS_SIZE * 3;
    sampleRotatedCrop(pyr, rightRoi, { size: IRIS_SIZE, scale: 1, offset: 0 }, crops.subarray(0, one));
    sampleRotatedCrop(pyr, leftRoi, { size: IRIS_SIZE, scale: 1, offset: 0, flip: true }, crops.subarray(one));
    const out = await this.iris.run({ [MODEL_CATALOG.models.iris.input.name]: { data: crops, dims: [2, IRIS_SIZE, IRIS_SIZE, 3] } });
    const raw = out.landmarks.data;
    const n = raw.length / 2;
    const rightEye = mapIrisToImage(raw.subarray(0, n), rightRoi, IRIS_SIZE, false);
    const leftEye = mapIrisToImage(raw.subarray(n), leftRoi, IRIS_SIZE, true);
    const refined = refineEyesWithIris(p, rightEye, leftEye);
    timings.iris = performance.now() - t;

    const yawDeg = headYawDeg(refined.points, this.canonical);
    if (yawDeg === undefined) return fail('LOW_QUALITY', 'the landmarks carry no head pose (collapsed or not finite points)');
    const gate = this.opts.qualityGate ?? LANDMARK_GATE;
    const eyeSpan = detectorEyeSpan(main);
    const evidence: LandmarkEvidence = { flipDisagreement: best.flipDisagreement, yawDeg, presence: best.presence, detectorEyeSpan: eyeSpan };
    if (gate && needsSecondLook(evidence, gate)) {
      t = performance.now();
      const looks = await this.runMeshBatch(pyr, secondLookRois(best.roi));
      evidence.augmentDisagreement = augmentDisagreement({ points: best.points, looks: looks.map((l) => l.points), roiSize: best.roi.size, flipDisagreement: best.flipDisagreement });
      timings.secondLook = performance.now() - t;
    }
    const assessment = assessLandmarks(evidence, gate || undefined);
    const quality = { ...assessment, yawDeg, detectorEyeSpan: eyeSpan, ...(evidence.augmentDisagreement !== undefined ? { augmentDisagreement: evidence.augmentDisagreement } : {}) };
    const landmarks = { detection: main, presence: best.presence, points: refined.points, refinedEyes: refined.refinedEyes, roi: best.roi, pass: best.pass, flipDisagreement: best.flipDisagreement, quality };
    if (gate && assessment.refuse) return { ok: false, code: assessment.refuse, detail: assessment.reasons.join('; '), faces, timings, refused: landmarks };

    t = performance.now();
    const segmented = this.segmenter ? await this.segmenter.segment(image, best.roi, pyr) : undefined;
    // A mask that says the landmarked face itself is background has failed (personMaskAgreement):
    // baked through it, the texture would be invented from almost nothing. The bake goes without it.
    const agreement = segmented ? personMaskAgreement(segmented, refined.points, 468) : undefined;
    const personMask = agreement !== undefined && agreement >= MIN_PERSON_MASK_AGREEMENT ? segmented : undefined;
    timings.segment = performance.now() - t;

    return {
      ok: true,
      faces,
      timings,
      face: { ...landmarks, personMask, ...(agreement !== undefined ? { personMaskAgreement: agreement } : {}) },
    };
  }

  private async runMesh(pyr: Pyramid, roi: RotatedRect): Promise<MeshPass> {
    return (await this.runMeshBatch(pyr, [roi]))[0];
  }

  /** The mesh model on each ROI (and its mirror, when flip averaging is on) in one batch. */
  private async runMeshBatch(pyr: Pyramid, rois: readonly RotatedRect[]): Promise<MeshPass[]> {
    const one = MESH_SIZE * MESH_SIZE * 3;
    const mirror = this.mirror;
    const views = mirror ? 2 : 1;
    const input = new Float32Array(rois.length * views * one);
    rois.forEach((roi, r) => {
      sampleRotatedCrop(pyr, roi, { size: MESH_SIZE, scale: 1, offset: 0 }, input.subarray(r * views * one, (r * views + 1) * one));
      if (mirror) sampleRotatedCrop(pyr, roi, { size: MESH_SIZE, scale: 1, offset: 0, flip: true }, input.subarray((r * views + 1) * one, (r * views + 2) * one));
    });
    const out = await this.mesh.run({ [MODEL_CATALOG.models.facemesh.input.name]: { data: input, dims: [rois.length * views, MESH_SIZE, MESH_SIZE, 3] } });
    const n = out.mesh.data.length / (rois.length * views);
    return rois.map((roi, r) => {
      const k = r * views;
      const points = mapMeshToImage(out.mesh.data.subarray(k * n, (k + 1) * n), roi, MESH_SIZE);
      if (!mirror) return { roi, points, presence: out.faceflag.data[k], flipDisagreement: NaN };
      // The mirrored crop's point i is the face's point mirror[i], seen flipped.
      const flipped = mapMeshToImage(out.mesh.data.subarray((k + 1) * n, (k + 2) * n), roi, MESH_SIZE, true);
      let spread = 0;
      for (let i = 0; i < mirror.length; i++) {
        const j = mirror[i];
        spread += Math.hypot(points[3 * j] - flipped[3 * i], points[3 * j + 1] - flipped[3 * i + 1]);
        for (let d = 0; d < 3; d++) points[3 * j + d] = 0.5 * (points[3 * j + d] + flipped[3 * i + d]);
      }
      return { roi, points, presence: 0.5 * (out.faceflag.data[k] + out.faceflag.data[k + 1]), flipDisagreement: spread / mirror.length / roi.size };
    });
  }

  async close() {
    await Promise.all([this.detector.release(), this.mesh.release(), this.iris.release(), this.segmenter?.close()]);
  }
}

/**
 * Whether two first-pass meshes are the same face: the centre of either one's 468 points' box lies in
 * the other's box. The detector's duplicate boxes of one face give meshes offset by up to a third of the
 * face (their boxes' IoU 0.3-0.6); two people's faces, even one behind the other's shoulder, do not
 * reach each other's centre.
 */
export function sameFace(a: Float32Array, b: Float32Array): boolean {
  const box = (p: Float32Array) => {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let i = 0; i < 468; i++) {
      x0 = Math.min(x0, p[3 * i]);
      x1 = Math.max(x1, p[3 * i]);
      y0 = Math.min(y0, p[3 * i + 1]);
      y1 = Math.max(y1, p[3 * i + 1]);
    }
    return [x0, y0, x1, y1];
  };
  const A = box(a);
  const B = box(b);
  const centreIn = (p: number[], q: number[]) => {
    const cx = (p[0] + p[2]) / 2, cy = (p[1] + p[3]) / 2;
    return cx > q[0] && cx < q[2] && cy > q[1] && cy < q[3];
  };
  return centreIn(A, B) || centreIn(B, A);
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
