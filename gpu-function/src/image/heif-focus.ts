/**
 * Decoding only the part of a grid-tiled HEIC that the face needs. An iPhone's 12 MP photo is 48
 * HEVC tiles of 512 px and a 320 px thumbnail of the whole picture in the same file; the tiles are
 * the decode's whole cost (~40 ms each on one thread here), while a selfie's face and the crops the
 * landmarker takes around it cover about half of them. So the thumbnail is decoded first, the caller
 * says where the faces are on it, only the tiles under that region are decoded, and the rest of the
 * picture is painted from the thumbnail scaled up (the detector's downscaled view of the photo and the
 * person segmentation's wide crop see about the thumbnail's resolution anyway).
 *
 * Frames: "displayed" is the picture after the grid's transforms (what the user saw, what the caller's
 * rectangles are in); "stored" is the tiles' frame before them. Rectangles are normalised to [0, 1]
 * of the picture's width and height, x right, y down. Pure functions; the decoding is image-io.ts's.
 *
 * Failure modes, all of which leave the caller to decode every tile: a thumbnail whose aspect is not
 * the picture's (a thumbnail stored without the grid's rotation), or whose content disagrees with the
 * decoded tiles (previewDisagreement: a thumbnail of something else, or turned the other way).
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { mirror, rotateCcw, type DecodedTile, type HeifGridPlan, type HeifTransform } from './heif-grid';

export interface NormRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Pixel rectangle, [x0, x1) x [y0, y1). */
export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const turns = (transforms: readonly HeifTransform[]) => transforms.reduce((q, t) => q + ('irot' in t ? t.irot : 0), 0);

/** The picture's size as displayed (a quarter turn swaps the sides). */
export function displayedSize(plan: Pick<HeifGridPlan, 'width' | 'height' | 'transforms'>): { width: number; height: number } {
  return turns(plan.transforms) % 2 ? { width: plan.height, height: plan.width } : { width: plan.width, height: plan.height };
}

/** A displayed point, normalised, in the stored frame: each transform undone, last first. */
function toStored(transforms: readonly HeifTransform[], u: number, v: number): [number, number] {
  for (let i = transforms.length - 1; i >= 0; i--) {
    const t = transforms[i];
    if ('irot' in t) for (let q = 0; q < (t.irot & 3); q++) [u, v] = [1 - v, u]; // one counter-clockwise turn undone
    else if (t.imir === 0) u = 1 - u;
    else v = 1 - v;
  }
  return [u, v];
}

/** A stored point, normalised, in the displayed frame. */
function toDisplayed(transforms: readonly HeifTransform[], u: number, v: number): [number, number] {
  for (const t of transforms) {
    if ('irot' in t) for (let q = 0; q < (t.irot & 3); q++) [u, v] = [v, 1 - u];
    else if (t.imir === 0) u = 1 - u;
    else v = 1 - v;
  }
  return [u, v];
}

function mapRect(rect: NormRect, map: (u: number, v: number) => [number, number]): NormRect {
  const corners = [map(rect.x0, rect.y0), map(rect.x1, rect.y0), map(rect.x0, rect.y1), map(rect.x1, rect.y1)];
  const us = corners.map((c) => c[0]);
  const vs = corners.map((c) => c[1]);
  return { x0: Math.min(...us), y0: Math.min(...vs), x1: Math.max(...us), y1: Math.max(...vs) };
}

/** Which tiles (row-major) a displayed region needs: every tile the region overlaps. */
export function tilesCovering(plan: HeifGridPlan, regions: readonly NormRect[]): boolean[] {
  const need = new Array<boolean>(plan.rows * plan.cols).fill(false);
  for (const region of regions) {
    const r = mapRect(region, (u, v) => toStored(plan.transforms, u, v));
    const x0 = Math.max(0, r.x0 * plan.width), x1 = Math.min(plan.width, r.x1 * plan.width);
    const y0 = Math.max(0, r.y0 * plan.height), y1 = Math.min(plan.height, r.y1 * plan.height);
    if (!(x1 > x0 && y1 > y0)) continue;
    for (let row = Math.floor(y0 / plan.tileHeight); row <= Math.min(plan.rows - 1, Math.floor((y1 - 1e-9) / plan.tileHeight)); row++) {
      for (let col = Math.floor(x0 / plan.tileWidth); col <= Math.min(plan.cols - 1, Math.floor((x1 - 1e-9) / plan.tileWidth)); col++) need[row * plan.cols + col] = true;
    }
  }
  return need;
}

/** A stored-frame pixel rectangle of the picture, where it lands once displayed. */
export function displayedRect(plan: Pick<HeifGridPlan, 'width' | 'height' | 'transforms'>, stored: PixelRect): PixelRect {
  const { width, height } = displayedSize(plan);
  const norm: NormRect = { x0: stored.x0 / plan.width, y0: stored.y0 / plan.height, x1: stored.x1 / plan.width, y1: stored.y1 / plan.height };
  const r = mapRect(norm, (u, v) => toDisplayed(plan.transforms, u, v));
  return { x0: Math.round(r.x0 * width), y0: Math.round(r.y0 * height), x1: Math.round(r.x1 * width), y1: Math.round(r.y1 * height) };
}

/** The displayed pixel rectangles of the tiles not decoded (painted from the preview). */
export function filledRects(plan: HeifGridPlan, decoded: readonly boolean[]): PixelRect[] {
  const out: PixelRect[] = [];
  decoded.forEach((d, i) => {
    if (d) return;
    const row = Math.floor(i / plan.cols), col = i % plan.cols;
    out.push(displayedRect(plan, { x0: col * plan.tileWidth, y0: row * plan.tileHeight, x1: Math.min(plan.width, (col + 1) * plan.tileWidth), y1: Math.min(plan.height, (row + 1) * plan.tileHeight) }));
  });
  return out;
}

/** The displayed preview turned back into the stored frame, so it can fill the stored picture's tiles. */
export function previewInStoredFrame(preview: RgbImage, transforms: readonly HeifTransform[]): RgbImage {
  let img = preview;
  for (let i = transforms.length - 1; i >= 0; i--) {
    const t = transforms[i];
    img = 'irot' in t ? rotateCcw(img, (4 - (t.irot & 3)) % 4) : mirror(img, t.imir);
  }
  return img;
}

/** Whether the preview has the picture's shape (within 3%): a thumbnail that kept its own orientation does not. */
export function previewFits(plan: HeifGridPlan, preview: { width: number; height: number }): boolean {
  const { width, height } = displayedSize(plan);
  return Math.abs(preview.width / preview.height / (width / height) - 1) < 0.03;
}

/**
 * How far the decoded tiles are from the stored-frame preview at the preview's own resolution: the
 * mean absolute difference (0-255, over R, G and B) between each preview pixel and the mean of the
 * tile pixels it stands for, over every preview pixel that falls on a decoded tile. A thumbnail of the
 * same picture measures a few levels (its own compression and scaling); one turned the other way or of
 * another picture, tens.
 */
export function previewDisagreement(plan: HeifGridPlan, tiles: ReadonlyArray<DecodedTile | undefined>, stored: RgbImage): number {
  const kx = plan.width / stored.width, ky = plan.height / stored.height;
  const step = Math.max(1, Math.floor(Math.min(kx, ky) / 4));
  let sum = 0, n = 0;
  for (let py = 0; py < stored.height; py++) {
    for (let px = 0; px < stored.width; px++) {
      const x0 = Math.floor(px * kx), x1 = Math.min(plan.width, Math.floor((px + 1) * kx));
      const y0 = Math.floor(py * ky), y1 = Math.min(plan.height, Math.floor((py + 1) * ky));
      const tile = tiles[Math.floor(y0 / plan.tileHeight) * plan.cols + Math.floor(x0 / plan.tileWidth)];
      // Only preview pixels wholly on one decoded tile.
      if (!tile || Math.floor((x1 - 1) / plan.tileWidth) !== Math.floor(x0 / plan.tileWidth) || Math.floor((y1 - 1) / plan.tileHeight) !== Math.floor(y0 / plan.tileHeight)) continue;
      const ox = Math.floor(x0 / plan.tileWidth) * plan.tileWidth, oy = Math.floor(y0 / plan.tileHeight) * plan.tileHeight;
      const mean = [0, 0, 0];
      let m = 0;
      for (let y = y0; y < y1; y += step) {
        for (let x = x0; x < x1; x += step) {
          const s = ((y - oy) * plan.tileWidth + (x - ox)) * 4;
          mean[0] += tile.data[s];
          mean[1] += tile.data[s + 1];
          mean[2] += tile.data[s + 2];
          m++;
        }
      }
      const p = (py * stored.width + px) * 3;
      for (let c = 0; c < 3; c++) sum += Math.abs(mean[c] / m - stored.data[p + c]);
      n += 3;
    }
  }
  return n ? sum / n : 0;
}

/**
 * The preview stretched to width x height as the canvas the decoded tiles are copied onto: linear
 * across each row, rows repeated down (each preview row is stretched once and copied to the ~20
 * picture rows it stands for, a memory copy each). Painting most of a 24 MP picture this way takes
 * tens of ms, where a bilinear JS loop took ~0.3 s and libvips' upscale ~0.6 s; what reads the painted
 * part sees it downscaled 10-40x (the detector's view of the whole photo, the person segmentation's
 * wide crop), where the rows' steps average out.
 */
export function stretchPreview(preview: RgbImage, width: number, height: number): RgbImage {
  const out = createRgbImage(width, height);
  const { data: s, width: pw, height: ph } = preview;
  const kx = pw / width;
  const i0 = new Int32Array(width), i1 = new Int32Array(width), ax = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const f = Math.min(pw - 1, Math.max(0, (x + 0.5) * kx - 0.5));
    const c = Math.floor(f);
    i0[x] = c * 3;
    i1[x] = Math.min(pw - 1, c + 1) * 3;
    ax[x] = f - c;
  }
  const row = new Uint8Array(width * 3);
  let stretched = -1;
  for (let y = 0; y < height; y++) {
    const r = Math.min(ph - 1, Math.floor(((y + 0.5) * ph) / height));
    if (r !== stretched) {
      const base = r * pw * 3;
      for (let x = 0, o = 0; x < width; x++, o += 3) {
        const a = base + i0[x], b = base + i1[x], t = ax[x];
        row[o] = s[a] + (s[b] - s[a]) * t + 0.5;
        row[o + 1] = s[a + 1] + (s[b + 1] - s[a + 1]) * t + 0.5;
        row[o + 2] = s[a + 2] + (s[b + 2] - s[a + 2]) * t + 0.5;
      }
      stretched = r;
    }
    out.data.set(row, y * width * 3);
  }
  return out;
}

/** RGBA (a decoder's output) to the neutral RGB image. */
export function rgbaToRgb(t: DecodedTile): RgbImage {
  const rgb = createRgbImage(t.width, t.height);
  for (let i = 0, j = 0; i < rgb.data.length; i += 3, j += 4) {
    rgb.data[i] = t.data[j];
    rgb.data[i + 1] = t.data[j + 1];
    rgb.data[i + 2] = t.data[j + 2];
  }
  return rgb;
}
