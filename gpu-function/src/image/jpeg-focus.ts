/**
 * Decoding only the part of a large JPEG that the face needs, the way heif-focus.ts does it for a grid
 * HEIC. A JPEG has no tiles and no thumbnail worth trusting, but libjpeg gives both cheaply: at 1/8
 * scale it decodes only each block's DC coefficient (~30 ms for 12 MP here, against ~240 ms for the
 * whole picture and ~430 ms with a portrait's EXIF turn applied), and libvips decodes a region of the
 * stored picture without the rows below it or the colour work outside it (~90 ms for half a 12 MP
 * frame), bit-equal to the same pixels of the whole decode, and turns only that part where the whole
 * decode turns the whole picture. So the 1/8 decode, upright, is the preview
 * the detector looks at; the picture is cut into virtual cells (the tiles of heif-focus.ts's
 * bookkeeping), and only the cells under each face's crops are decoded, in the stored frame, then
 * turned with the rest by the EXIF orientation.
 *
 * Frames: "stored" is the JPEG's own pixel grid; "displayed" is it after the EXIF orientation (what the
 * user saw, what the caller's rectangles are in). Pure functions; the decoding is image-io.ts's.
 */
import type { NormRect, PixelRect } from './heif-focus';
import { tilesCovering } from './heif-focus';
import type { HeifGridPlan, HeifTransform } from './heif-grid';

/**
 * Side of the virtual cells (px). A multiple of every JPEG's MCU (8 or 16), small enough that a
 * face's crop does not drag in much beyond it (a 12 MP frame is 16 x 12 cells).
 */
export const JPEG_FOCUS_CELL = 256;

/**
 * The EXIF orientation (1-8) as the transforms heif-focus.ts and heif-grid.ts apply, stored to
 * displayed, in order (irot: counter-clockwise quarter turns; imir 0: left-right, 1: top-bottom).
 * 6, a phone held upright, is one clockwise turn; 5 is the transpose, 7 the transverse. Anything else
 * (0, absent, out of range) is 1, as libvips reads it.
 */
export function exifTransforms(orientation: number): HeifTransform[] {
  switch (orientation) {
    case 2:
      return [{ imir: 0 }];
    case 3:
      return [{ irot: 2 }];
    case 4:
      return [{ imir: 1 }];
    case 5:
      return [{ imir: 0 }, { irot: 1 }];
    case 6:
      return [{ irot: 3 }];
    case 7:
      return [{ irot: 1 }, { imir: 0 }];
    case 8:
      return [{ irot: 1 }];
    default:
      return [];
  }
}

/**
 * The same orientation as sharp's operations on a part cut from the stored picture (sharp mirrors
 * before it rotates, clockwise): 5 is a flop then 270, 7 a flop then 90.
 */
export function exifSharpOps(orientation: number): { flop: boolean; flip: boolean; angle: 0 | 90 | 180 | 270 } {
  const o = orientation;
  return { flop: o === 2 || o === 5 || o === 7, flip: o === 4, angle: o === 3 ? 180 : o === 6 || o === 7 ? 90 : o === 5 || o === 8 ? 270 : 0 };
}

/** The stored picture as a grid of JPEG_FOCUS_CELL cells, for heif-focus.ts's bookkeeping (no tile files). */
export function jpegCellPlan(width: number, height: number, orientation: number): HeifGridPlan {
  return {
    rows: Math.ceil(height / JPEG_FOCUS_CELL),
    cols: Math.ceil(width / JPEG_FOCUS_CELL),
    width,
    height,
    tileWidth: JPEG_FOCUS_CELL,
    tileHeight: JPEG_FOCUS_CELL,
    tiles: [],
    transforms: exifTransforms(orientation),
  };
}

/**
 * The stored-frame pixel rectangle to decode for displayed regions: the block of cells they overlap
 * (one rectangle around all of them: libjpeg decodes every row above a part at full width, so two
 * parts cut separately would decode the top of the picture twice), clipped to the picture; and which
 * cells that decodes. Undefined when the regions miss the picture.
 */
export function storedExtract(plan: HeifGridPlan, regions: readonly NormRect[]): { rect: PixelRect; cells: boolean[] } | undefined {
  const need = tilesCovering(plan, regions);
  let r0 = Infinity, r1 = -1, c0 = Infinity, c1 = -1;
  need.forEach((n, i) => {
    if (!n) return;
    const row = Math.floor(i / plan.cols), col = i % plan.cols;
    r0 = Math.min(r0, row);
    r1 = Math.max(r1, row);
    c0 = Math.min(c0, col);
    c1 = Math.max(c1, col);
  });
  if (r1 < 0) return undefined;
  const cells = need.map((_, i) => {
    const row = Math.floor(i / plan.cols), col = i % plan.cols;
    return row >= r0 && row <= r1 && col >= c0 && col <= c1;
  });
  return { rect: { x0: c0 * plan.tileWidth, y0: r0 * plan.tileHeight, x1: Math.min(plan.width, (c1 + 1) * plan.tileWidth), y1: Math.min(plan.height, (r1 + 1) * plan.tileHeight) }, cells };
}
