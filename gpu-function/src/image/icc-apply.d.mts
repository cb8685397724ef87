/** Tables that take 8-bit device RGB to 8-bit sRGB (icc-srgb.ts srgbConversionTables). */
export interface SrgbTables {
  /** 9 x 256 entries, row-major by output channel then input channel: each code's share of a linear sRGB channel, in encode-table steps. */
  shares: Int32Array;
  /** Linear light in steps of 1 / (length - 1) to the sRGB code. */
  encode: Uint8Array;
}
export function applySrgbTables(d: Uint8Array | Uint8ClampedArray, stride: 3 | 4, tables: SrgbTables): void;
