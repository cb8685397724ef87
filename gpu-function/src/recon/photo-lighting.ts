/**
 * The photo's lighting and the face's albedo, on the UV texture: sh-lighting.ts's estimate and
 * division applied to baked texels, with each texel's surface normal interpolated from the fitted
 * mesh and turned into the camera frame.
 */
import type { RgbImage } from '@facerecon/shared';
import { createRgbImage } from '@facerecon/shared';
import { pushPullFill } from './complete';
import type { Mat3 } from './linalg';
import { divideByShading, estimateShLighting, type ShLighting } from './sh-lighting';
import type { TexelMap } from './texel-map';

export interface PhotoLighting extends ShLighting {
  /** Texels the estimate used, and the share of them the robust fit kept as skin under smooth light. */
  samples: number;
  inlierShare: number;
  /** RMS relative residual over the inliers. */
  rmsResidual: number;
}

/** Normals (unit, camera frame: x right, y up, z towards the viewer) at chart texels `ks` of `map`. */
export function texelNormals(map: TexelMap, indices: Uint32Array, vertexNormals: Float32Array, rotation: Mat3, ks: ArrayLike<number>): Float32Array {
  const out = new Float32Array(ks.length * 3);
  const R = rotation;
  for (let j = 0; j < ks.length; j++) {
    const k = ks[j];
    const t = 3 * map.triangle[k];
    const a = 3 * indices[t], b = 3 * indices[t + 1], c = 3 * indices[t + 2];
    const w1 = map.b1[k], w2 = map.b2[k], w0 = 1 - w1 - w2;
    const hx = w0 * vertexNormals[a] + w1 * vertexNormals[b] + w2 * vertexNormals[c];
    const hy = w0 * vertexNormals[a + 1] + w1 * vertexNormals[b + 1] + w2 * vertexNormals[c + 1];
    const hz = w0 * vertexNormals[a + 2] + w1 * vertexNormals[b + 2] + w2 * vertexNormals[c + 2];
    const x = R[0] * hx + R[1] * hy + R[2] * hz;
    const y = R[3] * hx + R[4] * hy + R[5] * hz;
    const z = R[6] * hx + R[7] * hy + R[8] * hz;
    const len = Math.hypot(x, y, z) || 1;
    out[3 * j] = x / len;
    out[3 * j + 1] = y / len;
    out[3 * j + 2] = z / len;
  }
  return out;
}

/**
 * estimatePhotoLighting: second-order SH lighting per channel (sh-lighting.ts, Kemelmacher-Shlizerman
 * & Basri's constant-albedo estimate with robust reweighting) from the texels the photo saw clearly
 * (bake weight >= 0.8), at most `maxSamples` of them evenly strided: the 9 x 9 normal equations need
 * thousands, not the ~600k a 1024 bake has. Eyes, brows, lips, hair and highlights are outliers of a
 * smooth skin albedo and are down-weighted by the fit. Frame: the camera's (x right, y up, z towards
 * the viewer), so `sh` says where the light came from in the photo. Undefined when fewer than 50
 * texels were seen clearly.
 */
export function estimatePhotoLighting(opts: { color: Float32Array; weight: Float32Array; map: TexelMap; indices: Uint32Array; normals: Float32Array; rotation: Mat3; maxSamples?: number }): PhotoLighting | undefined {
  const { color, weight, map } = opts;
  const { texels } = map;
  let clear = 0;
  for (let k = 0; k < texels.length; k++) if (weight[texels[k]] >= 0.8) clear++;
  if (clear < 50) return undefined;
  const stride = Math.max(1, Math.ceil(clear / (opts.maxSamples ?? 1500)));
  const ks = new Int32Array(Math.ceil(clear / stride));
  for (let k = 0, j = 0, c = 0; k < texels.length; k++) {
    if (weight[texels[k]] < 0.8) continue;
    if (c++ % stride === 0) ks[j++] = k;
  }
  const colors = new Float32Array(ks.length * 3);
  for (let j = 0; j < ks.length; j++) colors.set(color.subarray(3 * map.texels[ks[j]], 3 * map.texels[ks[j]] + 3), 3 * j);
  const normals = texelNormals(map, opts.indices, opts.normals, opts.rotation, ks);
  const fit = estimateShLighting({ colors, normals });
  let kept = 0;
  for (let j = 0; j < fit.inlierWeights.length; j++) if (fit.inlierWeights[j] > 0.5) kept++;
  return { sh: fit.sh, samples: ks.length, inlierShare: kept / ks.length, rmsResidual: fit.rmsResidual };
}

/**
 * albedoTexture: the texture divided by the estimated shading at each chart texel's normal (sRGB in and
 * out, the division in linear light, brightness kept: divideByShading) where the camera saw the
 * surface, fading to the texture as it was past the silhouette; the area outside the chart refilled by
 * push-pull from the chart so it stays seamless. A side-lit face's shadowed side comes out
 * as bright as its lit side.
 */
export function albedoTexture(opts: { texture: RgbImage; map: TexelMap; indices: Uint32Array; normals: Float32Array; rotation: Mat3; lighting: ShLighting }): RgbImage {
  const { texture, map } = opts;
  const size = texture.width;
  const n = map.texels.length;
  const colors = new Float32Array(n * 3);
  for (let k = 0; k < n; k++) for (let ch = 0; ch < 3; ch++) colors[3 * k + ch] = texture.data[3 * map.texels[k] + ch];
  const ks = Int32Array.from({ length: n }, (_, k) => k);
  const normals = texelNormals(map, opts.indices, opts.normals, opts.rotation, ks);
  const lit = colors.slice();
  divideByShading({ lighting: opts.lighting, colors, normals });
  // Only where the camera saw the surface: the lighting was fitted on the front hemisphere, and past the
  // silhouette its extrapolated shading means nothing (the completion has already matched the unseen
  // side to the seen side's light at their border). The same smoothstep(0.1, 0.45, n_z) as the bake.
  for (let k = 0; k < n; k++) {
    const f = normals[3 * k + 2];
    const u = f <= 0.1 ? 0 : f >= 0.45 ? 1 : (f - 0.1) / 0.35;
    const v = u * u * (3 - 2 * u);
    for (let ch = 0; ch < 3; ch++) colors[3 * k + ch] = v * colors[3 * k + ch] + (1 - v) * lit[3 * k + ch];
  }
  const full = new Float32Array(size * size * 3);
  const weight = new Float32Array(size * size);
  for (let k = 0; k < n; k++) {
    full.set(colors.subarray(3 * k, 3 * k + 3), 3 * map.texels[k]);
    weight[map.texels[k]] = 1;
  }
  pushPullFill(full, weight, size);
  const out = createRgbImage(size, size);
  for (let i = 0; i < full.length; i++) out.data[i] = Math.max(0, Math.min(255, Math.round(full[i])));
  return out;
}
