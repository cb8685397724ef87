/** The shading solve's problem and solution (sfs-solve.ts solves it, simd/sfs-kernels.ts runs it). */

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
