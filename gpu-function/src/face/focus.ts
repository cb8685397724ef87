/**
 * Where the face work reads the photo at full resolution, worked out from a small preview (a grid
 * HEIC's thumbnail, heif-focus.ts) before the photo is decoded, and checked afterwards against what
 * the landmarker really used.
 *
 * The landmarker's crops around a face: the mesh model's ROI (1.5x the detector's box, FACE_ROI_SCALE,
 * turned with the face's roll), the quality gate's second look at it zoomed out by 1.1 and rolled by
 * 0.2 rad, the iris crops inside it; the default model's bake samples only the face inside that ROI.
 * A square of FOCUS_SCALE x the box's larger side holds the rolled, zoomed ROI of an upright face
 * (1.5 x 1.1 x (cos 0.2 + sin 0.2) = 1.95) with room for a preview's coarser box; a face rolled
 * further, or boxed differently on the full picture, is caught by `roiClearOf` and the photo decoded
 * whole. The person segmentation's wider crop (3.3x the box) reads the rest at about the preview's
 * resolution, which is what its 256 px input keeps of it anyway.
 */
import type { NormRect, PixelRect } from '../image/heif-focus';
import type { RotatedRect } from './raster';
import type { ImageDetection } from './roi';

export const FOCUS_SCALE = 2.4;
/**
 * Candidates under this share of the largest box's width are left to the preview: the landmarker
 * compares faces at half the main face's width (multiFaceRatio), so anything that could make a
 * photo MULTIPLE_FACES is decoded.
 */
const FOCUS_MIN_RELATIVE_WIDTH = 0.4;
/** How much larger than the ROI the check wants decoded: the second look's zoom, and a margin. */
const ROI_CHECK_SCALE = 1.2;

/**
 * faceFocusRegions: the regions (normalised to the preview, x right, y down) to decode for the faces
 * the detector found on a preview; undefined, meaning decode everything, when it found none.
 */
export function faceFocusRegions(detections: readonly ImageDetection[], preview: { width: number; height: number }): NormRect[] | undefined {
  if (!detections.length) return undefined;
  const largest = Math.max(...detections.map((d) => d.box.width));
  return detections
    .filter((d) => d.box.width >= FOCUS_MIN_RELATIVE_WIDTH * largest)
    .map((d) => {
      const half = (FOCUS_SCALE * Math.max(d.box.width, d.box.height)) / 2;
      const cx = d.box.x + d.box.width / 2;
      const cy = d.box.y + d.box.height / 2;
      return { x0: (cx - half) / preview.width, y0: (cy - half) / preview.height, x1: (cx + half) / preview.width, y1: (cy + half) / preview.height };
    });
}

/** The axis-aligned pixel rectangle around a rotated ROI scaled by `scale` about its centre. */
export function roiBounds(roi: RotatedRect, scale = 1): PixelRect {
  const h = ((roi.size * scale) / 2) * (Math.abs(Math.cos(roi.angle)) + Math.abs(Math.sin(roi.angle)));
  return { x0: Math.floor(roi.cx - h), y0: Math.floor(roi.cy - h), x1: Math.ceil(roi.cx + h), y1: Math.ceil(roi.cy + h) };
}

/** Whether the landmarker's ROI, with the second look's margin, lies wholly outside `filled`. */
export function roiClearOf(roi: RotatedRect, filled: readonly PixelRect[]): boolean {
  const r = roiBounds(roi, ROI_CHECK_SCALE);
  return filled.every((f) => r.x1 <= f.x0 || r.x0 >= f.x1 || r.y1 <= f.y0 || r.y0 >= f.y1);
}
