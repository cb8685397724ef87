/**
 * The shading detail's two maps, as the exports and viewers read them: the height on the solve's grid
 * becomes the tile-size displacement map and the tangent-space normal map it implies.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { bilinearTaps } from './bilinear-taps';
import { detailMapsKernel } from './simd/kernels';
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
  upsampleDetailMaps(nx, ny, h, S, size, 127 / rangeMm, normal.data, displacement.data);
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
    lu[v] = Math.sqrt(du[3 * v] * du[3 * v] + du[3 * v + 1] * du[3 * v + 1] + du[3 * v + 2] * du[3 * v + 2]) / S;
    lv[v] = Math.sqrt(dv[3 * v] * dv[3 * v] + dv[3 * v + 1] * dv[3 * v + 1] + dv[3 * v + 2] * dv[3 * v + 2]) / S;
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
 * The size x size maps from the S x S grid, bilinear (texel centres aligned, as bilinearTaps): the
 * normal from the upsampled slopes (normalised per texel), the displacement from the upsampled height
 * times dScale levels per mm; in f32, four texels at a time (simd/detail-maps.wat). Off the chart every
 * input is 0, so the same arithmetic gives the flat (128, 128, 255) and 128.
 */
function upsampleDetailMaps(nx: Float32Array, ny: Float32Array, h: Float32Array, S: number, size: number, dScale: number, nd: Uint8Array, dd: Uint8Array): void {
  detailMapsKernel({ nx, ny, height: h, S, size, taps: bilinearTaps(S, size), dScale, normal: nd, displacement: dd });
}
