/**
 * Texture completion: what the photo did not see is taken from the face's other side through the
 * left/right symmetry of the UV layout (u -> 1 - u, exact to 1e-3 for MediaPipe's canonical face),
 * then every remaining gap, and the area outside the chart, is filled by push-pull interpolation
 * (Gortler et al., "The Lumigraph", SIGGRAPH 1996, pull-push), which is smooth and has no seams.
 */

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
 */
export function completeMirrored(color: Float32Array, weight: Float32Array, covered: Uint8Array, size: number): void {
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
      const cm0 = color[3 * m], cm1 = color[3 * m + 1], cm2 = color[3 * m + 2];
      if (covered[i] && wi < 1) {
        const add = (1 - wi) * wm;
        const total = wi + add;
        if (total > 0) {
          color[3 * i] = (wi * ci0 + add * cm0) / total;
          color[3 * i + 1] = (wi * ci1 + add * cm1) / total;
          color[3 * i + 2] = (wi * ci2 + add * cm2) / total;
          weight[i] = total;
        }
      }
      if (covered[m] && wm < 1) {
        const add = (1 - wm) * wi;
        const total = wm + add;
        if (total > 0) {
          color[3 * m] = (wm * cm0 + add * ci0) / total;
          color[3 * m + 1] = (wm * cm1 + add * ci1) / total;
          color[3 * m + 2] = (wm * cm2 + add * ci2) / total;
          weight[m] = total;
        }
      }
    }
  }
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
  const cc = new Float32Array(half * half * 3);
  const cw = new Float32Array(half * half);
  for (let y = 0; y < half; y++) {
    for (let x = 0; x < half; x++) {
      let ws = 0, r = 0, g = 0, b = 0;
      for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) {
        const i = (2 * y + dy) * size + 2 * x + dx;
        const w = weight[i];
        ws += w;
        r += w * color[3 * i];
        g += w * color[3 * i + 1];
        b += w * color[3 * i + 2];
      }
      const o = y * half + x;
      if (ws > 0) {
        cc[3 * o] = r / ws;
        cc[3 * o + 1] = g / ws;
        cc[3 * o + 2] = b / ws;
      }
      cw[o] = Math.min(1, ws);
    }
  }
  pushPullFill(cc, cw, half);
  // Push: bilinear upsample of the completed coarse level into the gaps.
  for (let y = 0; y < size; y++) {
    const fy = Math.min(half - 1, Math.max(0, (y - 0.5) / 2));
    const y0 = Math.floor(fy);
    const y1 = Math.min(half - 1, y0 + 1);
    const ay = fy - y0;
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const w = weight[i];
      if (w >= 1) continue;
      const fx = Math.min(half - 1, Math.max(0, (x - 0.5) / 2));
      const x0 = Math.floor(fx);
      const x1 = Math.min(half - 1, x0 + 1);
      const ax = fx - x0;
      for (let ch = 0; ch < 3; ch++) {
        const top = cc[3 * (y0 * half + x0) + ch] * (1 - ax) + cc[3 * (y0 * half + x1) + ch] * ax;
        const bot = cc[3 * (y1 * half + x0) + ch] * (1 - ax) + cc[3 * (y1 * half + x1) + ch] * ax;
        color[3 * i + ch] = w * color[3 * i + ch] + (1 - w) * (top * (1 - ay) + bot * ay);
      }
      weight[i] = 1;
    }
  }
}

/** Texture completion with its statistics over the chart. */
export function completeTexture(color: Float32Array, weight: Float32Array, covered: Uint8Array, size: number): CompletionStats {
  let chart = 0, own = 0;
  for (let i = 0; i < covered.length; i++) if (covered[i]) { chart++; own += weight[i]; }
  completeMirrored(color, weight, covered, size);
  let mirrored = 0;
  for (let i = 0; i < covered.length; i++) if (covered[i]) mirrored += weight[i];
  pushPullFill(color, weight, size);
  return { fromPhoto: own / chart, fromMirror: (mirrored - own) / chart, interpolated: 1 - mirrored / chart };
}
