/**
 * Second-order spherical-harmonic (SH) illumination of a Lambertian face, and the albedo it implies.
 *
 * Image formation (Basri & Jacobs, "Lambertian reflectance and linear subspaces", PAMI 2003;
 * Ramamoorthi & Hanrahan, "An efficient representation for irradiance environment maps", SIGGRAPH 2001):
 *   I_c(n) = rho_c * sum_k L_{c,k} * B_k(n),  k = 0..8,
 * in linear light, where B_k = A_l * Y_lm is the real SH basis of order l <= 2 with the clamped-cosine
 * kernel folded in. Order 2 is enough because the kernel's higher bands are tiny (the truncation keeps
 * ~99% of its energy), so any distant lighting is, for a Lambertian surface, a 9-vector per channel.
 */

import { linearToSrgbFast, srgbToLinearFast } from './srgb';

const toLinear = srgbToLinearFast;
const toSrgb = linearToSrgbFast;

const PI = Math.PI;
// A_l (Ramamoorthi & Hanrahan eq. 8: A0 = pi, A1 = 2pi/3, A2 = pi/4) times the real SH normalisations.
const K0 = PI * 0.5 * Math.sqrt(1 / PI); //                 A0 * Y00            = 0.886227
const K1 = ((2 * PI) / 3) * Math.sqrt(3 / (4 * PI)); //     A1 * Y1m / {y,z,x}  = 1.023328
const K2 = (PI / 4) * 0.5 * Math.sqrt(15 / PI); //          A2 * Y2{-2,-1,1} / {xy,yz,xz} = 0.858086
const K20 = (PI / 4) * 0.25 * Math.sqrt(5 / PI); //         A2 * Y20 / (3z^2 - 1) = 0.247708
const K22 = (PI / 4) * 0.25 * Math.sqrt(15 / PI); //        A2 * Y22 / (x^2 - y^2) = 0.429043

/**
 * The 9 real SH basis functions of order <= 2 with the Lambertian convolution folded in, at a unit normal:
 * B = [A0 Y00, A1 Y1-1, A1 Y10, A1 Y11, A2 Y2-2, A2 Y2-1, A2 Y20, A2 Y21, A2 Y22] with
 * Y00 = 1/(2 sqrt(pi)), Y1-1 = sqrt(3/4pi) y, Y10 = sqrt(3/4pi) z, Y11 = sqrt(3/4pi) x,
 * Y2-2 = sqrt(15/pi)/2 xy, Y2-1 = sqrt(15/pi)/2 yz, Y20 = sqrt(5/pi)/4 (3z^2 - 1), Y21 = sqrt(15/pi)/2 xz,
 * Y22 = sqrt(15/pi)/4 (x^2 - y^2) (orthonormal over the sphere, no Condon-Shortley sign).
 * With L_k = integral of radiance(w) Y_k(w) dw, dot(L, B(n)) is the irradiance integral of max(0, n.w) radiance(w) dw
 * (exact for radiance of order <= 2, otherwise its order-2 approximation). The normal must be unit length:
 * the basis is a polynomial, so a non-unit normal silently gives wrong shading.
 */
export function shIrradianceBasis(nx: number, ny: number, nz: number, out: Float64Array = new Float64Array(9)): Float64Array {
  out[0] = K0;
  out[1] = K1 * ny;
  out[2] = K1 * nz;
  out[3] = K1 * nx;
  out[4] = K2 * nx * ny;
  out[5] = K2 * ny * nz;
  out[6] = K20 * (3 * nz * nz - 1);
  out[7] = K2 * nx * nz;
  out[8] = K22 * (nx * nx - ny * ny);
  return out;
}

export interface ShLighting {
  /** 27 numbers: 9 coefficients for R, then 9 for G, then 9 for B; in linear light, in the normal's frame. */
  sh: Float64Array;
}

/** Shading (linear light, per channel, no albedo) at a unit normal in the lighting's frame: out[c] = dot(sh_c, B(n)). */
const shadeBasis = new Float64Array(9);
export function shadeSh(lighting: ShLighting, nx: number, ny: number, nz: number, out: Float64Array = new Float64Array(3)): Float64Array {
  const b = shIrradianceBasis(nx, ny, nz, shadeBasis);
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let k = 0; k < 9; k++) s += lighting.sh[9 * c + k] * b[k];
    out[c] = s;
  }
  return out;
}

/**
 * One channel's shading s(n) = dot(c, B(n)) and its gradient as a polynomial in (x, y, z), into
 * out[0..3] = [s, ds/dx, ds/dy, ds/dz]. Project the gradient onto the tangent plane (remove its
 * component along n) for the derivative on the sphere. Closed form of shIrradianceBasis's terms.
 */
export function shShadeAndGradient(c: ArrayLike<number>, nx: number, ny: number, nz: number, out: Float64Array): Float64Array {
  out[0] = c[0] * K0 + K1 * (c[1] * ny + c[2] * nz + c[3] * nx) + K2 * (c[4] * nx * ny + c[5] * ny * nz + c[7] * nx * nz) + K20 * c[6] * (3 * nz * nz - 1) + K22 * c[8] * (nx * nx - ny * ny);
  out[1] = K1 * c[3] + K2 * (c[4] * ny + c[7] * nz) + 2 * K22 * c[8] * nx;
  out[2] = K1 * c[1] + K2 * (c[4] * nx + c[5] * nz) - 2 * K22 * c[8] * ny;
  out[3] = K1 * c[2] + K2 * (c[5] * ny + c[7] * nx) + 6 * K20 * c[6] * nz;
  return out;
}

export interface AlbedoOptions {
  lighting: ShLighting;
  /** n*3 sRGB 0..255 colours, modified into albedo in place. */
  colors: Float32Array;
  normals: Float32Array;
  /** Which samples to divide (e.g. texels with a normal); others untouched. Default all. */
  mask?: Uint8Array;
  /** Floor on the shading relative to its mean, to avoid blowing up grazing/shadowed texels. Default 0.25. */
  minShadingRatio?: number;
}

/**
 * In place, for each masked sample i and channel c:
 *   colour := srgbEncode( srgbDecode(colour) * ref_c / max(shade_c(n_i), minShadingRatio * ref_c) ),
 * ref_c = mean over the masked samples of shade_c(n_i) (unfloored). So constant shading leaves colours as
 * they are, a side-lit face of uniform skin comes out equally bright on both sides, and the mean linear
 * brightness is kept whenever albedo and shading are uncorrelated. The output is clamped to 0..255, so
 * highlights pushed past white saturate. Normals: unit, in the lighting's frame. Returns ref per channel;
 * a channel whose ref is not positive (lighting not a plausible fit) is left untouched, and an empty mask
 * changes nothing and returns [0, 0, 0].
 */
export function divideByShading(opts: AlbedoOptions): [number, number, number] {
  const { lighting, colors, normals, mask, minShadingRatio = 0.25 } = opts;
  const n = normals.length / 3;
  const shade = new Float64Array(n * 3);
  const s = new Float64Array(3);
  const ref: [number, number, number] = [0, 0, 0];
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (mask && !mask[i]) continue;
    shadeSh(lighting, normals[3 * i], normals[3 * i + 1], normals[3 * i + 2], s);
    shade.set(s, 3 * i);
    for (let c = 0; c < 3; c++) ref[c] += s[c];
    count++;
  }
  if (count === 0) return ref;
  for (let c = 0; c < 3; c++) ref[c] /= count;
  for (let i = 0; i < n; i++) {
    if (mask && !mask[i]) continue;
    for (let c = 0; c < 3; c++) {
      if (!(ref[c] > 0)) continue;
      const d = Math.max(shade[3 * i + c], minShadingRatio * ref[c]);
      colors[3 * i + c] = toSrgb((toLinear(colors[3 * i + c]) * ref[c]) / d);
    }
  }
  return ref;
}
