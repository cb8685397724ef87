/**
 * Shading detail: the geometry finer than the fitted mesh (folds, wrinkles, the nose's real profile),
 * recovered from the photo's shading in UV space and returned as a displacement map along the normal
 * and the tangent-space normal map it implies.
 *
 * Method: linearised shape-from-shading on top of a known coarse shape and known lighting, as in
 * Kemelmacher-Shlizerman & Basri ("3D face reconstruction from a single image using a single reference
 * face shape", PAMI 2011), with the detail kept apart from the coarse shape by a screened term in the
 * spirit of Nehab et al. ("Efficiently combining positions and normals for precise 3D geometry",
 * SIGGRAPH 2005): low frequencies come from the fitted mesh, high frequencies from shading.
 *
 * Model: a texel's linear luminance I = rho * s(n), s the SH shading (sh-lighting.ts) in luminance. The
 * albedo rho is taken as smooth (the normalised blur of I / s(n0) over skin texels), so what is left,
 * r = I / (rho s(n0)) - 1, is shading the coarse normal n0 does not explain. A height h (mm, along n0)
 * tilts the normal to n0 - grad h, so to first order r = -grad_n s . grad h / s = aU h_u + aV h_v, with
 * h_u, h_v the height steps per texel of the working grid. We minimise
 *   sum W (aU Dx h + aV Dy h - r)^2 + alpha |D h|^2 + beta h^2
 * by conjugate gradients: W is the bake weight times a skin likelihood (eyes, brows, lips, beard, hair
 * and highlights are not skin and give no evidence), alpha keeps the unobserved direction (shading only
 * sees the slope along the light's gradient) smooth, and beta pins the height to 0 at scales beyond
 * ~sqrt(alpha / beta) texels, so the detail never changes the face's overall shape.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import type { Mat3 } from './linalg';
import { shIrradianceBasis, type ShLighting } from './sh-lighting';
import { fitSkinColourModel, skinLikelihood } from './skin-gate';
import { srgbToLinearFast } from './srgb';
import type { TexelMap } from './texel-map';
import { solveSfsCascadic } from './sfs-solve';
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

export interface ShadingDetail extends DetailMaps {
  /** The solved height on the working grid (workSize^2, mm along the coarse normal, 0 outside the chart). */
  height: Float32Array;
  workSize: number;
  /** Per working texel: the data weight W, the smooth albedo rho, the coarse shading s(n0), the residual r. */
  evidence: { weight: Float32Array; albedo: Float32Array; shading: Float32Array; residual: Float32Array; aU: Float32Array; aV: Float32Array };
  stats: { iterations: number; relResidual: number; evidenceTexels: number; rmsHeightMm: number };
}

export interface ShadingDetailOptions {
  /** Baked colours of the tile (sRGB 0..255, size^2 x 3) and their bake weights, before completion. */
  color: Float32Array;
  weight: Float32Array;
  size: number;
  /** The tile's texel map at the working size (size, or size / 2 at 1024: the photo rarely resolves more). */
  workMap: TexelMap;
  /** The fitted mesh (head frame) and its per-vertex UV frames (tangents.ts). */
  mesh: { indices: Uint32Array; normals: Float32Array };
  frames: UvTangentFrames;
  /** Head to camera rotation: the lighting's frame is the camera's. */
  rotation: Mat3;
  lighting: ShLighting;
  /** Weigh the evidence by the person's skin colour model (skin-gate.ts); default true. */
  skinGate?: boolean;
  /** Albedo blur radius (mm, converted with the chart's mean texel size): variation wider than this is albedo, finer is shape. Default 5. */
  albedoRadiusMm?: number;
  /** Smoothness, relative to the mean data stiffness; default 0.02. */
  alpha?: number;
  /** Features wider than about this (mm) are left to the fitted mesh: the screening length sqrt(alpha / beta). Default 12. */
  detailScaleMm?: number;
  maxIterations?: number;
}

const LUM = [0.2126, 0.7152, 0.0722];

/**
 * computeShadingDetail: see the module comment. Units: heights in mm along the coarse normal, outward
 * positive. Frames: lighting and normals in the camera frame (x right, y up, z to the viewer); UV v
 * grows downwards. Preconditions: unit normals, lighting estimated on the same photo. Failure modes:
 * without evidence (no clear skin texel with a shading gradient, e.g. perfectly ambient light) the
 * height stays 0 and the maps are flat; r is clamped to +-0.35 and weighted down past 0.2 so that what
 * is not Lambertian skin (specular glints, moles) does not dig holes.
 */
export function computeShadingDetail(opts: ShadingDetailOptions): ShadingDetail {
  const { color, weight, size, workMap, mesh, frames, rotation: R, lighting } = opts;
  const S = workMap.size;
  const f = size / S;
  if (!Number.isInteger(f) || f < 1) throw new RangeError(`working size ${S} must divide the tile size ${size}`);
  // Per vertex: coarse luminance shading, its slope coefficients per UV unit, facing.
  const nv = mesh.normals.length / 3;
  const vS = new Float32Array(nv), vU = new Float32Array(nv), vV = new Float32Array(nv), vFacing = new Float32Array(nv);
  const vEu = new Float32Array(nv), vEv = new Float32Array(nv);
  const shL = new Float64Array(9);
  for (let q = 0; q < 9; q++) shL[q] = LUM[0] * lighting.sh[q] + LUM[1] * lighting.sh[9 + q] + LUM[2] * lighting.sh[18 + q];
  const basis = new Float64Array(9);
  const shade = (x: number, y: number, z: number) => {
    shIrradianceBasis(x, y, z, basis);
    let s = 0;
    for (let q = 0; q < 9; q++) s += shL[q] * basis[q];
    return s;
  };
  const rot = (v: Float32Array, i: number): [number, number, number] => {
    const x = v[3 * i], y = v[3 * i + 1], z = v[3 * i + 2];
    return [R[0] * x + R[1] * y + R[2] * z, R[3] * x + R[4] * y + R[5] * z, R[6] * x + R[7] * y + R[8] * z];
  };
  const EPS = 1e-3;
  for (let v = 0; v < nv; v++) {
    const [nx, ny, nz] = rot(mesh.normals, v);
    const s = shade(nx, ny, nz);
    // The polynomial's gradient, projected onto the tangent plane below, is the gradient on the sphere.
    let gx = (shade(nx + EPS, ny, nz) - shade(nx - EPS, ny, nz)) / (2 * EPS);
    let gy = (shade(nx, ny + EPS, nz) - shade(nx, ny - EPS, nz)) / (2 * EPS);
    let gz = (shade(nx, ny, nz + EPS) - shade(nx, ny, nz - EPS)) / (2 * EPS);
    const gn = gx * nx + gy * ny + gz * nz;
    gx -= gn * nx;
    gy -= gn * ny;
    gz -= gn * nz;
    const [ux, uy, uz] = rot(frames.du, v);
    const [wx, wy, wz] = rot(frames.dv, v);
    const lu = Math.hypot(ux, uy, uz), lv = Math.hypot(wx, wy, wz);
    vS[v] = s;
    vFacing[v] = nz;
    vEu[v] = lu;
    vEv[v] = lv;
    // r = -(g . grad h) / s with grad h = (h_u / e_u) T + (h_v / e_v) V, e = |dP/du| / S per texel.
    if (s > 1e-6 && lu > 0 && lv > 0) {
      vU[v] = -((gx * ux + gy * uy + gz * uz) / lu) / (s * lu);
      vV[v] = -((gx * wx + gy * wy + gz * wz) / lv) / (s * lv);
    }
  }

  // Per working texel: observed luminance (box-averaged from the tile, weighted), evidence weight, coefficients.
  const N = S * S;
  const I = new Float32Array(N), W = new Float32Array(N), s0 = new Float32Array(N), aU = new Float32Array(N), aV = new Float32Array(N);
  const active = new Uint8Array(N);
  const { texels, triangle, b1, b2 } = workMap;
  const { indices } = mesh;
  const mean = new Float32Array(N * 3);
  let meanTexelMm = 0;
  for (let k = 0; k < texels.length; k++) {
    const i = texels[k];
    active[i] = 1;
    const t = 3 * triangle[k];
    const a = indices[t], b = indices[t + 1], c = indices[t + 2];
    const w1 = b1[k], w2 = b2[k], w0 = 1 - w1 - w2;
    s0[i] = w0 * vS[a] + w1 * vS[b] + w2 * vS[c];
    aU[i] = (w0 * vU[a] + w1 * vU[b] + w2 * vU[c]) * S;
    aV[i] = (w0 * vV[a] + w1 * vV[b] + w2 * vV[c]) * S;
    meanTexelMm += (w0 * (vEu[a] + vEv[a]) + w1 * (vEu[b] + vEv[b]) + w2 * (vEu[c] + vEv[c])) / (2 * S);
    const facing = w0 * vFacing[a] + w1 * vFacing[b] + w2 * vFacing[c];
    if (facing <= 0.2 || s0[i] <= 1e-6) continue;
    const x0 = (i % S) * f, y0 = Math.floor(i / S) * f;
    // The block's weighted mean colour, then one conversion to linear light: at a block of 2-4 texels
    // the difference from averaging in linear light is far below the residuals that matter here.
    let sw = 0, sr = 0, sg = 0, sb = 0;
    for (let dy = 0; dy < f; dy++) {
      for (let j = (y0 + dy) * size + x0, end = j + f; j < end; j++) {
        const w = weight[j];
        if (w <= 0) continue;
        sr += w * color[3 * j];
        sg += w * color[3 * j + 1];
        sb += w * color[3 * j + 2];
        sw += w;
      }
    }
    if (sw <= 0) continue;
    const mr = sr / sw, mg = sg / sw, mb = sb / sw;
    I[i] = LUM[0] * srgbToLinearFast(mr) + LUM[1] * srgbToLinearFast(mg) + LUM[2] * srgbToLinearFast(mb);
    mean[3 * i] = mr;
    mean[3 * i + 1] = mg;
    mean[3 * i + 2] = mb;
    // Grazing views carry little slope information and the most landmark error: full weight from n_z 0.5.
    const fade = facing >= 0.5 ? 1 : (facing - 0.2) / 0.3;
    W[i] = (sw / (f * f)) * fade;
  }
  meanTexelMm /= Math.max(1, texels.length);
  // Skin only: this person's skin colour model (skin-gate.ts), fitted on the working grid's clear texels,
  // weighs out eyes, brows, lips, beard, hair and whatever else is not skin.
  const skin = opts.skinGate === false ? undefined : fitSkinColourModel(mean, W, texels, () => true);
  if (skin) for (let i = 0; i < N; i++) if (W[i] > 0) W[i] *= skinLikelihood(skin, mean[3 * i], mean[3 * i + 1], mean[3 * i + 2]);

  // Smooth albedo: normalised box blur (three passes ~ Gaussian) of I / s0 over the evidence.
  const W0 = Float32Array.from(W);
  const radius = Math.max(1, Math.round((opts.albedoRadiusMm ?? 5) / Math.max(1e-3, meanTexelMm)));
  const num = new Float32Array(N), den = new Float32Array(N);
  const blurRatio = (w: Float32Array) => {
    for (let i = 0; i < N; i++) {
      num[i] = w[i] > 0 ? (w[i] * I[i]) / s0[i] : 0;
      den[i] = w[i];
    }
    for (let pass = 0; pass < 3; pass++) {
      boxBlur(num, S, radius);
      boxBlur(den, S, radius);
    }
  };
  const rho = new Float32Array(N), r = new Float32Array(N);
  // Two rounds: the second blurs the albedo without the texels the first found to be outliers, so a
  // dark mole does not darken its surroundings' albedo and raise a ring around itself.
  let evidence = 0;
  for (let round = 0; round < 2; round++) {
    blurRatio(round === 0 ? W0 : W);
    evidence = 0;
    for (let i = 0; i < N; i++) {
      if (W0[i] <= 0 || den[i] <= 1e-6) {
        W[i] = 0;
        continue;
      }
      rho[i] = num[i] / den[i];
      const res = I[i] / (rho[i] * s0[i]) - 1;
      const m = Math.abs(res);
      // Non-Lambertian residuals (glints, moles, stubble) are not geometry: weight falls from 0.2 to 0.35.
      W[i] = m >= 0.35 ? 0 : m > 0.2 ? W0[i] * (1 - (m - 0.2) / 0.15) : W0[i];
      r[i] = Math.max(-0.35, Math.min(0.35, res));
      if (W[i] > 0) evidence++;
    }
  }
  const solved = solveSfsCascadic({ size: S, active, weight: W, aU, aV, residual: r }, { alpha: opts.alpha ?? 0.02, scaleTexels: (opts.detailScaleMm ?? 12) / Math.max(1e-3, meanTexelMm), iterations: opts.maxIterations ?? 15 });
  const h = solved.height;
  let sq = 0, cnt = 0;
  for (let i = 0; i < N; i++) if (active[i]) (sq += h[i] * h[i]), cnt++;

  const { normal, displacement, rangeMm } = encodeDetailMaps({ height: h, active, workSize: S, size, workMap, indices, frames });
  return {
    normal,
    displacement,
    rangeMm,
    height: h,
    workSize: S,
    evidence: { weight: W, albedo: rho, shading: s0, residual: r, aU, aV },
    stats: { iterations: solved.iterations, relResidual: solved.relResidual, evidenceTexels: evidence, rmsHeightMm: Math.sqrt(sq / Math.max(1, cnt)) },
  };
}

/** In place: a box blur of radius r (window 2r + 1), rows then columns, by running sums; edges clamp the window. */
function boxBlur(a: Float32Array, S: number, r: number): void {
  const tmp = new Float32Array(S);
  for (let pass = 0; pass < 2; pass++) {
    const stride = pass === 0 ? 1 : S;
    const step = pass === 0 ? S : 1;
    for (let line = 0; line < S; line++) {
      const base = line * step;
      let acc = 0;
      for (let x = 0; x <= Math.min(r, S - 1); x++) acc += a[base + x * stride];
      for (let x = 0; x < S; x++) {
        tmp[x] = acc / (Math.min(S - 1, x + r) - Math.max(0, x - r) + 1);
        if (x + r + 1 < S) acc += a[base + (x + r + 1) * stride];
        if (x - r >= 0) acc -= a[base + (x - r) * stride];
      }
      for (let x = 0; x < S; x++) a[base + x * stride] = tmp[x];
    }
  }
}

/**
 * encodeDetailMaps: the height (working grid) as the tile-size displacement map and tangent-space
 * normal map. The normal is n0 - grad h in the texel's (T, B = up the image, N) frame: x = -h_u / e_u,
 * y = +h_v / e_v (h_v steps down the image), z = 1, normalised; e the texel's size in mm. Values are
 * computed on the working grid and bilinearly upsampled; texels outside the chart are flat.
 */
export function encodeDetailMaps(opts: { height: Float32Array; active: Uint8Array; workSize: number; size: number; workMap: TexelMap; indices: Uint32Array; frames: UvTangentFrames }): DetailMaps {
  const { height: h, active, workSize: S, size, workMap, indices, frames } = opts;
  const N = S * S;
  const nx = new Float32Array(N), ny = new Float32Array(N);
  const { texels, triangle, b1, b2 } = workMap;
  const len = (v: Float32Array, i: number) => Math.hypot(v[3 * i], v[3 * i + 1], v[3 * i + 2]);
  for (let k = 0; k < texels.length; k++) {
    const i = texels[k];
    const t = 3 * triangle[k];
    const a = indices[t], b = indices[t + 1], c = indices[t + 2];
    const w1 = b1[k], w2 = b2[k], w0 = 1 - w1 - w2;
    const eu = (w0 * len(frames.du, a) + w1 * len(frames.du, b) + w2 * len(frames.du, c)) / S;
    const ev = (w0 * len(frames.dv, a) + w1 * len(frames.dv, b) + w2 * len(frames.dv, c)) / S;
    // Central differences inside the chart, one-sided at its border.
    const x = i % S;
    const l = x > 0 && active[i - 1] ? 1 : 0, rr = x + 1 < S && active[i + 1] ? 1 : 0;
    const u = i >= S && active[i - S] ? 1 : 0, d = i + S < N && active[i + S] ? 1 : 0;
    const gu = l + rr ? ((rr ? h[i + 1] : h[i]) - (l ? h[i - 1] : h[i])) / (l + rr) : 0;
    const gv = u + d ? ((d ? h[i + S] : h[i]) - (u ? h[i - S] : h[i])) / (u + d) : 0;
    if (eu > 0) nx[i] = -gu / eu;
    if (ev > 0) ny[i] = gv / ev;
  }
  let maxAbs = 0;
  for (let i = 0; i < N; i++) if (active[i]) maxAbs = Math.max(maxAbs, Math.abs(h[i]));
  const rangeMm = Math.max(0.25, Math.ceil(maxAbs * 4) / 4);
  const normal = createRgbImage(size, size);
  const displacement = createRgbImage(size, size);
  // Bilinear taps per column, computed once: the upsampling factor is the same for every row.
  const f = S / size;
  const cx0 = new Int32Array(size), cx1 = new Int32Array(size), cax = new Float32Array(size);
  for (let x = 0; x < size; x++) {
    const sx = Math.min(S - 1, Math.max(0, (x + 0.5) * f - 0.5));
    cx0[x] = Math.floor(sx);
    cx1[x] = Math.min(S - 1, cx0[x] + 1);
    cax[x] = sx - cx0[x];
  }
  const dScale = 127 / rangeMm;
  const nd = normal.data, dd = displacement.data;
  for (let y = 0; y < size; y++) {
    const sy = Math.min(S - 1, Math.max(0, (y + 0.5) * f - 0.5));
    const r0 = Math.floor(sy) * S, r1 = Math.min(S - 1, Math.floor(sy) + 1) * S, ay = sy - Math.floor(sy);
    for (let x = 0; x < size; x++) {
      const ax = cax[x];
      const i00 = r0 + cx0[x], i01 = r0 + cx1[x], i10 = r1 + cx0[x], i11 = r1 + cx1[x];
      const top = 1 - ay;
      const w00 = (1 - ax) * top, w01 = ax * top, w10 = (1 - ax) * ay, w11 = ax * ay;
      const gx = w00 * nx[i00] + w01 * nx[i01] + w10 * nx[i10] + w11 * nx[i11];
      const gy = w00 * ny[i00] + w01 * ny[i01] + w10 * ny[i10] + w11 * ny[i11];
      const hh = w00 * h[i00] + w01 * h[i01] + w10 * h[i10] + w11 * h[i11];
      const il = 127.5 / Math.sqrt(gx * gx + gy * gy + 1);
      const o = 3 * (y * size + x);
      // Uint8Array stores truncate: + 0.5 rounds the non-negative values.
      nd[o] = 128 + gx * il;
      nd[o + 1] = 128 + gy * il;
      nd[o + 2] = 128 + il;
      const d = 128.5 + hh * dScale;
      dd[o] = dd[o + 1] = dd[o + 2] = d < 0 ? 0 : d > 255 ? 255 : d;
    }
  }
  return { normal, displacement, rangeMm };
}
