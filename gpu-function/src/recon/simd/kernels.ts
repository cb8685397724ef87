/**
 * The recon's WebAssembly kernels (box-sum.wat, gain-field.wat, sfs-cg.wat, sfs-setup.wat,
 * detail-maps.wat, albedo-residual.wat, bytes.wat in this folder), compiled from their text when this module is
 * first imported and run over one linear memory that this module owns and the seven share. Callers pass typed arrays; the wrappers copy them in, run
 * the kernel and copy the results out, so nothing outside this file sees the memory or its layout.
 * Single-threaded like the rest of the recon: a kernel call runs to completion before the next one lays
 * its data out from offset 0 again.
 *
 * Why WebAssembly: the per-texel passes at the tile size, the box sums behind the lighting's and the
 * detail's local statistics and the shading solve were JavaScript loops bound by scalar f64 arithmetic
 * and typed-array conversions; 128-bit SIMD (f32x4, f64x2) does four or two texels per instruction, and
 * where the bytes must stay exactly what they were (box sums, gain field, the solve's set-up, the detail's
 * albedo) scalar f64 WebAssembly still drops the bounds checks. The text is the source (wabt compiles the seven in ~20 ms after a ~100 ms
 * start of wabt itself, once per process), so there is no binary to keep in step with it. A kernel that
 * fails to compile throws at import: the service does not start with half its kernels.
 */
import { readFileSync } from 'node:fs';
import wabtInit from 'wabt';
import type { BilinearTaps } from '../bilinear-taps';
import type { TexelMap } from '../texel-map';

interface KernelExports {
  boxSum(a: number, tmp: number, acc: number, zero: number, sink: number, S: number, r: number): void;
  gainField(src: number, dst: number, size: number, gain: number, G: number, at0: number, at1: number, frac: number, runs: number, nRuns: number, table: number, row: number, idx: number): void;
  gainRows(p: number, n: number, offset: number, limit: number, step: number): void;
  liftSplit(lg: number, w: number, n: number, s0: number, s1: number, s2: number): void;
  liftCap(lg: number, w: number, den: number, n: number, s0: number, s1: number, s2: number, spike: number): void;
  screenedSfsCg(blk: number, stride: number, P: number, S: number, beta: number, maxIt: number, tol: number, relOut: number): number;
  detailMaps(planes: number, S: number, size: number, at0: number, at1: number, frac: number, wide: number, dScale: number, nd: number, dd: number, runs: number, nRuns: number): void;
  slopeNormals(h: number, act: number, S: number, texels: number, triangle: number, b1: number, b2: number, nTexels: number, indices: number, lu: number, lv: number, nx: number, ny: number): number;
  sfsPad(blk: number, stride: number, P: number, S: number, act: number, cw: number, cu: number, cv: number, init: number, alpha: number): void;
  sfsRhsDiag(blk: number, stride: number, P: number, S: number, res: number, alpha: number, beta: number): void;
  sfsUnpad(blk: number, stride: number, P: number, S: number, out: number): void;
  sfsStiffness(act: number, cw: number, cu: number, cv: number, n: number, out: number): number;
  sfsRestrict(S: number, act: number, cw: number, cu: number, cv: number, cr: number, dact: number, dw: number, du: number, dv: number, dr: number): void;
  sfsProlong(h: number, C: number, out: number, at0: number, at1: number, frac: number): void;
  chromaSums(mean: number, W: number, n: number, table: number, steps: number, cr: number, cb: number, sr: number, sb: number, sw: number): void;
  chromaGate(W: number, n: number, cr: number, cb: number, sr: number, sb: number, sw: number, e0: number, e1: number): void;
  albedoRatios(I: number, s0: number, w: number, n: number, num: number, den: number): void;
  albedoResiduals(I: number, s0: number, W0: number, num: number, den: number, rho: number, r: number, W: number, n: number): number;
  toBytes(src: number, dst: number, n: number): void;
}

const memory = new WebAssembly.Memory({ initial: 1 });

const compileStart = performance.now();
export const kernels = await (async (): Promise<KernelExports> => {
  const wabt = await wabtInit();
  const out: Record<string, unknown> = {};
  for (const file of ['box-sum.wat', 'gain-field.wat', 'sfs-cg.wat', 'sfs-setup.wat', 'detail-maps.wat', 'albedo-residual.wat', 'bytes.wat']) {
    const parsed = wabt.parseWat(file, readFileSync(new URL(`./${file}`, import.meta.url), 'utf8'), { simd: true });
    try {
      parsed.validate();
      const { buffer } = parsed.toBinary({});
      Object.assign(out, new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(buffer)), { env: { memory } }).exports);
    } finally {
      parsed.destroy();
    }
  }
  return out as unknown as KernelExports;
})();

/** Milliseconds this process spent starting wabt and compiling the kernels at import (start-up cost, for the benches). */
export const kernelsCompileMs = performance.now() - compileStart;

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** Byte offsets for `sizes` (bytes each) laid out from 0, 16-byte aligned; the memory grown to hold them. */
export function layout(...sizes: number[]): number[] {
  const offsets: number[] = [];
  let end = 0;
  for (const s of sizes) {
    offsets.push(end);
    end += align16(s);
  }
  const have = memory.buffer.byteLength;
  if (end > have) memory.grow(Math.ceil((end - have) / 65536));
  return offsets;
}

/** The memory's current buffer (a grow replaces it: take it after layout()). */
export const buffer = () => memory.buffer;

/**
 * boxSums' kernel (box-filter.ts has the contract): `passes` times over each of the S x S grids in
 * `planes`, in place, radius r with 2r + 1 <= S. The same sums as the JavaScript running sums, bit for
 * bit. The planes are copied in once and out once for all their passes (a blur of a numerator and its
 * weights is 4-6 passes over 2-3 planes: one copy each way instead of one per pass).
 */
export function boxSumKernel(planes: readonly Float32Array[], S: number, r: number, passes = 1): void {
  checkBoxRadius(r, S);
  const n = S * S, np = planes.length;
  const [A, SCRATCH] = layout(4 * n * np, boxScratchBytes(S));
  const mem = buffer();
  const at = planes.map((_, p) => A + 4 * n * p);
  planes.forEach((plane, p) => new Float32Array(mem, at[p], n).set(plane.subarray(0, n)));
  blurResident(at, S, r, passes, SCRATCH);
  planes.forEach((plane, p) => plane.set(new Float32Array(mem, at[p], n)));
}

/** box-sum.wat's scratch for an S x S grid, each part 16-byte aligned: tmp (S * S f32), acc (S f64), zero and sink (S f32 each). */
const boxScratchParts = (S: number) => [align16(4 * S * S), align16(8 * S), align16(4 * S), align16(4 * S)];
const boxScratchBytes = (S: number) => boxScratchParts(S).reduce((a, b) => a + b, 0);

function checkBoxRadius(r: number, S: number): void {
  if (!(r >= 0 && 2 * r + 1 <= S)) throw new RangeError(`box sums: radius ${r} needs a window 2r + 1 within the grid's ${S}`);
}

/**
 * box-sum.wat `passes` times over each S x S f32 plane at the byte offsets `planes` (pass by pass, plane
 * by plane), with `scratch` (boxScratchBytes(S), 16-byte aligned) for its temporaries: the blur every
 * kernel here runs over planes already resident in the memory. Precondition: checkBoxRadius(r, S).
 */
function blurResident(planes: readonly number[], S: number, r: number, passes: number, scratch: number): void {
  const [tmp, acc, zero] = boxScratchParts(S);
  const T = scratch, ACC = T + tmp, ZERO = ACC + acc, SINK = ZERO + zero;
  new Float32Array(buffer(), ZERO, S).fill(0);
  for (let pass = 0; pass < passes; pass++) for (const at of planes) kernels.boxSum(at, T, ACC, ZERO, SINK, S, r);
}

/**
 * detailMaps' kernel (detail-maps.ts has the contract): the normal and displacement maps (RGB bytes,
 * size x size, written into `normal` and `displacement`) from three S x S planes bilinearly upsampled
 * with bilinearTaps(S, size). Preconditions: size % 4 == 0, S <= size.
 */
export function detailMapsKernel(o: { nx: Float32Array; ny: Float32Array; height: Float32Array; S: number; size: number; taps: BilinearTaps; dScale: number; normal: Uint8Array; displacement: Uint8Array }): void {
  const { S, size, taps } = o;
  if (size % 4 !== 0 || S > size) throw new Error(`detailMapsKernel: size ${size} must be a multiple of 4 and at least the grid's ${S}`);
  const n = S * S, bytes = 3 * size * size;
  const [P, AT0, AT1, FR, WIDE, ND, DD, RUNS] = layout(12 * n, 4 * size, 4 * size, 4 * size + 16, 12 * S * size + 16, bytes + 16, bytes + 16, 4 * taps.runs.length);
  const mem = buffer();
  const planes = new Float32Array(mem, P, 3 * n);
  planes.set(o.nx.subarray(0, n), 0);
  planes.set(o.ny.subarray(0, n), n);
  planes.set(o.height.subarray(0, n), 2 * n);
  new Int32Array(mem, AT0, size).set(taps.at0);
  new Int32Array(mem, AT1, size).set(taps.at1);
  new Float32Array(mem, FR, size).set(taps.frac);
  new Int32Array(mem, RUNS, taps.runs.length).set(taps.runs);
  kernels.detailMaps(P, S, size, AT0, AT1, FR, WIDE, o.dScale, ND, DD, RUNS, taps.runs.length);
  o.normal.set(new Uint8Array(mem, ND, bytes));
  o.displacement.set(new Uint8Array(mem, DD, bytes));
}

/**
 * The shading detail's chroma gate and smooth albedo (shading-detail.ts has the method and the
 * contracts: gateByChroma, smoothAlbedoResidual), on the S x S working grid with every plane resident
 * in the memory, the blurs box-sum.wat's (radius r, 2r + 1 <= S). `weight` is the evidence weight and
 * is gated in place (as gateByChroma did); `mean` the block means (sRGB, 3 per texel), `I` the linear
 * luminance, `s0` the coarse shading. The same values as the JavaScript had, bit for bit.
 */
export function chromaAlbedoKernel(o: { weight: Float32Array; mean: Float32Array; I: Float32Array; s0: Float32Array; S: number; radius: number; chromaGate: boolean; chromaEdge: readonly [number, number]; logTable: { readonly table: Float64Array; readonly steps: number } }): { albedo: Float32Array; residual: Float32Array; weight: Float32Array; evidenceTexels: number } {
  const { S, radius: r } = o, n = S * S;
  checkBoxRadius(r, S);
  const q = 4 * n;
  const [MEAN, I, S0, W0, CR, CB, SR, SB, SW, W, NUM, DEN, RHO, R, SCRATCH, TABLE] = layout(3 * q, q, q, q, q, q, q, q, q, q, q, q, q, q, boxScratchBytes(S), 8 * o.logTable.table.length);
  const mem = buffer();
  new Float32Array(mem, MEAN, 3 * n).set(o.mean.subarray(0, 3 * n));
  new Float32Array(mem, I, n).set(o.I.subarray(0, n));
  new Float32Array(mem, S0, n).set(o.s0.subarray(0, n));
  new Float32Array(mem, W0, n).set(o.weight.subarray(0, n));
  for (const at of [CR, CB, SR, SB, SW, RHO, R]) new Float32Array(mem, at, n).fill(0);
  if (o.chromaGate) {
    new Float64Array(mem, TABLE, o.logTable.table.length).set(o.logTable.table);
    kernels.chromaSums(MEAN, W0, n, TABLE, o.logTable.steps, CR, CB, SR, SB, SW);
    // Two passes (a tent): an outlier test needs the neighbourhood's level, not a smooth field.
    blurResident([SR, SB, SW], S, r, 2, SCRATCH);
    kernels.chromaGate(W0, n, CR, CB, SR, SB, SW, o.chromaEdge[0], o.chromaEdge[1]);
    o.weight.set(new Float32Array(mem, W0, n));
  }
  new Float32Array(mem, W, n).set(new Float32Array(mem, W0, n));
  let evidenceTexels = 0;
  for (let round = 0; round < 2; round++) {
    kernels.albedoRatios(I, S0, round === 0 ? W0 : W, n, NUM, DEN);
    blurResident([NUM, DEN], S, r, 3, SCRATCH);
    evidenceTexels = kernels.albedoResiduals(I, S0, W0, NUM, DEN, RHO, R, W, n);
  }
  return { albedo: new Float32Array(mem, RHO, n).slice(), residual: new Float32Array(mem, R, n).slice(), weight: new Float32Array(mem, W, n).slice(), evidenceTexels };
}

/**
 * slopeNormals' kernel (detail-maps.ts has the definition): the tangent-space normal's x and y per
 * chart texel of the S x S working grid (its texel map `map`) for n0 - grad h, e the blend of the
 * per-vertex `lu` / `lv` (mm per working texel) over `indices`' triangles; 0 elsewhere. Also max |h| over
 * the chart (`active`). The same values as detail-maps.ts's JavaScript had, bit for bit.
 */
export function slopeNormalsKernel(o: { height: Float32Array; active: Uint8Array; S: number; map: Pick<TexelMap, 'texels' | 'triangle' | 'b1' | 'b2'>; indices: Uint32Array; lu: Float32Array; lv: Float32Array }): { nx: Float32Array; ny: Float32Array; maxAbs: number } {
  const { S, map } = o, n = S * S, m = map.texels.length;
  const [H, ACT, TX, TR, B1, B2, IDX, LU, LV, NX, NY] = layout(4 * n, n, 4 * m, 4 * m, 4 * m, 4 * m, 4 * o.indices.length, 4 * o.lu.length, 4 * o.lv.length, 4 * n, 4 * n);
  const mem = buffer();
  new Float32Array(mem, H, n).set(o.height.subarray(0, n));
  new Uint8Array(mem, ACT, n).set(o.active.subarray(0, n));
  new Int32Array(mem, TX, m).set(map.texels);
  new Int32Array(mem, TR, m).set(map.triangle);
  new Float32Array(mem, B1, m).set(map.b1);
  new Float32Array(mem, B2, m).set(map.b2);
  new Uint32Array(mem, IDX, o.indices.length).set(o.indices);
  new Float32Array(mem, LU, o.lu.length).set(o.lu);
  new Float32Array(mem, LV, o.lv.length).set(o.lv);
  new Float32Array(mem, NX, n).fill(0);
  new Float32Array(mem, NY, n).fill(0);
  const maxAbs = kernels.slopeNormals(H, ACT, S, TX, TR, B1, B2, m, IDX, LU, LV, NX, NY);
  return { nx: new Float32Array(mem, NX, n).slice(), ny: new Float32Array(mem, NY, n).slice(), maxAbs };
}

/**
 * albedo.ts limitLocalLift's kernel (albedo.ts has the contract): on the G x G grid, each chart texel's
 * (weight > 0) log gains (3 per texel, in place) capped at max(0, their neighbourhood's mean + spike),
 * the mean the box sums (radius r, 2r + 1 <= G, `passes` times, box-sum.wat) of the chart's log gains
 * over `den`, the chart indicator blurred alike. The same values as the JavaScript had, bit for bit.
 */
export function liftCutKernel(o: { logGain: Float32Array; weight: Float32Array; den: Float32Array; G: number; radius: number; passes: number; spike: number }): void {
  const { G, radius: r } = o, n = G * G, q = 4 * n;
  checkBoxRadius(r, G);
  const [LG, W, DEN, S0, S1, S2, SCRATCH] = layout(3 * q, q, q, q, q, q, boxScratchBytes(G));
  const mem = buffer();
  new Float32Array(mem, LG, 3 * n).set(o.logGain.subarray(0, 3 * n));
  new Float32Array(mem, W, n).set(o.weight.subarray(0, n));
  new Float32Array(mem, DEN, n).set(o.den.subarray(0, n));
  for (const at of [S0, S1, S2]) new Float32Array(mem, at, n).fill(0);
  kernels.liftSplit(LG, W, n, S0, S1, S2);
  blurResident([S0, S1, S2], G, r, o.passes, SCRATCH);
  kernels.liftCap(LG, W, DEN, n, S0, S1, S2, o.spike);
  o.logGain.set(new Float32Array(mem, LG, 3 * n));
}

/**
 * gainField's kernel (albedo.ts has the contract): `dst` = `src` (RGB bytes, size x size) through
 * `table` (256 columns per row) at each texel's row, the bilinear upsampling of `gain` (three table rows
 * per texel of a G x G grid) with the given taps. The same bytes as albedo.ts's JavaScript had. With
 * `rows`, `gain` holds log gains and each becomes its row first, (clamp(g + offset, -limit, limit) +
 * limit) / step, as albedo.ts had computed them in JavaScript.
 */
export function gainFieldKernel(o: { src: Uint8Array; dst: Uint8Array; size: number; gain: Float32Array; G: number; taps: BilinearTaps; table: Uint8Array; rows?: { offset: number; limit: number; step: number } }): void {
  const { size, G, taps } = o;
  const bytes = 3 * size * size;
  const [SRC, DST, GAIN, AT0, AT1, FR, RUNS, TABLE, ROW, IDX] = layout(bytes, bytes, 12 * G * G, 4 * size, 4 * size, 4 * size + 8, 4 * taps.runs.length, o.table.length, 12 * G, 12 * (size + 4));
  const mem = buffer();
  new Uint8Array(mem, SRC, bytes).set(o.src.subarray(0, bytes));
  new Float32Array(mem, GAIN, 3 * G * G).set(o.gain.subarray(0, 3 * G * G));
  new Int32Array(mem, AT0, size).set(taps.at0);
  new Int32Array(mem, AT1, size).set(taps.at1);
  new Float32Array(mem, FR, size).set(taps.frac);
  new Int32Array(mem, RUNS, taps.runs.length).set(taps.runs);
  new Uint8Array(mem, TABLE, o.table.length).set(o.table);
  if (o.rows) kernels.gainRows(GAIN, 3 * G * G, o.rows.offset, o.rows.limit, o.rows.step);
  kernels.gainField(SRC, DST, size, GAIN, G, AT0, AT1, FR, RUNS, taps.runs.length, TABLE, ROW, IDX);
  o.dst.set(new Uint8Array(mem, DST, bytes));
}

/**
 * toBytes' kernel (uv-grid.ts toRgbImage has the contract): `out[i]` = the byte a Uint8ClampedArray
 * store of `src[i]` gives (round half to even, clamped, NaN to 0), the same bytes as that store. A
 * 1024 tile's 3M values: ~19 ms through the store in V8, a few through the copy in and the kernel.
 */
export function floatsToBytesKernel(src: Float32Array, out: Uint8Array): void {
  const n = src.length;
  if (out.length < n) throw new RangeError(`toBytes: ${out.length} bytes for ${n} values`);
  const [S, D] = layout(4 * n, n);
  const mem = buffer();
  new Float32Array(mem, S, n).set(src);
  kernels.toBytes(S, D, n);
  out.set(new Uint8Array(mem, D, n));
}
