/**
 * HEIF container (ISO/IEC 23008-12 over ISOBMFF) read and written at the item level: the items
 * (`iinf`), where their bytes lie (`iloc`, in the file or in `idat`), their properties (`ipco`/`ipma`)
 * and references (`iref`). Pure byte work, no decoding: it lets the gpu-function cut a grid-tiled HEIC
 * (what iPhones write: 512x512 HEVC tiles under a `grid` item) into one small standalone file per
 * tile, so the tiles decode in parallel, and lets the fixture script build grid and rotated files that
 * Debian's heif-enc 1.15 cannot.
 *
 * Failure modes: a structure this reader does not understand (a box past the end, an extent outside
 * the file, an unknown iloc version) throws `HeifFormatError`; the caller turns it into INVALID_IMAGE.
 * An item's bytes are only located here, and copied when `data` is first read (see HeifItem.data).
 * Where a file says a thing twice (two infe or iloc entries for one item, two ipco boxes, an item in
 * two ipma entries) the first one counts, as libheif reads it: the decoder and this reader must agree.
 */

export class HeifFormatError extends Error {}

export interface HeifProperty {
  /** The whole property box, header included, as stored. */
  box: Uint8Array;
  type: string;
}

export interface HeifItem {
  id: number;
  type: string;
  /**
   * The item's bytes (its extents concatenated), copied on first read and kept: a file locates bytes
   * for items nobody decodes, and copying every item up front let 150 KB of zero-length ("to the end
   * of the file") extents allocate 1.3 GB. Reading it throws HeifFormatError when the item's extents
   * cannot be followed or add up to more than the whole file.
   */
  readonly data: Uint8Array;
  /** Associated properties in ipma order (the order transformations apply in), with the essential flag. */
  props: Array<{ property: HeifProperty; essential: boolean }>;
}

export interface HeifFile {
  brands: string[];
  primary: number;
  items: Map<number, HeifItem>;
  refs: Array<{ type: string; from: number; to: number[] }>;
}

interface Box {
  type: string;
  at: number;
  start: number;
  end: number;
}

const str4 = (b: Uint8Array, o: number) => String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]);

/**
 * Boxes read at one level, at most: far above any camera's file (a handful at the top, tens of properties),
 * far below a flood (400k `infe` entries or 1.2M top-level `free` boxes in a 10 MB upload once took
 * seconds of the event loop and 600 MB here, while libheif reads only what the counts declare).
 */
const MAX_BOXES = 1024;
/** Properties: ipma indexes them with at most 15 bits. */
const MAX_PROPERTIES = 0x7fff;

function boxes(b: Uint8Array, from: number, to: number, limit = MAX_BOXES): Box[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Box[] = [];
  for (let i = from; i + 8 <= to; ) {
    if (out.length >= limit) throw new HeifFormatError(`more than ${limit} boxes at one level`);
    let size = dv.getUint32(i);
    let header = 8;
    if (size === 1) {
      size = dv.getUint32(i + 8) * 2 ** 32 + dv.getUint32(i + 12);
      header = 16;
    } else if (size === 0) size = to - i;
    if (size < header || i + size > to) throw new HeifFormatError(`box ${str4(b, i + 4)} at ${i} runs past its parent`);
    out.push({ type: str4(b, i + 4), at: i, start: i + header, end: i + size });
    i += size;
  }
  return out;
}

function readUint(dv: DataView, o: number, size: number): number {
  if (size === 0) return 0;
  if (size === 2) return dv.getUint16(o);
  if (size === 4) return dv.getUint32(o);
  if (size === 8) return dv.getUint32(o) * 2 ** 32 + dv.getUint32(o + 4);
  throw new HeifFormatError(`field size ${size}`);
}

const MAX_BRANDS = 64;

export function readHeif(b: Uint8Array): HeifFile {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const top = boxes(b, 0, b.length);
  const ftyp = top.find((x) => x.type === 'ftyp');
  const meta = top.find((x) => x.type === 'meta');
  if (!ftyp || !meta) throw new HeifFormatError('no ftyp or meta box');
  // At most MAX_BRANDS compatible brands, as the edge reads them: a megabytes-long ftyp is millions of strings.
  const brands = [str4(b, ftyp.start)];
  for (let o = ftyp.start + 8; o + 4 <= ftyp.end && brands.length <= MAX_BRANDS; o += 4) brands.push(str4(b, o));
  const children = boxes(b, meta.start + 4, meta.end);
  const child = (t: string) => children.find((x) => x.type === t);
  const pitm = child('pitm');
  if (!pitm) throw new HeifFormatError('no primary item');
  const primary = b[pitm.start] === 0 ? dv.getUint16(pitm.start + 4) : dv.getUint32(pitm.start + 4);

  const types = new Map<number, string>();
  const iinf = child('iinf');
  if (iinf) {
    for (const infe of boxes(b, iinf.start + 4 + (b[iinf.start] === 0 ? 2 : 4), iinf.end)) {
      const v = b[infe.start];
      if (infe.type !== 'infe' || v < 2) continue;
      const id = v === 2 ? dv.getUint16(infe.start + 4) : dv.getUint32(infe.start + 4);
      if (!types.has(id)) types.set(id, str4(b, infe.start + 4 + (v === 2 ? 2 : 4) + 2));
    }
  }

  const idat = child('idat');
  const iloc = child('iloc');
  if (!iloc) throw new HeifFormatError('no iloc box');
  const locations = readIloc(b, dv, iloc);

  const properties: HeifProperty[] = [];
  const assoc = new Map<number, Array<{ index: number; essential: boolean }>>();
  const iprp = child('iprp');
  if (iprp) {
    let ipco = false;
    for (const p of boxes(b, iprp.start, iprp.end)) {
      if (p.type === 'ipco' && !ipco) {
        ipco = true;
        for (const q of boxes(b, p.start, p.end, MAX_PROPERTIES)) properties.push({ box: b.subarray(q.at, q.end), type: q.type });
      }
      if (p.type !== 'ipma') continue;
      const v = b[p.start];
      const wide = b[p.start + 3] & 1;
      let o = p.start + 4;
      const count = dv.getUint32(o);
      o += 4;
      for (let e = 0; e < count; e++) {
        if (o + (v < 1 ? 3 : 5) > p.end) throw new HeifFormatError('ipma entries run past the box');
        const id = v < 1 ? dv.getUint16(o) : dv.getUint32(o);
        o += v < 1 ? 2 : 4;
        const n = b[o++];
        const list: Array<{ index: number; essential: boolean }> = [];
        if (o + n * (wide ? 2 : 1) > p.end) throw new HeifFormatError('ipma entries run past the box');
        for (let k = 0; k < n; k++) {
          const raw = wide ? dv.getUint16(o) : b[o];
          o += wide ? 2 : 1;
          list.push({ index: raw & (wide ? 0x7fff : 0x7f), essential: (raw & (wide ? 0x8000 : 0x80)) !== 0 });
        }
        if (!assoc.has(id)) assoc.set(id, list);
      }
    }
  }

  const refs: HeifFile['refs'] = [];
  const iref = child('iref');
  if (iref) {
    const wide = b[iref.start] !== 0;
    for (const r of boxes(b, iref.start + 4, iref.end)) {
      let o = r.start;
      const from = wide ? dv.getUint32(o) : dv.getUint16(o);
      o += wide ? 4 : 2;
      const n = dv.getUint16(o);
      o += 2;
      // n is read from the box, its ids must be in it: 12-byte boxes each claiming 65535 ids made millions.
      if (o + n * (wide ? 4 : 2) > r.end) throw new HeifFormatError(`iref ${r.type} of item ${from} runs past its box`);
      const to: number[] = [];
      for (let k = 0; k < n; k++, o += wide ? 4 : 2) to.push(wide ? dv.getUint32(o) : dv.getUint16(o));
      refs.push({ type: r.type, from, to });
    }
  }

  const items = new Map<number, HeifItem>();
  for (const [id, type] of types) {
    const props = (assoc.get(id) ?? []).filter((a) => properties[a.index - 1]).map((a) => ({ property: properties[a.index - 1], essential: a.essential }));
    const location = locations.get(id);
    let data: Uint8Array | undefined;
    items.set(id, {
      id,
      type,
      props,
      get data() {
        return (data ??= location ? itemBytes(b, dv, id, location, idat) : new Uint8Array(0));
      },
    });
  }
  if (!items.has(primary)) throw new HeifFormatError(`primary item ${primary} is not declared`);
  return { brands, primary, items, refs };
}

/**
 * libheif's default security limits (heif_security_limits: max_items, max_iloc_extents_per_item). A file
 * past them is one the decoder refuses anyway, and they bound what reading iloc and an item costs: an
 * extent can take no bytes at all in iloc (field sizes 0), so an unbounded count is work for nothing.
 */
const MAX_ILOC_ITEMS = 1000;
const MAX_EXTENTS_PER_ITEM = 32;

/** Where an item's bytes lie, as its iloc entry says; read into bytes by itemBytes, on demand. */
interface ItemLocation {
  /** 0: in the file; 1: in idat. */
  method: number;
  base: number;
  extents: number;
  /** Offset of the first extent record in the file, and the sizes of its fields. */
  at: number;
  idxSize: number;
  offSize: number;
  lenSize: number;
}

/** The iloc box's entries by item id (the first entry of an id counts), without touching the items' bytes. */
function readIloc(b: Uint8Array, dv: DataView, iloc: Box): Map<number, ItemLocation> {
  const v = b[iloc.start];
  if (v > 2) throw new HeifFormatError(`iloc version ${v}`);
  const need = (o: number, n: number) => {
    if (o + n > iloc.end) throw new HeifFormatError('iloc entries run past the box');
  };
  let o = iloc.start + 4;
  need(o, 2);
  const offSize = b[o] >> 4;
  const lenSize = b[o] & 15;
  const baseSize = b[o + 1] >> 4;
  const idxSize = v >= 1 ? b[o + 1] & 15 : 0;
  o += 2;
  need(o, v < 2 ? 2 : 4);
  const count = v < 2 ? dv.getUint16(o) : dv.getUint32(o);
  o += v < 2 ? 2 : 4;
  if (count > MAX_ILOC_ITEMS) throw new HeifFormatError(`iloc lists ${count} items, over ${MAX_ILOC_ITEMS}`);
  const out = new Map<number, ItemLocation>();
  for (let k = 0; k < count; k++) {
    need(o, (v < 2 ? 2 : 4) + (v >= 1 ? 2 : 0) + 2 + baseSize + 2);
    const id = v < 2 ? dv.getUint16(o) : dv.getUint32(o);
    o += v < 2 ? 2 : 4;
    const method = v >= 1 ? dv.getUint16(o) & 15 : 0;
    if (v >= 1) o += 2;
    o += 2; // data_reference_index: 0, this file
    const base = readUint(dv, o, baseSize);
    o += baseSize;
    const extents = dv.getUint16(o);
    o += 2;
    if (extents > MAX_EXTENTS_PER_ITEM) throw new HeifFormatError(`item ${id} has ${extents} extents, over ${MAX_EXTENTS_PER_ITEM}`);
    const record = idxSize + offSize + lenSize;
    need(o, extents * record);
    if (!out.has(id)) out.set(id, { method, base, extents, at: o, idxSize, offSize, lenSize });
    o += extents * record;
  }
  return out;
}

/** An item's bytes: one extent is a view of the file, more are copied together. */
function itemBytes(b: Uint8Array, dv: DataView, id: number, loc: ItemLocation, idat: Box | undefined): Uint8Array {
  if (loc.method > 1 || (loc.method === 1 && !idat)) throw new HeifFormatError(`item ${id}: construction method ${loc.method}`);
  const [srcStart, srcEnd] = loc.method === 1 ? [idat!.start, idat!.end] : [0, b.length];
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let e = 0, o = loc.at; e < loc.extents; e++) {
    o += loc.idxSize;
    const from = srcStart + loc.base + readUint(dv, o, loc.offSize);
    o += loc.offSize;
    const len = readUint(dv, o, loc.lenSize);
    o += loc.lenSize;
    const to = len === 0 ? srcEnd : from + len; // length 0: to the end of the source
    if (from > srcEnd || to > srcEnd) throw new HeifFormatError(`item ${id}: extent outside the file`);
    // Extents may repeat or overlap: bytes of their own never add up to more than the file.
    total += to - from;
    if (total > b.length) throw new HeifFormatError(`item ${id}: extents add up to more than the file's ${b.length} bytes`);
    parts.push(b.subarray(from, to));
  }
  return parts.length === 1 ? parts[0] : concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A box from its type and payload parts (numbers are written as big-endian uint32). */
export function box(type: string, ...parts: Array<Uint8Array | number[]>): Uint8Array {
  const payload = concat(parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p))));
  const out = new Uint8Array(8 + payload.byteLength);
  new DataView(out.buffer).setUint32(0, out.byteLength);
  out.set(enc(type), 4);
  out.set(payload, 8);
  return out;
}

const u16 = (n: number) => [(n >> 8) & 255, n & 255];
const u32 = (n: number) => [(n >>> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255];
const fullBox = (type: string, version: number, flags: number, ...parts: Array<Uint8Array | number[]>) => box(type, [version, (flags >> 16) & 255, (flags >> 8) & 255, flags & 255], ...parts);

/** Property boxes the writer's callers need. */
export const heifProperty = {
  ispe: (width: number, height: number) => fullBox('ispe', 0, 0, u32(width), u32(height)),
  /** Counter-clockwise quarter turns. */
  irot: (quarterTurns: number) => box('irot', [quarterTurns & 3]),
  /** axis 0: about the vertical axis (left-right swap); 1: about the horizontal axis. */
  imir: (axis: 0 | 1) => box('imir', [axis]),
};

/** The width and height an `ispe` property box (as stored, header included) declares. */
export function readIspe(ispe: Uint8Array): { width: number; height: number } {
  if (ispe.byteLength < 20) throw new HeifFormatError('ispe box too short');
  const dv = new DataView(ispe.buffer, ispe.byteOffset, ispe.byteLength);
  return { width: dv.getUint32(12), height: dv.getUint32(16) };
}

/** An item's size as its `ispe` property declares it (mandatory for image items); undefined without one. */
export function declaredSize(item: HeifItem): { width: number; height: number } | undefined {
  const ispe = item.props.find((p) => p.property.type === 'ispe');
  return ispe ? readIspe(ispe.property.box) : undefined;
}

/** The payload of a `grid` item (ISO/IEC 23008-12 6.6.2.3.2). */
export function gridDescriptor(g: { rows: number; cols: number; width: number; height: number }): Uint8Array {
  const wide = g.width > 65535 || g.height > 65535;
  return Uint8Array.from([0, wide ? 1 : 0, g.rows - 1, g.cols - 1, ...(wide ? [...u32(g.width), ...u32(g.height)] : [...u16(g.width), ...u16(g.height)])]);
}

export function readGridDescriptor(d: Uint8Array): { rows: number; cols: number; width: number; height: number } {
  if (d.byteLength < 8) throw new HeifFormatError('grid descriptor too short');
  const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const wide = d[1] & 1;
  return { rows: d[2] + 1, cols: d[3] + 1, width: wide ? dv.getUint32(4) : dv.getUint16(4), height: wide ? dv.getUint32(8) : dv.getUint16(6) };
}

export interface HeifWriteItem {
  id: number;
  type: string;
  data: Uint8Array;
  /** Whole property boxes; identical boxes are stored once. */
  props: Array<{ box: Uint8Array; essential?: boolean }>;
  /** Not an image of its own (a grid's tiles): readers list only the others. */
  hidden?: boolean;
}

/** A minimal, valid HEIF file: items in mdat, one extent each, iloc version 0 with 32-bit offsets. */
export function writeHeif(f: { brands: string[]; primary: number; items: HeifWriteItem[]; refs?: Array<{ type: string; from: number; to: number[] }> }): Uint8Array {
  const ftyp = box('ftyp', enc(f.brands[0]), u32(0), ...f.brands.map(enc));
  const store: Uint8Array[] = [];
  const indexOf = (p: Uint8Array) => {
    let i = store.findIndex((q) => q.byteLength === p.byteLength && q.every((x, k) => x === p[k]));
    if (i < 0) i = store.push(p) - 1;
    return i + 1;
  };
  const ipmaEntries = f.items.map((it) => [...u16(it.id), it.props.length, ...it.props.map((p) => indexOf(p.box) | (p.essential ? 0x80 : 0))]);
  const hdlr = fullBox('hdlr', 0, 0, u32(0), enc('pict'), u32(0), u32(0), u32(0), [0]);
  const pitm = fullBox('pitm', 0, 0, u16(f.primary));
  const iinf = fullBox('iinf', 0, 0, u16(f.items.length), ...f.items.map((it) => fullBox('infe', 2, it.hidden ? 1 : 0, u16(it.id), u16(0), enc(it.type), [0])));
  const iref = f.refs?.length ? [fullBox('iref', 0, 0, ...f.refs.map((r) => box(r.type, u16(r.from), u16(r.to.length), ...r.to.map(u16))))] : [];
  const iprp = box('iprp', box('ipco', ...store), fullBox('ipma', 0, 0, u32(f.items.length), ...ipmaEntries.map((e) => Uint8Array.from(e))));
  // iloc's offsets point into mdat, which follows meta: size meta with placeholder offsets first.
  const ilocFor = (mdatPayloadAt: number) => {
    let at = mdatPayloadAt;
    return fullBox('iloc', 0, 0, [0x44, 0x00], u16(f.items.length), ...f.items.map((it) => {
      const entry = [...u16(it.id), ...u16(0), ...u16(1), ...u32(at), ...u32(it.data.byteLength)];
      at += it.data.byteLength;
      return entry;
    }));
  };
  const metaWith = (iloc: Uint8Array) => fullBox('meta', 0, 0, hdlr, pitm, iloc, iinf, ...iref, iprp);
  const metaSize = metaWith(ilocFor(0)).byteLength;
  const meta = metaWith(ilocFor(ftyp.byteLength + metaSize + 8));
  const mdat = box('mdat', ...f.items.map((it) => it.data));
  return concat([ftyp, meta, mdat]);
}
