/**
 * Grid-tiled HEIC split for parallel decoding and put back together. An iPhone stores a 12 MP photo as
 * 48 independent 512x512 HEVC pictures under a `grid` item; one wasm HEVC decoder takes ~1.9 s for
 * them in a row on this machine's cores, while each tile alone is a tiny, complete HEIF file that any
 * decoder thread can take. The grid's `output_width/height` crop the right and bottom tiles, and its
 * `irot`/`imir` (in ipma order, the HEIF rule; EXIF orientation is ignored, as the spec says) are
 * applied here because the tiles carry none.
 *
 * Frame: pixel (0,0) top-left, x right, y down; irot turns counter-clockwise in the displayed image.
 * Failure modes: a grid whose tiles are missing or of mixed sizes throws HeifFormatError.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { HeifFormatError, readGridDescriptor, readHeif, writeHeif, type HeifFile } from './heif-container';

export type HeifTransform = { irot: number } | { imir: 0 | 1 };

export interface HeifGridPlan {
  rows: number;
  cols: number;
  /** Picture size before the transforms (the grid's output size). */
  width: number;
  height: number;
  /** One standalone HEIF file per tile, row-major. */
  tiles: Uint8Array[];
  transforms: HeifTransform[];
}

const TRANSFORMS = new Set(['irot', 'imir', 'clap']);

/** The grid plan of a HEIC whose primary item is a grid of HEVC tiles; undefined for any other file. */
export function planHeifGrid(bytes: Uint8Array): HeifGridPlan | undefined {
  let f: HeifFile;
  try {
    f = readHeif(bytes);
  } catch {
    return undefined; // let the decoder itself judge a file this reader cannot follow
  }
  const grid = f.items.get(f.primary)!;
  if (grid.type !== 'grid') return undefined;
  const ids = f.refs.find((r) => r.type === 'dimg' && r.from === f.primary)?.to ?? [];
  const g = readGridDescriptor(grid.data);
  if (ids.length !== g.rows * g.cols) throw new HeifFormatError(`grid ${g.rows}x${g.cols} has ${ids.length} tiles`);
  if (grid.props.some((p) => p.property.type === 'clap')) return undefined; // rare; libheif applies it on the whole-file path
  const gridColour = grid.props.find((p) => p.property.type === 'colr');
  const tiles = ids.map((id) => {
    const t = f.items.get(id);
    if (!t || t.type !== 'hvc1') throw new HeifFormatError(`grid tile ${id} is ${t?.type ?? 'missing'}`);
    const props = t.props.filter((p) => !TRANSFORMS.has(p.property.type));
    if (gridColour && !props.some((p) => p.property.type === 'colr')) props.push(gridColour);
    return writeHeif({ brands: f.brands, primary: 1, items: [{ id: 1, type: 'hvc1', data: t.data, props: props.map((p) => ({ box: p.property.box, essential: p.essential })) }] });
  });
  const transforms: HeifTransform[] = [];
  for (const p of grid.props) {
    const payload = p.property.box[p.property.box.byteLength - 1];
    if (p.property.type === 'irot') transforms.push({ irot: payload & 3 });
    else if (p.property.type === 'imir') transforms.push({ imir: (payload & 1) as 0 | 1 });
  }
  return { rows: g.rows, cols: g.cols, width: g.width, height: g.height, tiles, transforms };
}

export interface DecodedTile {
  width: number;
  height: number;
  /** RGBA, row-major. */
  data: Uint8Array | Uint8ClampedArray;
}

/** Tiles (row-major) into one RGB picture of the grid's output size, then the transforms. */
export function assembleHeifGrid(plan: HeifGridPlan, tiles: DecodedTile[]): RgbImage {
  const tw = tiles[0].width;
  const th = tiles[0].height;
  if (tiles.some((t) => t.width !== tw || t.height !== th)) throw new HeifFormatError('grid tiles of different sizes');
  if (tw * plan.cols < plan.width || th * plan.rows < plan.height) throw new HeifFormatError('grid tiles do not cover the output');
  let img = createRgbImage(plan.width, plan.height);
  const out = img.data;
  for (let r = 0; r < plan.rows; r++) {
    for (let c = 0; c < plan.cols; c++) {
      const t = tiles[r * plan.cols + c].data;
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
  for (const t of plan.transforms) img = 'irot' in t ? rotateCcw(img, t.irot) : mirror(img, t.imir);
  return img;
}

/** Counter-clockwise quarter turns: displayed (x', y') takes stored pixel per turn (x, y) -> (y, W-1-x). */
export function rotateCcw(img: RgbImage, quarterTurns: number): RgbImage {
  const q = ((quarterTurns % 4) + 4) % 4;
  if (q === 0) return img;
  const { width: W, height: H, data } = img;
  const ow = q === 2 ? W : H;
  const oh = q === 2 ? H : W;
  const out = createRgbImage(ow, oh);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      // Source pixel of displayed (x, y) for a counter-clockwise turn of q quarters.
      const [sx, sy] = q === 1 ? [W - 1 - y, x] : q === 2 ? [W - 1 - x, H - 1 - y] : [y, H - 1 - x];
      const s = (sy * W + sx) * 3;
      const d = (y * ow + x) * 3;
      out.data[d] = data[s];
      out.data[d + 1] = data[s + 1];
      out.data[d + 2] = data[s + 2];
    }
  }
  return out;
}

/** axis 0: about the vertical axis (left and right swap); axis 1: about the horizontal axis. */
export function mirror(img: RgbImage, axis: 0 | 1): RgbImage {
  const { width: W, height: H, data } = img;
  const out = createRgbImage(W, H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const s = ((axis === 1 ? H - 1 - y : y) * W + (axis === 0 ? W - 1 - x : x)) * 3;
      const d = (y * W + x) * 3;
      out.data[d] = data[s];
      out.data[d + 1] = data[s + 1];
      out.data[d + 2] = data[s + 2];
    }
  }
  return out;
}
