/**
 * Head pose from landmarks: a weighted similarity fit (rotation, isotropic scale, translation) of the
 * canonical face to the detected 3D landmarks, and the yaw/pitch/roll convention of the API.
 */
import { mat3Det, mat3Mul, quaternionToMat3, symmetricEigen4, type Mat3 } from './linalg';

export interface SimilarityFit {
  /** Row-major 3x3, proper rotation (det +1), source frame -> target frame. */
  rotation: Mat3;
  /** Target units per source unit. */
  scale: number;
  translation: [number, number, number];
  /** Weighted RMS of |target - (s R source + t)| in target units. */
  rms: number;
}

export interface ProcrustesOptions {
  /** n x 3 source points (e.g. the canonical face, mm). */
  source: Float32Array;
  /** n x 3 target points (e.g. landmarks in the camera frame, px). */
  target: Float32Array;
  /** Which points to use (default all). */
  ids?: ArrayLike<number>;
  /** One weight per id (default 1). */
  weights?: ArrayLike<number>;
}

/**
 * fitPoseProcrustes: minimises sum_i w_i |target_i - (s R source_i + t)|^2 over rotations R, scales
 * s > 0 and translations t.
 *
 * Method: weighted centroids, then the rotation from the eigenvector of the largest eigenvalue of
 * Horn's 4x4 matrix (B. K. P. Horn, "Closed-form solution of absolute orientation using unit
 * quaternions", JOSA A 4(4), 1987), which always yields a proper rotation (no reflection case as in
 * SVD-based Umeyama), then the least-squares scale s = sum w (R a).b / sum w |a|^2 (Umeyama 1991,
 * eq. 42, target-side form). Frames: any right-handed frames; the result maps source to target.
 * Preconditions: at least 3 non-collinear points with positive weight. Failure: throws RangeError
 * on fewer points or a degenerate (collinear / zero-spread) source.
 */
export function fitPoseProcrustes(opts: ProcrustesOptions): SimilarityFit {
  const { source: A, target: B } = opts;
  const ids = opts.ids ?? Array.from({ length: A.length / 3 }, (_, i) => i);
  const n = ids.length;
  if (n < 3) throw new RangeError(`Procrustes needs >= 3 points, got ${n}`);
  const w = (k: number) => (opts.weights ? opts.weights[k] : 1);
  let wsum = 0;
  const ca = [0, 0, 0];
  const cb = [0, 0, 0];
  for (let k = 0; k < n; k++) {
    const i = ids[k];
    const wk = w(k);
    wsum += wk;
    for (let d = 0; d < 3; d++) {
      ca[d] += wk * A[3 * i + d];
      cb[d] += wk * B[3 * i + d];
    }
  }
  if (!(wsum > 0)) throw new RangeError('Procrustes weights sum to zero');
  for (let d = 0; d < 3; d++) {
    ca[d] /= wsum;
    cb[d] /= wsum;
  }
  // Cross-covariance S = sum w a b^T and source spread.
  const S = new Float64Array(9);
  let spread = 0;
  for (let k = 0; k < n; k++) {
    const i = ids[k];
    const wk = w(k);
    const a = [A[3 * i] - ca[0], A[3 * i + 1] - ca[1], A[3 * i + 2] - ca[2]];
    const b = [B[3 * i] - cb[0], B[3 * i + 1] - cb[1], B[3 * i + 2] - cb[2]];
    spread += wk * (a[0] ** 2 + a[1] ** 2 + a[2] ** 2);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) S[3 * r + c] += wk * a[r] * b[c];
  }
  if (!(spread > 1e-12)) throw new RangeError('Procrustes source points have no spread');
  const [Sxx, Sxy, Sxz, Syx, Syy, Syz, Szx, Szy, Szz] = S;
  const N = [
    Sxx + Syy + Szz, Syz - Szy, Szx - Sxz, Sxy - Syx,
    Syz - Szy, Sxx - Syy - Szz, Sxy + Syx, Szx + Sxz,
    Szx - Sxz, Sxy + Syx, -Sxx + Syy - Szz, Syz + Szy,
    Sxy - Syx, Szx + Sxz, Syz + Szy, -Sxx - Syy + Szz,
  ];
  const { values, vectors } = symmetricEigen4(N);
  let best = 0;
  for (let k = 1; k < 4; k++) if (values[k] > values[best]) best = k;
  const q = [vectors[best], vectors[4 + best], vectors[8 + best], vectors[12 + best]];
  const qn = Math.hypot(...q);
  const R = quaternionToMat3(q.map((v) => v / qn));
  if (Math.abs(mat3Det(R) - 1) > 1e-6) throw new RangeError('Procrustes rotation is not proper (degenerate input)');
  // s = sum w (R a) . b / sum w |a|^2 = trace(R S) / spread
  let num = 0;
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) num += R[3 * c + r] * S[3 * r + c];
  const scale = num / spread;
  if (!(scale > 0)) throw new RangeError('Procrustes scale is not positive (mirrored or degenerate input)');
  const Rca = [0, 1, 2].map((r) => R[3 * r] * ca[0] + R[3 * r + 1] * ca[1] + R[3 * r + 2] * ca[2]);
  const translation: [number, number, number] = [cb[0] - scale * Rca[0], cb[1] - scale * Rca[1], cb[2] - scale * Rca[2]];
  let err = 0;
  for (let k = 0; k < n; k++) {
    const i = ids[k];
    for (let r = 0; r < 3; r++) {
      const p = scale * (R[3 * r] * A[3 * i] + R[3 * r + 1] * A[3 * i + 1] + R[3 * r + 2] * A[3 * i + 2]) + translation[r];
      err += w(k) * (p - B[3 * i + r]) ** 2;
    }
  }
  return { rotation: R, scale, translation, rms: Math.sqrt(err / wsum) };
}

export interface EulerAngles {
  /** Degrees. yaw > 0: face turned towards the image's right (the subject's left). */
  yaw: number;
  /** Degrees. pitch > 0: looking down. */
  pitch: number;
  /** Degrees. roll > 0: head tilted counter-clockwise as seen in the photo. */
  roll: number;
}

/**
 * Angles of a head-to-camera rotation R = Ry(yaw) Rx(pitch) Rz(roll), camera frame x right, y up,
 * z towards the viewer (so a frontal face has R = I). Unique for |pitch| < 90 degrees.
 */
export function eulerFromRotation(R: Mat3): EulerAngles {
  const deg = 180 / Math.PI;
  const pitch = Math.asin(Math.max(-1, Math.min(1, -R[5])));
  return { yaw: Math.atan2(R[2], R[8]) * deg, pitch: pitch * deg, roll: Math.atan2(R[3], R[4]) * deg };
}

/** Inverse of eulerFromRotation. */
export function rotationFromEuler({ yaw, pitch, roll }: EulerAngles): Mat3 {
  const r = Math.PI / 180;
  const [cy, sy, cp, sp, cr, sr] = [Math.cos(yaw * r), Math.sin(yaw * r), Math.cos(pitch * r), Math.sin(pitch * r), Math.cos(roll * r), Math.sin(roll * r)];
  const Ry = Float64Array.from([cy, 0, sy, 0, 1, 0, -sy, 0, cy]);
  const Rx = Float64Array.from([1, 0, 0, 0, cp, -sp, 0, sp, cp]);
  const Rz = Float64Array.from([cr, -sr, 0, sr, cr, 0, 0, 0, 1]);
  return mat3Mul(mat3Mul(Ry, Rx), Rz);
}
