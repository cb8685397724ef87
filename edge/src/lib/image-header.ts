/**
 * What an upload is, read from its first bytes, before anything is decoded: the format by magic
 * bytes (never by Content-Type), the pixel size from the header (JPEG SOF, PNG IHDR, WebP VP8/VP8L/
 * VP8X, HEIC/AVIF ispe + irot, heif-header.ts), the EXIF orientation of a JPEG, and whether the file
 * is visibly truncated. Pure functions:
 * rejecting a 48 MP photo costs microseconds, not a decode.
 */

export type SniffedFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'heic' | 'avif' | 'bmp' | 'tiff' | 'unknown';

export interface ImageHeader {
  format: SniffedFormat;
  width: number;
  height: number;
  /** EXIF orientation 1-8 (1 when absent or not JPEG). */
  orientation: number;
  /** The file ends where its format says it must (JPEG EOI, PNG IEND, RIFF size). */
  complete: boolean;
}

import { heifFormatOfMajorBrand, readHeifHeader } from './heif-header';

const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

export function sniffFormat(b: Uint8Array): SniffedFormat {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 3) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) return 'png';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return 'webp';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 12 && ascii(b, 4, 4) === 'ftyp') {
    // heif-header.ts's brand list, the one the container reader uses too: two lists had drifted apart.
    const format = heifFormatOfMajorBrand(ascii(b, 8, 4));
    if (format) return format;
  }
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'bmp';
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a) || (b[0] === 0x4d && b[1] === 0x4d && b[3] === 0x2a))) return 'tiff';
  return 'unknown';
}

/** Reads the header; returns undefined when a supported format's header is missing or malformed. */
export function readImageHeader(b: Uint8Array): ImageHeader | undefined {
  const format = sniffFormat(b);
  if (format === 'png') return readPng(b);
  if (format === 'jpeg') return readJpeg(b);
  if (format === 'webp') return readWebp(b);
  if (format === 'heic' || format === 'avif') {
    const h = readHeifHeader(b);
    if (!h) return undefined;
    // Displayed size: irot's quarter turns swap the sides; the decoder applies irot/imir itself.
    const swap = h.rotation % 2 === 1;
    return { format: h.format, width: swap ? h.height : h.width, height: swap ? h.width : h.height, orientation: 1, complete: h.complete };
  }
  return { format, width: 0, height: 0, orientation: 1, complete: false };
}

function readPng(b: Uint8Array): ImageHeader | undefined {
  if (b.length < 33 || ascii(b, 12, 4) !== 'IHDR') return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  const complete = b.length >= 12 && ascii(b, b.length - 8, 4) === 'IEND';
  return { format: 'png', width, height, orientation: 1, complete };
}

function readJpeg(b: Uint8Array): ImageHeader | undefined {
  let i = 2;
  let width = 0;
  let height = 0;
  let orientation = 1;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue; // fill byte
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const len = (b[i + 2] << 8) | b[i + 3];
    if (len < 2) return undefined;
    if (marker === 0xe1 && ascii(b, i + 4, 4) === 'Exif') orientation = exifOrientation(b.subarray(i + 10, i + 2 + len));
    // SOF0-SOF15 except DHT (C4), JPG (C8), DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > b.length) return undefined;
      height = (b[i + 5] << 8) | b[i + 6];
      width = (b[i + 7] << 8) | b[i + 8];
      break;
    }
    if (marker === 0xda) break; // start of scan without a frame header: malformed
    i += 2 + len;
  }
  if (!width || !height) return undefined;
  // EOI must close the file (a few padding bytes after it are tolerated).
  let complete = false;
  for (let k = b.length - 2; k >= Math.max(0, b.length - 64); k--) {
    if (b[k] === 0xff && b[k + 1] === 0xd9) {
      complete = true;
      break;
    }
  }
  return { format: 'jpeg', width, height, orientation, complete };
}

/** Orientation tag (0x0112) of a TIFF-structured EXIF block; 1 when absent or out of range. */
function exifOrientation(t: Uint8Array): number {
  if (t.length < 8) return 1;
  const le = t[0] === 0x49;
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  const ifd = u32(4);
  if (ifd + 2 > t.length) return 1;
  const n = u16(ifd);
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + k * 12;
    if (e + 12 > t.length) break;
    if (u16(e) === 0x0112) {
      const v = u16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

function readWebp(b: Uint8Array): ImageHeader | undefined {
  if (b.length < 30) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const riffSize = dv.getUint32(4, true);
  const complete = riffSize + 8 <= b.length;
  const chunk = ascii(b, 12, 4);
  let width = 0;
  let height = 0;
  if (chunk === 'VP8 ') {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return undefined;
    width = dv.getUint16(26, true) & 0x3fff;
    height = dv.getUint16(28, true) & 0x3fff;
  } else if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return undefined;
    const bits = dv.getUint32(21, true);
    width = (bits & 0x3fff) + 1;
    height = ((bits >> 14) & 0x3fff) + 1;
  } else if (chunk === 'VP8X') {
    width = 1 + (b[24] | (b[25] << 8) | (b[26] << 16));
    height = 1 + (b[27] | (b[28] << 8) | (b[29] << 16));
  } else return undefined;
  return { format: 'webp', width, height, orientation: 1, complete };
}
