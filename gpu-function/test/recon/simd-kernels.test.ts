/**
 * The WebAssembly kernels against independent computations: box sums against summing each window
 * directly, the detail maps against the bilinear interpolation and normalisation evaluated per texel
 * in f64 from their definitions.
 */
import { describe, expect, it } from 'vitest';
import { bilinearTaps } from '../../src/recon/bilinear-taps';
import { boxSums } from '../../src/recon/box-filter';
import { boxSumKernel, chromaAlbedoKernel, detailMapsKernel, floatsToBytesKernel, gainFieldKernel, liftCutKernel, slopeNormalsKernel } from '../../src/recon/simd/kernels';
import { LOG_LINEAR_TABLE, srgbToLinear } from '../../src/recon/srgb';
import { rasterizeUvTriangles } from '../../src/recon/texel-map';

/** Deterministic values in [-1, 1) (a linear congruential generator). */
function noise(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function directBoxSum(a: Float32Array, S: number, r: number): Float64Array {
  const out = new Float64Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      let s = 0;
      for (let v = Math.max(0, y - r); v <= Math.min(S - 1, y + r); v++) for (let u = Math.max(0, x - r); u <= Math.min(S - 1, x + r); u++) s += a[v * S + u];
      out[y * S + x] = s;
    }
  }
  return out;
}

describe('boxSum (WebAssembly running sums)', () => {
  // Even and odd sizes (the column pass does two columns per step and the odd one last), radius 0,
  // and the widest window the running sums take (2r + 1 = S).
  for (const [S, r] of [[64, 5], [63, 7], [17, 8], [32, 0], [9, 1]] as const) {
    it(`S ${S}, r ${r}: every window's sum, clipped at the edges`, () => {
      const a = noise(S * S, S * 31 + r);
      const expected = directBoxSum(a, S, r);
      const got = Float32Array.from(a);
      boxSumKernel([got], S, r);
      let worst = 0;
      for (let i = 0; i < S * S; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
      // f32 outputs of sums of up to (2r + 1)^2 values in [-1, 1): a few f32 ulps of the window's size.
      expect(worst).toBeLessThan(1e-5 * (2 * r + 1) ** 2);
    });
  }

  it('the kernel refuses a window wider than the grid (its running sums would read past the rows)', () => {
    expect(() => boxSumKernel([new Float32Array(64)], 8, 4)).toThrow(RangeError);
  });

  it('several planes over several passes: each plane as if blurred alone, pass after pass (the second pass of a sum of sums)', () => {
    const S = 40, r = 3;
    const planes = [noise(S * S, 1), noise(S * S, 2), noise(S * S, 3)];
    const expected = planes.map((p) => directBoxSum(Float32Array.from(directBoxSum(p, S, r)), S, r));
    const got = planes.map((p) => Float32Array.from(p));
    boxSums(got, new Float32Array(S * S), S, r, 2);
    for (let p = 0; p < 3; p++) {
      let worst = 0;
      for (let i = 0; i < S * S; i++) worst = Math.max(worst, Math.abs(got[p][i] - expected[p][i]));
      // Sums of (2r + 1)^2 sums of as many values in [-1, 1): f32 ulps at that scale.
      expect(worst).toBeLessThan(1e-5 * (2 * r + 1) ** 4);
    }
  });

  it('boxSums takes windows wider than the grid through its clipped path, with the same meaning', () => {
    const S = 12, r = 9;
    const a = noise(S * S, 7);
    const expected = directBoxSum(a, S, r);
    const got = Float32Array.from(a);
    boxSums([got], new Float32Array(S * S), S, r, 1);
    for (let i = 0; i < S * S; i++) expect(got[i]).toBeCloseTo(expected[i], 4);
  });
});

/** The maps' definition (detail-maps.ts), per texel in f64. */
function expectedDetail(nx: Float32Array, ny: Float32Array, h: Float32Array, S: number, size: number, dScale: number, x: number, y: number): number[] {
  const sample = (g: Float32Array) => {
    const sx = Math.min(S - 1, Math.max(0, ((x + 0.5) * S) / size - 0.5)), sy = Math.min(S - 1, Math.max(0, ((y + 0.5) * S) / size - 0.5));
    const x0 = Math.floor(sx), y0 = Math.floor(sy), x1 = Math.min(S - 1, x0 + 1), y1 = Math.min(S - 1, y0 + 1), ax = sx - x0, ay = sy - y0;
    return (1 - ay) * ((1 - ax) * g[y0 * S + x0] + ax * g[y0 * S + x1]) + ay * ((1 - ax) * g[y1 * S + x0] + ax * g[y1 * S + x1]);
  };
  const gx = sample(nx), gy = sample(ny), hh = sample(h);
  const l = 1 / Math.hypot(gx, gy, 1);
  const d = Math.min(255, Math.max(0, 128.5 + hh * dScale));
  return [128 + 127.5 * gx * l, 128 + 127.5 * gy * l, 128 + 127.5 * l, d];
}

describe('detailMapsKernel (WebAssembly, four texels at a time)', () => {
  for (const [S, size] of [[64, 256], [256, 1024], [48, 96], [16, 128], [40, 128]] as const) {
    it(`${S} -> ${size}: the bilinear slopes' normal and the height's grey level, to within one level`, () => {
      // Smooth fields with a few steep places (slopes up to ~2.5), zero on a border like the chart's outside.
      const nx = new Float32Array(S * S), ny = new Float32Array(S * S), h = new Float32Array(S * S);
      const rnd = noise(3 * S * S, S);
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const i = y * S + x;
          if ((x - S / 2) ** 2 + (y - S / 2) ** 2 > (0.4 * S) ** 2) continue;
          nx[i] = 2 * Math.sin(x / 5) * Math.cos(y / 7) + 0.2 * rnd[i];
          ny[i] = 1.5 * Math.cos((x + y) / 4) + 0.2 * rnd[S * S + i];
          h[i] = 1.2 * Math.sin(x / 9) + 0.1 * rnd[2 * S * S + i];
        }
      }
      const dScale = 127 / 1.25;
      const normal = new Uint8Array(3 * size * size), displacement = new Uint8Array(3 * size * size);
      detailMapsKernel({ nx, ny, height: h, S, size, taps: bilinearTaps(S, size), dScale, normal, displacement });
      let off = 0, worst = 0, flatChecked = 0, flatWrong = 0, notGrey = 0, clipped = 0;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const e = expectedDetail(nx, ny, h, S, size, dScale, x, y);
          const o = 3 * (y * size + x);
          const got = [normal[o], normal[o + 1], normal[o + 2], displacement[o]];
          // Uint8 stores truncate: the expected level is floor(e).
          for (let c = 0; c < 4; c++) {
            const diff = Math.abs(got[c] - Math.floor(e[c]));
            worst = Math.max(worst, diff);
            if (diff) off++;
          }
          if (displacement[o + 1] !== displacement[o] || displacement[o + 2] !== displacement[o]) notGrey++;
          if (e[3] === 0 || e[3] === 255) clipped++;
          if (e[0] === 128 && e[1] === 128 && e[3] === 128.5) {
            // All four taps off the chart: exactly flat.
            if (got[0] !== 128 || got[1] !== 128 || got[2] !== 255 || got[3] !== 128) flatWrong++;
            flatChecked++;
          }
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
      expect(notGrey).toBe(0);
      expect(flatWrong).toBe(0);
      // f32 against f64 rounding moves a level only where the exact value sits on a level's edge.
      expect(off / (4 * size * size)).toBeLessThan(1e-3);
      expect(flatChecked).toBeGreaterThan(size * size * 0.2);
      expect(clipped).toBeGreaterThan(0);
    });
  }

  it('refuses a size that is not a multiple of 4 rather than writing past its rows', () => {
    const z = new Float32Array(64);
    expect(() => detailMapsKernel({ nx: z, ny: z, height: z, S: 8, size: 30, taps: bilinearTaps(8, 30), dScale: 1, normal: new Uint8Array(2700), displacement: new Uint8Array(2700) })).toThrow(/multiple of 4/);
  });
});

describe('gainFieldKernel (WebAssembly table lookups)', () => {
  for (const [G, size] of [[64, 256], [256, 1024], [30, 120]] as const) {
    it(`${G} -> ${size}: each texel's byte through the table row of its bilinear gain`, () => {
      // A table whose every entry says where it came from (row and column mixed into a byte), so a
      // wrong row or column shows; rows 0 .. 299.
      const rows = 300;
      const table = new Uint8Array(rows * 256);
      for (let j = 0; j < rows; j++) for (let c = 0; c < 256; c++) table[(j << 8) | c] = (j * 7 + c * 13) & 255;
      const gain = new Float32Array(3 * G * G);
      const rnd = noise(3 * G * G, G);
      for (let i = 0; i < G * G; i++) for (let ch = 0; ch < 3; ch++) gain[3 * i + ch] = 150 + 100 * Math.sin((i % G) / 6 + ch) * Math.cos(i / G / 5) + 20 * rnd[3 * i + ch];
      const src = new Uint8Array(3 * size * size);
      const rs = noise(src.length, 3);
      for (let i = 0; i < src.length; i++) src[i] = Math.floor((rs[i] + 1) * 128);
      const dst = new Uint8Array(src.length);
      gainFieldKernel({ src, dst, size, gain, G, taps: bilinearTaps(G, size), table });
      let off = 0, wrong = 0;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const sx = Math.min(G - 1, Math.max(0, ((x + 0.5) * G) / size - 0.5)), sy = Math.min(G - 1, Math.max(0, ((y + 0.5) * G) / size - 0.5));
          const x0 = Math.floor(sx), y0 = Math.floor(sy), x1 = Math.min(G - 1, x0 + 1), y1 = Math.min(G - 1, y0 + 1), ax = sx - x0, ay = sy - y0;
          for (let ch = 0; ch < 3; ch++) {
            const g = (k: number) => gain[3 * k + ch];
            const row = (1 - ay) * ((1 - ax) * g(y0 * G + x0) + ax * g(y0 * G + x1)) + ay * ((1 - ax) * g(y1 * G + x0) + ax * g(y1 * G + x1));
            const o = 3 * (y * size + x) + ch;
            const exact = table[(Math.floor(row + 0.5) << 8) | src[o]];
            if (dst[o] === exact) continue;
            // The separable blend rounds its intermediate row to f32: a texel whose row sits on a
            // rounding edge may take the neighbouring row.
            const near = [Math.floor(row + 0.5) - 1, Math.floor(row + 0.5) + 1].some((j) => table[(j << 8) | src[o]] === dst[o]);
            if (near && Math.abs(row + 0.5 - Math.round(row + 0.5)) < 1e-3) off++;
            else wrong++;
          }
        }
      }
      expect(wrong).toBe(0);
      expect(off / (3 * size * size)).toBeLessThan(1e-3);
    });
  }

  it('from log gains: each becomes its clamped table row first, (clamp(g + offset, -limit, limit) + limit) / step', () => {
    const G = 32, size = 128, limit = 0.5, step = 0.004, offset = -0.1;
    const table = new Uint8Array(251 * 256);
    for (let j = 0; j < 251; j++) for (let c = 0; c < 256; c++) table[(j << 8) | c] = (j * 5 + c * 11) & 255;
    // Log gains past both ends of the table too, so the clamp is exercised.
    const logGain = Float32Array.from(noise(3 * G * G, 11), (v) => 0.8 * v);
    const src = Uint8Array.from(noise(3 * size * size, 5), (v) => Math.floor((v + 1) * 128));
    const rows = Float32Array.from(logGain, (g) => (Math.max(-limit, Math.min(limit, g + offset)) + limit) / step);
    const want = new Uint8Array(src.length), got = new Uint8Array(src.length);
    gainFieldKernel({ src, dst: want, size, gain: rows, G, taps: bilinearTaps(G, size), table });
    gainFieldKernel({ src, dst: got, size, gain: logGain, G, taps: bilinearTaps(G, size), table, rows: { offset, limit, step } });
    expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
    // The caller's log gains are left as they were.
    expect(logGain[0]).toBeCloseTo(0.8 * noise(1, 11)[0], 6);
  });
});

describe('slopeNormalsKernel (WebAssembly)', () => {
  it("a tilted plane's slope on every chart texel, one-sided at the chart's border and around a hole, over the texel size", () => {
    // Two triangles over the unit UV square, a 40 x 40 grid; a 6 x 6 hole taken out of the chart.
    const S = 40;
    const uvs = Float32Array.from([0, 0, 1, 0, 1, 1, 0, 1]);
    const indices = Uint32Array.from([0, 1, 2, 0, 2, 3]);
    const map = rasterizeUvTriangles(uvs, indices, S);
    const active = Uint8Array.from(map.covered);
    for (let y = 15; y < 21; y++) for (let x = 15; x < 21; x++) active[y * S + x] = 0;
    const keep = Array.from(map.texels.keys()).filter((k) => active[map.texels[k]]);
    const sub = { texels: Int32Array.from(keep, (k) => map.texels[k]), triangle: Int32Array.from(keep, (k) => map.triangle[k]), b1: Float32Array.from(keep, (k) => map.b1[k]), b2: Float32Array.from(keep, (k) => map.b2[k]) };
    // h = 0.02 x - 0.035 y (mm, x and y in texels); texel sizes 0.5 mm along u, 0.8 mm along v at every vertex.
    const height = new Float32Array(S * S);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) height[y * S + x] = active[y * S + x] ? 0.02 * x - 0.035 * y : 0;
    const lu = new Float32Array(4).fill(0.5), lv = new Float32Array(4).fill(0.8);
    const { nx, ny, maxAbs } = slopeNormalsKernel({ height, active, S, map: sub, indices, lu, lv });
    let worst = 0, checked = 0;
    for (let i = 0; i < S * S; i++) {
      if (!active[i]) {
        expect(nx[i]).toBe(0);
        expect(ny[i]).toBe(0);
        continue;
      }
      // x = -h_u / e_u, y = +h_v / e_v (h_v steps down the image).
      worst = Math.max(worst, Math.abs(nx[i] - -0.02 / 0.5), Math.abs(ny[i] - -0.035 / 0.8));
      checked++;
    }
    expect(checked).toBe(sub.texels.length);
    expect(worst).toBeLessThan(1e-5);
    let want = 0;
    for (let i = 0; i < S * S; i++) if (active[i]) want = Math.max(want, Math.abs(height[i]));
    expect(maxAbs).toBeCloseTo(want, 6);
  });
});

describe('chromaAlbedoKernel (WebAssembly)', () => {
  it('keeps an even albedo under smooth shading (residual 0), gates out a texel of another colour and weighs out a glint', () => {
    const S = 32, n = S * S, albedo = 0.4;
    const mean = new Float32Array(3 * n), I = new Float32Array(n), s0 = new Float32Array(n), weight = new Float32Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      s0[i] = 0.6 + 0.4 * Math.sin(((i % S) / S) * 2) * Math.cos(Math.floor(i / S) / S);
      I[i] = albedo * s0[i];
      mean.set([180, 140, 120], 3 * i);
    }
    const red = 10 * S + 10, glint = 20 * S + 20;
    mean.set([200, 110, 100], 3 * red);
    I[glint] *= 1.6;
    const gated = Float32Array.from(weight);
    const out = chromaAlbedoKernel({ weight: gated, mean, I, s0, S, radius: 3, chromaGate: true, chromaEdge: [0.03, 0.08], logTable: LOG_LINEAR_TABLE });
    // The red texel's log R/G is ~0.3 from its neighbours' (linear light): weight 0, in place too.
    const lr = (c: number[]) => Math.log(srgbToLinear(c[0]) / srgbToLinear(c[1]));
    expect(Math.abs(lr([200, 110]) - lr([180, 140]))).toBeGreaterThan(0.08);
    expect(gated[red]).toBe(0);
    expect(out.weight[red]).toBe(0);
    // The glint's residual is 0.6 (clamped to 0.35): no weight; its neighbours' albedo stays even.
    expect(out.residual[glint]).toBeCloseTo(0.35, 6);
    expect(out.weight[glint]).toBe(0);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      if (i === red || i === glint) continue;
      expect(gated[i]).toBe(1);
      worst = Math.max(worst, Math.abs(out.residual[i]), Math.abs(out.albedo[i] - albedo) / albedo);
    }
    // The second round blurs without the glint, so nothing around it is darkened or lifted.
    expect(worst).toBeLessThan(1e-5);
    expect(out.evidenceTexels).toBe(n - 2);
  });
});

describe('liftCutKernel (WebAssembly)', () => {
  it("caps each chart texel's log gain at its neighbourhood's mean plus the spike, and leaves the rest", () => {
    const G = 40, n = G * G, r = 3, spike = Math.log(1.3);
    // A disc of chart, smooth log gains on it and three spikes, one per channel.
    const weight = new Float32Array(n), logGain = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) {
      const x = (i % G) / G - 0.5, y = Math.floor(i / G) / G - 0.5;
      if (x * x + y * y > 0.2) continue;
      weight[i] = 1;
      for (let ch = 0; ch < 3; ch++) logGain[3 * i + ch] = 0.3 + 0.4 * x + 0.1 * ch * y;
    }
    const spikes = [20 * G + 20, 12 * G + 25, 27 * G + 14];
    spikes.forEach((i, ch) => (logGain[3 * i + ch] += 1.5));
    const before = Float32Array.from(logGain);
    // The blurred chart indicator and channel sums, each window summed directly, twice.
    const blur2 = (a: Float32Array) => directBoxSum(Float32Array.from(directBoxSum(a, G, r)), G, r);
    const den = Float32Array.from(blur2(weight));
    const sums = [0, 1, 2].map((ch) => blur2(Float32Array.from({ length: n }, (_, i) => (weight[i] > 0 ? before[3 * i + ch] : 0))));
    liftCutKernel({ logGain, weight, den, G, radius: r, passes: 2, spike });
    let cut = 0;
    for (let i = 0; i < n; i++) {
      for (let ch = 0; ch < 3; ch++) {
        const v = before[3 * i + ch], cap = sums[ch][i] / den[i] + spike;
        const want = weight[i] > 0 && v > cap ? Math.max(0, cap) : v;
        expect(Math.abs(logGain[3 * i + ch] - want)).toBeLessThan(1e-5);
        if (logGain[3 * i + ch] !== v) cut++;
      }
    }
    // The three spikes are cut, and nothing smooth is.
    spikes.forEach((i, ch) => expect(logGain[3 * i + ch]).toBeLessThan(before[3 * i + ch] - 1));
    expect(cut).toBe(3);
  });
});


describe('floatsToBytesKernel (WebAssembly, sixteen values at a time)', () => {
  it('gives the bytes a Uint8ClampedArray store gives: ties to even, clamped, NaN and -0 to 0, tails of any length', () => {
    const special = [0.5, 1.5, 2.5, 126.5, 127.5, 254.5, 255.5, -0.5, -0, Number.NaN, Infinity, -Infinity, 127.49999, 1e9, -1e9, 0.49999997, 3.5000002, 254.49998];
    for (const n of [1, 15, 16, 17, 3 * 7 * 7, 4099]) {
      const src = noise(n, n).map((v) => v * 160 + 128);
      for (let i = 0; i < n; i += 3) src[i] = Math.round(src[i]) + 0.5; // ties
      special.forEach((v, k) => k < n && (src[(k * 5) % n] = v));
      const expected = new Uint8ClampedArray(n);
      for (let i = 0; i < n; i++) expected[i] = src[i];
      const out = new Uint8Array(n + 3).fill(77);
      floatsToBytesKernel(src, out);
      expect(Array.from(out.subarray(0, n)), `n = ${n}`).toEqual(Array.from(expected));
      expect(Array.from(out.subarray(n)), 'nothing past n is written').toEqual([77, 77, 77]);
    }
    expect(() => floatsToBytesKernel(new Float32Array(8), new Uint8Array(7))).toThrow(RangeError);
  });
});
