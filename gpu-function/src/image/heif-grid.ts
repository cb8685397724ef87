/**
 * Grid-tiled HEIC split for parallel decoding and put back together. An iPhone stores a 12 MP photo as
 * 48 independent 512x512 HEVC pictures under a `grid` item; one wasm HEVC decoder takes ~1.9 s for
 * them in a row on this machine's cores, while each tile alone is a tiny, complete HEIF file that any
 * decoder thread can take. The grid's `output_width/height` crop the right and bottom tiles, and its
 * `irot`/`imir` (in ipma order, the HEIF rule; EXIF orientation is ignored, as the spec says) are
 * applied here because the tiles carry none.
 *
 * Frame: pixel (0,0) top-left, x right, y down; irot turns counter-clockwise in the displayed image.
 * Failure modes: a grid whose tiles are missing, of mixed sizes, or whose tiles together are more
 * than the grid's picture (or than `maxPixels` x MAX_TILE_OVERHANG) throws HeifFormatError before anything is decoded: the
 * grid's own size is what the upload limits were checked against, so a grid of 256 references to one
 * 4096x4096 tile, declared as a 1024x1024 picture, would otherwise decode 16 GiB from 5 KB.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { declaredSize, HeifFormatError, readGridDescriptor, readHeif, writeHeif, type HeifFile, type HeifItem } from './heif-container';

export type HeifTransform = { irot: number } | { imir: 0 | 1 };

/** A clean aperture (`clap`) as the pixel rectangle it keeps, in the picture as it is when the crop applies. */
export interface HeifCrop {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface HeifGridPlan {
  rows: number;
  cols: number;
  /** Picture size before the transforms (the grid's output size). */
  width: number;
  height: number;
  /** Every tile's size, as its `ispe` declares it (the decoders refuse a bitstream of another size). */
  tileWidth: number;
  tileHeight: number;
  /** One standalone HEIF file per tile, row-major. */
  tiles: Uint8Array[];
  transforms: HeifTransform[];
  /**
   * The item's `clap`, applied after the first `after` transforms (the properties' order, as for the
   * turns and mirrors). A plan with a crop has no thumbnail: heif-focus.ts maps the uncropped picture.
   */
  crop?: { after: number; rect: HeifCrop };
  /**
   * The file's HEVC thumbnail of the picture (iPhones store one of 320 px on the long side), as a
   * standalone HEIF file that keeps its own transforms, so it decodes upright; undefined when there is
   * none or it is not a plausible preview (over THUMBNAIL_MAX_PIXELS, or not HEVC).
   */
  thumbnail?: { file: Uint8Array; width: number; height: number };
}

/** A thumbnail larger than this is not a cheap preview: the photo is decoded whole instead. */
export const THUMBNAIL_MAX_PIXELS = 1024 * 1024;

const TRANSFORMS = new Set(['irot', 'imir', 'clap']);

/**
 * How much more than the pixel limit a grid's tiles may hold. Real grids overhang their picture by a
 * few percent (iPhone 12 MP 3%, 48 MP 3%); the bound keeps a single tile declared far larger than
 * its picture (a one-column grid passes the cover rule with any tile width) from decoding unbounded.
 */
export const MAX_TILE_OVERHANG = 1.25;

/**
 * The grid plan of a HEIC whose primary item is a grid of HEVC tiles; undefined for a file that is not
 * a grid, or a grid decoded whole (AV1 tiles, which sharp decodes; a grid with `clap`, which libheif
 * crops on the whole-file path). Every grid, whatever its tiles, is checked first: its `ispe` is its
 * output size, its tiles (one size, as their `ispe` declares) just cover that picture, and together they
 * hold at most `maxPixels` x MAX_TILE_OVERHANG. That is what keeps the decode to the size the upload limits saw: a grid of
 * 256 references to one 4096 px tile declared as 1024x1024, or a grid whose descriptor says 16384 px
 * under an `ispe` of 1000, would otherwise decode hundreds of megapixels from a few KB.
 * A container this reader cannot follow is refused too (HeifFormatError), never passed on whole: the
 * whole-file path would decode whatever grid is inside it unchecked.
 */
export function planHeifGrid(bytes: Uint8Array, opts: { maxPixels?: number } = {}): HeifGridPlan | undefined {
  const f: HeifFile = readHeif(bytes);
  const grid = f.items.get(f.primary);
  if (!grid) throw new HeifFormatError(`primary item ${f.primary} is missing`);
  if (grid.type === 'hvc1' && grid.props.some((p) => p.property.type === 'clap')) return planCroppedImage(grid, opts);
  if (grid.type !== 'grid') {
    if (DERIVED_TYPES.has(grid.type)) checkDerivedImage(f, grid, opts);
    return undefined;
  }
  const { ids, g, tileWidth, tileHeight, tileType } = checkGrid(f, grid, opts);
  if (tileType !== 'hvc1') return undefined; // AV1: sharp's libheif decodes the checked grid
  const gridColour = grid.props.find((p) => p.property.type === 'colr');
  // One file per distinct tile, however often the grid names it, and the distinct tiles' bytes together
  // no more than the file's: each real tile is its own stretch of mdat, while 256 names of one item, or
  // items sharing their extents, would copy the same bytes once per name (a 120 KB upload, 1.2 GB).
  const files = new Map<number, Uint8Array>();
  let tileBytes = 0;
  for (const id of ids) {
    if (files.has(id)) continue;
    const t = f.items.get(id)!;
    tileBytes += t.data.byteLength;
    if (tileBytes > bytes.byteLength) throw new HeifFormatError(`grid tiles add up to more than the file's ${bytes.byteLength} bytes`);
    const props = t.props.filter((p) => !TRANSFORMS.has(p.property.type));
    if (gridColour && !props.some((p) => p.property.type === 'colr')) props.push(gridColour);
    files.set(id, standaloneHevc(t.data, props));
  }
  const tiles = ids.map((id) => files.get(id)!);
  const { transforms, crop } = transformsOf(grid, g.width, g.height);
  return { rows: g.rows, cols: g.cols, width: g.width, height: g.height, tileWidth, tileHeight, tiles, transforms, ...(crop ? { crop } : { thumbnail: thumbnailOf(f, gridColour) }) };
}

/**
 * A single HEVC image with a `clap`, planned as a grid of one tile that carries no transforms: libheif
 * (libheif-js 1.23) refuses to decode such an image once the crop takes more than 64 px off a side (it
 * checks the decoded picture against the cropped size plus a margin), so the crop is applied here.
 */
function planCroppedImage(item: HeifItem, opts: { maxPixels?: number }): HeifGridPlan {
  const size = declaredSize(item);
  if (!size) throw new HeifFormatError(`image item ${item.id} declares no size`);
  const { width, height } = size;
  if (width === 0 || height === 0) throw new HeifFormatError(`image item ${item.id} of no size`);
  if (opts.maxPixels !== undefined && width * height > opts.maxPixels * MAX_TILE_OVERHANG) throw new HeifFormatError(`image of ${width}x${height} pixels, over ${opts.maxPixels}`);
  const tile = standaloneHevc(item.data, item.props.filter((p) => !TRANSFORMS.has(p.property.type)));
  return { rows: 1, cols: 1, width, height, tileWidth: width, tileHeight: height, tiles: [tile], ...transformsOf(item, width, height) };
}

/** An item's turns and mirrors, and its clean aperture, in the properties' order (ISO/IEC 23008-12 6.5.1). */
function transformsOf(item: HeifItem, width: number, height: number): Pick<HeifGridPlan, 'transforms' | 'crop'> {
  const transforms: HeifTransform[] = [];
  let crop: HeifGridPlan['crop'];
  let w = width;
  let h = height;
  for (const p of item.props) {
    const box = p.property.box;
    const payload = box[box.byteLength - 1];
    if (p.property.type === 'irot') {
      transforms.push({ irot: payload & 3 });
      if (payload & 1) [w, h] = [h, w];
    } else if (p.property.type === 'imir') transforms.push({ imir: (payload & 1) as 0 | 1 });
    else if (p.property.type === 'clap') {
      if (crop) throw new HeifFormatError('more than one clap');
      crop = { after: transforms.length, rect: readClap(box, w, h) };
      w = crop.rect.width;
      h = crop.rect.height;
    }
  }
  return crop ? { transforms, crop } : { transforms };
}

/**
 * The pixels a `clap` keeps of a w x h picture (ISO/IEC 14496-12 12.1.4: the aperture's centre is
 * the picture's centre plus the offsets; all four values are fractions), rounded as libheif rounds
 * them (box.cc Box_clap): the left edge down, the top edge and the sides to the nearest pixel, halves up. HeifFormatError when the aperture
 * is empty or reaches outside the picture.
 */
export function readClap(box: Uint8Array, w: number, h: number): HeifCrop {
  if (box.byteLength < 40) throw new HeifFormatError('clap box too short');
  const dv = new DataView(box.buffer, box.byteOffset, box.byteLength);
  const frac = (o: number, signed: boolean) => {
    const d = dv.getUint32(o + 4);
    if (d === 0) throw new HeifFormatError('clap fraction with a zero denominator');
    return (signed ? dv.getInt32(o) : dv.getUint32(o)) / d;
  };
  const cw = frac(8, false);
  const ch = frac(16, false);
  const x = Math.floor(frac(24, true) + (w - 1) / 2 - (cw - 1) / 2);
  const y = Math.floor(frac(32, true) + (h - 1) / 2 - (ch - 1) / 2 + 0.5);
  const width = Math.round(cw);
  const height = Math.round(ch);
  if (width < 1 || height < 1 || x < 0 || y < 0 || x + width > w || y + height > h) {
    throw new HeifFormatError(`clap ${width}x${height} at ${x},${y} outside its ${w}x${h} picture`);
  }
  return { x, y, width, height };
}

/** The rectangle of a picture, copied. */
export function cropImage(img: RgbImage, r: HeifCrop): RgbImage {
  if (r.x === 0 && r.y === 0 && r.width === img.width && r.height === img.height) return img;
  const out = createRgbImage(r.width, r.height);
  for (let y = 0; y < r.height; y++) {
    const s = ((r.y + y) * img.width + r.x) * 3;
    out.data.set(img.data.subarray(s, s + r.width * 3), y * r.width * 3);
  }
  return out;
}

/**
 * A grid's checks, wherever it sits: its `ispe` is its output size, its tiles (one size, as their `ispe`
 * declares) just cover that picture, and together they hold at most `maxPixels` x MAX_TILE_OVERHANG.
 */
function checkGrid(f: HeifFile, grid: HeifItem, opts: { maxPixels?: number }) {
  const ids = f.refs.find((r) => r.type === 'dimg' && r.from === grid.id)?.to ?? [];
  const g = readGridDescriptor(grid.data);
  if (ids.length !== g.rows * g.cols) throw new HeifFormatError(`grid ${g.rows}x${g.cols} has ${ids.length} tiles`);
  const declared = declaredSize(grid);
  if (!declared || declared.width !== g.width || declared.height !== g.height) {
    throw new HeifFormatError(`grid of ${g.width}x${g.height} declares ${declared ? `${declared.width}x${declared.height}` : 'no size'}`);
  }
  const { tileWidth, tileHeight, tileType } = tileSize(f, ids);
  // The tiles must just cover the picture (ISO/IEC 23008-12 6.6.2.3: the last row and column may overhang
  // it, no more), so that what is decoded is what the upload limits were checked against.
  const covers = (tile: number, n: number, size: number) => tile * (n - 1) < size && tile * n >= size;
  if (!covers(tileWidth, g.cols, g.width) || !covers(tileHeight, g.rows, g.height)) {
    throw new HeifFormatError(`grid ${g.rows}x${g.cols} of ${tileWidth}x${tileHeight} tiles does not fit its ${g.width}x${g.height} picture`);
  }
  // The picture itself is within maxPixels (the upload limits); its tiles may overhang it by up to a
  // tile row and column, which an iPhone's 48 MP photo does (16 x 12 tiles of 512: 50.3 MP for 48.8).
  const tileBound = opts.maxPixels === undefined ? undefined : opts.maxPixels * MAX_TILE_OVERHANG;
  if (tileBound !== undefined && g.rows * g.cols * tileWidth * tileHeight > tileBound) {
    throw new HeifFormatError(`grid tiles hold ${g.rows * g.cols * tileWidth * tileHeight} pixels, over ${tileBound}`);
  }
  return { ids, g, tileWidth, tileHeight, tileType };
}

/** Derived image items a decoder builds from the images they reference (`dimg`). */
const DERIVED_TYPES = new Set(['iden', 'iovl', 'tmap']);
const MAX_DERIVED_VISITS = 512;

/**
 * A derived primary (an `iden`, `iovl` or `tmap` item) decodes every image it references, whole, in
 * libheif or sharp: every grid it reaches gets the grid checks, and all it reaches together hold at most
 * `maxPixels` x MAX_TILE_OVERHANG. Without this, a grid wrapped in an `iden` skipped the checks (a 957 KB
 * file declared 1024x1024 decoded 4 gigapixels of tiles, 12.7 s on a thread that cannot be stopped).
 */
function checkDerivedImage(f: HeifFile, primary: HeifItem, opts: { maxPixels?: number }): void {
  const bound = (opts.maxPixels ?? Number.POSITIVE_INFINITY) * MAX_TILE_OVERHANG;
  let pixels = 0;
  let visits = 0;
  const walk = (item: HeifItem, depth: number) => {
    if (++visits > MAX_DERIVED_VISITS || depth > 4) throw new HeifFormatError(`the ${primary.type} image references too many images, or nests them too deep`);
    if (item.type === 'grid') {
      const c = checkGrid(f, item, opts);
      pixels += c.g.rows * c.g.cols * c.tileWidth * c.tileHeight;
    } else if (DERIVED_TYPES.has(item.type)) {
      const to = f.refs.find((r) => r.type === 'dimg' && r.from === item.id)?.to ?? [];
      if (!to.length) throw new HeifFormatError(`${item.type} item ${item.id} names no image`);
      for (const id of to) {
        const next = f.items.get(id);
        if (!next) throw new HeifFormatError(`${item.type} item ${item.id} names missing item ${id}`);
        walk(next, depth + 1);
      }
    } else {
      const size = declaredSize(item);
      if (!size) throw new HeifFormatError(`image item ${item.id} declares no size`);
      pixels += size.width * size.height;
    }
    if (pixels > bound) throw new HeifFormatError(`the ${primary.type} image decodes ${pixels} pixels, over ${bound}`);
  };
  walk(primary, 0);
}

/** The primary item's `thmb` (ISO/IEC 23008-12 6.4.6: a thumbnail references the image it shows). */
function thumbnailOf(f: HeifFile, gridColour: HeifItem['props'][number] | undefined): HeifGridPlan['thumbnail'] {
  for (const r of f.refs) {
    if (r.type !== 'thmb' || !r.to.includes(f.primary)) continue;
    const t = f.items.get(r.from);
    const size = t?.type === 'hvc1' ? declaredSize(t) : undefined;
    if (!t || !size) continue;
    const { width, height } = size;
    if (width === 0 || height === 0 || width * height > THUMBNAIL_MAX_PIXELS) continue;
    let data: Uint8Array;
    try {
      data = t.data;
    } catch (err) {
      if (err instanceof HeifFormatError) continue; // bytes that cannot be read cost the shortcut, not the photo
      throw err;
    }
    const props = [...t.props];
    if (gridColour && !props.some((p) => p.property.type === 'colr')) props.push(gridColour);
    return { file: standaloneHevc(data, props), width, height };
  }
  return undefined;
}

/**
 * One HEVC image item as a file of its own. Its brands say HEVC still image whatever the photo's say: a
 * photo's major brand may be heim, heis or msf1, which not every HEIC reader opens as a still image.
 */
function standaloneHevc(data: Uint8Array, props: HeifItem['props']): Uint8Array {
  return writeHeif({ brands: ['heic', 'mif1'], primary: 1, items: [{ id: 1, type: 'hvc1', data, props: props.map((p) => ({ box: p.property.box, essential: p.essential })) }] });
}

/** The one size and coding every tile declares (its `ispe`, mandatory for image items); HeifFormatError otherwise. */
const TILE_TYPES = new Set(['hvc1', 'av01']);
function tileSize(f: HeifFile, ids: readonly number[]): { tileWidth: number; tileHeight: number; tileType: string } {
  let size: { width: number; height: number } | undefined;
  const type = f.items.get(ids[0])?.type;
  for (const id of ids) {
    const t = f.items.get(id);
    if (!t || !TILE_TYPES.has(t.type) || t.type !== type) throw new HeifFormatError(`grid tile ${id} is ${t?.type ?? 'missing'}`);
    const s = declaredSize(t);
    if (!s) throw new HeifFormatError(`grid tile ${id} declares no size`);
    if (size && (s.width !== size.width || s.height !== size.height)) throw new HeifFormatError('grid tiles of different sizes');
    size = s;
  }
  if (!size || size.width === 0 || size.height === 0) throw new HeifFormatError('grid tiles of no size');
  return { tileWidth: size.width, tileHeight: size.height, tileType: type! };
}

export interface DecodedTile {
  width: number;
  height: number;
  /** RGBA, row-major. */
  data: Uint8Array | Uint8ClampedArray;
}

/**
 * Tiles (row-major) into one RGB picture of the grid's output size, then the transforms. With
 * `canvas` (the picture at its stored size, e.g. the thumbnail scaled up: heif-focus.ts), a tile left
 * out (undefined: not decoded) keeps the canvas's pixels there, and the canvas itself becomes the
 * picture (it is written into, not copied); without it every tile must be there.
 */
export function assembleHeifGrid(plan: HeifGridPlan, tiles: ReadonlyArray<DecodedTile | undefined>, canvas?: RgbImage): RgbImage {
  const tw = plan.tileWidth;
  const th = plan.tileHeight;
  if (tiles.length !== plan.rows * plan.cols) throw new HeifFormatError(`${tiles.length} tiles for a ${plan.rows}x${plan.cols} grid`);
  if (tiles.some((t) => t && (t.width !== tw || t.height !== th))) throw new HeifFormatError('a grid tile decoded to another size than it declares');
  if (canvas && (canvas.width !== plan.width || canvas.height !== plan.height)) throw new Error(`canvas ${canvas.width}x${canvas.height} for a ${plan.width}x${plan.height} picture`);
  if (!canvas && tiles.some((t) => !t)) throw new HeifFormatError('a grid tile is missing');
  if (tw * plan.cols < plan.width || th * plan.rows < plan.height) throw new HeifFormatError('grid tiles do not cover the output');
  let img = canvas ?? createRgbImage(plan.width, plan.height);
  const out = img.data;
  for (let r = 0; r < plan.rows; r++) {
    for (let c = 0; c < plan.cols; c++) {
      const tile = tiles[r * plan.cols + c];
      if (!tile) continue;
      const t = tile.data;
      const x0 = c * tw;
      const y0 = r * th;
      const w = Math.min(tw, plan.width - x0);
      for (let y = 0; y < th && y0 + y < plan.height; y++) {
        let s = y * tw * 4;
        let d = ((y0 + y) * plan.width + x0) * 3;
        for (let x = 0; x < w; x++, s += 4, d += 3) {
          out[d] = t[s];
          out[d + 1] = t[s + 1];
          out[d + 2] = t[s + 2];
        }
      }
    }
  }
  plan.transforms.forEach((t, i) => {
    if (plan.crop?.after === i) img = cropImage(img, plan.crop.rect);
    img = 'irot' in t ? rotateCcw(img, t.irot) : mirror(img, t.imir);
  });
  if (plan.crop && plan.crop.after >= plan.transforms.length) img = cropImage(img, plan.crop.rect);
  return img;
}

/**
 * Counter-clockwise quarter turns: displayed (x', y') takes stored pixel per turn (x, y) -> (y, W-1-x).
 * Walked in 64-px blocks of the output, each output row's source pixels a fixed stride apart: a 12 MP
 * portrait photo turns in tens of ms (a per-pixel walk of the whole output row took ~300 ms, the
 * source read a row apart at each step).
 */
export function rotateCcw(img: RgbImage, quarterTurns: number): RgbImage {
  const q = ((quarterTurns % 4) + 4) % 4;
  if (q === 0) return img;
  const { width: W, height: H, data } = img;
  const ow = q === 2 ? W : H;
  const oh = q === 2 ? H : W;
  const out = createRgbImage(ow, oh);
  const o = out.data;
  // Source of displayed (x, y): q 1 (W-1-y, x), q 2 (W-1-x, H-1-y), q 3 (y, H-1-x); per step in x
  // the source moves by `step` bytes.
  const step = q === 1 ? 3 * W : q === 2 ? -3 : -3 * W;
  const B = 64;
  for (let by = 0; by < oh; by += B) {
    const ey = Math.min(oh, by + B);
    for (let bx = 0; bx < ow; bx += B) {
      const ex = Math.min(ow, bx + B);
      for (let y = by; y < ey; y++) {
        let s = q === 1 ? (bx * W + (W - 1 - y)) * 3 : q === 2 ? ((H - 1 - y) * W + (W - 1 - bx)) * 3 : ((H - 1 - bx) * W + y) * 3;
        let d = (y * ow + bx) * 3;
        for (let x = bx; x < ex; x++, s += step, d += 3) {
          o[d] = data[s];
          o[d + 1] = data[s + 1];
          o[d + 2] = data[s + 2];
        }
      }
    }
  }
  return out;
}

/** axis 0: about the vertical axis (left and right swap); axis 1: about the horizontal axis. */
export function mirror(img: RgbImage, axis: 0 | 1): RgbImage {
  const { width: W, height: H, data } = img;
  const out = createRgbImage(W, H);
  const row = 3 * W;
  for (let y = 0; y < H; y++) {
    if (axis === 1) {
      out.data.set(data.subarray((H - 1 - y) * row, (H - y) * row), y * row);
      continue;
    }
    for (let x = 0, d = y * row, s = y * row + row - 3; x < W; x++, d += 3, s -= 3) {
      out.data[d] = data[s];
      out.data[d + 1] = data[s + 1];
      out.data[d + 2] = data[s + 2];
    }
  }
  return out;
}
