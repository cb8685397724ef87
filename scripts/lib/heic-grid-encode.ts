/**
 * Grid-tiled HEIC as an iPhone writes it (512x512 HEVC tiles under a `grid` item, optionally with
 * `irot`), built from Debian's heif-enc, which at 1.15 can only write single-picture files: each tile
 * is encoded alone and its HEVC picture and decoder configuration are moved into one grid file by the
 * project's HEIF writer. For fixtures and benchmarks; never used by the service.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { encodeImage } from '../../gpu-function/src/adapters/image-io';
import { gridDescriptor, heifProperty, readHeif, writeHeif, type HeifWriteItem } from '../../gpu-function/src/image/heif-container';
import { rotateCcw } from '../../gpu-function/src/image/heif-grid';

export interface GridHeicOptions {
  tile?: number;
  quality?: number;
  /**
   * Counter-clockwise quarter turns stored in `irot`: the pixels are stored turned the other way, so a
   * reader that honours irot shows `image` upright.
   */
  irot?: number;
  /**
   * The thumbnail item an iPhone adds (`thmb` to the grid; Apple's is 320 px on the long side, stored
   * turned like the tiles, under the same irot): its long side in px, or false for none. Default 320.
   */
  thumbnail?: number | false;
  /** The picture the thumbnail shows, when not `image` (a test of a thumbnail that does not match). */
  thumbnailImage?: RgbImage;
}

/** Box-filter downscale to `long` px on the longer side (a thumbnail as a phone makes it). */
function downscale(image: RgbImage, long: number): RgbImage {
  const k = Math.max(image.width, image.height) / long;
  // Even sides: heif-enc 1.15 writes an odd-sized picture as a grid of its own, which no thumbnail is.
  const w = Math.max(2, 2 * Math.round(image.width / k / 2)), h = Math.max(2, 2 * Math.round(image.height / k / 2));
  const out = createRgbImage(w, h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.floor(y * k), y1 = Math.max(y0 + 1, Math.min(image.height, Math.floor((y + 1) * k)));
    for (let x = 0; x < w; x++) {
      const x0 = Math.floor(x * k), x1 = Math.max(x0 + 1, Math.min(image.width, Math.floor((x + 1) * k)));
      const sum = [0, 0, 0];
      for (let sy = y0; sy < y1; sy++) for (let sx = x0; sx < x1; sx++) for (let c = 0; c < 3; c++) sum[c] += image.data[(sy * image.width + sx) * 3 + c];
      const n = (y1 - y0) * (x1 - x0);
      for (let c = 0; c < 3; c++) out.data[(y * w + x) * 3 + c] = Math.round(sum[c] / n);
    }
  }
  return out;
}

export async function encodeGridHeic(image: RgbImage, opts: GridHeicOptions = {}): Promise<Uint8Array> {
  const T = opts.tile ?? 512;
  const q = opts.irot ?? 0;
  const stored = rotateCcw(image, (4 - q) % 4);
  const cols = Math.ceil(stored.width / T);
  const rows = Math.ceil(stored.height / T);
  const dir = mkdtempSync(join(tmpdir(), 'heic-grid-'));
  try {
    const items: HeifWriteItem[] = [];
    const tile = createRgbImage(T, T);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        // Tiles past the picture's edge repeat its last row and column, as encoders pad.
        for (let y = 0; y < T; y++) {
          const sy = Math.min(stored.height - 1, r * T + y);
          for (let x = 0; x < T; x++) {
            const sx = Math.min(stored.width - 1, c * T + x);
            tile.data.set(stored.data.subarray((sy * stored.width + sx) * 3, (sy * stored.width + sx) * 3 + 3), (y * T + x) * 3);
          }
        }
        const png = join(dir, 't.png');
        const heic = join(dir, 't.heic');
        writeFileSync(png, await encodeImage(tile, 'png'));
        execFileSync('heif-enc', ['-q', String(opts.quality ?? 80), '-o', heic, png], { stdio: 'ignore' });
        const f = readHeif(new Uint8Array(readFileSync(heic)));
        const pic = f.items.get(f.primary)!;
        items.push({ id: 2 + items.length, type: 'hvc1', hidden: true, data: pic.data, props: pic.props.map((p) => ({ box: p.property.box, essential: p.essential })) });
      }
    }
    const refs = [{ type: 'dimg', from: 1, to: items.map((i) => i.id) }];
    if (opts.thumbnail !== false) {
      const png = join(dir, 'thumb.png');
      const heic = join(dir, 'thumb.heic');
      writeFileSync(png, await encodeImage(rotateCcw(downscale(opts.thumbnailImage ?? image, opts.thumbnail ?? 320), (4 - q) % 4), 'png'));
      execFileSync('heif-enc', ['-q', String(opts.quality ?? 80), '-o', heic, png], { stdio: 'ignore' });
      const pic = readHeif(new Uint8Array(readFileSync(heic)));
      const t = pic.items.get(pic.primary)!;
      const id = 2 + items.length;
      items.push({ id, type: 'hvc1', data: t.data, props: [...t.props.map((p) => ({ box: p.property.box, essential: p.essential })), ...(q ? [{ box: heifProperty.irot(q), essential: true }] : [])] });
      refs.push({ type: 'thmb', from: id, to: [1] });
    }
    const grid: HeifWriteItem = {
      id: 1,
      type: 'grid',
      data: gridDescriptor({ rows, cols, width: stored.width, height: stored.height }),
      props: [{ box: heifProperty.ispe(stored.width, stored.height) }, ...(q ? [{ box: heifProperty.irot(q), essential: true }] : [])],
    };
    return writeHeif({ brands: ['heic', 'mif1', 'heic'], primary: 1, items: [grid, ...items], refs });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
