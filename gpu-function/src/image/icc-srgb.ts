/**
 * Colour management for decoders that hand back the file's own RGB: libheif (HEIC) applies no ICC
 * profile, while sharp converts every JPEG, PNG and WebP to sRGB. An iPhone's HEIC carries a Display
 * P3 profile; taken as sRGB, its colours come out desaturated (a P3 red of (234, 51, 35) is the sRGB
 * (255, 0, 0)), so the texture would differ from the same photo sent as JPEG.
 *
 * Handles ICC matrix/TRC ("matrix-shaper") RGB profiles, the kind cameras and phones embed (Display P3,
 * sRGB, Adobe RGB, Rec. 2020 SDR): per channel a tone curve (curv or para) to linear light, then the
 * 3x3 colorant matrix to the D50 PCS, then sRGB's own D50 colorants inverted and sRGB's encoding
 * (ICC.1:2010 sections 10.6, 10.18, F.3; IEC 61966-2-1). LUT-based profiles (A2B0 only) are not
 * read: parseMatrixShaperIcc returns undefined, and the pixels stay as decoded. A profile with both a
 * table and matrix/TRC tags goes through the matrix, where lcms would take the table (camera profiles
 * that carry both agree within a few codes).
 */
import type { SrgbTables } from './icc-apply.mjs';

export interface MatrixShaperProfile {
  /** Linear device RGB -> PCS XYZ (D50), row-major: columns are the red, green and blue colorants. */
  toXyz: Float64Array;
  /** Each channel's tone curve sampled at the 256 8-bit codes, to linear light in [0, 1]. */
  trc: [Float32Array, Float32Array, Float32Array];
}

/** sRGB's colorants adapted to D50 (Bradford), as the ICC's sRGB profiles store them. */
const SRGB_TO_XYZ_D50 = [0.4360747, 0.3850649, 0.1430804, 0.2225045, 0.7168786, 0.0606169, 0.0139322, 0.0971045, 0.7141733];

const s15f16 = (v: DataView, at: number) => v.getInt32(at) / 65536;
const sig = (b: Uint8Array, at: number) => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);

/**
 * parseMatrixShaperIcc: the profile's colorants and tone curves, or undefined when it is not an RGB
 * matrix/TRC profile with an XYZ PCS, or is malformed (offsets outside the profile, a curve of no
 * use). Never throws on untrusted bytes.
 */
export function parseMatrixShaperIcc(icc: Uint8Array): MatrixShaperProfile | undefined {
  try {
    if (icc.byteLength < 132) return undefined;
    const v = new DataView(icc.buffer, icc.byteOffset, icc.byteLength);
    if (sig(icc, 16) !== 'RGB ' || sig(icc, 20) !== 'XYZ ') return undefined;
    const count = v.getUint32(128);
    if (count > 256 || 132 + 12 * count > icc.byteLength) return undefined;
    const tags = new Map<string, { at: number; size: number }>();
    for (let i = 0; i < count; i++) {
      const e = 132 + 12 * i;
      const at = v.getUint32(e + 4);
      const size = v.getUint32(e + 8);
      if (at + size > icc.byteLength || size < 8) return undefined;
      tags.set(sig(icc, e), { at, size });
    }
    const xyz = (name: string) => {
      const t = tags.get(name);
      if (!t || t.size < 20 || sig(icc, t.at) !== 'XYZ ') return undefined;
      return [s15f16(v, t.at + 8), s15f16(v, t.at + 12), s15f16(v, t.at + 16)];
    };
    const r = xyz('rXYZ');
    const g = xyz('gXYZ');
    const b = xyz('bXYZ');
    if (!r || !g || !b) return undefined;
    // Real colorants are XYZ within [0, 1.1]; huge ones (a hostile file) would overflow the integer tables.
    if ([...r, ...g, ...b].some((x) => Math.abs(x) > 4)) return undefined;
    const trc = (['rTRC', 'gTRC', 'bTRC'] as const).map((name) => {
      const t = tags.get(name);
      return t ? toneCurve(icc, v, t.at, t.size) : undefined;
    });
    if (!trc[0] || !trc[1] || !trc[2]) return undefined;
    return { toXyz: Float64Array.from([r[0], g[0], b[0], r[1], g[1], b[1], r[2], g[2], b[2]]), trc: trc as MatrixShaperProfile['trc'] };
  } catch {
    return undefined;
  }
}

/** A curv or para tag sampled at the 256 8-bit codes. */
function toneCurve(icc: Uint8Array, v: DataView, at: number, size: number): Float32Array | undefined {
  const out = new Float32Array(256);
  const type = sig(icc, at);
  if (type === 'curv') {
    const n = v.getUint32(at + 8);
    if (12 + 2 * n > size) return undefined;
    if (n === 0) for (let i = 0; i < 256; i++) out[i] = i / 255;
    else if (n === 1) {
      const gamma = v.getUint16(at + 12) / 256;
      for (let i = 0; i < 256; i++) out[i] = (i / 255) ** gamma;
    } else {
      for (let i = 0; i < 256; i++) {
        const x = (i / 255) * (n - 1);
        const k = Math.min(n - 2, Math.floor(x));
        const f = x - k;
        out[i] = ((1 - f) * v.getUint16(at + 12 + 2 * k) + f * v.getUint16(at + 14 + 2 * k)) / 65535;
      }
    }
    return out;
  }
  if (type === 'para') {
    const fn = v.getUint16(at + 8);
    const arity = [1, 3, 4, 5, 7][fn];
    if (arity === undefined || 12 + 4 * arity > size) return undefined;
    const p = Array.from({ length: 7 }, (_, i) => (i < arity ? s15f16(v, at + 12 + 4 * i) : 0));
    const [gm, a, b, c, d, e, f] = p;
    for (let i = 0; i < 256; i++) {
      const x = i / 255;
      let y: number;
      if (fn === 0) y = x ** gm;
      else if (fn === 1) y = x >= -b / a ? (a * x + b) ** gm : 0;
      else if (fn === 2) y = x >= -b / a ? (a * x + b) ** gm + c : c;
      else if (fn === 3) y = x >= d ? (a * x + b) ** gm : c * x;
      else y = x >= d ? (a * x + b) ** gm + e : c * x + f;
      out[i] = Number.isFinite(y) ? Math.min(1, Math.max(0, y)) : 0;
    }
    return out;
  }
  return undefined;
}

function invert3(m: ArrayLike<number>): Float64Array {
  const [a, b, c, d, e, f, g, h, i] = Array.from(m);
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return Float64Array.from([A / det, -(b * i - c * h) / det, (b * f - c * e) / det, B / det, (a * i - c * g) / det, -(a * f - c * d) / det, C / det, -(a * h - b * g) / det, (a * e - b * d) / det]);
}

const srgbEncode = (l: number) => (l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055);

/**
 * True when converting would change no 8-bit value by more than half a code: the profile is sRGB (or
 * indistinguishable from it), so the conversion is skipped.
 */
export function isSrgbProfile(p: MatrixShaperProfile): boolean {
  for (let k = 0; k < 9; k++) if (Math.abs(p.toXyz[k] - SRGB_TO_XYZ_D50[k]) > 0.002) return false;
  for (const curve of p.trc) for (let i = 0; i < 256; i++) if (Math.abs(srgbEncode(curve[i]) * 255 - i) > 0.5) return false;
  return true;
}

/**
 * srgbConversionTables: what icc-apply.mjs needs to take the profile's 8-bit RGB to sRGB
 * (relative colorimetric; colours outside sRGB's gamut are clipped per channel, as lcms does for
 * matrix-shaper pairs without black-point compensation). Each code's share of each linear sRGB channel
 * is tabulated, so a pixel costs three sums of three lookups.
 */
export function srgbConversionTables(profile: MatrixShaperProfile): SrgbTables {
  const fromSrgb = invert3(SRGB_TO_XYZ_D50);
  // M = sRGB_D50^-1 * profile_D50: linear device RGB -> linear sRGB.
  const m = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) m[3 * r + c] = fromSrgb[3 * r] * profile.toXyz[c] + fromSrgb[3 * r + 1] * profile.toXyz[3 + c] + fromSrgb[3 * r + 2] * profile.toXyz[6 + c];
  const ENC = 16384;
  const encode = new Uint8Array(ENC + 1);
  for (let i = 0; i <= ENC; i++) encode[i] = Math.round(255 * srgbEncode(i / ENC));
  const shares = new Int32Array(9 * 256);
  for (let k = 0; k < 9; k++) {
    const curve = profile.trc[k % 3];
    for (let v = 0; v < 256; v++) shares[256 * k + v] = Math.round(m[k] * curve[v] * ENC);
  }
  return { shares, encode };
}

/** The tables for a file's embedded profile, or undefined when there is nothing to convert (sRGB, or a profile this module cannot read). */
export function srgbTablesFor(icc: Uint8Array): SrgbTables | undefined {
  const profile = parseMatrixShaperIcc(icc);
  return profile && !isSrgbProfile(profile) ? srgbConversionTables(profile) : undefined;
}
