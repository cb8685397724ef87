// The per-pixel pass of icc-srgb.ts, in plain JS so that the HEIC decoder threads (heic-worker.mjs)
// run it on each tile as it is decoded, in parallel, where the main thread would take ~130 ms for a
// whole 12 MP photo. Types: icc-apply.d.mts.

/**
 * Each pixel's R, G, B (at `stride` bytes per pixel: 3 for RGB, 4 for RGBA, whose alpha is left alone)
 * re-expressed through `tables` (icc-srgb.ts srgbConversionTables): three sums of three lookups, then
 * the sRGB encoding table.
 */
export function applySrgbTables(d, stride, tables) {
  const s = tables.shares;
  const encode = tables.encode;
  const top = encode.length - 1;
  const r0 = s.subarray(0, 256), g0 = s.subarray(256, 512), b0 = s.subarray(512, 768);
  const r1 = s.subarray(768, 1024), g1 = s.subarray(1024, 1280), b1 = s.subarray(1280, 1536);
  const r2 = s.subarray(1536, 1792), g2 = s.subarray(1792, 2048), b2 = s.subarray(2048, 2304);
  const n = d.length - (stride - 1);
  for (let o = 0; o < n; o += stride) {
    const r = d[o], g = d[o + 1], b = d[o + 2];
    const lr = r0[r] + g0[g] + b0[b];
    const lg = r1[r] + g1[g] + b1[b];
    const lb = r2[r] + g2[g] + b2[b];
    d[o] = encode[lr <= 0 ? 0 : lr >= top ? top : lr];
    d[o + 1] = encode[lg <= 0 ? 0 : lg >= top ? top : lg];
    d[o + 2] = encode[lb <= 0 ? 0 : lb >= top ? top : lb];
  }
}
