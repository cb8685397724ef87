/**
 * The photo's lighting as second-order SH (sh-lighting.ts has the image formation): a robust weighted
 * least-squares fit of the 27 coefficients to colours at known normals, with an optional
 * symmetric-albedo term over mirrored pairs. Pure numerics over typed arrays.
 */
import { shIrradianceBasis, type ShLighting } from './sh-lighting';
import { addSymmetricRankOne9 } from './sym9';
import { median } from './select';
import { srgbToLinearFast } from './srgb';

export interface EstimateShOptions {
  /** n*3 colours in sRGB 0..255 (e.g. baked texels). */
  colors: Float32Array;
  /** n*3 unit normals in the frame the lighting is expressed in (here: the camera frame, x right, y up, z towards the viewer). */
  normals: Float32Array;
  /** n weights >= 0 (visibility, skin likelihood); 0 excludes a sample. Default all 1. */
  weights?: Float32Array;
  /** Robust reweighting rounds (IRLS); 0 gives plain weighted least squares. Default 6. */
  iterations?: number;
  /** Ridge on the order-1 and order-2 coefficients, relative to the DC diagonal of the normal equations. Default 1e-4. */
  ridge?: number;
  /**
   * After the Huber rounds, switch to Tukey's biweight, which gives gross outliers zero weight (default
   * true). False keeps Huber throughout: bounded influence, but nothing rejected outright, for data
   * whose misfit is partly the model's own (a face's terminator and concavities under real light).
   */
  redescend?: boolean;
  /**
   * Mirrored sample pairs (i0, j0, i1, j1, ...: indices into the samples), for a symmetric-albedo term:
   * each pair adds, per channel, the row (I_i B(n_j) - I_j B(n_i)) / mean(I_i, I_j) . L = 0, which holds
   * for any lighting when the two points share their albedo (see estimateShLighting).
   */
  pairs?: Int32Array;
  /** Weight of one pair row against one sample row. Default 1. */
  pairWeight?: number;
}


const toLinear = srgbToLinearFast;

/** Solves the SPD 9x9 system A X = R (R: `rhs` right-hand sides, column c at R[9c..9c+8]) in place by Cholesky; false if not SPD. */
function cholSolve9(A: Float64Array, R: Float64Array, rhs = 3): boolean {
  const L = new Float64Array(81);
  let maxDiag = 0;
  for (let i = 0; i < 9; i++) maxDiag = Math.max(maxDiag, A[i * 9 + i]);
  for (let i = 0; i < 9; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * 9 + j];
      for (let k = 0; k < j; k++) s -= L[i * 9 + k] * L[j * 9 + k];
      if (i === j) {
        // Relative threshold: a pivot at rounding level means the normals do not determine the lighting.
        if (!(s > 1e-12 * maxDiag)) return false;
        L[i * 9 + i] = Math.sqrt(s);
      } else L[i * 9 + j] = s / L[j * 9 + j];
    }
  }
  for (let c = 0; c < rhs; c++) {
    const o = 9 * c;
    for (let i = 0; i < 9; i++) {
      let s = R[o + i];
      for (let k = 0; k < i; k++) s -= L[i * 9 + k] * R[o + k];
      R[o + i] = s / L[i * 9 + i];
    }
    for (let i = 8; i >= 0; i--) {
      let s = R[o + i];
      for (let k = i + 1; k < 9; k++) s -= L[k * 9 + i] * R[o + k];
      R[o + i] = s / L[i * 9 + i];
    }
  }
  return true;
}


/**
 * Estimates rho*L per channel (the albedo's mean is absorbed into L: the face is modelled as one skin
 * albedo, as in Kemelmacher-Shlizerman & Basri, "3D face reconstruction from a single image using a single
 * reference face shape", PAMI 2011, who fit the 9 SH coefficients by least squares under constant albedo).
 *
 * Units: colours sRGB 0..255 in, coefficients in linear light (0..1 scale) out. Frame: that of the normals.
 * Method: weighted least squares, one 9x9 system with 3 right-hand sides (normals and weights are shared
 * by the channels), then IRLS: the residual is relative (obs/pred - 1, since albedo variation is multiplicative,
 * so a dark brow on the shadowed side stands out as much as on the lit side), centred and scaled per channel
 * by its median and 1.4826*MAD, the worst channel taken (a lip is a hue change, visible in one channel);
 * the first third of the rounds use Huber (k = 1.345) to move away from the least-squares start, the rest
 * Tukey's biweight (c = 4.685) to give gross outliers (brows, eyes, hair, glasses, speculars) zero weight
 * (unless `redescend` is false: Huber throughout).
 * The ridge: on a hemisphere of normals (a face seen from the front) 1, z and z^2 are nearly collinear, and
 * on a narrower range (a profile, a crop) whole directions of the 9-space go unseen, so least squares is
 * free to put huge coefficients there that explode at the unseen normals (the rim, the other cheek). In a
 * sweep on a narrow strip of normals (rim n_z < 0.2 unseen), ridge 0 / 1e-5 / 1e-4 / 1e-3 gave rim shading
 * errors of 100% / 38% / 22% / 23%; on a well-spread frontal hemisphere 1e-4 costs ~0.15% of shading
 * error in-sample (1e-3 already 0.5%). Hence the default 1e-4.
 * Symmetric albedo (`pairs`): a face's skin albedo is close to mirror-symmetric, so for mirrored points
 * i, j the self-ratio I_i / I_j equals s(n_i) / s(n_j) whatever the albedo (Zhao & Chellappa, "Symmetric
 * shape-from-shading using self-ratio image", IJCV 2001), a linear constraint on L that the constant-albedo
 * data term does not see: where the fitted mesh's normals are a little off, the data term can trade the
 * lit side's brightness against the shadow side's, and the division then over- or under-corrects one side.
 * The pair rows get their own Huber weights (a mole, a strand of hair, a one-sided highlight), scaled by
 * their own MAD; each channel then has its own normal equations.
 * Returns the lighting, the final robust weights (0..1; 0 for excluded samples) and the RMS residual in
 * linear light over inliers (weighted by prior x robust weight, averaged over channels).
 * Failure modes: RangeError if fewer than 9 samples have positive weight, or if the normals do not determine
 * the system (e.g. all equal with ridge 0). If reweighting ever leaves fewer than 9 inliers it stops and keeps
 * the previous solution. Normals must be unit length; saturated colours (255) are taken at face value.
 */
export function estimateShLighting(opts: EstimateShOptions): ShLighting & { inlierWeights: Float32Array; rmsResidual: number } {
  const { colors, normals, weights, iterations = 6, ridge = 1e-4, redescend = true, pairs, pairWeight = 1 } = opts;
  const n = normals.length / 3;
  const idx = weightedSamples(weights, n);
  const m = idx.length;
  if (m < 9) throw new RangeError(`estimateShLighting: ${m} samples with positive weight, at least 9 needed`);

  const B = new Float64Array(m * 9);
  const Y = new Float64Array(m * 3);
  const prior = new Float64Array(m);
  sampleRows(idx, normals, colors, weights, B, Y, prior);

  // Pair rows per channel: (I_i B_j - I_j B_i) / mean(I_i, I_j), for pairs whose both samples are kept.
  const pairRows = keptPairs(idx, n, pairs && pairWeight > 0 ? pairs : undefined);
  const np = pairRows.length / 2;
  const P = new Float64Array(np * 27);
  pairRowsInto(pairRows, B, Y, P);
  const pairRobust = new Float64Array(np).fill(1);

  const robust = new Float64Array(m).fill(1);
  let sh = solveShSystem(shNormalEquations(B, Y, prior, robust, m, ridge), P, np, pairWeight, pairRobust);
  if (!sh) throw new RangeError('estimateShLighting: the normals do not determine the lighting (degenerate system)');
  const e = new Float64Array(m);
  const u = new Float64Array(m);
  const pred = new Float64Array(m);
  const dev = new Float64Array(m);
  const pe = new Float64Array(np);
  for (let it = 0; it < iterations; it++) {
    u.fill(0);
    for (let c = 0; c < 3; c++) {
      relativeResiduals(sh, B, Y, m, c, pred, e);
      const med = median(e);
      absDeviations(e, med, dev);
      // 8-bit quantisation alone gives relative errors of ~0.2%: a scale below that would reject good texels.
      const scale = Math.max(2e-3, 1.4826 * median(dev));
      worstScaled(dev, scale, u);
    }
    robustWeights(u, robust, !redescend || it < Math.floor(iterations / 3));
    if (np > 0) {
      // The pairs' residuals (in units of shading, like the samples'), Huber-weighted by their own scale.
      pairResiduals(P, np, sh, B[0], pe);
      huberByScale(pe, Math.max(2e-3, 1.4826 * median(pe)), pairRobust);
    }
    const next = solveShSystem(shNormalEquations(B, Y, prior, robust, m, ridge), P, np, pairWeight, pairRobust);
    if (!next) break;
    sh = next;
  }

  const inlierWeights = new Float32Array(n);
  for (let j = 0; j < m; j++) inlierWeights[idx[j]] = robust[j];
  return { sh, inlierWeights, rmsResidual: inlierRms(sh, B, Y, prior, robust, m) };
}

// The fit's loops are functions of their own (hot across a request's iterations, so V8 keeps them
// optimised; as one function's loops they were recompiled on-stack at every request and the fit cost
// ~10x its arithmetic inside the pipeline).

/** Indices of the samples with positive weight (all without weights). */
function weightedSamples(weights: Float32Array | undefined, n: number): Int32Array {
  const idx = new Int32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) if (!weights || weights[i] > 0) idx[m++] = i;
  return idx.slice(0, m);
}

/** Per kept sample j: its basis row B, linear colour Y and prior weight. */
function sampleRows(idx: Int32Array, normals: Float32Array, colors: Float32Array, weights: Float32Array | undefined, B: Float64Array, Y: Float64Array, prior: Float64Array): void {
  const b = new Float64Array(9);
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j];
    shIrradianceBasis(normals[3 * i], normals[3 * i + 1], normals[3 * i + 2], b);
    for (let k = 0; k < 9; k++) B[9 * j + k] = b[k];
    for (let c = 0; c < 3; c++) Y[3 * j + c] = toLinear(colors[3 * i + c]);
    prior[j] = weights ? weights[i] : 1;
  }
}

/** The pairs (sample indices) whose both samples are kept, as kept-row index pairs. */
function keptPairs(idx: Int32Array, n: number, pairs: Int32Array | undefined): Int32Array {
  if (!pairs) return new Int32Array(0);
  const jOf = new Int32Array(n).fill(-1);
  for (let j = 0; j < idx.length; j++) jOf[idx[j]] = j;
  const out = new Int32Array(pairs.length);
  let k = 0;
  for (let p = 0; p + 1 < pairs.length; p += 2) {
    const a = jOf[pairs[p]], b = jOf[pairs[p + 1]];
    if (a >= 0 && b >= 0 && a !== b) {
      out[k++] = a;
      out[k++] = b;
    }
  }
  return out.slice(0, k);
}

function pairRowsInto(pairRows: Int32Array, B: Float64Array, Y: Float64Array, P: Float64Array): void {
  for (let q = 0; q < pairRows.length / 2; q++) {
    const a = pairRows[2 * q], b = pairRows[2 * q + 1];
    for (let c = 0; c < 3; c++) {
      const ya = Y[3 * a + c], yb = Y[3 * b + c], mid = Math.max(1e-4, 0.5 * (ya + yb));
      for (let k = 0; k < 9; k++) P[27 * q + 9 * c + k] = (ya * B[9 * b + k] - yb * B[9 * a + k]) / mid;
    }
  }
}

/** e = Y_c / max(floor, pred) - 1, pred the channel's prediction floored at 5% of its mean: near-black shading would turn quantisation noise into huge relative residuals. */
function relativeResiduals(sh: Float64Array, B: Float64Array, Y: Float64Array, m: number, c: number, pred: Float64Array, e: Float64Array): void {
  let sum = 0;
  for (let j = 0; j < m; j++) sum += pred[j] = shPredict(sh, B, j, c);
  const floor = Math.max(1e-4, (0.05 * sum) / m);
  for (let j = 0; j < m; j++) e[j] = Y[3 * j + c] / Math.max(floor, pred[j]) - 1;
}

function absDeviations(e: Float64Array, med: number, dev: Float64Array): void {
  for (let j = 0; j < e.length; j++) dev[j] = Math.abs(e[j] - med);
}

/** u = max(u, dev / scale): the worst channel's scaled deviation. */
function worstScaled(dev: Float64Array, scale: number, u: Float64Array): void {
  for (let j = 0; j < dev.length; j++) u[j] = Math.max(u[j], dev[j] / scale);
}

/** Huber's (k = 1.345) or Tukey's biweight (c = 4.685) weight of each scaled residual. */
function robustWeights(u: Float64Array, robust: Float64Array, huber: boolean): void {
  for (let j = 0; j < u.length; j++) {
    const t = u[j];
    robust[j] = huber ? (t <= 1.345 ? 1 : 1.345 / t) : t < 4.685 ? (1 - (t / 4.685) ** 2) ** 2 : 0;
  }
}

/** Each pair row's worst channel |P . sh_c| relative to the channel's constant shading sh_c0 B0. */
function pairResiduals(P: Float64Array, np: number, sh: Float64Array, b0: number, pe: Float64Array): void {
  for (let q = 0; q < np; q++) {
    let worst = 0;
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = 0; k < 9; k++) v += P[27 * q + 9 * c + k] * sh[9 * c + k];
      worst = Math.max(worst, Math.abs(v) / Math.max(1e-6, sh[9 * c] * b0));
    }
    pe[q] = worst;
  }
}

function huberByScale(pe: Float64Array, scale: number, out: Float64Array): void {
  for (let q = 0; q < pe.length; q++) out[q] = pe[q] <= 1.345 * scale ? 1 : (1.345 * scale) / pe[q];
}

/** RMS of the linear-light residual over the inliers, weighted by prior x robust weight and averaged over channels. */
function inlierRms(sh: Float64Array, B: Float64Array, Y: Float64Array, prior: Float64Array, robust: Float64Array, m: number): number {
  let num = 0, den = 0;
  for (let j = 0; j < m; j++) {
    const w = prior[j] * robust[j];
    if (!(w > 0)) continue;
    for (let c = 0; c < 3; c++) num += (w * (Y[3 * j + c] - shPredict(sh, B, j, c)) ** 2) / 3;
    den += w;
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}

// The fit's steps are functions of their own rather than closures made per call, for V8's sake (see
// detail-maps.ts).

/** Weighted normal equations of the data term, shared by the channels: A (9 x 9, ridge on orders 1-2) and R (3 right-hand sides); null with < 9 weighted samples. */
function shNormalEquations(B: Float64Array, Y: Float64Array, prior: Float64Array, robust: Float64Array, m: number, ridge: number): { A: Float64Array; R: Float64Array } | null {
  const A = new Float64Array(81);
  const R = new Float64Array(27);
  if (accumulateNormalEquations(B, Y, prior, robust, m, A, R) < 9) return null;
  for (let r = 0; r < 9; r++) for (let s = 0; s < r; s++) A[s * 9 + r] = A[r * 9 + s];
  for (let r = 1; r < 9; r++) A[r * 9 + r] += ridge * A[0];
  return { A, R };
}

/** The weighted samples' lower-triangle A += w b b' (sym9.ts) and R += w b y', w = prior x robust; returns how many had weight. */
function accumulateNormalEquations(B: Float64Array, Y: Float64Array, prior: Float64Array, robust: Float64Array, m: number, A: Float64Array, R: Float64Array): number {
  const w = new Float64Array(m);
  for (let j = 0; j < m; j++) w[j] = prior[j] * robust[j];
  accumulateRightHandSides(B, Y, w, m, R);
  return addSymmetricRankOne9(A, B, 9, 0, w, m);
}

/** R[9 c + r] += (w_j B_j[r]) Y_j[c] over the samples with weight (a loop of its own, see detail-maps.ts). */
function accumulateRightHandSides(B: Float64Array, Y: Float64Array, w: Float64Array, m: number, R: Float64Array): void {
  for (let j = 0; j < m; j++) {
    const wj = w[j];
    if (!(wj > 0)) continue;
    const o = 9 * j;
    for (let r = 0; r < 9; r++) {
      const wb = wj * B[o + r];
      for (let c = 0; c < 3; c++) R[9 * c + r] += wb * Y[3 * j + c];
    }
  }
}

/** The 27 coefficients from the data term's normal equations plus, per channel, the np pair rows P (27 per pair) at pairWeight x pairRobust; null if a system is not SPD. */
function solveShSystem(base: { A: Float64Array; R: Float64Array } | null, P: Float64Array, np: number, pairWeight: number, pairRobust: Float64Array): Float64Array | null {
  if (!base) return null;
  if (np === 0) return cholSolve9(base.A, base.R) ? base.R : null;
  const out = new Float64Array(27);
  const w = new Float64Array(np);
  for (let q = 0; q < np; q++) w[q] = pairWeight * pairRobust[q];
  for (let c = 0; c < 3; c++) {
    const A = base.A.slice();
    // The lower triangle, then mirrored: the pair rows' outer products are symmetric.
    addSymmetricRankOne9(A, P, 27, 9 * c, w, np);
    for (let r = 0; r < 9; r++) for (let s2 = 0; s2 < r; s2++) A[s2 * 9 + r] = A[r * 9 + s2];
    const R = base.R.slice(9 * c, 9 * c + 9);
    if (!cholSolve9(A, R, 1)) return null;
    out.set(R, 9 * c);
  }
  return out;
}

function shPredict(sh: Float64Array, B: Float64Array, j: number, c: number): number {
  let s = 0;
  for (let k = 0; k < 9; k++) s += sh[9 * c + k] * B[9 * j + k];
  return s;
}
