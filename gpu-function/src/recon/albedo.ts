/**
 * The face's albedo on the UV texture: the texture divided by the photo's estimated lighting
 * (photo-lighting.ts) as a smooth per-channel gain field, with the exposure that keeps it in 8 bits
 * and the limits that keep the model's errors out of it.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { bilinearTaps } from './bilinear-taps';
import { boxSums } from './box-filter';
import { pushPullFill } from './complete';
import type { Mat3 } from './linalg';
import { selectKth } from './select';
import { gainFieldKernel, liftCutKernel } from './simd/kernels';
import { shIrradianceBasis, type ShLighting } from './sh-lighting';
import { linearToSrgbFast as toSrgb, srgbToLinearFast as toLinear } from './srgb';
import { centreOffsets, type TexelMap } from './texel-map';
import type { PhotoLighting } from './photo-lighting';
import { MIN_SHADING_RATIO, symmetricFloorRatio } from './albedo-floor';

/**
 * albedoTexture: the texture divided by the estimated shading, in linear light with the brightness
 * kept (colour * ref / max(shade, floorRatio * ref), ref the mean shading over the chart texels the
 * camera faces, weighted by v below), where the camera saw the surface, fading to the texture as it was
 * past the silhouette. A side-lit face's shadowed side comes out as bright as its lit side. floorRatio
 * is MIN_SHADING_RATIO unless the lighting brings the mirrored pairs it was fitted on (`mirrorPairs`,
 * on `gainMap`'s raster): then symmetricFloorRatio sets it per photo.
 * Why ref over the facing texels, not the whole chart: past the silhouette the SH shading is an
 * extrapolation (often near zero or negative, and with its own colour), and a full head's face tile
 * reaches round the sides and under the jaw. Averaged over the whole chart, that drew ref far below the
 * seen face's shading and off its colour: the full head's albedo came out with a grey face (lacamoire_2:
 * forehead texture 233,196,187 -> albedo 87,79,80; over the facing texels 139,111,104, as the default
 * model's 150,118,108), while the default model's mostly facing chart moved by a level.
 *
 * The division is a per-channel gain g = (ref / shade)^v (v = smoothstep(0.1, 0.45, n_z), the bake's
 * facing weight: g = 1 where the camera did not see the surface). Order-2 shading is smooth in the
 * normal, so g is computed on `gainMap`'s coarser grid (a quarter of the texture's size), filled
 * outside the chart by push-pull in log space (so the albedo continues seamlessly into the gutter the
 * way the texture does), and bilinearly upsampled: at 1024 that is 65k shading evaluations and a
 * 256-texel push-pull instead of 1M and a 1024 one, within a fraction of a percent of the per-texel
 * value.
 *
 * Exposure: lifting a bright face's shadowed side can take it past white, and 8 bits would clip it (a
 * fair face lit from one side lost 12 dB of relighting fidelity to clipping). The whole albedo is then
 * scaled down by one factor k <= 1 so that ALBEDO_HEADROOM_QUANTILE of the seen texels stay below white.
 * `reference` and `floor` say how to relight it: in linear light, texture = albedo * max(shade_c(n),
 * floor_c) / reference_c, with shade the SH shading, reference_c = k * ref_c and floor_c =
 * floorRatio * ref_c (result.json's `lighting.albedo_reference` and `shading_floor`).
 */
export function albedoTexture(opts: { texture: RgbImage; gainMap: TexelMap; indices: Uint32Array; normals: Float32Array; rotation: Mat3; lighting: ShLighting & Pick<PhotoLighting, 'mirrorPairs'> }): { albedo: RgbImage; reference: [number, number, number]; floor: [number, number, number] } {
  const { texture, gainMap, indices, normals: vn, rotation: R, lighting } = opts;
  const size = texture.width;
  const G = gainMap.size;
  const { texels, triangle, b1, b2 } = gainMap;
  // Shading and facing per vertex, interpolated per coarse texel like the bake's facing.
  const nv = vn.length / 3;
  const vShade = new Float32Array(nv * 3);
  const vFacing = new Float32Array(nv);
  vertexShadeAndFacing(vn, R, lighting.sh, vShade, vFacing);
  const shade = new Float32Array(texels.length * 3);
  const facing = new Float64Array(texels.length);
  const fade = new Float64Array(texels.length);
  const ref = texelShadeAndFacing(texels.length, triangle, b1, b2, indices, vShade, vFacing, shade, facing, fade);
  // The floor, by the photo's mirrored skin when the lighting fit sampled it on this grid.
  const pairs = lighting.mirrorPairs?.grid === gainMap ? lighting.mirrorPairs.texels : undefined;
  const floorRatio = pairs ? symmetricFloorRatio({ texture, gainMap, facing, shade, ref, pairs }) : MIN_SHADING_RATIO;
  const logGain = new Float32Array(G * G * 3);
  const weight = new Float32Array(G * G);
  texelLogGains(texels, fade, shade, ref, floorRatio, logGain, weight);
  limitLocalLift(logGain, weight, G, chartDensity(gainMap));
  const logK = Math.min(0, -Math.log(headroomQuantile(texture, gainMap, logGain)));
  pushPullFill(logGain, weight, G);
  const img = createRgbImage(size, size);
  applyGainField(texture.data, img.data, size, logGain, logK, G);
  const k = Math.exp(logK);
  return { albedo: img, reference: [k * ref[0], k * ref[1], k * ref[2]], floor: [floorRatio * ref[0], floorRatio * ref[1], floorRatio * ref[2]] };
}

// albedoTexture's passes are functions of their own, for V8's sake (see detail-maps.ts).

function vertexShadeAndFacing(vn: Float32Array, R: Mat3, sh: Float64Array, vShade: Float32Array, vFacing: Float32Array): void {
  const basis = new Float64Array(9);
  for (let v = 0; v < vFacing.length; v++) {
    const hx = vn[3 * v], hy = vn[3 * v + 1], hz = vn[3 * v + 2];
    const x = R[0] * hx + R[1] * hy + R[2] * hz, y = R[3] * hx + R[4] * hy + R[5] * hz, z = R[6] * hx + R[7] * hy + R[8] * hz;
    const len = Math.sqrt(x * x + y * y + z * z) || 1;
    shIrradianceBasis(x / len, y / len, z / len, basis);
    for (let ch = 0; ch < 3; ch++) {
      let s = 0;
      for (let q = 0; q < 9; q++) s += sh[9 * ch + q] * basis[q];
      vShade[3 * v + ch] = s;
    }
    vFacing[v] = z / len;
  }
}

/**
 * Per chart texel k < n, the vertex shading and facing (n_z) interpolated, and the division's fade
 * v = smoothstep(0.1, 0.45, n_z); returns the shading's per-channel mean weighted by v.
 */
function texelShadeAndFacing(n: number, triangle: Int32Array, b1: Float32Array, b2: Float32Array, indices: Uint32Array, vShade: Float32Array, vFacing: Float32Array, shade: Float32Array, facing: Float64Array, fade: Float64Array): [number, number, number] {
  let r0 = 0, r1 = 0, r2 = 0, rw = 0;
  for (let k = 0; k < n; k++) {
    const t = 3 * triangle[k];
    const va = indices[t], vb = indices[t + 1], vc = indices[t + 2];
    const a = 3 * va, b = 3 * vb, c = 3 * vc;
    const w1 = b1[k], w2 = b2[k], w0 = 1 - w1 - w2;
    facing[k] = w0 * vFacing[va] + w1 * vFacing[vb] + w2 * vFacing[vc];
    const s0 = w0 * vShade[a] + w1 * vShade[b] + w2 * vShade[c];
    const s1 = w0 * vShade[a + 1] + w1 * vShade[b + 1] + w2 * vShade[c + 1];
    const s2 = w0 * vShade[a + 2] + w1 * vShade[b + 2] + w2 * vShade[c + 2];
    shade[3 * k] = s0;
    shade[3 * k + 1] = s1;
    shade[3 * k + 2] = s2;
    const f = facing[k];
    const u = f <= 0.1 ? 0 : f >= 0.45 ? 1 : (f - 0.1) / 0.35;
    const v = (fade[k] = u * u * (3 - 2 * u));
    r0 += v * s0;
    r1 += v * s1;
    r2 += v * s2;
    rw += v;
  }
  return rw > 0 ? [r0 / rw, r1 / rw, r2 / rw] : [0, 0, 0];
}

/**
 * Per chart texel of the gain grid, log(ref / max(shade, floorRatio ref)) faded by the facing weight v
 * (`fade`), and weight 1.
 */
function texelLogGains(texels: Int32Array, fade: Float64Array, shade: Float32Array, ref: number[], floorRatio: number, logGain: Float32Array, weight: Float32Array): void {
  // The channels unrolled, their reference and floor hoisted: the same arithmetic per value.
  const r0 = ref[0], r1 = ref[1], r2 = ref[2];
  const f0 = floorRatio * r0, f1 = floorRatio * r1, f2 = floorRatio * r2;
  for (let k = 0; k < texels.length; k++) {
    // Only where the camera saw the surface: the lighting was fitted on the front hemisphere, and past
    // the silhouette its extrapolated shading means nothing (the completion has already matched the
    // unseen side to the seen side's light at their border).
    const v = fade[k];
    weight[texels[k]] = 1;
    // Unseen (v = 0): the log gain stays 0, and the three logarithms are not needed.
    if (v === 0) continue;
    const o = 3 * texels[k];
    const s0 = shade[3 * k], s1 = shade[3 * k + 1], s2 = shade[3 * k + 2];
    if (r0 > 0) logGain[o] = v * Math.log(r0 / (s0 > f0 ? s0 : f0));
    if (r1 > 0) logGain[o + 1] = v * Math.log(r1 / (s1 > f1 ? s1 : f1));
    if (r2 > 0) logGain[o + 2] = v * Math.log(r2 / (s2 > f2 ? s2 : f2));
  }
}

/**
 * The ALBEDO_HEADROOM_QUANTILE quantile, over the gain grid's chart texels, of the brightest channel of
 * texture * gain in linear light (1 = white), the texture sampled at each coarse texel's centre.
 */
const ALBEDO_HEADROOM_QUANTILE = 0.99;
function headroomQuantile(texture: RgbImage, gainMap: TexelMap, logGain: Float32Array): number {
  const { texels } = gainMap;
  const centres = centreOffsets(gainMap, texture.width);
  // In log space, where the gain is a sum and exp is monotonic: one exp for the quantile instead of three per texel.
  const vals = new Float64Array(texels.length);
  for (let k = 0; k < texels.length; k++) {
    const i = texels[k];
    const o = 3 * centres[k];
    const r = LOG_LINEAR[texture.data[o]] + logGain[3 * i], g = LOG_LINEAR[texture.data[o + 1]] + logGain[3 * i + 1], b = LOG_LINEAR[texture.data[o + 2]] + logGain[3 * i + 2];
    vals[k] = r > g ? (r > b ? r : b) : g > b ? g : b;
  }
  if (vals.length === 0) return 1;
  return Math.exp(selectKth(vals, Math.min(vals.length - 1, Math.floor(ALBEDO_HEADROOM_QUANTILE * vals.length))));
}
/** log of each sRGB level in linear light (-Infinity for black, which then never sets the quantile). */
const LOG_LINEAR = Float64Array.from({ length: 256 }, (_, c) => Math.log(toLinear(c)));

/**
 * dst = src times the bilinearly upsampled gain field, per channel, by GAIN_TABLE: each log gain plus
 * logK becomes its table row (fractional, clamped to the table), then simd/gain-field.wat blends them
 * separably (each output row first blends its two grid rows, then each run of columns that shares two
 * cells blends them) and looks each texel up.
 */
function applyGainField(src: Uint8Array, dst: Uint8Array, size: number, logGain: Float32Array, logK: number, G: number): void {
  gainFieldKernel({ src, dst, size, gain: logGain, G, taps: bilinearTaps(G, size), table: GAIN_TABLE, rows: { offset: logK, limit: GAIN_LOG_LIMIT, step: GAIN_LOG_STEP } });
}

/**
 * No texel is lifted much more than its surroundings: a log gain may exceed the neighbourhood's mean
 * log gain (a box blur, two passes, over LIFT_RADIUS_TEXELS of the coarse grid, chart texels only) by
 * at most LIFT_SPIKE. Order-2 lighting on the fitted mesh predicts deep shade in its small concavities
 * (upper eyelids under the brow, nostrils, under the lower lip) that the photo fills with bounced light
 * the model has no term for; divided by that shade they came out as white blotches. The division's
 * smooth part, which flattens a side-lit face, passes unchanged: only spikes of the gain are cut.
 * LIFT_SPIKE 1.3 rather than 1.15: with the higher shading floor the spikes are lower, and every cut
 * texel is one where the albedo times the published shading no longer gives the texture back.
 * A least-squares plane instead of the mean as the neighbourhood's level (so that a one-sided window at
 * the chart's edge does not sit below a steep ramp) was tried: no measurable change, 4x the cost.
 * In place on the log gains of the coarse grid (weight 1 on the chart).
 */
const LIFT_SPIKE = Math.log(1.3);
const LIFT_RADIUS_TEXELS = 12;
// Split, blurred and capped in simd/gain-field.wat with the planes resident between the blurs.
function limitLocalLift(logGain: Float32Array, weight: Float32Array, G: number, den: Float32Array): void {
  liftCutKernel({ logGain, weight, den, G, radius: liftRadius(G), passes: 2, spike: LIFT_SPIKE });
}

/** LIFT_RADIUS_TEXELS, within the grid (a gain grid under 25 texels, a texture under 100, is never made). */
const liftRadius = (G: number) => Math.min(LIFT_RADIUS_TEXELS, (G - 1) >> 1);

/** The chart's indicator box-blurred as the sums are (twice): the same for every request, so kept per texel map. */
const DENSITY = new WeakMap<TexelMap, Float32Array>();
function chartDensity(map: TexelMap): Float32Array {
  let den = DENSITY.get(map);
  if (!den) {
    const G = map.size;
    den = new Float32Array(G * G);
    for (let k = 0; k < map.texels.length; k++) den[map.texels[k]] = 1;
    boxSums([den], new Float32Array(G * G), G, liftRadius(G), 2);
    DENSITY.set(map, den);
  }
  return den;
}

/**
 * sRGB value times a linear-light gain, by table: row j is the gain exp(j * GAIN_LOG_STEP -
 * GAIN_LOG_LIMIT), column the sRGB input. Steps of 0.4% in gain move an output by at most half a
 * level, below what 8 bits show. A division by shading lifts by at most 1 / MIN_SHADING_RATIO (2.5x)
 * and darkens a bright side by a few times at most, but the exposure factor k (down to a few tenths
 * on a fair, strongly side-lit face) multiplies them all: +-2.5 in log keeps both ends off the limit.
 */
const GAIN_LOG_STEP = 0.004;
const GAIN_LOG_LIMIT = 2.5;
const GAIN_TABLE = (() => {
  const rows = Math.round((2 * GAIN_LOG_LIMIT) / GAIN_LOG_STEP) + 1;
  const t = new Uint8Array(rows * 256);
  for (let j = 0; j < rows; j++) {
    const g = Math.exp(j * GAIN_LOG_STEP - GAIN_LOG_LIMIT);
    for (let c = 0; c < 256; c++) t[(j << 8) | c] = Math.min(255, Math.round(toSrgb(toLinear(c) * g)));
  }
  return t;
})();
