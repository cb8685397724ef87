/**
 * The albedo's shading floor per photo (albedo.ts divides the texture by max(shade, floor)): chosen by
 * the photo's own mirrored skin, which a face's albedo keeps nearly even left to right.
 */
import type { RgbImage } from '@facerecon/shared';
import { srgbToLinearFast as toLinear } from './srgb';
import { centreOffsets, type TexelMap } from './texel-map';

/**
 * The division's shading floor, where the photo's mirrored skin does not call for another
 * (symmetricFloorRatio): shading below this fraction of the mean is taken at it, so deep shadow is
 * lifted, not blown up. Measured on the shared photos (bench:lighting, with LIFT_SPIKE 1.3): 0.25 let the
 * model's deepest shade (a concavity, a terminator the fitted mesh puts in the wrong place) be lifted 4x
 * and cut back by limitLocalLift, so the relit albedo missed the texture there (worst photo 27 dB); 0.4
 * keeps every photo over 30 dB while still flattening all but the hardest side light (a 3.4x one).
 */
export const MIN_SHADING_RATIO = 0.4;

/**
 * symmetricFloorRatio: the shading floor (a fraction of the mean shading) for this photo: of
 * FLOOR_CANDIDATES, the one nearest MIN_SHADING_RATIO under which the albedo's mirrored skin is even
 * left to right within FLOOR_TOLERANCE, else the one that comes closest. Evenness is measured as
 * bench:lighting's flatness is: the summed linear luminance of the left texels of `pairs` (chart index
 * pairs of `gainMap`, seen clearly on both sides, left then right) over that of their mirrors, each
 * texel the texture divided by max(shade, floor), over pairs that face the camera (n_z >=
 * PAIR_MIN_FACING on both sides, where the division is not faded).
 * Why: the floor guards against the model's too-deep shade (a terminator the fitted mesh misplaces, an
 * overestimated falloff), and one value does not serve every photo. At 0.4, a face lit 3.4x from one
 * side stayed 17% off flat and two others 5-7%; a floor set from the shading's own low percentile
 * flattened those but over-lifted the photos whose falloff the fit overestimates. A face's skin albedo
 * is close to mirror-symmetric (the assumption the SH fit's pair term makes, after Zhao & Chellappa,
 * IJCV 2001), so the photo's own mirrored skin says which floor its shading supports. Staying near
 * MIN_SHADING_RATIO keeps the relation to the published lighting: a lower floor lifts more texels past
 * limitLocalLift's cut, where the albedo times the shading no longer gives the texture back.
 * Units: linear light; the floor as a fraction of `ref`. Preconditions: `shade` and `facing` per chart
 * texel (and channel) as albedo.ts's texelShadeAndFacing leaves them, `ref` its mean shading over the
 * facing texels, `pairs` mirrored across the chart's vertical midline. Returns MIN_SHADING_RATIO when no
 * pair faces the camera.
 */
export function symmetricFloorRatio(opts: { texture: RgbImage; gainMap: TexelMap; facing: Float64Array; shade: Float32Array; ref: number[]; pairs: Int32Array }): number {
  const { texture, gainMap, facing, shade, ref, pairs } = opts;
  // One pass over the pairs, binned by each value's shading (over the mean) between the candidate
  // floors: at floor f_i a value l shaded sigma contributes l / max(sigma, f_i), so per bin the sums of
  // l and of l / sigma are all the candidates need.
  const K = FLOOR_CANDIDATES.length;
  const sums = new Float64Array(4 * (K + 1)); // per bin: left l, left l / sigma, right l, right l / sigma
  const centres = centreOffsets(gainMap, texture.width);
  const inv = [1 / ref[0], 1 / ref[1], 1 / ref[2]];
  for (let q = 0; q < pairs.length; q += 2) {
    const a = pairs[q], b = pairs[q + 1];
    if (facing[a] < PAIR_MIN_FACING || facing[b] < PAIR_MIN_FACING) continue;
    binPairSide(sums, 0, texture.data, 3 * centres[a], shade, 3 * a, inv, K);
    binPairSide(sums, 2, texture.data, 3 * centres[b], shade, 3 * b, inv, K);
  }
  let best = MIN_SHADING_RATIO, bestScore = Infinity, nearest = -1;
  for (let i = 0; i < K; i++) {
    const ratio = FLOOR_CANDIDATES[i];
    // Bins 0..i hold the values shaded under f_i, bins i+1..K those at or over it.
    let left = 0, right = 0;
    for (let bin = 0; bin <= K; bin++) {
      const o = 4 * bin;
      left += bin <= i ? sums[o] / ratio : sums[o + 1];
      right += bin <= i ? sums[o + 2] / ratio : sums[o + 3];
    }
    if (!(left > 0 && right > 0)) continue;
    const score = Math.abs(Math.log(left / right));
    if (score < bestScore) {
      bestScore = score;
      best = ratio;
    }
    if (score <= FLOOR_TOLERANCE && (nearest < 0 || Math.abs(ratio - MIN_SHADING_RATIO) < Math.abs(nearest - MIN_SHADING_RATIO))) nearest = ratio;
  }
  return nearest >= 0 ? nearest : best;
}

/**
 * One pair side's three channels into symmetricFloorRatio's bins (`side` 0 left, 2 right): bin 0 for a
 * shading under the lowest candidate, bin i for f_(i-1) <= sigma < f_i, bin K at or over the highest.
 */
function binPairSide(sums: Float64Array, side: number, data: Uint8Array, at: number, shade: Float32Array, s: number, inv: number[], K: number): void {
  for (let c = 0; c < 3; c++) {
    const sigma = shade[s + c] * inv[c];
    const l = LUMA[c] * toLinear(data[at + c]);
    // f_i = (8 + i) / 40, so sigma >= f_i where floor(40 sigma) >= 8 + i.
    const bin = Math.max(0, Math.min(K, Math.floor(40 * sigma) - 7));
    const o = 4 * bin + side;
    sums[o] += l;
    if (sigma > 0) sums[o + 1] += l / sigma;
  }
}

/**
 * Floors tried, 0.2-0.6 of the mean shading in steps of 0.025, and how far from even (|log| of the
 * left/right ratio) the mirrored skin may stay before the floor leaves MIN_SHADING_RATIO. Measured on
 * bench:lighting's 27 side-lit photos (flat = within 5%; relighting over skin): tolerance 0.02: 27 flat,
 * relighting worst 30.0 dB; 0.025: 27 flat, 30.7 dB; 0.03: 26 flat, 30.9 dB; the argmin alone (no
 * preference for MIN_SHADING_RATIO): 27 flat, 27.8 dB (measured with the reference shading still
 * over the whole chart; over the facing texels, as now, 0.025 gives 27 flat and 31.0 dB). A floor under
 * 0.2 was not needed: the hardest side light (3.4x) is flat at 0.2.
 */
const FLOOR_CANDIDATES = Array.from({ length: 17 }, (_, i) => (8 + i) / 40);
const FLOOR_TOLERANCE = 0.025;
/** Pairs facing the camera at least this much (n_z) on both sides: the division is not faded there, as in bench:lighting's flatness. */
const PAIR_MIN_FACING = 0.5;
const LUMA = [0.2126, 0.7152, 0.0722];
