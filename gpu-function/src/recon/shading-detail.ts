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
 * by conjugate gradients (sfs-solve.ts): W is the bake weight times a skin likelihood (eyes, brows, lips,
 * beard, hair and highlights are not skin and give no evidence) and a chromaticity test (freckles, moles
 * and makeup are albedo), alpha keeps the unobserved direction (shading only
 * sees the slope along the light's gradient) smooth, and beta pins the height to 0 at scales beyond
 * ~sqrt(alpha / beta) texels, so the detail never changes the face's overall shape.
 */
import type { Mat3 } from './linalg';
import { shShadeAndGradient, type ShLighting } from './sh-lighting';
import { fitSkinColourModel, skinLikelihood, type SkinColourModel } from './skin-gate';
import { selectKth } from './select';
import { smoothstep } from './smoothstep';
import { LOG_LINEAR_TABLE, srgbToLinearFast } from './srgb';
import type { TexelMap } from './texel-map';
import { solveSfsCascadic } from './sfs-solve';
import type { UvTangentFrames } from './tangents';
import { encodeDetailMaps, type DetailMaps } from './detail-maps';
import { chromaAlbedoKernel } from './simd/kernels';

export type { DetailMaps } from './detail-maps';


export interface ShadingDetail extends DetailMaps {
  /** The solved height on the working grid (workSize^2, mm along the coarse normal, 0 outside the chart). */
  height: Float32Array;
  workSize: number;
  /** Per working texel: the data weight W, the smooth albedo rho, the coarse shading s(n0), the residual r. */
  evidence: { weight: Float32Array; albedo: Float32Array; shading: Float32Array; residual: Float32Array; aU: Float32Array; aV: Float32Array };
  stats: { iterations: number; relResidual: number; evidenceTexels: number; rmsHeightMm: number; ms: { evidence: number; albedo: number; solve: number; encode: number } };
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
  /** Leave out texels whose chromaticity departs from its surroundings' (freckles, moles, redness: albedo, not shape); default true. */
  chromaGate?: boolean;
  /** Albedo blur radius (mm, converted with the chart's mean texel size): variation wider than this is albedo, finer is shape. Default 5. */
  albedoRadiusMm?: number;
  /** Smoothness, relative to the mean data stiffness; default 0.02. */
  alpha?: number;
  /** Features wider than about this (mm) are left to the fitted mesh: the screening length sqrt(alpha / beta). Default 12. */
  detailScaleMm?: number;
  /** CG iterations at each level above the coarsest (which runs to a tolerance). Default 8: 15 gained 0.07 dB of photometric fit on the shared photos for ~8 ms more. */
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
  const { size, workMap } = opts;
  const S = workMap.size;
  if (!Number.isInteger(size / S) || size < S) throw new RangeError(`working size ${S} must divide the tile size ${size}`);
  const ms = { evidence: 0, albedo: 0, solve: 0, encode: 0 };
  let t0 = performance.now();
  const perVertex = vertexShadingTerms(opts);
  const ev = gatherEvidence(opts, perVertex);
  if (opts.skinGate !== false) gateBySkinAlbedo(ev, workMap.texels);
  ms.evidence = performance.now() - t0;
  t0 = performance.now();
  // The blur's window stays within the grid (only a texel of < 0.04 mm on a 256 grid would reach it).
  const radius = Math.min((S - 1) >> 1, Math.max(1, Math.round((opts.albedoRadiusMm ?? 5) / Math.max(1e-3, ev.meanTexelMm))));
  const { albedo, residual, weight, evidenceTexels } = chromaAlbedoKernel({ weight: ev.W, mean: ev.mean, I: ev.I, s0: ev.s0, S, radius, chromaGate: opts.chromaGate !== false, chromaEdge: CHROMA_EDGE, logTable: LOG_LINEAR_TABLE });
  ms.albedo = performance.now() - t0;
  t0 = performance.now();
  const solved = solveSfsCascadic(
    { size: S, active: ev.active, weight, aU: ev.aU, aV: ev.aV, residual },
    { alpha: opts.alpha ?? 0.02, scaleTexels: (opts.detailScaleMm ?? 12) / Math.max(1e-3, ev.meanTexelMm), iterations: opts.maxIterations ?? 8 },
  );
  const h = solved.height;
  const sq = sumOfSquaresAt(h, workMap.texels);
  ms.solve = performance.now() - t0;
  t0 = performance.now();
  const { normal, displacement, rangeMm } = encodeDetailMaps({ height: h, active: ev.active, workSize: S, size, workMap, indices: opts.mesh.indices, frames: opts.frames });
  ms.encode = performance.now() - t0;
  return {
    normal,
    displacement,
    rangeMm,
    height: h,
    workSize: S,
    evidence: { weight, albedo, shading: ev.s0, residual, aU: ev.aU, aV: ev.aV },
    stats: { iterations: solved.iterations, relResidual: solved.relResidual, evidenceTexels, rmsHeightMm: Math.sqrt(sq / Math.max(1, workMap.texels.length)), ms },
  };
}

/** Sum of h[i]^2 over the given indices (a loop of its own, see detail-maps.ts on why). */
function sumOfSquaresAt(h: Float32Array, at: Int32Array): number {
  let sq = 0;
  for (let k = 0; k < at.length; k++) sq += h[at[k]] * h[at[k]];
  return sq;
}

interface VertexTerms {
  /** Luminance shading at the coarse normal, its slope coefficients per UV unit, n_z, |dP/du|, |dP/dv| (camera frame). */
  shade: Float32Array;
  cu: Float32Array;
  cv: Float32Array;
  facing: Float32Array;
  lu: Float32Array;
  lv: Float32Array;
}

/**
 * Per vertex: s(n0) in luminance, and r = -(g . grad h) / s written as cu dh/du + cv dh/dv, where g
 * is the shading's gradient on the sphere and grad h = (dh/du / |dP/du|) T + (dh/dv / |dP/dv|) V.
 */
function vertexShadingTerms(opts: ShadingDetailOptions): VertexTerms {
  const { mesh, frames, rotation: R, lighting } = opts;
  const nv = mesh.normals.length / 3;
  const out: VertexTerms = { shade: new Float32Array(nv), cu: new Float32Array(nv), cv: new Float32Array(nv), facing: new Float32Array(nv), lu: new Float32Array(nv), lv: new Float32Array(nv) };
  const shL = new Float64Array(9);
  for (let q = 0; q < 9; q++) shL[q] = LUM[0] * lighting.sh[q] + LUM[1] * lighting.sh[9 + q] + LUM[2] * lighting.sh[18 + q];
  const N = mesh.normals, du = frames.du, dv = frames.dv;
  const sg = new Float64Array(4);
  for (let v = 0; v < nv; v++) {
    const o = 3 * v;
    const nx = R[0] * N[o] + R[1] * N[o + 1] + R[2] * N[o + 2];
    const ny = R[3] * N[o] + R[4] * N[o + 1] + R[5] * N[o + 2];
    const nz = R[6] * N[o] + R[7] * N[o + 1] + R[8] * N[o + 2];
    shShadeAndGradient(shL, nx, ny, nz, sg);
    const s = sg[0];
    // The polynomial's gradient, projected onto the tangent plane, is the gradient on the sphere.
    const gn = sg[1] * nx + sg[2] * ny + sg[3] * nz;
    const gx = sg[1] - gn * nx, gy = sg[2] - gn * ny, gz = sg[3] - gn * nz;
    const ux = R[0] * du[o] + R[1] * du[o + 1] + R[2] * du[o + 2], uy = R[3] * du[o] + R[4] * du[o + 1] + R[5] * du[o + 2], uz = R[6] * du[o] + R[7] * du[o + 1] + R[8] * du[o + 2];
    const wx = R[0] * dv[o] + R[1] * dv[o + 1] + R[2] * dv[o + 2], wy = R[3] * dv[o] + R[4] * dv[o + 1] + R[5] * dv[o + 2], wz = R[6] * dv[o] + R[7] * dv[o + 1] + R[8] * dv[o + 2];
    const lu = Math.sqrt(ux * ux + uy * uy + uz * uz), lv = Math.sqrt(wx * wx + wy * wy + wz * wz);
    out.shade[v] = s;
    out.facing[v] = nz;
    out.lu[v] = lu;
    out.lv[v] = lv;
    if (s > 1e-6 && lu > 0 && lv > 0) {
      out.cu[v] = -(gx * ux + gy * uy + gz * uz) / (lu * lu * s);
      out.cv[v] = -(gx * wx + gy * wy + gz * wz) / (lv * lv * s);
    }
  }
  return out;
}

interface Evidence {
  /** Per working texel: observed linear luminance, evidence weight, coarse shading, slope coefficients per texel step, chart flag, mean sRGB colour. */
  I: Float32Array;
  W: Float32Array;
  s0: Float32Array;
  aU: Float32Array;
  aV: Float32Array;
  active: Uint8Array;
  mean: Float32Array;
  meanTexelMm: number;
}

/**
 * The working grid's evidence: each chart texel's block of tile texels averaged by bake weight (one
 * conversion to linear light of the block's mean colour: at 2-4 texels a block, averaging in sRGB first
 * is far below the residuals that matter), its weight faded at grazing views (they carry little slope
 * information and the most landmark error: full weight from n_z 0.5), and the per-vertex terms
 * interpolated at its centre.
 */
function gatherEvidence(opts: ShadingDetailOptions, vt: VertexTerms): Evidence {
  const { color, weight, size, workMap } = opts;
  const { indices } = opts.mesh;
  const S = workMap.size, N = S * S, f = size / S;
  const ev: Evidence = { I: new Float32Array(N), W: new Float32Array(N), s0: new Float32Array(N), aU: new Float32Array(N), aV: new Float32Array(N), active: new Uint8Array(N), mean: new Float32Array(N * 3), meanTexelMm: 0 };
  const { I, W, s0, aU, aV, active, mean } = ev;
  const { texels, triangle, b1, b2 } = workMap;
  // The block's central 2 x 2 texels when it is larger: the tile oversamples the photo at 1024, so
  // neighbouring texels are nearly the same sample and reading all 16 buys no noise reduction.
  const b0 = f >= 4 ? (f >> 1) - 1 : 0, bn = f >= 4 ? 2 : f;
  let texelMm = 0;
  for (let k = 0; k < texels.length; k++) {
    const i = texels[k];
    active[i] = 1;
    const t = 3 * triangle[k];
    const a = indices[t], b = indices[t + 1], c = indices[t + 2];
    const w1 = b1[k], w2 = b2[k], w0 = 1 - w1 - w2;
    const s = w0 * vt.shade[a] + w1 * vt.shade[b] + w2 * vt.shade[c];
    s0[i] = s;
    aU[i] = (w0 * vt.cu[a] + w1 * vt.cu[b] + w2 * vt.cu[c]) * S;
    aV[i] = (w0 * vt.cv[a] + w1 * vt.cv[b] + w2 * vt.cv[c]) * S;
    texelMm += w0 * (vt.lu[a] + vt.lv[a]) + w1 * (vt.lu[b] + vt.lv[b]) + w2 * (vt.lu[c] + vt.lv[c]);
    const facing = w0 * vt.facing[a] + w1 * vt.facing[b] + w2 * vt.facing[c];
    if (facing <= 0.2 || s <= 1e-6) continue;
    const x0 = (i % S) * f + b0, y0 = ((i / S) | 0) * f + b0;
    let sw = 0, sr = 0, sg = 0, sb = 0;
    for (let dy = 0; dy < bn; dy++) {
      const row = (y0 + dy) * size + x0;
      for (let dx = 0; dx < bn; dx++) {
        const j = row + dx;
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
    W[i] = (sw / (bn * bn)) * (facing >= 0.5 ? 1 : (facing - 0.2) / 0.3);
  }
  ev.meanTexelMm = texelMm / (2 * S * Math.max(1, texels.length));
  return ev;
}

/**
 * Skin only: the person's skin colour model (skin-gate.ts), fitted on the working grid's clear texels,
 * weighs out eyes, brows, lips, beard, hair and whatever else is not skin. The colours are first
 * divided by the coarse shading (to the median shading's level), so the model's luminance band sees
 * albedo: a brow is darker, skin-coloured hair; a shadowed cheek is skin. Stricter than the neck gate
 * at the dark end: brows and stubble are 0.3-0.6 of the skin's albedo.
 */
function gateBySkinAlbedo(ev: Evidence, texels: Int32Array): void {
  const { W, s0, mean } = ev;
  const sRef = medianShadingSample(W, s0, texels);
  if (sRef === undefined) return;
  deShadeColours(mean, W, s0, texels, sRef);
  const skin = fitSkinColourModel(mean, W, texels);
  if (skin) weighBySkin(W, mean, texels, skin);
}

// gateBySkinAlbedo's passes are functions of their own, for V8's sake (see detail-maps.ts): as one
// function its loops ran 2-3x slower inside the pipeline than alone.

/** The median coarse shading over every 7th chart texel with evidence; undefined when there is none. */
function medianShadingSample(W: Float32Array, s0: Float32Array, texels: Int32Array): number | undefined {
  const sample = new Float32Array(Math.ceil(texels.length / 7));
  let n = 0;
  for (let k = 0; k < texels.length; k += 7) if (W[texels[k]] > 0) sample[n++] = s0[texels[k]];
  return n ? selectKth(sample.subarray(0, n), n >> 1) : undefined;
}

/** The block means brought to the median shading's level, in place (evidence texels only). */
function deShadeColours(mean: Float32Array, W: Float32Array, s0: Float32Array, texels: Int32Array, sRef: number): void {
  const logRef = Math.log(sRef);
  for (let k = 0; k < texels.length; k++) {
    const i = texels[k];
    if (W[i] <= 0) continue;
    // A gain g in linear light is ~g^(1/2.4) on sRGB values (the curve's power part): one power, not six
    // table lookups, and as exp(log / 2.4), which costs half of Math.pow here.
    const g = Math.exp((logRef - Math.log(s0[i])) / 2.4);
    mean[3 * i] = Math.min(255, mean[3 * i] * g);
    mean[3 * i + 1] = Math.min(255, mean[3 * i + 1] * g);
    mean[3 * i + 2] = Math.min(255, mean[3 * i + 2] * g);
  }
}

/** W *= the skin likelihood of the de-shaded colour, faded out below 0.55-0.8 of the skin's luminance. */
function weighBySkin(W: Float32Array, mean: Float32Array, texels: Int32Array, skin: SkinColourModel): void {
  const lumRef = Math.max(1, skin.luminance);
  for (let k = 0; k < texels.length; k++) {
    const i = texels[k];
    if (W[i] <= 0) continue;
    const r = mean[3 * i], g = mean[3 * i + 1], b = mean[3 * i + 2];
    const q = (0.2126 * r + 0.7152 * g + 0.0722 * b) / lumRef;
    W[i] *= skinLikelihood(skin, r, g, b) * smoothstep(0.55, 0.8, q);
  }
}

/**
 * Colour Retinex's rule (Funt, Drew & Brockington 1992; Grosse et al., "Ground truth dataset and
 * baseline evaluations for intrinsic image algorithms", ICCV 2009): under light of one colour, shading
 * scales all three channels alike, so a change of chromaticity is a change of albedo. A texel whose
 * log-chromaticity (log R/G, log B/G, linear light) departs from its surroundings' (the same blur as
 * the albedo's, two passes: an outlier test needs the neighbourhood's level, not a smooth field) by
 * more than CHROMA_EDGE[0] loses weight, all of it past CHROMA_EDGE[1]: freckles, moles, flushed skin
 * and the borders of lips and brows are kept out of the shape.
 *
 * Then the smooth albedo rho (normalised box blur, three passes ~ Gaussian of sigma ~ radius, of
 * I / s0 over the evidence) and the residual r = I / (rho s0) - 1, twice: the second round blurs
 * without the texels the first found to be outliers, so a dark mole does not darken its surroundings'
 * albedo and raise a ring around itself. Non-Lambertian residuals (glints, moles, stubble) are not
 * geometry: a texel's weight falls from |r| = 0.2 to 0 at 0.35.
 *
 * Both run in simd/albedo-residual.wat with the blurs in between (kernels.ts chromaAlbedoKernel), every
 * plane resident in the kernels' memory: as JavaScript passes around the box sums they took ~9 ms a
 * request at 1024, mostly copies and per-texel overhead.
 */
const CHROMA_EDGE = [0.03, 0.08] as const;
