/**
 * Colour normalisation of the baked face and specular detection.
 *
 * Exposure: the gain that brings the photo's brightest 1% (sky, walls, clothes, sclera, highlights)
 * up to 215 in linear light, only upwards, at most 2x, and never past a skin luminance of
 * DIM_SKIN_TARGET (140), or less for skin of a darker tone (dimSkinTarget). Over the 25 deep3d portraits that 99th percentile spans 167-255, so most
 * photos are left as they are. Keying on
 * the whole photo's highlights rather than on skin keeps dark skin dark: a well-exposed photo of dark
 * skin still has bright things in it, a dim photo does not.
 * Backlight: that rule cannot see a face against a bright sky, whose highlights are the sky's. So
 * when the person segmentation's background is bright (median >= 160) and at least 2x the skin's
 * luminance, and the face has no highlights of its own (the 99th percentile of its clear texels under
 * 180: a lit face shows sclera, teeth or skin sheen brighter than that, whatever its tone), the face
 * is metered instead, as a phone's face-priority exposure does: the skin is
 * brought up to a luminance of BACKLIT_SKIN_TARGET (110, the low end of well-lit skin on the shared
 * portraits, whose cheeks measure 108-210), at most 4x in linear light. Aiming low keeps a dark-skinned
 * face in front of a bright wall as it was (obama_3: skin 113, wall and chandelier behind it, would
 * have been lifted to 130 with a target of 130); a backlit face of light skin comes out a little dim
 * rather than washed out.
 * Conservative mode limits the correction (exposure <= 1.5x, white balance within 0.85-1.2) instead
 * of switching it off.
 * White balance: skin chromaticity r/g and b/g (sRGB) is clamped into a range that typical skin under
 * neutral light occupies, from light to dark (r/g 1.15-1.65, b/g 0.62-0.95; on the deep3d portraits
 * the skin measures r/g 1.08-1.61, b/g 0.74-1.01, and 3 of 22 get a correction of <= 12%), with
 * linear-light gains within 0.6-1.6: a cast beyond the natural range is removed, a tone within it is kept.
 * A face with less colour than any skin (a black-and-white or toned photo) is not balanced at all
 * (MONOCHROME_SATURATION): there is no skin colour in it to recover, only one to invent.
 * Both act through one 256-entry look-up table per channel in linear light (sRGB transfer undone).
 */

import type { PersonMask } from '../face/person-mask';
import { histQuantile } from './select';
import { smoothstep } from './smoothstep';
import { linearToSrgb, srgbToLinear } from './srgb';

export interface ColourReport {
  applied: boolean;
  exposureGain: number;
  /** The face was metered against a bright background (see the exposure rule above). */
  backlit?: boolean;
  whiteBalanceGains: [number, number, number];
  skinBefore: [number, number, number];
  skinAfter: [number, number, number];
  skinTexels: number;
}

const toLinear = srgbToLinear;
const toSrgb = linearToSrgb;

const SKIN_RG: [number, number] = [1.15, 1.65];
const SKIN_BG: [number, number] = [0.62, 0.95];

const luminance = (c: Float32Array, i: number) => 0.2126 * c[3 * i] + 0.7152 * c[3 * i + 1] + 0.0722 * c[3 * i + 2];

/**
 * Robust skin statistics: clear texels whose luminance is mid-range (30th-90th percentile) and whose
 * chroma is near the median chroma, which leaves out eyes, brows, lips and deep shadows. Histograms,
 * not sorts: this runs on ~600k texels per request.
 */
export function skinMean(color: Float32Array, weight: Float32Array, covered: Uint8Array): { mean: [number, number, number]; count: number; p99: number; saturationP90: number } {
  // Every 5th texel: the statistics of ~130k skin samples are as good as of 650k, at a fifth of the cost.
  const STEP = 5;
  const lumHist = new Uint32Array(256);
  const clear = clearLuminanceHistogram(color, weight, covered, STEP, lumHist);
  if (clear < 100) return { mean: [0, 0, 0], count: 0, p99: 0, saturationP90: 0 };
  const lo = histQuantile(lumHist, clear, 0.3);
  const hi = histQuantile(lumHist, clear, 0.9);
  const p99 = histQuantile(lumHist, clear, 0.99);
  // Chroma ratios r/g and b/g in 0.01 bins over [0, 4).
  const rgHist = new Uint32Array(RATIO_BINS);
  const bgHist = new Uint32Array(RATIO_BINS);
  const satHist = new Uint32Array(SATURATION_BINS);
  const cand = ratioHistograms(color, weight, covered, STEP, lo, hi, rgHist, bgHist, satHist);
  const saturationP90 = cand > 0 ? (histQuantile(satHist, cand, 0.9) + 0.5) / SATURATION_BINS : 0;
  const mrg = (histQuantile(rgHist, cand, 0.5) + 0.5) / 100;
  const mbg = (histQuantile(bgHist, cand, 0.5) + 0.5) / 100;
  const sum = [0, 0, 0];
  const n = sumNearRatios(color, weight, covered, STEP, lo, hi, mrg, mbg, sum);
  if (n === 0) return { mean: [0, 0, 0], count: 0, p99, saturationP90 };
  return { mean: [sum[0] / n, sum[1] / n, sum[2] / n], count: n, p99, saturationP90 };
}

// skinMean's passes, as functions of their own rather than closures made per call (see detail-maps.ts).

/** Luminance histogram (0..255) of the clearly seen texels (weight >= 0.9), every `step`-th; their count. */
function clearLuminanceHistogram(color: Float32Array, weight: Float32Array, covered: Uint8Array, step: number, lumHist: Uint32Array): number {
  let clear = 0;
  for (let i = 0; i < covered.length; i += step) {
    if (!covered[i] || weight[i] < 0.9) continue;
    lumHist[Math.min(255, Math.max(0, Math.round(luminance(color, i))))]++;
    clear++;
  }
  return clear;
}

const RATIO_BINS = 400;
const ratioBin = (x: number) => Math.min(RATIO_BINS - 1, Math.max(0, Math.floor(x * 100)));

function clearInBand(color: Float32Array, weight: Float32Array, covered: Uint8Array, i: number, lo: number, hi: number): boolean {
  if (!covered[i] || weight[i] < 0.9) return false;
  const l = luminance(color, i);
  return l >= lo && l <= hi;
}

const SATURATION_BINS = 200;

/**
 * Histograms of r/g, b/g and HSV saturation ((max - min) / max) over the clear texels in the luminance
 * band (every `step`-th); their count.
 */
function ratioHistograms(color: Float32Array, weight: Float32Array, covered: Uint8Array, step: number, lo: number, hi: number, rgHist: Uint32Array, bgHist: Uint32Array, satHist: Uint32Array): number {
  let cand = 0;
  for (let i = 0; i < covered.length; i += step) {
    if (!clearInBand(color, weight, covered, i, lo, hi)) continue;
    const r = color[3 * i], g = Math.max(1, color[3 * i + 1]), b = color[3 * i + 2];
    rgHist[ratioBin(r / g)]++;
    bgHist[ratioBin(b / g)]++;
    const mx = Math.max(r, g, b), mn = Math.min(r, g, b);
    satHist[Math.min(SATURATION_BINS - 1, Math.floor(((mx - mn) / mx) * SATURATION_BINS))]++;
    cand++;
  }
  return cand;
}

/** Adds to `sum` the colours of the band's texels within 0.15 of the median ratios; their count. */
function sumNearRatios(color: Float32Array, weight: Float32Array, covered: Uint8Array, step: number, lo: number, hi: number, mrg: number, mbg: number, sum: number[]): number {
  let n = 0;
  for (let i = 0; i < covered.length; i += step) {
    if (!clearInBand(color, weight, covered, i, lo, hi)) continue;
    const g = Math.max(1, color[3 * i + 1]);
    if (Math.abs(color[3 * i] / g - mrg) > 0.15 || Math.abs(color[3 * i + 2] / g - mbg) > 0.15) continue;
    sum[0] += color[3 * i];
    sum[1] += color[3 * i + 1];
    sum[2] += color[3 * i + 2];
    n++;
  }
  return n;
}

export interface ColourCorrection {
  report: ColourReport;
  /** Per-channel 8-bit look-up tables, or undefined when nothing needs changing. */
  luts?: [Uint8Array, Uint8Array, Uint8Array];
}

/**
 * White balance fades out on faces with less colour than skin has: HSV saturation's 90th percentile
 * over the skin band under 0.05 means a black-and-white (or toned: cyanotype, sepia) photo, whose grey
 * skin the balance used to paint pink (r/g pushed to 1.15). Of the 431 faces accepted on the shared
 * portraits and the AFLW2000-3D dev split, 51 measure under 0.04 (grey prints, two of them faintly
 * cold-toned) and 5 0.04-0.07 (toned); colour photos measure 0.10 and up (the shared portraits 0.19 and
 * up, all balanced as before).
 */
const MONOCHROME_SATURATION: [number, number] = [0.05, 0.1];

export const BACKLIT_SKIN_TARGET = 110;
/**
 * How far the highlight rule may lift a dim photo's skin (sRGB luminance): the lower quartile of the
 * shared portraits' skin (140; median 152, those the rule leaves alone span 107-193). With 180, the
 * previous limit, it lifted video frames whose skin was already at a normal level (vd025: skin 140 made
 * 1.17x brighter, lacamoire_1: 136, 1.12x), against issue 20's "a well-exposed face is left alone";
 * a dim frame (vd051: skin 116) is still lifted, to about 140.
 */
export const DIM_SKIN_TARGET = 140;

/**
 * The dim-photo limit for skin of the face's own tone: the well-exposed skin luminance that skin of this
 * saturation has, so that darker skin is not lifted towards a lighter skin's level (issue 20: "until
 * their skin luminance is in the range of well-lit skin of similar tone"). Saturation ((max - min) / max
 * of the white-balanced mean skin colour, sRGB) does not change with exposure (a gain scales the three
 * channels alike), and melanin raises it: on the 31 shared portraits the highlight rule leaves alone,
 * skin luminance = 195.5 - 108.6 x saturation (r = -0.53, residual sd 16.5); the limit is that line
 * at its lower quartile (-9), as DIM_SKIN_TARGET is the lower quartile of all skin, and never above
 * DIM_SKIN_TARGET, so only tones more saturated than ~0.43 are lifted less than before. deep3d/000037
 * (medium-brown skin, a well-lit face in a photo without highlights, saturation 0.60): lifted 1.37x in
 * linear light with DIM_SKIN_TARGET alone, to a luminance of 140 its skin does not have; 1.08x now.
 */
export function dimSkinTarget(skinSaturation: number): number {
  return Math.min(DIM_SKIN_TARGET, 195.5 - 9 - 108.6 * skinSaturation);
}

/** What the photo says about exposure beyond the face's own texels. */
export interface ExposureContext {
  /** Luminance quantile 0.99 of the whole photo (photoLuminanceQuantile). */
  photoP99: number;
  /** Median luminance of the person segmentation's background around the face, when there is enough of it. */
  backgroundMedian?: number;
  /** Limit the correction (conservative mode). */
  conservative?: boolean;
}

/** estimateColourCorrection: statistics from clear chart texels of the bake (before completion). */
export function estimateColourCorrection(color: Float32Array, weight: Float32Array, covered: Uint8Array, ctx: ExposureContext): ColourCorrection {
  const stats = skinMean(color, weight, covered);
  const report: ColourReport = { applied: false, exposureGain: 1, whiteBalanceGains: [1, 1, 1], skinBefore: round3(stats.mean), skinAfter: round3(stats.mean), skinTexels: stats.count };
  if (stats.count < 50) return { report };
  const [r, g, b] = stats.mean.map(toLinear);
  const rg = r / g;
  const bg = b / g;
  const [wbLo, wbHi] = ctx.conservative ? [0.85, 1.2] : [0.6, 1.6];
  const clampGain = (x: number) => Math.max(wbLo, Math.min(wbHi, x));
  const targetRg = Math.max(toLinRatio(SKIN_RG[0]), Math.min(toLinRatio(SKIN_RG[1]), rg));
  const targetBg = Math.max(toLinRatio(SKIN_BG[0]), Math.min(toLinRatio(SKIN_BG[1]), bg));
  // A black-and-white or toned photo has no skin colour to balance towards: left as it is.
  const wbStrength = smoothstep(MONOCHROME_SATURATION[0], MONOCHROME_SATURATION[1], stats.saturationP90);
  const wb = [clampGain(targetRg / rg) ** wbStrength, 1, clampGain(targetBg / bg) ** wbStrength];
  // Keep the skin's luminance where it was when balancing.
  const lum0 = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const lum1 = 0.2126 * r * wb[0] + 0.7152 * g + 0.0722 * b * wb[2];
  const norm = lum0 / lum1;
  const skinLum = 0.2126 * stats.mean[0] + 0.7152 * stats.mean[1] + 0.0722 * stats.mean[2];
  const balanced = [r * wb[0] * norm, g * norm, b * wb[2] * norm].map(toSrgb);
  const top = Math.max(...balanced);
  const skinSaturation = top > 0 ? (top - Math.min(...balanced)) / top : 0;
  const skinCap = toLinear(dimSkinTarget(skinSaturation)) / Math.max(1e-6, toLinear(skinLum));
  let exposure = Math.max(1, Math.min(2, toLinear(215) / Math.max(1e-6, toLinear(ctx.photoP99)), skinCap));
  const bgMed = ctx.backgroundMedian;
  const backlit = bgMed !== undefined && bgMed >= 160 && bgMed >= 2 * skinLum && stats.p99 < 180;
  if (backlit) exposure = Math.max(exposure, Math.min(4, toLinear(BACKLIT_SKIN_TARGET) / Math.max(1e-6, toLinear(skinLum))));
  if (ctx.conservative) exposure = Math.min(exposure, 1.5);
  const gains = wb.map((x) => x * norm * exposure);
  if (gains.every((x) => Math.abs(x - 1) < 0.01)) return { report };
  const luts = gains.map((k) => Uint8Array.from({ length: 256 }, (_, v) => Math.round(toSrgb(toLinear(v) * k)))) as [Uint8Array, Uint8Array, Uint8Array];
  return {
    report: {
      applied: true,
      exposureGain: Math.round(exposure * 1000) / 1000,
      ...(backlit ? { backlit: true } : {}),
      whiteBalanceGains: round3(wb.map((x) => x * norm)),
      skinBefore: round3(stats.mean),
      skinAfter: round3(stats.mean.map((v, ch) => toSrgb(toLinear(v) * gains[ch]))),
      skinTexels: stats.count,
    },
    luts,
  };
}

/**
 * Median luminance of the photo where the person mask says background (p < 0.2), over the mask's own
 * square (the face's surroundings); undefined when under 5% of that square is background (a tight
 * crop: nothing to compare the face with).
 */
export function backgroundLuminanceMedian(photo: { width: number; height: number; data: Uint8Array }, mask: PersonMask): number | undefined {
  const { rect, size, data } = mask;
  const k = rect.size / size;
  const c = Math.cos(rect.angle) * k, s = Math.sin(rect.angle) * k;
  const hist = new Uint32Array(256);
  let n = 0;
  for (let v = 0; v < size; v += 2) {
    for (let u = 0; u < size; u += 2) {
      if (data[v * size + u] >= 0.2) continue;
      const du = u + 0.5 - size / 2, dv = v + 0.5 - size / 2;
      const x = Math.floor(rect.cx + c * du - s * dv);
      const y = Math.floor(rect.cy + s * du + c * dv);
      if (x < 0 || y < 0 || x >= photo.width || y >= photo.height) continue;
      const o = 3 * (y * photo.width + x);
      hist[Math.round(0.2126 * photo.data[o] + 0.7152 * photo.data[o + 1] + 0.0722 * photo.data[o + 2])]++;
      n++;
    }
  }
  if (n < 0.05 * (size / 2) ** 2) return undefined;
  return histQuantile(hist, n, 0.5);
}

/** Luminance quantile of a photo from a strided sample of its pixels (for the exposure estimate). */
export function photoLuminanceQuantile(data: Uint8Array, q: number, stride = 7): number {
  const hist = new Uint32Array(256);
  let n = 0;
  for (let i = 0; i + 2 < data.length; i += 3 * stride) {
    hist[Math.round(0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2])]++;
    n++;
  }
  return histQuantile(hist, n, q);
}

/** Applies per-channel LUTs to interleaved RGB bytes in place. */
export function applyColourLuts(data: Uint8Array, luts: [Uint8Array, Uint8Array, Uint8Array]): void {
  const [lr, lg, lb] = luts;
  for (let i = 0; i < data.length; i += 3) {
    data[i] = lr[data[i]];
    data[i + 1] = lg[data[i + 1]];
    data[i + 2] = lb[data[i + 2]];
  }
}

const round3 = (a: number[]) => a.map((x) => Math.round(x * 1000) / 1000) as [number, number, number];

/** sRGB-space ratios of the skin range expressed in linear light (ratios of mid-tones, gamma 2.2). */
function toLinRatio(srgbRatio: number): number {
  return srgbRatio ** 2.2;
}

/**
 * Strong specular spots (glasses reflections, flash glare): clear texels much brighter than the skin
 * and nearly colourless. Their weight is cut to 20% so completion paints them from the mirror side or
 * their surroundings. Returns the number of texels down-weighted.
 */
export function downweightSpecular(color: Float32Array, weight: Float32Array, texels: Int32Array): number {
  const hist = new Uint32Array(256);
  const total = seenLuminanceHistogram(color, weight, texels, 5, hist);
  if (total < 100) return 0;
  const threshold = Math.max(235, histQuantile(hist, total, 0.9) * 1.35);
  return downweightBrightGreys(color, weight, texels, threshold);
}

// downweightSpecular's two passes are functions of their own, for V8's sake (see detail-maps.ts).

/** Luminance histogram of every `step`-th chart texel seen with weight > 0.5; their count. */
function seenLuminanceHistogram(color: Float32Array, weight: Float32Array, texels: Int32Array, step: number, hist: Uint32Array): number {
  let total = 0;
  for (let k = 0; k < texels.length; k += step) {
    const i = texels[k];
    if (weight[i] <= 0.5) continue;
    hist[Math.min(255, Math.max(0, Math.round(luminance(color, i))))]++;
    total++;
  }
  return total;
}

/** weight *= 0.2 on seen texels brighter than `threshold` whose saturation is under 0.12; their count. */
function downweightBrightGreys(color: Float32Array, weight: Float32Array, texels: Int32Array, threshold: number): number {
  let n = 0;
  for (let k = 0; k < texels.length; k++) {
    const i = texels[k];
    const o = 3 * i;
    const r = color[o], g = color[o + 1], b = color[o + 2];
    if (0.2126 * r + 0.7152 * g + 0.0722 * b <= threshold || weight[i] <= 0) continue;
    const mx = Math.max(r, g, b);
    if ((mx - Math.min(r, g, b)) / Math.max(1, mx) < 0.12) {
      weight[i] *= 0.2;
      n++;
    }
  }
  return n;
}
