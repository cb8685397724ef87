/**
 * The linear solve behind shading detail (shading-detail.ts): a height field on a square grid whose
 * slopes explain a shading residual, kept smooth where shading says nothing and screened towards 0 at
 * large scales. Pure numerics over typed arrays.
 */
import { bilinearTaps } from './bilinear-taps';

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
 * lighting strength. Jacobi-preconditioned conjugate gradients on the active texels only, from
 * `initial` (default 0), stopped at maxIterations or a relative residual of `tolerance` (default 1e-3).
 * The system is symmetric positive definite for beta > 0, so CG cannot diverge; with no evidence
 * (all W = 0 or all slopes 0) the height is 0.
 */
export function solveScreenedSfs(p: SfsProblem & { alpha: number; beta: number; maxIterations: number; tolerance?: number; initial?: Float32Array }): SfsSolution {
  const height = new Float32Array(p.size * p.size);
  const g = compactGrid(p);
  if (!g || g.n === 0 || g.stiff <= 0) return { height, iterations: 0, relResidual: 0 };
  const { M, at, right, down, left, up, W, aU, aV } = g;
  const stiff = g.stiff / g.n;
  const alpha = p.alpha * stiff, beta = p.beta * stiff;
  const apply = (x: Float32Array, out: Float32Array) => sfsApply(x, out, M, right, down, W, aU, aV, alpha, beta);
  // b = D' (W a r): the same scatter as `apply`.
  const b = new Float32Array(M);
  const bNorm = Math.sqrt(scatterRhs(p.residual, M, at, right, down, W, aU, aV, b));
  if (bNorm === 0) return { height, iterations: 0, relResidual: 0 };
  const diag = jacobiDiagonal(M, left, up, W, aU, aV, alpha, beta);
  const h = new Float32Array(M), res = Float32Array.from(b), z = new Float32Array(M), dir = new Float32Array(M), Ad = new Float32Array(M);
  if (p.initial) {
    gatherAt(p.initial, at, h);
    apply(h, Ad);
    for (let k = 0; k < M; k++) res[k] = b[k] - Ad[k];
  }
  const rz = preconditionedStart(res, diag, z, dir, M);
  const { iterations: it, relResidual: rel } = conjugateGradients({ M, h, res, z, dir, Ad, diag, rz, bNorm, tol: p.tolerance ?? 1e-3, maxIterations: p.maxIterations, apply });
  for (let k = 0; k < M; k++) height[at[k]] = h[k];
  return { height, iterations: it, relResidual: rel };
}

// solveScreenedSfs's set-up passes, each a function of its own (see detail-maps.ts).

/** Compact numbering of the active texels and their four neighbours (-1: outside, where h = 0), their data, and the summed stiffness W (aU^2 + aV^2) over the n texels with evidence; undefined without active texels. */
function compactGrid(p: SfsProblem): { M: number; at: Int32Array; right: Int32Array; down: Int32Array; left: Int32Array; up: Int32Array; W: Float32Array; aU: Float32Array; aV: Float32Array; stiff: number; n: number } | undefined {
  const { size: S, active } = p;
  const N = S * S;
  const id = new Int32Array(N).fill(-1);
  let M = 0;
  for (let i = 0; i < N; i++) if (active[i]) id[i] = M++;
  if (M === 0) return undefined;
  const at = new Int32Array(M), right = new Int32Array(M), down = new Int32Array(M), left = new Int32Array(M), up = new Int32Array(M);
  const W = new Float32Array(M), aU = new Float32Array(M), aV = new Float32Array(M);
  let stiff = 0, n = 0;
  for (let i = 0, k = 0; i < N; i++) {
    if (!active[i]) continue;
    const x = i % S;
    at[k] = i;
    right[k] = x + 1 < S ? id[i + 1] : -1;
    left[k] = x > 0 ? id[i - 1] : -1;
    down[k] = i + S < N ? id[i + S] : -1;
    up[k] = i >= S ? id[i - S] : -1;
    W[k] = p.weight[i];
    aU[k] = p.aU[i];
    aV[k] = p.aV[i];
    if (W[k] > 0) (stiff += W[k] * (aU[k] * aU[k] + aV[k] * aV[k])), n++;
    k++;
  }
  return { M, at, right, down, left, up, W, aU, aV, stiff, n };
}

/** b = D' (W a r) over the compact texels; returns |b|^2. */
function scatterRhs(residual: Float32Array, M: number, at: Int32Array, right: Int32Array, down: Int32Array, W: Float32Array, aU: Float32Array, aV: Float32Array, b: Float32Array): number {
  for (let k = 0; k < M; k++) {
    const wr = W[k] * residual[at[k]];
    const qxk = wr * aU[k], qyk = wr * aV[k];
    if (right[k] >= 0) b[right[k]] += qxk;
    if (down[k] >= 0) b[down[k]] += qyk;
    b[k] -= qxk + qyk;
  }
  let bNorm = 0;
  for (let k = 0; k < M; k++) bNorm += b[k] * b[k];
  return bNorm;
}

/** The diagonal of A (sfsApply), for the Jacobi preconditioner. */
function jacobiDiagonal(M: number, left: Int32Array, up: Int32Array, W: Float32Array, aU: Float32Array, aV: Float32Array, alpha: number, beta: number): Float32Array {
  const diag = new Float32Array(M);
  for (let k = 0; k < M; k++) {
    const c = aU[k] + aV[k];
    let d = W[k] * c * c + 2 * alpha + beta;
    if (left[k] >= 0) d += W[left[k]] * aU[left[k]] * aU[left[k]] + alpha;
    if (up[k] >= 0) d += W[up[k]] * aV[up[k]] * aV[up[k]] + alpha;
    diag[k] = d;
  }
  return diag;
}

function gatherAt(src: Float32Array, at: Int32Array, out: Float32Array): void {
  for (let k = 0; k < at.length; k++) out[k] = src[at[k]];
}

/** z = res / diag, dir = z; returns res . z. */
function preconditionedStart(res: Float32Array, diag: Float32Array, z: Float32Array, dir: Float32Array, M: number): number {
  let rz = 0;
  for (let k = 0; k < M; k++) {
    z[k] = res[k] / diag[k];
    dir[k] = z[k];
    rz += res[k] * z[k];
  }
  return rz;
}

// The operator and the iteration are functions of their own, for V8's sake (see detail-maps.ts).

/** out = A x, A x = Dx' (W aU e + alpha Dx x) + Dy' (W aV e + alpha Dy x) + beta x, e = aU Dx x + aV Dy x (compact numbering, -1: outside, h = 0). */
function sfsApply(x: Float32Array, out: Float32Array, M: number, right: Int32Array, down: Int32Array, W: Float32Array, aU: Float32Array, aV: Float32Array, alpha: number, beta: number): void {
  // One pass: each texel's two differences, and their transposes scattered to the neighbours.
  out.fill(0);
  for (let k = 0; k < M; k++) {
    const xk = x[k];
    const rk = right[k], dk = down[k];
    const dx = (rk >= 0 ? x[rk] : 0) - xk;
    const dy = (dk >= 0 ? x[dk] : 0) - xk;
    const e = W[k] * (aU[k] * dx + aV[k] * dy);
    const qxk = aU[k] * e + alpha * dx;
    const qyk = aV[k] * e + alpha * dy;
    if (rk >= 0) out[rk] += qxk;
    if (dk >= 0) out[dk] += qyk;
    out[k] += beta * xk - qxk - qyk;
  }
}

/** Jacobi-preconditioned CG from h (residual res, z = res / diag, dir = z, rz = res . z), in place on h. */
function conjugateGradients(o: { M: number; h: Float32Array; res: Float32Array; z: Float32Array; dir: Float32Array; Ad: Float32Array; diag: Float32Array; rz: number; bNorm: number; tol: number; maxIterations: number; apply: (x: Float32Array, out: Float32Array) => void }): { iterations: number; relResidual: number } {
  const { M, h, res, z, dir, Ad, diag, bNorm, tol, apply } = o;
  let rz = o.rz;
  let it = 0, rel = 1;
  while (it < o.maxIterations) {
    apply(dir, Ad);
    const dAd = dot(dir, Ad, M);
    if (dAd <= 0) break;
    const step = rz / dAd;
    let rr = 0, rzNew = 0;
    for (let k = 0; k < M; k++) {
      h[k] += step * dir[k];
      const rk = res[k] - step * Ad[k];
      res[k] = rk;
      rr += rk * rk;
      const zk = rk / diag[k];
      z[k] = zk;
      rzNew += rk * zk;
    }
    it++;
    rel = Math.sqrt(rr) / bNorm;
    if (rel < tol) break;
    const g = rzNew / rz;
    rz = rzNew;
    for (let k = 0; k < M; k++) dir[k] = z[k] + g * dir[k];
  }
  return { iterations: it, relResidual: rel };
}

function dot(a: Float32Array, b: Float32Array, n: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += a[k] * b[k];
  return s;
}

/** The same problem on a grid half the size: weights averaged, residuals and slopes weight-averaged, slopes per (twice as long) texel halved. */
function restrictSfs(p: SfsProblem): SfsProblem {
  const S = p.size, C = S >> 1;
  const out: SfsProblem = { size: C, active: new Uint8Array(C * C), weight: new Float32Array(C * C), aU: new Float32Array(C * C), aV: new Float32Array(C * C), residual: new Float32Array(C * C) };
  for (let y = 0; y < C; y++) {
    for (let x = 0; x < C; x++) {
      let n = 0, sw = 0, su = 0, sv = 0, sr = 0, pu = 0, pv = 0;
      for (let d = 0; d < 4; d++) {
        const i = (2 * y + (d >> 1)) * S + 2 * x + (d & 1);
        if (!p.active[i]) continue;
        n++;
        pu += p.aU[i];
        pv += p.aV[i];
        const w = p.weight[i];
        sw += w;
        su += w * p.aU[i];
        sv += w * p.aV[i];
        sr += w * p.residual[i];
      }
      if (!n) continue;
      const c = y * C + x;
      out.active[c] = 1;
      out.weight[c] = sw / 4;
      out.aU[c] = (sw > 0 ? su / sw : pu / n) / 2;
      out.aV[c] = (sw > 0 ? sv / sw : pv / n) / 2;
      out.residual[c] = sw > 0 ? sr / sw : 0;
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
