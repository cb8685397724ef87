/**
 * The linear solve behind shading detail (shading-detail.ts): a height field on a square grid whose
 * slopes explain a shading residual, kept smooth where shading says nothing and screened towards 0 at
 * large scales. Pure numerics over typed arrays.
 */
import type { SfsProblem, SfsSolution } from './sfs-problem';
import { cascadicSfsKernel, screenedSfsKernel } from './simd/sfs-kernels';

export type { SfsProblem, SfsSolution } from './sfs-problem';

/**
 * solveScreenedSfs: argmin_h sum_i W_i (aU_i Dx h_i + aV_i Dy h_i - r_i)^2 + alpha' |D h|^2 + beta' h^2
 * over the active texels (forward differences; h = 0 outside the active set), with alpha' and beta'
 * the given values times the mean data stiffness W (aU^2 + aV^2), so they mean the same under any
 * lighting strength. Jacobi-preconditioned conjugate gradients on the active texels only (f32, four
 * texels at a time: simd/sfs-cg.wat; the stiffness, the padded layout and the right-hand side:
 * simd/sfs-setup.wat), from `initial` (default 0), stopped at
 * maxIterations or a relative residual of `tolerance` (default 1e-3; f32 reaches ~1e-6).
 * The system is symmetric positive definite for beta > 0, so CG cannot diverge; with no evidence
 * (all W = 0 or all slopes 0) the height is 0.
 */
export function solveScreenedSfs(p: SfsProblem & { alpha: number; beta: number; maxIterations: number; tolerance?: number; initial?: Float32Array }): SfsSolution {
  return screenedSfsKernel({ ...p, tolerance: p.tolerance ?? 1e-3 });
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
  // Restricted (simd/sfs-setup.wat's sfsRestrict: weights averaged, residuals and slopes weight-averaged,
  // slopes per twice as long a texel halved) while the grid is over 64 texels and even.
  const sizes = [p.size];
  while (sizes[sizes.length - 1] > 64 && sizes[sizes.length - 1] % 2 === 0) sizes.push(sizes[sizes.length - 1] / 2);
  const levels = sizes.map((_, l) => {
    const scale = Math.max(1, opts.scaleTexels / 2 ** l);
    const coarsest = l === sizes.length - 1;
    return { alpha: opts.alpha, beta: opts.alpha / (scale * scale), maxIterations: coarsest ? (opts.coarseIterations ?? 150) : opts.iterations, tolerance: coarsest ? 1e-2 : 1e-3 };
  });
  return cascadicSfsKernel(p, levels);
}
