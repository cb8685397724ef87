/**
 * The shading detail's two maps, as the exports and viewers read them: the height on the solve's grid
 * becomes the tile-size displacement map and the tangent-space normal map it implies.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { bilinearTaps } from './bilinear-taps';
import { detailMapsKernel, slopeNormalsKernel } from './simd/kernels';
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
  const { lu, lv } = texelLengths(frames.du, frames.dv, S);
  const { nx, ny, maxAbs } = slopeNormalsKernel({ height: h, active, S, map: workMap, indices, lu, lv });
  const rangeMm = Math.max(0.25, Math.ceil(maxAbs * 4) / 4);
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

/**
 * Per vertex, |dP/du| and |dP/dv| in mm per working texel (of S): the texel sizes e_u, e_v that
 * simd/detail-maps.wat's slopeNormals blends per texel (central differences of h inside the chart,
 * one-sided at its border, over e: x = -h_u / e_u, y = +h_v / e_v).
 */
function texelLengths(du: Float32Array, dv: Float32Array, S: number): { lu: Float32Array; lv: Float32Array } {
  const nv = du.length / 3;
  const lu = new Float32Array(nv), lv = new Float32Array(nv);
  for (let v = 0; v < nv; v++) {
    lu[v] = Math.sqrt(du[3 * v] * du[3 * v] + du[3 * v + 1] * du[3 * v + 1] + du[3 * v + 2] * du[3 * v + 2]) / S;
    lv[v] = Math.sqrt(dv[3 * v] * dv[3 * v] + dv[3 * v + 1] * dv[3 * v + 1] + dv[3 * v + 2] * dv[3 * v + 2]) / S;
  }
  return { lu, lv };
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
