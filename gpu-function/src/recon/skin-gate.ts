/**
 * What may be baked where the photo shows more than the face: the neck of a full head is where a
 * collar, a tie or a shirt sits in most photos, and the person segmentation counts clothing as person.
 * So texels a layout marks "skin only" keep their photo sample only as far as its colour is the
 * person's skin. Their weight is multiplied by a skin likelihood, and the rest is completed with the
 * skin tone. The scalp gets the opposite treatment: where the seen scalp is mostly hair, its
 * unseen part is seeded with the hair's colour instead of the skin tone, so the hair continues over
 * the head instead of ending in a cut.
 *
 * Skin model: a Gaussian over log-chromaticity (log r/g, log b/g), which separates skin from fabric
 * and hair largely independently of shading (Hsu, Abdel-Mottaleb & Jain 2002 and the skin-detection
 * literature use chroma for this reason), and a luminance band around the face's median (shadow under
 * the chin may be 3x darker, but a black suit or a white shirt falls outside). Fitted per photo on the
 * face's clear, mid-luminance texels near the median chroma (as colour.ts's skinMean selects skin).
 */
import { histQuantile } from './select';
import { smoothstep } from './smoothstep';

export interface SkinColourModel {
  /** Mean of (log r/g, log b/g). */
  mean: [number, number];
  /** Inverse covariance (2x2, row-major) of the same. */
  invCov: [number, number, number, number];
  /** Median skin luminance (sRGB units, 0..255). */
  luminance: number;
  samples: number;
}

const lum = (r: number, g: number, b: number) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
/** Floor of the chroma spread (log units): a very even face must not make its own neck "not skin". */
const MIN_SIGMA = 0.04;

/**
 * fitSkinColourModel: from texels with weight >= 0.9 for which `eligible(texel)` holds (the face
 * region of the face tile; every texel when not given). Returns undefined with fewer than 200 usable
 * samples (no evidence: the gate is then not applied).
 */
export function fitSkinColourModel(color: Float32Array, weight: Float32Array, texels: ArrayLike<number>, eligible?: (k: number) => boolean): SkinColourModel | undefined {
  // Histograms, not sorts: this runs on every full-head request over ~600k face texels. The passes are
  // functions of their own and `eligible` is asked once per sample, for V8's sake (see detail-maps.ts).
  const STEP = 3;
  const use = clearSamples(weight, texels, STEP);
  if (eligible) for (let k = 0, j = 0; k < texels.length; k += STEP, j++) if (use[j] && !eligible(k)) use[j] = 0;
  const lumHist = new Uint32Array(256);
  const clear = lumHistogram(color, texels, use, STEP, lumHist);
  if (clear < 200) return undefined;
  const lo = histQuantile(lumHist, clear, 0.3);
  const hi = histQuantile(lumHist, clear, 0.9);
  // Log-chroma medians over the mid-luminance band, in 0.005 bins over [-2, 2).
  const rgHist = new Uint32Array(CHROMA_BINS);
  const bgHist = new Uint32Array(CHROMA_BINS);
  const logs = chromaScratch(2 * use.length);
  const band = chromaHistograms(color, texels, use, STEP, lo, hi, rgHist, bgHist, logs);
  if (band < 200) return undefined;
  const mrg = (histQuantile(rgHist, band, 0.5) + 0.5) / 200 - 2;
  const mbg = (histQuantile(bgHist, band, 0.5) + 0.5) / 200 - 2;
  const keptLum = new Uint32Array(256);
  const m = chromaMoments(color, texels, use, STEP, lo, hi, mrg, mbg, keptLum, logs);
  const { n, sx, sy, sxx, sxy, syy } = m;
  if (n < 200) return undefined;
  const mx = sx / n, my = sy / n;
  const cxx = sxx / n - mx * mx + MIN_SIGMA ** 2;
  const cyy = syy / n - my * my + MIN_SIGMA ** 2;
  const cxy = sxy / n - mx * my;
  const det = cxx * cyy - cxy * cxy;
  return { mean: [mx, my], invCov: [cyy / det, -cxy / det, -cxy / det, cxx / det], luminance: histQuantile(keptLum, n, 0.5), samples: n };
}

/** 1 for every `step`-th texel seen clearly (weight >= 0.9). */
function clearSamples(weight: Float32Array, texels: ArrayLike<number>, step: number): Uint8Array {
  const use = new Uint8Array(Math.ceil(texels.length / step));
  for (let k = 0, j = 0; k < texels.length; k += step, j++) use[j] = weight[texels[k]] >= 0.9 ? 1 : 0;
  return use;
}

const CHROMA_BINS = 800;
const chromaBin = (x: number) => Math.min(CHROMA_BINS - 1, Math.max(0, Math.floor((x + 2) * 200)));
/** log(c / g), both floored at 1: one axis of the log-chromaticity. */
const logRatio = (c: number, g: number) => Math.log(Math.max(1, c) / Math.max(1, g));
const lumLevel = (color: Float32Array, i: number) => Math.min(255, Math.max(0, Math.round(lum(color[3 * i], color[3 * i + 1], color[3 * i + 2]))));

/** Luminance histogram of the used samples (every `step`-th texel); their count. */
function lumHistogram(color: Float32Array, texels: ArrayLike<number>, use: Uint8Array, step: number, hist: Uint32Array): number {
  let clear = 0;
  for (let k = 0, j = 0; k < texels.length; k += step, j++) {
    if (!use[j]) continue;
    hist[lumLevel(color, texels[k])]++;
    clear++;
  }
  return clear;
}

function inLumBand(color: Float32Array, i: number, lo: number, hi: number): boolean {
  const l = lum(color[3 * i], color[3 * i + 1], color[3 * i + 2]);
  return l >= lo && l <= hi;
}

/**
 * Histograms of log r/g and log b/g over the used samples in the luminance band; their count. Each
 * band sample's two logarithms are kept in `logs` (2 per sample) for chromaMoments, which takes the
 * same samples: half the logarithms of computing them twice (~450k fewer on a full-head bake).
 */
function chromaHistograms(color: Float32Array, texels: ArrayLike<number>, use: Uint8Array, step: number, lo: number, hi: number, rgHist: Uint32Array, bgHist: Uint32Array, logs: Float64Array): number {
  let band = 0;
  for (let k = 0, j = 0; k < texels.length; k += step, j++) {
    const i = texels[k];
    if (!use[j] || !inLumBand(color, i, lo, hi)) continue;
    const x = logRatio(color[3 * i], color[3 * i + 1]), y = logRatio(color[3 * i + 2], color[3 * i + 1]);
    logs[2 * j] = x;
    logs[2 * j + 1] = y;
    rgHist[chromaBin(x)]++;
    bgHist[chromaBin(y)]++;
    band++;
  }
  return band;
}

/** A scratch of at least n doubles, reused across calls (a fit runs to completion synchronously). */
let CHROMA_LOGS = new Float64Array(0);
function chromaScratch(n: number): Float64Array {
  if (CHROMA_LOGS.length < n) CHROMA_LOGS = new Float64Array(n);
  return CHROMA_LOGS;
}

/** Moments of the log chroma of the band's samples within 0.14 of the medians, and their luminance histogram. */
function chromaMoments(color: Float32Array, texels: ArrayLike<number>, use: Uint8Array, step: number, lo: number, hi: number, mrg: number, mbg: number, keptLum: Uint32Array, logs: Float64Array): { n: number; sx: number; sy: number; sxx: number; sxy: number; syy: number } {
  let n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, syy = 0;
  for (let k = 0, j = 0; k < texels.length; k += step, j++) {
    const i = texels[k];
    if (!use[j] || !inLumBand(color, i, lo, hi)) continue;
    // chromaHistograms' logarithms of this sample.
    const x = logs[2 * j];
    const y = logs[2 * j + 1];
    if (Math.abs(x - mrg) > 0.14 || Math.abs(y - mbg) > 0.14) continue;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
    syy += y * y;
    keptLum[lumLevel(color, i)]++;
    n++;
  }
  return { n, sx, sy, sxx, sxy, syy };
}

/**
 * How much a colour (sRGB 0..255) looks like this person's skin, in [0, 1]: 1 within 2 standard
 * deviations of the skin chroma and within 0.5-1.5x its luminance, falling smoothly to 0 at 3.5
 * standard deviations, 0.3x or 2x. Strict on purpose: a neck texel wrongly refused gets the skin tone
 * (a little flat), a collar wrongly kept is a visible defect.
 */
export function skinLikelihood(model: SkinColourModel, r: number, g: number, b: number): number {
  const gg = Math.max(1, g);
  const dx = Math.log(Math.max(1, r) / gg) - model.mean[0];
  const dy = Math.log(Math.max(1, b) / gg) - model.mean[1];
  const ic = model.invCov;
  const a = ic[0], c = ic[1], d = ic[3];
  const m = Math.sqrt(Math.max(0, a * dx * dx + 2 * c * dx * dy + d * dy * dy));
  const q = lum(r, g, b) / Math.max(1, model.luminance);
  return (1 - smoothstep(2, 3.5, m)) * smoothstep(0.3, 0.5, q) * (1 - smoothstep(1.5, 2, q));
}

/**
 * gateBySkin: in place, weight[i] *= 1 - s (1 - L(colour)) for each chart texel, s = skinOnly[k] in
 * [0, 1] (the layout's "skin only" degree at texel k of `texels`). Returns the weight removed (texels).
 */
export function gateBySkin(color: Float32Array, weight: Float32Array, texels: ArrayLike<number>, skinOnly: Float32Array, model: SkinColourModel): number {
  let removed = 0;
  for (let k = 0; k < texels.length; k++) {
    const s = skinOnly[k];
    if (s <= 0) continue;
    const i = texels[k];
    const w = weight[i];
    if (w <= 0) continue;
    const keep = 1 - s * (1 - skinLikelihood(model, color[3 * i], color[3 * i + 1], color[3 * i + 2]));
    weight[i] = w * keep;
    removed += w - weight[i];
  }
  return removed;
}

/**
 * dropFillOnly: in place, weight[i] *= 1 - fillOnly[k] for each chart texel i = texels[k]: where a
 * layout takes nothing from the photo (the bust: clothing), the texel counts as unseen and is completed.
 */
export function dropFillOnly(weight: Float32Array, texels: ArrayLike<number>, fillOnly: Float32Array): void {
  for (let k = 0; k < texels.length; k++) {
    const f = fillOnly[k];
    if (f > 0) weight[texels[k]] *= 1 - f;
  }
}

/**
 * The hair colour of the seen scalp: the per-channel median of clearly seen scalp texels (region >
 * 0.5, weight >= 0.5) that are not skin (L < 0.3), when they are at least `minShare` of the seen scalp;
 * undefined otherwise (a bald or covered head keeps the skin tone).
 */
export function scalpHairTone(color: Float32Array, weight: Float32Array, texels: ArrayLike<number>, scalp: Float32Array, model: SkinColourModel, minShare = 0.3): [number, number, number] | undefined {
  const hist = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  let seen = 0, hair = 0;
  for (let k = 0; k < texels.length; k++) {
    if (scalp[k] <= 0.5) continue;
    const i = texels[k];
    if (weight[i] < 0.5) continue;
    seen++;
    const r = color[3 * i], g = color[3 * i + 1], b = color[3 * i + 2];
    if (skinLikelihood(model, r, g, b) >= 0.3) continue;
    hair++;
    hist[0][Math.min(255, Math.max(0, Math.round(r)))]++;
    hist[1][Math.min(255, Math.max(0, Math.round(g)))]++;
    hist[2][Math.min(255, Math.max(0, Math.round(b)))]++;
  }
  if (seen < 50 || hair < minShare * seen) return undefined;
  return hist.map((h) => histQuantile(h, hair, 0.5)) as [number, number, number];
}
