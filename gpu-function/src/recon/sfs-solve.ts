/**
 * The linear solve behind shading detail (shading-detail.ts): a height field on a square grid whose
 * slopes explain a shading residual, kept smooth where shading says nothing and screened towards 0 at
 * large scales. Pure numerics over typed arrays.
 */
import { bilinearTaps } from './bilinear-taps';
import { screenedSfsKernel } from './simd/kernels';

/** A linearised shape-from-shading problem on an S x S grid (row-major, v down). */
export interface SfsProblem {
  size: number;
  /** 1 where the height is unknown (the UV chart); elsewhere it is 0 (a Dirichlet border). */
  active: Uint8Array;
  /** Data weight per texel (0: no evidence). */
  weight: Float32Array;
  /** Residual = aU * (h[x+1] - h[x]) + aV * (h[y+1] - h[y]) to first order: slope coefficients per texel step. */
  aU: Float32Array;
  aV: Float32Array;
  residual: Float32Array;
}

export interface SfsSolution {
  height: Float32Array;
  iterations: number;
  relResidual: number;
}

/**
 * solveScreenedSfs: argmin_h sum_i W_i (aU_i Dx h_i + aV_i Dy h_i - r_i)^2 + alpha' |D h|^2 + beta' h^2
 * over the active texels (forward differences; h = 0 outside the active set), with alpha' and beta'
 * the given values times the mean data stiffness W (aU^2 + aV^2), so they mean the same under any
 * lighting strength. Jacobi-preconditioned conjugate gradients on the active texels only (f32, four
 * texels at a time: simd/sfs-cg.wat), from `initial` (default 0), stopped at
 * maxIterations or a relative residual of `tolerance` (default 1e-3; f32 reaches ~1e-6).
 * The system is symmetric positive definite for beta > 0, so CG cannot diverge; with no evidence
 * (all W = 0 or all slopes 0) the height is 0.
 */
export function solveScreenedSfs(p: SfsProblem & { alpha: number; beta: number; maxIterations: number; tolerance?: number; initial?: Float32Array }): SfsSolution {
  const { stiff, n } = dataStiffness(p);
  if (n === 0 || stiff <= 0) return { height: new Float32Array(p.size * p.size), iterations: 0, relResidual: 0 };
  const s = stiff / n;
  return screenedSfsKernel({ ...p, alpha: p.alpha * s, beta: p.beta * s, tolerance: p.tolerance ?? 1e-3 });
}

/** The summed stiffness W (aU^2 + aV^2) over the n active texels with evidence (W > 0). */
function dataStiffness(p: SfsProblem): { stiff: number; n: number } {
  // The arrays as locals: the problems come in two object shapes (the caller's and restrictSfs's), and
  // property loads inside the loop were not hoisted.
  const { active, weight, aU, aV } = p;
  let stiff = 0, n = 0;
  for (let i = 0; i < active.length; i++) {
    const w = weight[i];
    if (!active[i] || !(w > 0)) continue;
    stiff += w * (aU[i] * aU[i] + aV[i] * aV[i]);
    n++;
  }
  return { stiff, n };
}

/** The same problem on a grid half the size: weights averaged, residuals and slopes weight-averaged, slopes per (twice as long) texel halved. */
function restrictSfs(p: SfsProblem): SfsProblem {
  const S = p.size, C = S >> 1;
  const out: SfsProblem = { size: C, active: new Uint8Array(C * C), weight: new Float32Array(C * C), aU: new Float32Array(C * C), aV: new Float32Array(C * C), residual: new Float32Array(C * C) };
  const { active, weight, aU, aV, residual } = p;
  const { active: oA, weight: oW, aU: oU, aV: oV, residual: oR } = out;
  for (let y = 0; y < C; y++) {
    for (let x = 0; x < C; x++) {
      let n = 0, sw = 0, su = 0, sv = 0, sr = 0, pu = 0, pv = 0;
      for (let d = 0; d < 4; d++) {
        const i = (2 * y + (d >> 1)) * S + 2 * x + (d & 1);
        if (!active[i]) continue;
        n++;
        pu += aU[i];
        pv += aV[i];
        const w = weight[i];
        sw += w;
        su += w * aU[i];
        sv += w * aV[i];
        sr += w * residual[i];
      }
      if (!n) continue;
      const c = y * C + x;
      oA[c] = 1;
      oW[c] = sw / 4;
      oU[c] = (sw > 0 ? su / sw : pu / n) / 2;
      oV[c] = (sw > 0 ? sv / sw : pv / n) / 2;
      oR[c] = sw > 0 ? sr / sw : 0;
    }
  }
  return out;
}

/** Bilinear prolongation from a C x C grid to 2C x 2C, texel centres aligned. */
function prolong(h: Float32Array, C: number): Float32Array {
  const S = 2 * C;
  const out = new Float32Array(S * S);
  // The column taps are the same on every row: computed once.
  const { at0: cx0, at1: cx1, frac: cax } = bilinearTaps(C, S);
  for (let y = 0; y < S; y++) {
    const cy = Math.min(C - 1, Math.max(0, (y + 0.5) / 2 - 0.5));
    const y0 = Math.floor(cy), y1 = Math.min(C - 1, y0 + 1), ay = cy - y0;
    prolongRow(h, out, y * S, y0 * C, y1 * C, ay, cx0, cx1, cax);
  }
  return out;
}

function prolongRow(h: Float32Array, out: Float32Array, o: number, r0: number, r1: number, ay: number, cx0: Int32Array, cx1: Int32Array, cax: Float32Array): void {
  for (let x = 0; x < cx0.length; x++) {
    const x0 = cx0[x], x1 = cx1[x], ax = cax[x];
    out[o + x] = (1 - ay) * ((1 - ax) * h[r0 + x0] + ax * h[r0 + x1]) + ay * ((1 - ax) * h[r1 + x0] + ax * h[r1 + x1]);
  }
}

/**
 * solveSfsCascadic: solveScreenedSfs coarse to fine (cascadic multigrid, Bornemann & Deuflhard,
 * "The cascadic multigrid method for elliptic problems", Numer. Math. 1996): the problem restricted
 * down to <= 64 texels, solved there to a loose tolerance, and each finer level started from the
 * bilinear prolongation of the one below, so conjugate gradients there only have the high frequencies
 * left to resolve. `scaleTexels` is the screening length sqrt(alpha / beta) at the finest level, in its
 * texels; it halves with each coarser level as the texels double.
 */
export function solveSfsCascadic(p: SfsProblem, opts: { alpha: number; scaleTexels: number; iterations: number; coarseIterations?: number }): SfsSolution {
  const levels: SfsProblem[] = [p];
  for (let top = p; top.size > 64 && top.size % 2 === 0; ) levels.push((top = restrictSfs(top)));
  let h: Float32Array | undefined;
  let total = 0, rel = 0;
  for (let l = levels.length - 1; l >= 0; l--) {
    const level = levels[l];
    const scale = Math.max(1, opts.scaleTexels / 2 ** l);
    const coarsest = l === levels.length - 1;
    const solved = solveScreenedSfs({
      ...level,
      alpha: opts.alpha,
      beta: opts.alpha / (scale * scale),
      maxIterations: coarsest ? (opts.coarseIterations ?? 150) : opts.iterations,
      tolerance: coarsest ? 1e-2 : 1e-3,
      initial: h ? prolong(h, level.size >> 1) : undefined,
    });
    h = solved.height;
    total += solved.iterations;
    rel = solved.relResidual;
  }
  return { height: h!, iterations: total, relResidual: rel };
}
