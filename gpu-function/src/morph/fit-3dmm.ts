/**
 * fitMorphableModel: identity and expression coefficients of a linear morphable model, and the
 * similarity transform that places it, from 3D landmark targets.
 *
 * Model: X(a, e) = mean + sum_j a_j I_j + sum_j e_j E_j at the landmark vertices (mm, the model's
 * own frame). Targets: the same landmarks in the head frame (mm, right-handed, +Y up, +Z out of the
 * face), e.g. from reconstructFaceGeometry. Minimises
 *   sum_i w_i |T_i - (s R X_i(a, e) + t)|^2 + lambdaId |a|^2 + lambdaEx |e|^2,  0 <= e_j <= 1
 * by alternation (Blanz & Vetter style fitting reduced to landmarks): a similarity Procrustes fit for
 * (s, R, t) with the coefficients fixed (Horn/Umeyama, fitPoseProcrustes), then a Tikhonov-regularised
 * linear least-squares solve for (a, e) with the pose fixed, the expression bounds enforced by an
 * active set (ARKit weights live in [0, 1]). Identity coefficients are in the pack's units (ICT's
 * modes are unit-variance offsets). Preconditions: >= 4 non-coplanar landmarks. Failure: RangeError
 * on mismatched sizes.
 */
import { fitPoseProcrustes } from '../recon/pose';
import { solveSymmetricPositiveDefinite, type Mat3 } from '../recon/linalg';
import { removeSimilarityComponents } from './model-pack';

export interface LandmarkModel {
  /** k x 3, mm. */
  mean: Float64Array;
  /** m modes, each k x 3 (mode-major). */
  identity: Float64Array;
  identityCount: number;
  /** q modes, each k x 3 (mode-major). */
  expression: Float64Array;
  expressionCount: number;
}

export interface FitOptions {
  model: LandmarkModel;
  /** k x 3 targets, mm, head frame. */
  targets: Float64Array | Float32Array;
  weights?: ArrayLike<number>;
  lambdaIdentity?: number;
  lambdaExpression?: number;
  iterations?: number;
}

export interface MorphFit {
  identity: Float64Array;
  expression: Float64Array;
  rotation: Mat3;
  scale: number;
  translation: [number, number, number];
  /** Weighted RMS landmark error after the fit, mm. */
  rmsMm: number;
}

/** Picks the landmark rows out of full-model arrays (n x 3 per mode). */
export function landmarkModel(full: { mean: Float32Array; identity: Float32Array; expression: Float32Array; identityCount: number; expressionCount: number }, vertices: ArrayLike<number>): LandmarkModel {
  const k = vertices.length;
  const n = full.mean.length / 3;
  const pick = (src: Float32Array, modes: number) => {
    const out = new Float64Array(modes * k * 3);
    for (let j = 0; j < modes; j++) for (let i = 0; i < k; i++) for (let d = 0; d < 3; d++) out[(j * k + i) * 3 + d] = src[(j * n + vertices[i]) * 3 + d];
    return out;
  };
  const model = { mean: pick(full.mean, 1), identity: pick(full.identity, full.identityCount), identityCount: full.identityCount, expression: pick(full.expression, full.expressionCount), expressionCount: full.expressionCount };
  // Over the landmarks the fit sees, no mode may mimic a translation, turn or scaling of the head:
  // otherwise pose and coefficients trade off and the pose is not identifiable.
  removeSimilarityComponents(model.mean, model.identity, model.identityCount);
  // Expressions keep their landmark-level rigid part (a jaw opening moves the chin points together,
  // and that is the expression); only their whole-head similarity motion was removed at load.
  return model;
}

export function evaluateLandmarks(model: LandmarkModel, a: ArrayLike<number>, e: ArrayLike<number>): Float64Array {
  const k = model.mean.length / 3;
  const out = Float64Array.from(model.mean);
  for (let j = 0; j < model.identityCount; j++) if (a[j]) for (let i = 0; i < 3 * k; i++) out[i] += a[j] * model.identity[j * 3 * k + i];
  for (let j = 0; j < model.expressionCount; j++) if (e[j]) for (let i = 0; i < 3 * k; i++) out[i] += e[j] * model.expression[j * 3 * k + i];
  return out;
}

export function fitMorphableModel(opts: FitOptions): MorphFit {
  const { model } = opts;
  const k = model.mean.length / 3;
  if (opts.targets.length !== 3 * k) throw new RangeError(`targets hold ${opts.targets.length / 3} points, the model ${k}`);
  const m = model.identityCount;
  const q = model.expressionCount;
  const w = opts.weights ?? new Array<number>(k).fill(1);
  const lamA = opts.lambdaIdentity ?? 1e-3;
  const lamE = opts.lambdaExpression ?? 1e-3;
  let a = new Float64Array(m);
  let e = new Float64Array(q);
  const col = (j: number) => (j < m ? model.identity.subarray(j * 3 * k, (j + 1) * 3 * k) : model.expression.subarray((j - m) * 3 * k, (j - m + 1) * 3 * k));
  let pose = fitPoseProcrustes({ source: Float32Array.from(model.mean), target: Float32Array.from(opts.targets), weights: w });
  for (let it = 0; it < (opts.iterations ?? 12); it++) {
    pose = fitPoseProcrustes({ source: Float32Array.from(evaluateLandmarks(model, a, e)), target: Float32Array.from(opts.targets), weights: w });
    // Targets in the model frame: R^T (T - t) / s.
    const R = pose.rotation;
    const r = new Float64Array(3 * k);
    for (let i = 0; i < k; i++) {
      const d = [0, 1, 2].map((c) => (opts.targets[3 * i + c] - pose.translation[c]) / pose.scale);
      for (let c = 0; c < 3; c++) r[3 * i + c] = R[c] * d[0] + R[3 + c] * d[1] + R[6 + c] * d[2] - model.mean[3 * i + c];
    }
    // Active-set bounded least squares over (a, e): expressions clamped to [0, 1].
    const fixed = new Map<number, number>();
    for (let pass = 0; pass <= q; pass++) {
      const free = [...Array(m + q).keys()].filter((j) => !fixed.has(j));
      const p = free.length;
      const M = new Float64Array(p * p);
      const b = new Float64Array(p);
      const rhs = Float64Array.from(r);
      for (const [j, v] of fixed) {
        const cj = col(j);
        for (let i = 0; i < 3 * k; i++) rhs[i] -= v * cj[i];
      }
      for (let x = 0; x < p; x++) {
        const cx = col(free[x]);
        for (let y = 0; y <= x; y++) {
          const cy = col(free[y]);
          let s = 0;
          for (let i = 0; i < 3 * k; i++) s += w[(i / 3) | 0] * cx[i] * cy[i];
          M[x * p + y] = s;
          M[y * p + x] = s;
        }
        M[x * p + x] += free[x] < m ? lamA : lamE;
        let s = 0;
        for (let i = 0; i < 3 * k; i++) s += w[(i / 3) | 0] * cx[i] * rhs[i];
        b[x] = s;
      }
      const sol = solveSymmetricPositiveDefinite(M, b, p);
      a = new Float64Array(m);
      e = new Float64Array(q);
      for (const [j, v] of fixed) (j < m ? a : e)[j < m ? j : j - m] = v;
      free.forEach((j, x) => ((j < m ? a : e)[j < m ? j : j - m] = sol[x]));
      let violated = false;
      for (let j = 0; j < q; j++) {
        if (fixed.has(m + j)) continue;
        if (e[j] < 0 || e[j] > 1) {
          fixed.set(m + j, e[j] < 0 ? 0 : 1);
          violated = true;
        }
      }
      if (!violated) break;
    }
  }
  pose = fitPoseProcrustes({ source: Float32Array.from(evaluateLandmarks(model, a, e)), target: Float32Array.from(opts.targets), weights: w });
  return { identity: a, expression: e, rotation: pose.rotation, scale: pose.scale, translation: pose.translation, rmsMm: pose.rms };
}
