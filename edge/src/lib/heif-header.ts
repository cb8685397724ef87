/**
 * HEIF and AVIF (ISO/IEC 23008-12, the ISOBMFF image container iPhones write) read from the box
 * structure alone, before anything is decoded: the brand from `ftyp`, the primary item (`pitm`), its
 * size from its `ispe` property and its `irot`/`imir` transforms through `ipma`. For a grid-tiled
 * image (iPhones store 512x512 tiles) the primary item is the `grid` item, whose `ispe` is the whole
 * picture. The displayed size is the `ispe` size turned by `irot` (90/270 swap width and height); the
 * HEIF spec makes irot/imir, not EXIF, the authority on orientation.
 *
 * Malformed or lying containers (a box larger than the file, no primary item, no size) give
 * undefined, which the upload check answers with INVALID_IMAGE.
 */

export interface HeifHeader {
  format: 'heic' | 'avif';
  /** ispe of the primary item (stored size). */
  width: number;
  height: number;
  /** irot: counter-clockwise quarter turns (0-3); imir axis when mirrored. */
  rotation: number;
  mirror?: 'vertical' | 'horizontal';
  /** The primary item is a grid of tiles. */
  grid: boolean;
  /** Every top-level box ends within the file. */
  complete: boolean;
}

/**
 * The brands the edge takes for HEIF, the one list image-header.ts sniffs with too: those the
 * gpu-function's decoder (sharp's libheif) opens. 'hevx' is not among them: such a file passed here and
 * was refused there. HEVC_BRANDS name the codec; 'mif1'/'msf1' only the structure (the compatible
 * brands tell HEVC from AV1).
 */
const HEVC_BRANDS: readonly string[] = ['heic', 'heix', 'hevc', 'heim', 'heis'];
const STRUCTURE_BRANDS: readonly string[] = ['mif1', 'msf1'];
const HEIC_BRANDS: readonly string[] = [...HEVC_BRANDS, ...STRUCTURE_BRANDS];
const AVIF_BRANDS: readonly string[] = ['avif', 'avis'];

/** The format an ftyp major brand names; undefined for a brand the edge does not take for HEIF. */
export function heifFormatOfMajorBrand(brand: string): HeifHeader['format'] | undefined {
  return AVIF_BRANDS.includes(brand) ? 'avif' : HEIC_BRANDS.includes(brand) ? 'heic' : undefined;
}

interface Box {
  type: string;
  start: number; // payload start
  end: number;
}

function* boxes(b: Uint8Array, dv: DataView, from: number, to: number): Generator<Box> {
  let i = from;
  while (i + 8 <= to) {
    let size = dv.getUint32(i);
    const type = String.fromCharCode(b[i + 4], b[i + 5], b[i + 6], b[i + 7]);
    let header = 8;
    if (size === 1) {
      if (i + 16 > to) return;
      const hi = dv.getUint32(i + 8);
      size = hi * 2 ** 32 + dv.getUint32(i + 12);
      header = 16;
    } else if (size === 0) size = to - i;
    if (size < header || i + size > to) {
      yield { type: '!truncated', start: i, end: i + size };
      return;
    }
    yield { type, start: i + header, end: i + size };
    i += size;
  }
}

/**
 * The format an ftyp box's brands name: its major brand decides, and a 'mif1' file with an AVIF compatible
 * brand is AVIF. At most MAX_BRANDS compatible brands are read, in place: a 10 MB ftyp of brands (its size
 * 0, "to the end of the file") once made arrays of millions of strings, past the Worker's 128 MB.
 */
const MAX_BRANDS = 64;
/** Boxes read under meta and under iprp, and ipma boxes kept: far above any camera's file, far below a flood. */
const MAX_META_CHILDREN = 1024;
const MAX_IPMA = 16;
function formatOfBrands(b: Uint8Array, box: Box): HeifHeader['format'] | undefined {
  const brandAt = (o: number) => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);
  if (box.end - box.start < 8) return undefined;
  const major = brandAt(box.start);
  let avif = AVIF_BRANDS.includes(major);
  let heic = HEIC_BRANDS.includes(major);
  const majorIsHeic = HEVC_BRANDS.includes(major);
  for (let k = 0, o = box.start + 8; k < MAX_BRANDS && o + 4 <= box.end; k++, o += 4) {
    const brand = brandAt(o);
    if (!majorIsHeic && AVIF_BRANDS.includes(brand)) avif = true;
    if (HEIC_BRANDS.includes(brand)) heic = true;
  }
  return avif ? 'avif' : heic ? 'heic' : undefined;
}

export function readHeifHeader(b: Uint8Array): HeifHeader | undefined {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let format: HeifHeader['format'] | null | undefined;
  let meta: Box | undefined;
  let complete = true;
  for (const box of boxes(b, dv, 0, b.length)) {
    if (box.type === '!truncated') {
      complete = false;
      break;
    }
    // The first ftyp and meta count, as libheif reads them; a later one is ignored.
    if (box.type === 'ftyp' && format === undefined) format = formatOfBrands(b, box) ?? null;
    else if (box.type === 'meta' && !meta) meta = box;
  }
  if (!format || !meta) return undefined;
  // meta is a full box: 4 bytes of version and flags before its children.
  // Where a box or an entry comes twice, the first counts, as libheif reads it (its first pitm, iinf,
  // iprp and ipco; every ipma box in order, the first entry of an item winning): reading the last one
  // let a 64x64 picture with a second property list pass as 512x512.
  let primary = -1;
  let ipco: Box | undefined;
  // Real files have one ipma; a few at most are read. A 10 MB header of a million empty ipma boxes once
  // built a million objects here (~100 MB and 2 s in the Worker) before it was refused.
  const ipmas: Box[] = [];
  let iinf: Box | undefined;
  let iprp = false;
  let children = 0;
  for (const box of boxes(b, dv, meta.start + 4, meta.end)) {
    if (box.type === '!truncated' || ++children > MAX_META_CHILDREN) return undefined;
    if (box.type === 'pitm' && primary < 0) primary = b[box.start] === 0 ? dv.getUint16(box.start + 4) : dv.getUint32(box.start + 4);
    else if (box.type === 'iinf' && !iinf) iinf = box;
    else if (box.type === 'iprp' && !iprp) {
      iprp = true;
      let n = 0;
      for (const p of boxes(b, dv, box.start, box.end)) {
        if (++n > MAX_META_CHILDREN) return undefined;
        if (p.type === 'ipco' && !ipco) ipco = p;
        else if (p.type === 'ipma' && ipmas.push(p) > MAX_IPMA) return undefined;
      }
    }
  }
  if (primary < 0 || !ipco || !ipmas.length) return undefined;
  // Only as many property boxes as ipma can point at (15-bit indices), however many ipco holds.
  const properties: Box[] = [];
  for (const p of boxes(b, dv, ipco.start, ipco.end)) if (properties.push(p) >= 0x7fff) break;
  let associated: number[] | undefined;
  for (const ipma of ipmas) if ((associated = primaryAssociations(b, dv, ipma, primary))) break;
  if (!associated) return undefined;
  let width = 0;
  let height = 0;
  let rotation = 0;
  let mirror: HeifHeader['mirror'];
  for (const i of associated) {
    const p = properties[i - 1];
    if (!p) continue;
    if (p.type === 'ispe' && !width) {
      // The first ispe, as libheif takes it.
      width = dv.getUint32(p.start + 4);
      height = dv.getUint32(p.start + 8);
    } else if (p.type === 'irot') rotation = b[p.start] & 3;
    else if (p.type === 'imir') mirror = b[p.start] & 1 ? 'horizontal' : 'vertical';
  }
  if (!width || !height) return undefined;
  let grid = false;
  if (iinf) {
    // iinf: full box, entry count (16 or 32 bit), then infe boxes (version >= 2: id, protection, type).
    const v = b[iinf.start];
    for (const infe of boxes(b, dv, iinf.start + 4 + (v === 0 ? 2 : 4), iinf.end)) {
      if (infe.type !== 'infe' || b[infe.start] < 2) continue;
      const id = b[infe.start] === 2 ? dv.getUint16(infe.start + 4) : dv.getUint32(infe.start + 4);
      const at = infe.start + 4 + (b[infe.start] === 2 ? 2 : 4) + 2;
      if (id === primary) {
        grid = String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]) === 'grid';
        break;
      }
    }
  }
  return { format, width, height, rotation, ...(mirror ? { mirror } : {}), grid, complete };
}

/**
 * The property indices (1-based) of the primary's first entry in one ipma box; undefined when it has none.
 * ipma: full box; entry_count; per item: id, n, then n associations (7 or 15 bit index).
 */
function primaryAssociations(b: Uint8Array, dv: DataView, ipma: Box, primary: number): number[] | undefined {
  const version = b[ipma.start];
  const flags = b[ipma.start + 3];
  let o = ipma.start + 4;
  if (o + 4 > ipma.end) return undefined;
  const count = dv.getUint32(o);
  o += 4;
  const size = flags & 1 ? 2 : 1;
  for (let e = 0; e < count && o + (version < 1 ? 3 : 5) <= ipma.end; e++) {
    const id = version < 1 ? dv.getUint16(o) : dv.getUint32(o);
    o += version < 1 ? 2 : 4;
    const n = b[o++];
    if (id !== primary) {
      o += n * size;
      continue;
    }
    if (o + n * size > ipma.end) return undefined;
    const idx: number[] = [];
    for (let k = 0; k < n; k++) {
      if (flags & 1) {
        idx.push(dv.getUint16(o) & 0x7fff);
        o += 2;
      } else idx.push(b[o++] & 0x7f);
    }
    return idx;
  }
  return undefined;
}
