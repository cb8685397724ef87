/**
 * fitMorphableModel: identity and expression coefficients of a linear morphable model, and the
 * similarity transform that places it, from 3D landmark targets.
 *
 * Model: X(a, e) = mean + sum_j a_j I_j + sum_j e_j E_j at the landmarks (mm, the model's own frame;
 * a landmark may be a vertex or a barycentric point on a triangle). Targets: the same landmarks in
 * the head frame (mm, right-handed, +Y up, +Z out of the face), e.g. from reconstructFaceGeometry.
 * Minimises
 *   sum_i w_i |T_i - (s R X_i(a, e) + t)|^2 + lambdaId |a|^2 + lambdaEx |e|^2 + 2 mu sum_j e_j,  0 <= e_j <= 1
 * by alternation (Blanz & Vetter style fitting reduced to landmarks): a similarity Procrustes fit for
 * (s, R, t) with the coefficients fixed (Horn, fitPoseProcrustes), then the coefficients with the pose
 * fixed. That step is a box-constrained quadratic programme: the unconstrained identity block is
 * eliminated exactly (Schur complement through a Cholesky factor), and the ARKit weights, bounded to
 * [0, 1], are solved exactly on the reduced convex problem by a primal active-set method (solveBoxQp,
 * Nocedal & Wright 16.5), warm-started from the previous alternation's weights.
 *
 * Convergence rule: stop when no coefficient moves by more than `tolerance` and the rotation by less
 * than 1e-5 rad between alternations, or after `maxIterations` alternations (default 30). Deterministic:
 * no random starts. Identity coefficients are in the pack's units (ICT's modes are offsets at one
 * standard deviation). Preconditions: >= 4 non-coplanar landmarks with positive weight. Failure:
 * RangeError on mismatched sizes.
 */
import { fitPoseProcrustes } from '../recon/pose';
import { choleskyFactor, choleskySolve, rotationAngleBetween, type Mat3 } from '../recon/linalg';
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
  /**
   * L1 weight on the expression weights (mm^2 per unit weight, default 0): ARKit weights of a face are
   * sparse, and the penalty keeps small co-activations (wide + blink) from explaining shape the
   * identity modes cannot; on [0, 1] it is the linear term mu * sum(e).
   */
  sparsity?: number;
  maxIterations?: number;
  /** Largest coefficient change that counts as converged (default 1e-4). */
  tolerance?: number;
  /** Normal equations prepared for this model (prepareGram), reused across fits. */
  prepared?: PreparedGram;
}

export interface MorphFit {
  identity: Float64Array;
  expression: Float64Array;
  /** Model frame -> head frame. */
  rotation: Mat3;
  scale: number;
  translation: [number, number, number];
  /** Weighted RMS landmark error after the fit, mm. */
  rmsMm: number;
  iterations: number;
  converged: boolean;
}

/** Landmarks on the model: one vertex each, or three vertices with barycentric weights each. */
export interface LandmarkEmbedding {
  vertices: ArrayLike<number>;
  barycentric?: ArrayLike<number>;
}

/** Picks (or interpolates) the landmark rows out of full-model arrays (n x 3 per mode). */
export function landmarkModel(full: { mean: Float32Array; identity: Float32Array; expression: Float32Array; identityCount: number; expressionCount: number }, at: LandmarkEmbedding): LandmarkModel {
  const arity = at.barycentric ? 3 : 1;
  const k = at.vertices.length / arity;
  const n = full.mean.length / 3;
  const pick = (src: Float32Array, modes: number) => {
    const out = new Float64Array(modes * k * 3);
    for (let j = 0; j < modes; j++) {
      for (let i = 0; i < k; i++) {
        for (let c = 0; c < arity; c++) {
          const v = at.vertices[i * arity + c];
          const b = at.barycentric ? at.barycentric[i * arity + c] : 1;
          for (let d = 0; d < 3; d++) out[(j * k + i) * 3 + d] += b * src[(j * n + v) * 3 + d];
        }
      }
    }
    return out;
  };
  const model = { mean: pick(full.mean, 1), identity: pick(full.identity, full.identityCount), identityCount: full.identityCount, expression: pick(full.expression, full.expressionCount), expressionCount: full.expressionCount };
  // Over the landmarks the fit sees, no identity mode may mimic a translation, turn or scaling of the
  // head: otherwise pose and coefficients trade off and the pose is not identifiable. Expressions keep
  // their landmark-level rigid part (a jaw opening moves the chin points together, and that is the
  // expression); only their whole-head similarity motion was removed at load.
  removeSimilarityComponents(model.mean, model.identity, model.identityCount);
  return model;
}

export function evaluateLandmarks(model: LandmarkModel, a: ArrayLike<number>, e: ArrayLike<number>): Float64Array {
  const k = model.mean.length / 3;
  const out = Float64Array.from(model.mean);
  for (let j = 0; j < model.identityCount; j++) if (a[j]) for (let i = 0; i < 3 * k; i++) out[i] += a[j] * model.identity[j * 3 * k + i];
  for (let j = 0; j < model.expressionCount; j++) if (e[j]) for (let i = 0; i < 3 * k; i++) out[i] += e[j] * model.expression[j * 3 * k + i];
  return out;
}

/**
 * The weighted normal equations of the basis, G = B^T W B (p x p, p = m + q), with B kept row-major
 * (3k x p). A caller fitting many faces with mostly the same weights prepares it once; each fit then
 * only adds the rows whose weight differs (a few silhouette points), instead of O(k p^2) work.
 */
export interface PreparedGram {
  weights: Float64Array;
  G: Float64Array;
  B: Float64Array;
  p: number;
}

export function prepareGram(model: LandmarkModel, weights: ArrayLike<number>): PreparedGram {
  const k = model.mean.length / 3;
  const m = model.identityCount;
  const p = m + model.expressionCount;
  const B = new Float64Array(3 * k * p);
  for (let j = 0; j < p; j++) {
    const src = j < m ? model.identity : model.expression;
    const off = (j < m ? j : j - m) * 3 * k;
    for (let r = 0; r < 3 * k; r++) B[r * p + j] = src[off + r];
  }
  const G = new Float64Array(p * p);
  for (let i = 0; i < k; i++) addRows(G, B, p, i, weights[i]);
  symmetrise(G, p);
  return { weights: Float64Array.from(weights), G, B, p };
}

/** G += w * (rows 3i..3i+2 of B)^T (same rows), lower triangle only. */
function addRows(G: Float64Array, B: Float64Array, p: number, i: number, w: number): void {
  if (!w) return;
  for (let r = 3 * i; r < 3 * i + 3; r++) {
    const row = r * p;
    for (let x = 0; x < p; x++) {
      const bx = w * B[row + x];
      if (bx === 0) continue;
      const gx = x * p;
      for (let y = 0; y <= x; y++) G[gx + y] += bx * B[row + y];
    }
  }
}

function symmetrise(G: Float64Array, p: number): void {
  for (let x = 0; x < p; x++) for (let y = 0; y < x; y++) G[y * p + x] = G[x * p + y];
}

function gramFor(model: LandmarkModel, w: ArrayLike<number>, prepared?: PreparedGram): Float64Array {
  if (!prepared) return prepareGram(model, w).G;
  const { p } = prepared;
  const G = Float64Array.from(prepared.G);
  let changed = false;
  for (let i = 0; i < w.length; i++) {
    const dw = w[i] - prepared.weights[i];
    if (dw === 0) continue;
    addRows(G, prepared.B, p, i, dw);
    changed = true;
  }
  if (changed) symmetrise(G, p);
  return G;
}

/**
 * min 1/2 x^T H x - g^T x over 0 <= x <= 1 (H symmetric positive definite, q x q), by a primal
 * active-set method (Nocedal & Wright, Numerical Optimization, 16.5): from a feasible x and a working
 * set (`bounds`: -1 at 0, +1 at 1, 0 free), solve the equality problem on the free variables exactly;
 * step towards it until a bound blocks (that variable joins the set), or, at the subproblem's optimum,
 * release the bound whose multiplier has the wrong sign. Warm-started from the previous alternation's
 * x and set, it usually takes one or two solves. x and bounds are updated in place.
 */
export function solveBoxQp(H: Float64Array, g: Float64Array, x: Float64Array, bounds: Int8Array, q: number): void {
  for (let j = 0; j < q; j++) {
    if (bounds[j] === -1) x[j] = 0;
    else if (bounds[j] === 1) x[j] = 1;
    else x[j] = Math.min(1, Math.max(0, x[j]));
  }
  for (let loop = 0; loop < 4 * q + 8; loop++) {
    const free: number[] = [];
    for (let j = 0; j < q; j++) if (bounds[j] === 0) free.push(j);
    const f = free.length;
    let done = true;
    if (f > 0) {
      const M = new Float64Array(f * f);
      const b = new Float64Array(f);
      for (let u = 0; u < f; u++) {
        const ju = free[u];
        let s = g[ju];
        for (let j = 0; j < q; j++) if (bounds[j] !== 0) s -= H[ju * q + j] * x[j];
        b[u] = s;
        for (let v = 0; v < f; v++) M[u * f + v] = H[ju * q + free[v]];
      }
      const y = choleskySolve(choleskyFactor(M, f), b, f);
      // The longest step from x towards y that stays in the box.
      let alpha = 1;
      let block = -1;
      for (let u = 0; u < f; u++) {
        const j = free[u];
        const d = y[u] - x[j];
        if (d < 0 && y[u] < 0) {
          const t = x[j] / -d;
          if (t < alpha) [alpha, block] = [t, j];
        } else if (d > 0 && y[u] > 1) {
          const t = (1 - x[j]) / d;
          if (t < alpha) [alpha, block] = [t, j];
        }
      }
      for (let u = 0; u < f; u++) x[free[u]] += alpha * (y[u] - x[free[u]]);
      if (block >= 0) {
        bounds[block] = x[block] <= 0.5 ? -1 : 1;
        x[block] = bounds[block] === -1 ? 0 : 1;
        continue;
      }
    }
    // At the optimum on the working set: a bound whose gradient pushes into the box is released.
    let worst = 1e-12;
    let release = -1;
    for (let j = 0; j < q; j++) {
      if (bounds[j] === 0) continue;
      let grad = -g[j];
      for (let i = 0; i < q; i++) grad += H[j * q + i] * x[i];
      const push = bounds[j] === -1 ? -grad : grad; // > 0: moving off the bound lowers the objective
      if (push > worst) [worst, release] = [push, j];
    }
    if (release >= 0) {
      bounds[release] = 0;
      done = false;
    }
    if (done) return;
  }
}

export function fitMorphableModel(opts: FitOptions): MorphFit {
  const { model } = opts;
  const k = model.mean.length / 3;
  if (opts.targets.length !== 3 * k) throw new RangeError(`targets hold ${opts.targets.length / 3} points, the model ${k}`);
  const m = model.identityCount;
  const q = model.expressionCount;
  const p = m + q;
  const w = opts.weights ?? new Array<number>(k).fill(1);
  if (w.length !== k) throw new RangeError(`${w.length} weights for ${k} landmarks`);
  const lamA = opts.lambdaIdentity ?? 1e-3;
  const lamE = opts.lambdaExpression ?? 1e-3;
  const tol = opts.tolerance ?? 1e-4;
  const mu = opts.sparsity ?? 0;
  const maxIt = opts.maxIterations ?? 30;

  // Fixed for the whole fit: G, the identity block's factor, and the Schur complement on expressions
  // H = G_ee + lamE I - G_ea (G_aa + lamA I)^-1 G_ae.
  const G = gramFor(model, w, opts.prepared);
  const Gaa = new Float64Array(m * m);
  for (let x = 0; x < m; x++) for (let y = 0; y < m; y++) Gaa[x * m + y] = G[x * p + y] + (x === y ? lamA : 0);
  const L = choleskyFactor(Gaa, m);
  const AinvGae = new Float64Array(m * q); // column j: (G_aa + lamA I)^-1 G_a,ej
  for (let j = 0; j < q; j++) {
    const col = choleskySolve(L, Array.from({ length: m }, (_, x) => G[x * p + m + j]), m);
    for (let x = 0; x < m; x++) AinvGae[x * q + j] = col[x];
  }
  const H = new Float64Array(q * q);
  for (let i = 0; i < q; i++) {
    for (let j = 0; j < q; j++) {
      let s = G[(m + i) * p + m + j] + (i === j ? lamE : 0);
      for (let x = 0; x < m; x++) s -= G[(m + i) * p + x] * AinvGae[x * q + j];
      H[i * q + j] = s;
    }
  }

  const a = new Float64Array(m);
  const e = new Float64Array(q);
  const bounds = new Int8Array(q).fill(-1); // every weight starts at its lower bound, 0
  const targets = Float32Array.from(opts.targets);
  const g = new Float64Array(p);
  const r = new Float64Array(3 * k);
  let pose = fitPoseProcrustes({ source: Float32Array.from(model.mean), target: targets, weights: w });
  let iterations = 0;
  let converged = false;
  while (iterations < maxIt && !converged) {
    iterations++;
    const prevR = pose.rotation;
    pose = fitPoseProcrustes({ source: Float32Array.from(evaluateLandmarks(model, a, e)), target: targets, weights: w });
    // Targets in the model frame, R^T (T - t) / s, minus the mean: what the modes must explain.
    const R = pose.rotation;
    for (let i = 0; i < k; i++) {
      const d0 = (targets[3 * i] - pose.translation[0]) / pose.scale;
      const d1 = (targets[3 * i + 1] - pose.translation[1]) / pose.scale;
      const d2 = (targets[3 * i + 2] - pose.translation[2]) / pose.scale;
      for (let c = 0; c < 3; c++) r[3 * i + c] = (R[c] * d0 + R[3 + c] * d1 + R[6 + c] * d2 - model.mean[3 * i + c]) * w[i];
    }
    for (let j = 0; j < p; j++) {
      const src = j < m ? model.identity : model.expression;
      const off = (j < m ? j : j - m) * 3 * k;
      let s = 0;
      for (let i = 0; i < 3 * k; i++) s += src[off + i] * r[i];
      g[j] = s;
    }
    // Reduced right-hand side for the expressions: g_e - G_ea (G_aa + lamA I)^-1 g_a.
    const Ainvga = choleskySolve(L, g.subarray(0, m), m);
    const ge = new Float64Array(q);
    for (let j = 0; j < q; j++) {
      let s = g[m + j] - mu;
      for (let x = 0; x < m; x++) s -= G[(m + j) * p + x] * Ainvga[x];
      ge[j] = s;
    }
    const ePrev = Float64Array.from(e);
    solveBoxQp(H, ge, e, bounds, q);
    let change = 0;
    for (let j = 0; j < q; j++) change = Math.max(change, Math.abs(e[j] - ePrev[j]));
    // a = (G_aa + lamA I)^-1 (g_a - G_ae e)
    const rhs = Float64Array.from(g.subarray(0, m));
    for (let x = 0; x < m; x++) for (let j = 0; j < q; j++) rhs[x] -= G[x * p + m + j] * e[j];
    const aNew = choleskySolve(L, rhs, m);
    for (let x = 0; x < m; x++) {
      change = Math.max(change, Math.abs(aNew[x] - a[x]));
      a[x] = aNew[x];
    }
    converged = iterations > 1 && change < tol && rotationAngleBetween(prevR, R) < 1e-5;
  }
  pose = fitPoseProcrustes({ source: Float32Array.from(evaluateLandmarks(model, a, e)), target: targets, weights: w });
  return { identity: a, expression: e, rotation: pose.rotation, scale: pose.scale, translation: pose.translation, rmsMm: pose.rms, iterations, converged };
}
