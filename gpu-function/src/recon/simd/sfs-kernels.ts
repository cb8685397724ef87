/**
 * The shading solve's kernels (sfs-solve.ts has the problem, the energy and the method): the data
 * stiffness, the padded layout with the right-hand side and the diagonal, the restriction and the
 * prolongation (sfs-setup.wat) around the conjugate gradients (sfs-cg.wat), in the memory kernels.ts
 * owns, every level of a cascade resident in it.
 */
import { bilinearTaps } from '../bilinear-taps';
import type { SfsProblem, SfsSolution } from '../sfs-problem';
import { buffer, kernels, layout } from './kernels';


/** One level's parameters: alpha and beta relative to its mean data stiffness, and when its CG stops. */
interface SfsLevelParams {
  alpha: number;
  beta: number;
  maxIterations: number;
  tolerance: number;
}

/** Byte offsets of an S x S problem's compact arrays in the memory, its height and its starting height. */
interface SfsLevelAt {
  S: number;
  act: number;
  w: number;
  u: number;
  v: number;
  r: number;
  h: number;
  init: number;
}

/** The byte sizes of a level's compact arrays, in SfsLevelAt's order after S. */
const sfsLevelBytes = (S: number) => [S * S, 4 * S * S, 4 * S * S, 4 * S * S, 4 * S * S, 4 * S * S, 4 * S * S];

function putSfsProblem(p: SfsProblem, at: SfsLevelAt): void {
  const mem = buffer(), n = at.S * at.S;
  new Uint8Array(mem, at.act, n).set(p.active.subarray(0, n));
  new Float32Array(mem, at.w, n).set(p.weight.subarray(0, n));
  new Float32Array(mem, at.u, n).set(p.aU.subarray(0, n));
  new Float32Array(mem, at.v, n).set(p.aV.subarray(0, n));
  new Float32Array(mem, at.r, n).set(p.residual.subarray(0, n));
}

/**
 * One level's solve, its compact arrays already in the memory at `at`, its height written to at.h:
 * the mean data stiffness (sfs-setup.wat), alpha and beta scaled by it, the padded layout with the
 * right-hand side and the diagonal, the CG (sfs-cg.wat) from at.init when `fromInit`, and the
 * read-back. No evidence (no chart texel with weight, or no slope): the height is 0, no iterations.
 * BLK must have room for the level's 14 padded arrays and REL for an f64.
 */
function solveSfsLevel(at: SfsLevelAt, o: SfsLevelParams, fromInit: boolean, BLK: number, REL: number): { iterations: number; relResidual: number } {
  const S = at.S, n = S * S;
  const count = kernels.sfsStiffness(at.act, at.w, at.u, at.v, n, REL);
  const stiff = new Float64Array(buffer(), REL, 1)[0];
  if (count === 0 || stiff <= 0) {
    new Float32Array(buffer(), at.h, n).fill(0);
    return { iterations: 0, relResidual: 0 };
  }
  const s = stiff / count, alpha = o.alpha * s, beta = o.beta * s;
  const P = Math.ceil((S + 1) / 4) * 4, NP = (S + 2) * P, stride = 4 * NP;
  new Float32Array(buffer(), BLK, 14 * NP).fill(0);
  kernels.sfsPad(BLK, stride, P, S, at.act, at.w, at.u, at.v, fromInit ? at.init : 0, alpha);
  kernels.sfsRhsDiag(BLK, stride, P, S, at.r, alpha, beta);
  const iterations = kernels.screenedSfsCg(BLK, stride, P, S, beta, o.maxIterations, o.tolerance, REL);
  const relResidual = new Float64Array(buffer(), REL, 1)[0];
  kernels.sfsUnpad(BLK, stride, P, S, at.h);
  return { iterations, relResidual };
}

/** The padded block's bytes for an S x S level (sfs-cg.wat's 14 arrays). */
const sfsBlockBytes = (S: number) => 14 * 4 * (S + 2) * (Math.ceil((S + 1) / 4) * 4);

/**
 * solveScreenedSfs's solve (sfs-solve.ts has the problem, the energy and the contract): `alpha` and
 * `beta` relative to the mean data stiffness, as sfs-solve.ts states them.
 */
export function screenedSfsKernel(o: SfsProblem & SfsLevelParams & { initial?: Float32Array }): SfsSolution {
  const S = o.size, n = S * S;
  const [BLK, REL, act, w, u, v, r, h, init] = layout(sfsBlockBytes(S), 8, ...sfsLevelBytes(S));
  const at: SfsLevelAt = { S, act, w, u, v, r, h, init };
  putSfsProblem(o, at);
  if (o.initial) new Float32Array(buffer(), init, n).set(o.initial.subarray(0, n));
  const solved = solveSfsLevel(at, o, !!o.initial, BLK, REL);
  return { height: new Float32Array(buffer(), h, n).slice(), ...solved };
}

/**
 * solveSfsCascadic's solve (sfs-solve.ts has the method): `levels[l]` for the grid of size S / 2^l,
 * finest first. The problem is restricted down the levels (sfs-setup.wat's sfsRestrict), each solved
 * from the coarsest up, each finer one from the bilinear prolongation of the height below
 * (sfsProlong); every level stays in the memory throughout. Iterations are summed over the levels, the
 * relative residual is the finest's.
 */
export function cascadicSfsKernel(p: SfsProblem, levels: readonly SfsLevelParams[]): SfsSolution {
  const sizes = levels.map((_, l) => p.size >> l);
  const taps = sizes.slice(0, -1).map((S) => bilinearTaps(S >> 1, S));
  const offsets = layout(sfsBlockBytes(p.size), 8, ...sizes.flatMap(sfsLevelBytes), ...sizes.slice(0, -1).flatMap((S) => [4 * S, 4 * S, 4 * S]));
  const [BLK, REL] = offsets;
  const at: SfsLevelAt[] = sizes.map((S, l) => {
    const [act, w, u, v, r, h, init] = offsets.slice(2 + 7 * l, 9 + 7 * l);
    return { S, act, w, u, v, r, h, init };
  });
  const tapsAt = taps.map((_, l) => offsets.slice(2 + 7 * sizes.length + 3 * l, 5 + 7 * sizes.length + 3 * l));
  putSfsProblem(p, at[0]);
  for (let l = 1; l < sizes.length; l++) {
    const a = at[l - 1], b = at[l];
    // The coarser level's arrays start zeroed: the restriction writes its chart texels only.
    const n = sizes[l] ** 2;
    new Uint8Array(buffer(), b.act, n).fill(0);
    for (const f of [b.w, b.u, b.v, b.r]) new Float32Array(buffer(), f, n).fill(0);
    kernels.sfsRestrict(a.S, a.act, a.w, a.u, a.v, a.r, b.act, b.w, b.u, b.v, b.r);
  }
  let iterations = 0, relResidual = 0;
  for (let l = sizes.length - 1; l >= 0; l--) {
    const coarsest = l === sizes.length - 1;
    if (!coarsest) {
      const [at0, at1, frac] = tapsAt[l];
      const mem = buffer(), S = sizes[l];
      new Int32Array(mem, at0, S).set(taps[l].at0);
      new Int32Array(mem, at1, S).set(taps[l].at1);
      new Float32Array(mem, frac, S).set(taps[l].frac);
      kernels.sfsProlong(at[l + 1].h, sizes[l + 1], at[l].init, at0, at1, frac);
    }
    const solved = solveSfsLevel(at[l], levels[l], !coarsest, BLK, REL);
    iterations += solved.iterations;
    relResidual = solved.relResidual;
  }
  return { height: new Float32Array(buffer(), at[0].h, p.size * p.size).slice(), iterations, relResidual };
}
