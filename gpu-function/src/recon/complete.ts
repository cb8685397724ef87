/**
 * Texture completion: what the photo did not see is taken from the face's other side through the
 * left/right symmetry of the UV layout (u -> 1 - u, within 1.2e-3 for MediaPipe's canonical face, and ICT's face
 * tile; only for layouts that have it), then every remaining gap, and the area outside the
 * chart, is filled by push-pull interpolation (Gortler et al., "The Lumigraph", SIGGRAPH 1996,
 * pull-push), which is smooth and has no seams.
 */
import { bilinearTaps, type BilinearTaps } from './bilinear-taps';
import { histQuantile } from './select';

export interface CompletionStats {
  /** Fraction of the chart's texel weight that came straight from the photo. */
  fromPhoto: number;
  /** ... from the mirrored side. */
  fromMirror: number;
  /** ... from push-pull interpolation. */
  interpolated: number;
}

/**
 * completeMirrored: in place, texel colour := blend of its own sample and its mirror's, weights
 * w_own and (1 - w_own) * w_mirror; the texel's weight becomes their sum. Only chart texels change.
 * `factors`, when given, scale the mirror sample that lands on texel (x, y) per channel, as
 * (c + 1) k - 1 (completeMirroredGradient's log-colour offsets); without it the mirror is copied.
 */
export function completeMirrored(color: Float32Array, weight: Float32Array, covered: Uint8Array, size: number, factors?: MirrorFactors): void {
  // Texels pair up with their mirror (x, size-1-x): both are updated from the pair's original values,
  // so no copy of the texture is needed.
  const half = size >> 1;
  for (let y = 0; y < size; y++) {
    const row = y * size;
    for (let x = 0; x < half; x++) {
      const i = row + x;
      const m = row + size - 1 - x;
      const wi = weight[i];
      const wm = weight[m];
      if ((wi >= 1 || !covered[i]) && (wm >= 1 || !covered[m])) continue;
      const ci0 = color[3 * i], ci1 = color[3 * i + 1], ci2 = color[3 * i + 2];
      if (covered[i] && wi < 1 && wm > 0) {
        MIX[0] = wi;
        MIX[1] = (1 - wi) * wm;
        MIX[2] = color[3 * m];
        MIX[3] = color[3 * m + 1];
        MIX[4] = color[3 * m + 2];
        blendMirror(color, weight, i, x, y, factors);
      }
      if (covered[m] && wm < 1 && wi > 0) {
        MIX[0] = wm;
        MIX[1] = (1 - wm) * wi;
        MIX[2] = ci0;
        MIX[3] = ci1;
        MIX[4] = ci2;
        blendMirror(color, weight, m, size - 1 - x, y, factors);
      }
    }
  }
}

/**
 * blendMirror's numbers (own weight, added weight, the mirror sample's three channels), passed through
 * this array rather than as arguments: V8 does not inline blendMirror, and every double argument of a
 * call that is not inlined is a heap number, ~15 MB of garbage a request at 1024.
 */
const MIX = new Float64Array(5);

/**
 * Per-channel factors on a g x g grid (completeMirroredGradient's exp(δ~)), read bilinearly at a texel
 * through per-column / per-row taps (bilinear-taps.ts): at0 / at1 the grid cells, frac the weight of at1.
 */
export interface MirrorFactors extends Pick<BilinearTaps, 'at0' | 'at1' | 'frac'> {
  grid: Float32Array;
  g: number;
  /** Per tile half (x < size / 2, then the rest) and channel: the most a scaled sample may reach there (sideColourCaps). */
  cap?: Float32Array;
}

/** Texel t := (wt * own + add * mirror sample) / (wt + add), the sample scaled as (c + 1) k - 1 by the factors at (x, y) when given; wt, add and the sample in MIX. */
function blendMirror(color: Float32Array, weight: Float32Array, t: number, x: number, y: number, factors: MirrorFactors | undefined): void {
  const wt = MIX[0], add = MIX[1];
  let s0 = MIX[2], s1 = MIX[3], s2 = MIX[4];
  const total = wt + add;
  if (factors) {
    const { grid, g, at0, at1, frac } = factors;
    const x0 = at0[x], x1 = at1[x], y0 = at0[y], y1 = at1[y];
    const ax = frac[x], ay = frac[y];
    const p00 = 3 * (y0 * g + x0), p01 = 3 * (y0 * g + x1), p10 = 3 * (y1 * g + x0), p11 = 3 * (y1 * g + x1);
    // Rounded to single precision as the factors are stored.
    s0 = (s0 + 1) * Math.fround((1 - ay) * ((1 - ax) * grid[p00] + ax * grid[p01]) + ay * ((1 - ax) * grid[p10] + ax * grid[p11])) - 1;
    s1 = (s1 + 1) * Math.fround((1 - ay) * ((1 - ax) * grid[p00 + 1] + ax * grid[p01 + 1]) + ay * ((1 - ax) * grid[p10 + 1] + ax * grid[p11 + 1])) - 1;
    s2 = (s2 + 1) * Math.fround((1 - ay) * ((1 - ax) * grid[p00 + 2] + ax * grid[p01 + 2]) + ay * ((1 - ax) * grid[p10 + 2] + ax * grid[p11 + 2])) - 1;
    const cap = factors.cap;
    if (cap) {
      const o = 2 * x < at0.length ? 0 : 3;
      if (s0 > cap[o]) s0 = cap[o];
      if (s1 > cap[o + 1]) s1 = cap[o + 1];
      if (s2 > cap[o + 2]) s2 = cap[o + 2];
    }
  }
  color[3 * t] = (wt * color[3 * t] + add * s0) / total;
  color[3 * t + 1] = (wt * color[3 * t + 1] + add * s1) / total;
  color[3 * t + 2] = (wt * color[3 * t + 2] + add * s2) / total;
  weight[t] = total;
}

/** log(c + 1) for colours 0..255 at quarter-level steps: a table lookup instead of two logs per channel and texel. */
const LOG_STEPS = 4;
const LOG_TABLE = Float32Array.from({ length: 256 * LOG_STEPS + 1 }, (_, k) => Math.log(k / LOG_STEPS + 1));
const logOf = (c: number) => LOG_TABLE[Math.round((c < 0 ? 0 : c > 255 ? 255 : c) * LOG_STEPS)];

/**
 * Side of the cells the mirror differences are interpolated on (texels), for tiles of 256 and more.
 * 2 rather than 4 (bench:turned, 2026-12-01): the seam contrast past 25 degrees 1.65 / 1.58 / 2.13 ->
 * 1.54 / 1.47 / 1.86 by yaw group and the reprojection 0.6-1.2 dB higher, for ~20 ms more at 1024
 * (the push-pull on a 512 grid instead of 256, a grid four times the size to read the factors from);
 * per texel (1) gains a little more (1.51 / 1.42 / 1.81) for ~100 ms more.
 */
const DIFFERENCE_CELL = 2;

/**
 * completeMirroredGradient: mirror completion in the gradient domain. The mirrored side brings its
 * detail (pores, the shape of a cheek's shading), not its colours: a turned face is lit differently
 * on its two sides, and copying the near side's colours onto the far side leaves a seam where they
 * meet the far side's own samples, through the eye and the mouth.
 *
 * Method: Poisson cloning (Pérez, Gangnet & Blake, "Poisson image editing", SIGGRAPH 2003) solved as
 * a membrane: the Poisson solution with the source's gradients equals the source plus the harmonic
 * interpolation of the boundary differences (Farbman et al., "Coordinates for instant image
 * cloning", SIGGRAPH 2009). It works on log colour, where exposure and light are factors and their
 * differences therefore smooth (log(c + 1) keeps black finite): the differences
 * δ = log(c(i) + 1) - log(c(mirror(i)) + 1) are known wherever the photo saw both a texel and its
 * mirror (weight w_i w_m); pushPullFill interpolates them smoothly over the tile (a fast stand-in for
 * the membrane), and an unseen texel takes (c(mirror) + 1) exp(δ~) - 1, so at the edge of what the
 * photo saw the fill meets the photo's own colour, exposure and light.
 *
 * In place, like completeMirrored: texel colour := blend of its own sample (w_own) and the shifted
 * mirror sample ((1 - w_own) w_mirror); the weight becomes their sum. Only chart texels change.
 * Preconditions: size a power of two. Without any texel seen on both sides (a photo in profile), δ~ is 0
 * and this is completeMirrored.
 */
export function completeMirroredGradient(color: Float32Array, weight: Float32Array, covered: Uint8Array, size: number): void {
  // The differences are smooth by construction (a membrane), so they are gathered and interpolated on
  // a grid DIFFERENCE_CELL times coarser (512 x 512 for a 1024 tile) and read back bilinearly: a
  // quarter of the push-pull, and logs only where the photo saw both sides.
  const f = size >= 256 ? DIFFERENCE_CELL : 1;
  const g = size / f;
  const delta = new Float32Array(g * g * 3);
  const dw = new Float32Array(g * g);
  // On the coarse grid every other texel each way is enough for a cell's mean (and a quarter of the
  // logs); each pair is read once, its difference added to both cells with opposite signs.
  const step = f > 1 ? 2 : 1;
  if (gatherMirrorDifferences(color, weight, covered, size, f, g, step, delta, dw) === 0) return completeMirrored(color, weight, covered, size);
  normaliseDifferences(delta, dw, (f / step) ** 2);
  pushPullFill(delta, dw, g);
  // exp on the grid, then bilinear between factors: the same to < 0.1% for neighbouring cells.
  expInPlace(delta);
  const cap = sideColourCaps(color, weight, covered, size);
  // The factor exp(δ~) each side's mirror sample is scaled by, at texel (x, y). The scaled sample is
  // capped at its side's seen colours (sideColourCaps); the factor itself is not clamped: on
  // bench:turned, capping it at 2x or 4x, trusting only texels seen with weight >= 0.2, weighting by
  // (w_i w_m)^2, or a weak prior of no difference everywhere (which saturates at push-pull's coarse
  // levels and undoes the match at the boundary) each made the seams or the reprojection worse.
  // Bilinear positions on the grid, per texel column and row (columns and rows alike: the tile is square).
  const { at0, at1, frac } = bilinearTaps(g, size);
  completeMirrored(color, weight, covered, size, { grid: delta, g, at0, at1, frac, cap });
}

// completeMirroredGradient's passes are functions of their own, for V8's sake (see detail-maps.ts).

/** Weighted log-colour differences of the mirrored texel pairs both seen, summed into their cells of the g x g grid (with their weights); returns the pairs. */
function gatherMirrorDifferences(color: Float32Array, weight: Float32Array, covered: Uint8Array, size: number, f: number, g: number, step: number, delta: Float32Array, dw: Float32Array): number {
  let known = 0;
  const half = size >> 1;
  for (let y = 0; y < size; y += step) {
    const row = y * size;
    const grow = Math.floor(y / f) * g;
    for (let x = 0; x < half; x += step) {
      const i = row + x;
      const m = row + size - 1 - x;
      if (!covered[i] || !covered[m]) continue;
      const w = weight[i] * weight[m];
      if (w <= 0) continue;
      const ci = grow + Math.floor(x / f);
      const cm = grow + Math.floor((size - 1 - x) / f);
      for (let ch = 0; ch < 3; ch++) {
        const d = w * (logOf(color[3 * i + ch]) - logOf(color[3 * m + ch]));
        delta[3 * ci + ch] += d;
        delta[3 * cm + ch] -= d;
      }
      dw[ci] += w;
      dw[cm] += w;
      known++;
    }
  }
  return known;
}

/** Each cell's summed differences to their weighted mean, and its weight to the share of its pairs seen (capped at 1). */
function normaliseDifferences(delta: Float32Array, dw: Float32Array, area: number): void {
  for (let c = 0; c < dw.length; c++) {
    if (dw[c] <= 0) continue;
    for (let ch = 0; ch < 3; ch++) delta[3 * c + ch] /= dw[c];
    dw[c] = Math.min(1, dw[c] / area);
  }
}

/**
 * exp of each value, by a table over the range log-colour differences span (|δ| <= log 256), linearly
 * interpolated: relative error < 1e-6, far below a colour level, at a fraction of Math.exp's cost over
 * the 786k values of a 1024 tile's difference grid.
 */
const EXP_LIMIT = 6;
const EXP_STEPS = 512;
const EXP_TABLE = Float64Array.from({ length: 2 * EXP_LIMIT * EXP_STEPS + 2 }, (_, k) => Math.exp(k / EXP_STEPS - EXP_LIMIT));
function expInPlace(a: Float32Array): void {
  const top = 2 * EXP_LIMIT * EXP_STEPS;
  for (let k = 0; k < a.length; k++) {
    const x = (a[k] + EXP_LIMIT) * EXP_STEPS;
    if (x <= 0) a[k] = EXP_TABLE[0];
    else if (x >= top) a[k] = EXP_TABLE[top];
    else {
      const j = x | 0;
      a[k] = EXP_TABLE[j] + (x - j) * (EXP_TABLE[j + 1] - EXP_TABLE[j]);
    }
  }
}

/**
 * The quantile of a side's clearly seen colours (weight >= 0.5) a mirrored sample may not exceed there,
 * per channel. The factor exp(δ~) is smooth by construction, the side-to-side light of the face; times
 * a pale mirrored feature (a beard's highlight, a mouth corner) where that factor is large, it made
 * colours the far side does not have: white and lavender patches (AFLW image00784, a face beside a
 * white wall; identity/lacamoire_1, a dim frame lit from one side). Capped at what the photo shows on
 * that side, the fill stays within the side's own light. At the 99.8th percentile, only such outliers
 * move (bench:turned: the worst leakage at 45-65 degrees 11.5 -> 2.3%; the shared portraits' seams and
 * reprojection the same), where a lower quantile or a soft cap also dimmed ordinary fill and raised
 * the seams (bench/RESULTS.md).
 */
const SIDE_CAP_QUANTILE = 0.998;
function sideColourCaps(color: Float32Array, weight: Float32Array, covered: Uint8Array, size: number): Float32Array {
  const cap = new Float32Array(6).fill(255);
  const hist = new Uint32Array(3 * 256);
  const half = size >> 1;
  for (let side = 0; side < 2; side++) {
    hist.fill(0);
    // A sample every few texels each way (~16k a side at 1024): a quantile needs no more.
    const n = sideHistogram(color, weight, covered, size, side * half, half, size >= 256 ? 4 : 1, hist);
    if (n < 100) continue;
    for (let ch = 0; ch < 3; ch++) cap[3 * side + ch] = histQuantile(hist.subarray(256 * ch, 256 * (ch + 1)), n, SIDE_CAP_QUANTILE) + 0.5;
  }
  return cap;
}

/** Per-channel histograms (256 bins each, channel-major) of the clearly seen texels in columns x0..x0+w-1, every `step`-th texel each way; returns their count. */
function sideHistogram(color: Float32Array, weight: Float32Array, covered: Uint8Array, size: number, x0: number, w: number, step: number, hist: Uint32Array): number {
  let n = 0;
  for (let y = 0; y < size; y += step) {
    for (let i = y * size + x0, end = y * size + x0 + w; i < end; i += step) {
      if (covered[i] === 0 || weight[i] < 0.5) continue;
      n++;
      const r = color[3 * i], g = color[3 * i + 1], b = color[3 * i + 2];
      hist[r <= 0 ? 0 : r >= 255 ? 255 : (r + 0.5) | 0]++;
      hist[256 + (g <= 0 ? 0 : g >= 255 ? 255 : (g + 0.5) | 0)]++;
      hist[512 + (b <= 0 ? 0 : b >= 255 ? 255 : (b + 0.5) | 0)]++;
    }
  }
  return n;
}

/**
 * pushPullFill: in place, every texel with weight < 1 is blended towards a smooth interpolation of
 * its weighted surroundings: c := w c + (1 - w) c_coarse, with c_coarse from a weight-normalised
 * 2x2 pyramid. Preconditions: size a power of two; at least one texel with weight > 0 (else the
 * image is left unchanged).
 */
export function pushPullFill(color: Float32Array, weight: Float32Array, size: number): void {
  if (size <= 1) return;
  const half = size >> 1;
  const { cc, cw } = pyramidLevel(half);
  pullLevel(color, weight, size, cc, cw);
  pushPullFill(cc, cw, half);
  pushLevel(color, weight, size, cc);
}

/**
 * The coarser levels' buffers, one pair per size, reused by every fill (cleared first): a 1024 tile's
 * pyramid is 5 MB, and allocated anew for each fill it was about a tenth of a request's garbage. Safe
 * because a fill runs to completion synchronously and each level of one fill has its own size.
 */
const LEVELS = new Map<number, { cc: Float32Array; cw: Float32Array }>();
function pyramidLevel(half: number): { cc: Float32Array; cw: Float32Array } {
  let level = LEVELS.get(half);
  if (!level) LEVELS.set(half, (level = { cc: new Float32Array(half * half * 3), cw: new Float32Array(half * half) }));
  else {
    level.cc.fill(0);
    level.cw.fill(0);
  }
  return level;
}

// The two passes are functions of their own, for V8's sake (see detail-maps.ts): in one function the
// first loop's on-stack code was discarded at the recursive call.

/** The weight-normalised 2x2 means of a level (size^2) into the next (half^2), weights capped at 1. */
function pullLevel(color: Float32Array, weight: Float32Array, size: number, cc: Float32Array, cw: Float32Array): void {
  const half = size >> 1;
  for (let y = 0; y < half; y++) {
    const r0 = 2 * y * size;
    const r1 = r0 + size;
    for (let x = 0; x < half; x++) {
      const i0 = r0 + 2 * x, i1 = i0 + 1, i2 = r1 + 2 * x, i3 = i2 + 1;
      const w0 = weight[i0], w1 = weight[i1], w2 = weight[i2], w3 = weight[i3];
      const ws = w0 + w1 + w2 + w3;
      const o = y * half + x;
      if (ws > 0) {
        const inv = 1 / ws;
        for (let ch = 0; ch < 3; ch++) {
          cc[3 * o + ch] = (w0 * color[3 * i0 + ch] + w1 * color[3 * i1 + ch] + w2 * color[3 * i2 + ch] + w3 * color[3 * i3 + ch]) * inv;
        }
      }
      cw[o] = ws < 1 ? ws : 1;
    }
  }
}

/** Blends each texel with weight < 1 towards the completed coarse level (half^2, bilinear) and sets its weight to 1. */
function pushLevel(color: Float32Array, weight: Float32Array, size: number, cc: Float32Array): void {
  const half = size >> 1;
  // Push: bilinear upsample of the completed coarse level into the gaps. Fine texel x sits at coarse
  // coordinate (x - 0.5) / 2; its two coarse columns and weights are the same for every row. Separably:
  // each fine row first blends its two coarse rows (half x 3 values), then each texel its two columns,
  // half the multiplications of the four-tap form (the same bilinear value to rounding).
  const cx0 = new Int32Array(size), cx1 = new Int32Array(size), cax = new Float32Array(size);
  for (let x = 0; x < size; x++) {
    const fx = Math.min(half - 1, Math.max(0, (x - 0.5) / 2));
    cx0[x] = 3 * Math.floor(fx);
    cx1[x] = 3 * Math.min(half - 1, Math.floor(fx) + 1);
    cax[x] = fx - Math.floor(fx);
  }
  const row = new Float64Array(3 * half);
  for (let y = 0; y < size; y++) {
    const fy = Math.min(half - 1, Math.max(0, (y - 0.5) / 2));
    const y0 = Math.floor(fy);
    const y1 = Math.min(half - 1, y0 + 1);
    blendRows(cc, 3 * y0 * half, 3 * y1 * half, fy - y0, row);
    pushIntoRow(color, weight, y * size, size, row, cx0, cx1, cax);
  }
}

/** row = (1 - a) cc[t ..] + a cc[b ..] over one coarse row's values. */
function blendRows(cc: Float32Array, t: number, b: number, a: number, row: Float64Array): void {
  const k = 1 - a;
  for (let j = 0; j < row.length; j++) row[j] = k * cc[t + j] + a * cc[b + j];
}

/** One fine row (starting at texel `o`): each texel with weight < 1 blended towards the row's bilinear value, its weight set to 1. */
function pushIntoRow(color: Float32Array, weight: Float32Array, o: number, size: number, row: Float64Array, cx0: Int32Array, cx1: Int32Array, cax: Float32Array): void {
  for (let x = 0; x < size; x++) {
    const i = o + x;
    const w = weight[i];
    if (w >= 1) continue;
    const ax = cax[x], bx = 1 - ax;
    const p0 = cx0[x], p1 = cx1[x];
    const k = 1 - w;
    color[3 * i] = w * color[3 * i] + k * (bx * row[p0] + ax * row[p1]);
    color[3 * i + 1] = w * color[3 * i + 1] + k * (bx * row[p0 + 1] + ax * row[p1 + 1]);
    color[3 * i + 2] = w * color[3 * i + 2] + k * (bx * row[p0 + 2] + ax * row[p1 + 2]);
    weight[i] = 1;
  }
}

/**
 * seedTone: in place, every chart texel the photo saw poorly gets a faint sample of `tone` (weight
 * `strength`). Push-pull then reaches for real samples where there are any nearby, and settles on the
 * tone far from them: regions a photo can never show (ears' backs, the back of the head) come out as
 * the person's skin tone, blending into what was seen without a seam.
 */
export function seedTone(color: Float32Array, weight: Float32Array, covered: Uint8Array, tone: readonly [number, number, number], strength: number, second?: SecondTone): void {
  for (let i = 0; i < weight.length; i++) {
    const w = weight[i];
    if (!covered[i] || w >= 1 - strength) continue;
    const total = w + strength;
    const m = second ? second.mix[i] : 0;
    for (let ch = 0; ch < 3; ch++) {
      const t = m > 0 ? (1 - m) * tone[ch] + m * second!.tone[ch] : tone[ch];
      color[3 * i + ch] = (w * color[3 * i + ch] + strength * t) / total;
    }
    weight[i] = total;
  }
}

/** A second seed colour blended in per texel (size*size mix in [0, 1]), e.g. the hair's over the scalp. */
export interface SecondTone {
  tone: readonly [number, number, number];
  mix: Float32Array;
}

export interface CompletionOptions {
  /** The tile is symmetric under u -> 1 - u: complete each side from the other first. */
  mirrorU: boolean;
  /** How the mirror fills: 'gradient' (default, completeMirroredGradient) or 'colour' (completeMirrored, the former way). */
  mirrorBlend?: 'gradient' | 'colour';
  /** Skin tone for regions the photo cannot show (full-head models); without it, push-pull alone fills. */
  tone?: readonly [number, number, number];
  /** Weight of the tone seed (default 0.1). */
  toneStrength?: number;
  /** Where and what replaces the skin tone (the hair colour over the scalp). */
  secondTone?: SecondTone;
}

/** Sum of weight[texels[k]]. */
function weightSum(weight: Float32Array, texels: Int32Array): number {
  let s = 0;
  for (let k = 0; k < texels.length; k++) s += weight[texels[k]];
  return s;
}

/** Texture completion with its statistics over the chart (`texels`: the chart's texel indices). */
export function completeTexture(color: Float32Array, weight: Float32Array, covered: Uint8Array, texels: Int32Array, size: number, opts: CompletionOptions): CompletionStats {
  const own = weightSum(weight, texels);
  if (opts.mirrorU) (opts.mirrorBlend === 'colour' ? completeMirrored : completeMirroredGradient)(color, weight, covered, size);
  const mirrored = weightSum(weight, texels);
  if (opts.tone) seedTone(color, weight, covered, opts.tone, opts.toneStrength ?? 0.1, opts.secondTone);
  pushPullFill(color, weight, size);
  const chart = Math.max(1, texels.length);
  return { fromPhoto: own / chart, fromMirror: (mirrored - own) / chart, interpolated: 1 - mirrored / chart };
}
