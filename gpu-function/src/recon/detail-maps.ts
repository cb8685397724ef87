/**
 * The shading detail's two maps, as the exports and viewers read them: the height on the solve's grid
 * becomes the tile-size displacement map and the tangent-space normal map it implies.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { bilinearTaps } from './bilinear-taps';
import type { TexelMap } from './texel-map';
import type { UvTangentFrames } from './tangents';

export interface DetailMaps {
  /**
   * Tangent-space normal map of the face tile (tile 0), same size and UV layout: glTF / OpenGL
   * convention, R = +T (increasing u), G = +B (up the image, decreasing v), B = +N; 128 = 0.
   * Flat (128, 128, 255) wherever no detail was recovered.
   */
  normal: RgbImage;
  /** Displacement along the normal, grey (R = G = B), 128 = 0, level L means (L - 128) / 127 * rangeMm millimetres. */
  displacement: RgbImage;
  /** Millimetres that 127 grey levels of `displacement` stand for. */
  rangeMm: number;
}

/**
 * encodeDetailMaps: the height (working grid) as the tile-size displacement map and tangent-space
 * normal map. The normal is n0 - grad h in the texel's (T, B = up the image, N) frame: x = -h_u / e_u,
 * y = +h_v / e_v (h_v steps down the image), z = 1, normalised; e the texel's size in mm. Values are
 * computed on the working grid and bilinearly upsampled; texels outside the chart are flat.
 */
export function encodeDetailMaps(opts: { height: Float32Array; active: Uint8Array; workSize: number; size: number; workMap: TexelMap; indices: Uint32Array; frames: UvTangentFrames }): DetailMaps {
  const { height: h, active, workSize: S, size, workMap, indices, frames } = opts;
  const nx = new Float32Array(S * S), ny = new Float32Array(S * S);
  slopeNormals(h, active, S, workMap.texels, workMap.triangle, workMap.b1, workMap.b2, indices, frames.du, frames.dv, nx, ny);
  const rangeMm = Math.max(0.25, Math.ceil(maxAbsActive(h, active) * 4) / 4);
  const normal = createRgbImage(size, size);
  const displacement = createRgbImage(size, size);
  upsampleDetailMaps(nx, ny, h, active, S, size, 127 / rangeMm, normal.data, displacement.data);
  return { normal, displacement, rangeMm };
}

// Why the hot passes here and in the other recon modules are functions of their own over typed arrays,
// and not loops inside a longer function or closures made per call: V8 compiled such a loop on-stack
// on every request and threw the code away at the first cold statement after it (an object literal, a
// recursive call, an allocation), and recompiled closures made per call, so each request ran much of
// the stage in the interpreter. This encode took 2.5x as long inside the service as in isolation
// (`node --trace-opt --trace-deopt`; bench:detail's notes).

/** Per working texel, the tangent-space normal's x and y for n0 - grad h (see encodeDetailMaps). */
function slopeNormals(h: Float32Array, active: Uint8Array, S: number, texels: Int32Array, triangle: Int32Array, b1: Float32Array, b2: Float32Array, indices: Uint32Array, du: Float32Array, dv: Float32Array, nx: Float32Array, ny: Float32Array): void {
  const N = S * S;
  const nv = du.length / 3;
  const lu = new Float32Array(nv), lv = new Float32Array(nv);
  for (let v = 0; v < nv; v++) {
    lu[v] = Math.hypot(du[3 * v], du[3 * v + 1], du[3 * v + 2]) / S;
    lv[v] = Math.hypot(dv[3 * v], dv[3 * v + 1], dv[3 * v + 2]) / S;
  }
  for (let k = 0; k < texels.length; k++) {
    const i = texels[k];
    const t = 3 * triangle[k];
    const a = indices[t], b = indices[t + 1], c = indices[t + 2];
    const w1 = b1[k], w2 = b2[k], w0 = 1 - w1 - w2;
    const eu = w0 * lu[a] + w1 * lu[b] + w2 * lu[c];
    const ev = w0 * lv[a] + w1 * lv[b] + w2 * lv[c];
    // Central differences inside the chart, one-sided at its border.
    const x = i % S;
    const l = x > 0 && active[i - 1] ? 1 : 0, rr = x + 1 < S && active[i + 1] ? 1 : 0;
    const u = i >= S && active[i - S] ? 1 : 0, d = i + S < N && active[i + S] ? 1 : 0;
    const gu = l + rr ? ((rr ? h[i + 1] : h[i]) - (l ? h[i - 1] : h[i])) / (l + rr) : 0;
    const gv = u + d ? ((d ? h[i + S] : h[i]) - (u ? h[i - S] : h[i])) / (u + d) : 0;
    if (eu > 0) nx[i] = -gu / eu;
    if (ev > 0) ny[i] = gv / ev;
  }
}

function maxAbsActive(h: Float32Array, active: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < h.length; i++) if (active[i] && Math.abs(h[i]) > m) m = Math.abs(h[i]);
  return m;
}

/**
 * The size x size maps from the S x S grid, bilinear: the normal from the upsampled slopes (normalised
 * per texel), the displacement from the upsampled height times dScale levels per mm.
 */
function upsampleDetailMaps(nx: Float32Array, ny: Float32Array, h: Float32Array, active: Uint8Array, S: number, size: number, dScale: number, nd: Uint8Array, dd: Uint8Array): void {
  // Bilinear taps per column, computed once: the upsampling factor is the same for every row. The
  // columns come in runs that share their two taps (size / S of them), so each run reads its taps once.
  const f = S / size;
  const { at0: cx0, at1: cx1, frac: cax, runs } = bilinearTaps(S, size);
  // Separable bilinear: each output row first blends its two grid rows (gradient, height and whether
  // any of the four taps is on the chart), then each texel blends two columns of that row.
  const rx = new Float32Array(S), ry = new Float32Array(S), rh = new Float32Array(S), ra = new Uint8Array(S);
  for (let y = 0; y < size; y++) {
    const sy = Math.min(S - 1, Math.max(0, (y + 0.5) * f - 0.5));
    const r0 = Math.floor(sy) * S, r1 = Math.min(S - 1, Math.floor(sy) + 1) * S, ay = sy - Math.floor(sy);
    for (let x = 0; x < S; x++) {
      const i0 = r0 + x, i1 = r1 + x;
      rx[x] = nx[i0] + ay * (nx[i1] - nx[i0]);
      ry[x] = ny[i0] + ay * (ny[i1] - ny[i0]);
      rh[x] = h[i0] + ay * (h[i1] - h[i0]);
      ra[x] = active[i0] | active[i1];
    }
    upsampleDetailRow(rx, ry, rh, ra, runs, cx0, cx1, cax, dScale, nd, dd, 3 * y * size);
  }
}

/** One output row of upsampleDetailMaps from its blended grid row, run by run. */
function upsampleDetailRow(rx: Float32Array, ry: Float32Array, rh: Float32Array, ra: Uint8Array, runs: Int32Array, cx0: Int32Array, cx1: Int32Array, cax: Float32Array, dScale: number, nd: Uint8Array, dd: Uint8Array, rowOffset: number): void {
  for (let r = 0; r + 1 < runs.length; r++) {
    const x0 = runs[r], x1 = runs[r + 1];
    const c0 = cx0[x0], c1 = cx1[x0];
    let o = rowOffset + 3 * x0;
    if ((ra[c0] | ra[c1]) === 0) {
      // Off the chart: flat and zero, without the arithmetic.
      for (let x = x0; x < x1; x++, o += 3) {
        nd[o] = nd[o + 1] = 128;
        nd[o + 2] = 255;
        dd[o] = dd[o + 1] = dd[o + 2] = 128;
      }
      continue;
    }
    const gx0 = rx[c0], gxd = rx[c1] - gx0, gy0 = ry[c0], gyd = ry[c1] - gy0, h0 = rh[c0], hd = rh[c1] - h0;
    for (let x = x0; x < x1; x++, o += 3) {
      const ax = cax[x];
      const gx = gx0 + ax * gxd;
      const gy = gy0 + ax * gyd;
      const hh = h0 + ax * hd;
      const il = 127.5 / Math.sqrt(gx * gx + gy * gy + 1);
      // Uint8Array stores truncate: + 0.5 rounds the non-negative values.
      nd[o] = 128 + gx * il;
      nd[o + 1] = 128 + gy * il;
      nd[o + 2] = 128 + il;
      const d = 128.5 + hh * dScale;
      dd[o] = dd[o + 1] = dd[o + 2] = d < 0 ? 0 : d > 255 ? 255 : d;
    }
  }
}
