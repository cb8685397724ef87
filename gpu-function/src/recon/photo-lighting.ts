/**
 * The photo's lighting on the UV texture: sh-fit.ts's estimate applied to baked texels, with each
 * texel's surface normal interpolated from the fitted mesh and turned into the camera frame. The albedo
 * that divides it out is albedo.ts.
 */
import type { Mat3 } from './linalg';
import { estimateShLighting } from './sh-fit';
import type { ShLighting } from './sh-lighting';
import { centreOffsets, type TexelMap } from './texel-map';

export interface PhotoLighting extends ShLighting {
  /** Texels the estimate used, and the share of them the robust fit kept as skin under smooth light. */
  samples: number;
  inlierShare: number;
  /** RMS relative residual over the inliers. */
  rmsResidual: number;
  /** Set when the albedo was made: texture = albedo * max(shade_c(n), shadingFloor[c]) / albedoReference[c], linear light (albedo.ts albedoTexture). */
  albedoReference?: [number, number, number];
  shadingFloor?: [number, number, number];
  /**
   * Every other mirrored pair of `grid`'s chart texels (the sample raster) that the photo saw clearly on
   * both sides (4-8k on a 1024 face: plenty for a ratio of sums, at half the cost), left texel then right,
   * as chart indices: albedo-floor.ts picks the shading floor by them. Internal, not published.
   */
  mirrorPairs?: { grid: TexelMap; texels: Int32Array };
}

/** Normals (unit, camera frame: x right, y up, z towards the viewer) at chart texels `ks` of `map`. */
export function texelNormals(map: TexelMap, indices: Uint32Array, vertexNormals: Float32Array, rotation: Mat3, ks: ArrayLike<number>): Float32Array {
  const out = new Float32Array(ks.length * 3);
  const R = rotation;
  for (let j = 0; j < ks.length; j++) {
    const k = ks[j];
    const t = 3 * map.triangle[k];
    const a = 3 * indices[t], b = 3 * indices[t + 1], c = 3 * indices[t + 2];
    const w1 = map.b1[k], w2 = map.b2[k], w0 = 1 - w1 - w2;
    const hx = w0 * vertexNormals[a] + w1 * vertexNormals[b] + w2 * vertexNormals[c];
    const hy = w0 * vertexNormals[a + 1] + w1 * vertexNormals[b + 1] + w2 * vertexNormals[c + 1];
    const hz = w0 * vertexNormals[a + 2] + w1 * vertexNormals[b + 2] + w2 * vertexNormals[c + 2];
    const x = R[0] * hx + R[1] * hy + R[2] * hz;
    const y = R[3] * hx + R[4] * hy + R[5] * hz;
    const z = R[6] * hx + R[7] * hy + R[8] * hz;
    const len = Math.sqrt(x * x + y * y + z * z) || 1;
    out[3 * j] = x / len;
    out[3 * j + 1] = y / len;
    out[3 * j + 2] = z / len;
  }
  return out;
}

/**
 * Per chart texel k of `map`, its mirror across the vertical midline (x -> size - 1 - x): the mirror's
 * chart index for a left-half texel, -2 - index for a right-half one, -1 when the mirror is off the
 * chart or the texel is on the midline. Cached per map (the charts are built once per size).
 */
const mirrorCache = new WeakMap<TexelMap, Int32Array>();
function mirrorTexels(map: TexelMap): Int32Array {
  const cached = mirrorCache.get(map);
  if (cached) return cached;
  const { texels, size } = map;
  const kOf = new Int32Array(size * size).fill(-1);
  for (let k = 0; k < texels.length; k++) kOf[texels[k]] = k;
  const out = new Int32Array(texels.length).fill(-1);
  for (let k = 0; k < texels.length; k++) {
    const t = texels[k], x = t % size, mx = size - 1 - x;
    const m = kOf[t - x + mx];
    if (m < 0 || mx === x) continue;
    out[k] = x < mx ? m : -2 - m;
  }
  mirrorCache.set(map, out);
  return out;
}

/**
 * directionBalanceWeights: a weight per sample (unit normals, n x 3) inversely proportional to how many
 * samples share its direction, so that the lighting fit sees every seen direction of the sphere about
 * equally rather than in proportion to the face's area. The lighting is a function on the sphere of
 * normals, and a face's area is mostly frontal (cheeks, forehead): weighted by area, the few steep
 * samples (the nose's sides, the eye sockets, the jaw) are badly fitted, look like outliers to the
 * robust reweighting and lose their weight, and the fit's falloff towards them is extrapolated from the
 * frontal ones. Divided by that too-steep falloff, the albedo's nose glowed. On a synthetic frontal
 * light (test/recon/direction-balance.test.ts) the shading error on steep normals falls 5.6% -> 0.7%.
 * Directions are binned on a BALANCE_BINS x BALANCE_BINS grid over (n_x, n_y) and a weight is capped at
 * BALANCE_CAP times the mean, so a lone steep sample does not steer the fit. On bench:lighting:
 * relighting median 38.9 -> 40.6 dB (fewer lift cuts), side-lit photos flat within 5% 24 -> 23 of 27.
 */
const BALANCE_BINS = 8;
const BALANCE_CAP = 8;
export function directionBalanceWeights(normals: Float32Array): Float32Array {
  const n = normals.length / 3;
  const B = BALANCE_BINS;
  const count = new Float32Array(B * B);
  for (let j = 0; j < n; j++) count[balanceBin(normals, j)]++;
  let occupied = 0;
  for (const c of count) if (c > 0) occupied++;
  const w = new Float32Array(n);
  for (let j = 0; j < n; j++) w[j] = Math.min(BALANCE_CAP, n / occupied / count[balanceBin(normals, j)]);
  return w;
}

function balanceBin(normals: Float32Array, j: number): number {
  const B = BALANCE_BINS;
  return Math.min(B - 1, Math.floor(((normals[3 * j] + 1) / 2) * B)) * B + Math.min(B - 1, Math.floor(((normals[3 * j + 1] + 1) / 2) * B));
}

// The candidate scans are functions of their own, for V8's sake (see detail-maps.ts).

/** Bake weight of a clearly seen texel. */
const CLEAR = 0.8;

function countClear(weight: Float32Array, at: Int32Array): number {
  let clear = 0;
  for (let k = 0; k < at.length; k++) if (weight[at[k]] >= CLEAR) clear++;
  return clear;
}

/**
 * Every `stride`-th clear pair (left texel, mirror) and every `stride`-th clear single texel, as
 * candidate indices; and every other clear pair, as chart indices.
 */
function pickSamples(weight: Float32Array, at: Int32Array, mirror: Int32Array | undefined, stride: number): { picked: number[]; pairList: number[]; allPairs: number[] } {
  const picked: number[] = [];
  const pairList: number[] = [];
  const allPairs: number[] = [];
  for (let k = 0, cPair = 0, cSingle = 0; k < at.length; k++) {
    if (weight[at[k]] < CLEAR) continue;
    const m = mirror ? mirror[k] : -1;
    if (m >= 0 && weight[at[m]] >= CLEAR) {
      if ((cPair & 1) === 0) allPairs.push(k, m);
      if (cPair++ % stride === 0) {
        pairList.push(picked.length, picked.length + 1);
        picked.push(k, m);
      }
    } else if (m < -1 && weight[at[-2 - m]] >= CLEAR) continue; // a right-half texel: sampled with its left twin
    else if (cSingle++ % stride === 0) picked.push(k);
  }
  return { picked, pairList, allPairs };
}

/** Fewest samples the lighting is estimated from (see estimatePhotoLighting). */
const MIN_LIGHTING_SAMPLES = 50;

/** One mirrored pair's row against one sample's: 1 / 3 / 10 gave 22 / 24 / 23 of 27 side-lit photos flat within 5% (bench:lighting). */
const PAIR_WEIGHT = 3;

/**
 * estimatePhotoLighting: second-order SH lighting per channel (sh-fit.ts, Kemelmacher-Shlizerman
 * & Basri's constant-albedo estimate with robust reweighting) from the texels the photo saw clearly
 * (bake weight >= 0.8), at most `maxSamples` of them evenly strided: the 9 x 9 normal equations need
 * thousands, not the ~600k a 1024 bake has. Eyes, brows, lips, hair and highlights are outliers of a
 * smooth skin albedo and are down-weighted by the fit. Frame: the camera's (x right, y up, z towards
 * the viewer), so `sh` says where the light came from in the photo. Undefined when fewer than
 * MIN_LIGHTING_SAMPLES candidates were seen clearly or their normals do not determine the lighting.
 *
 * `sampleMap` (optional): a coarser raster of the same chart to draw the candidates from, each read at
 * its centre in the bake (the service passes a quarter-size one: a sixteenth of the scan).
 * `mirrorU`: the chart is mirror-symmetric about its vertical midline (the face tile). Texels seen
 * clearly on both sides are then sampled as mirrored pairs and the fit adds sh-fit.ts's
 * symmetric-albedo rows (PAIR_WEIGHT each): side-lit photos whose albedo is within 5% of flat, 20 -> 24
 * of 27 on the shared photos (bench:lighting).
 */
export function estimatePhotoLighting(opts: { color: Float32Array; weight: Float32Array; map: TexelMap; sampleMap?: TexelMap; indices: Uint32Array; normals: Float32Array; rotation: Mat3; maxSamples?: number; mirrorU?: boolean }): PhotoLighting | undefined {
  const { color, weight, map } = opts;
  // Candidates: the chart texels of `sampleMap` (a coarser raster of the same chart: the fit needs
  // ~1500 samples, not a scan of the ~700k a 1024 bake has), each read at its centre in the bake.
  const grid = opts.sampleMap ?? map;
  const at = centreOffsets(grid, map.size);
  // On a mirror-symmetric chart, texels whose mirror was seen clearly too are sampled as pairs from the
  // left half, for the fit's symmetric-albedo term; the rest singly, at the same stride.
  const mirror = opts.mirrorU ? mirrorTexels(grid) : undefined;
  // The fit has 9 unknowns per channel and a robust scale to estimate: fewer clear candidates than this
  // (a face seen only at its edge) give no lighting worth publishing, and the SH fit can refuse them.
  const clear = countClear(weight, at);
  if (clear < MIN_LIGHTING_SAMPLES) return undefined;
  const stride = Math.max(1, Math.ceil(clear / (opts.maxSamples ?? 1500)));
  const { picked, pairList, allPairs } = pickSamples(weight, at, mirror, stride);
  const ks = Int32Array.from(picked);
  const colors = new Float32Array(ks.length * 3);
  for (let j = 0; j < ks.length; j++) {
    const o = 3 * at[ks[j]];
    colors[3 * j] = color[o];
    colors[3 * j + 1] = color[o + 1];
    colors[3 * j + 2] = color[o + 2];
  }
  const normals = texelNormals(grid, opts.indices, opts.normals, opts.rotation, ks);
  // Huber throughout, no redescending phase: on real faces Tukey's zero weights fell on the shadow side's
  // texels, where the Lambertian model fits worst, and the fit followed the lit side alone; dividing by it
  // over-corrected the shadow side (side-lit photos within 5% of flat: 18 of 27 with Tukey, 20 with Huber
  // only, bench:lighting). Eyes, brows and lips still get bounded influence.
  const weights = directionBalanceWeights(normals);
  let fit: ReturnType<typeof estimateShLighting>;
  try {
    fit = estimateShLighting({ colors, normals, weights, redescend: false, pairs: pairList.length ? Int32Array.from(pairList) : undefined, pairWeight: PAIR_WEIGHT });
  } catch (e) {
    // Normals that do not determine the lighting (all seen samples facing one way): no lighting, not a failed request.
    if (e instanceof RangeError) return undefined;
    throw e;
  }
  let kept = 0;
  for (let j = 0; j < fit.inlierWeights.length; j++) if (fit.inlierWeights[j] > 0.5) kept++;
  return { sh: fit.sh, samples: ks.length, inlierShare: kept / ks.length, rmsResidual: fit.rmsResidual, mirrorPairs: allPairs.length ? { grid, texels: Int32Array.from(allPairs) } : undefined };
}
