/**
 * Where the face work reads the photo at full resolution, worked out from a small preview (a grid
 * HEIC's thumbnail, heif-focus.ts) before the photo is decoded, and checked afterwards against what
 * the landmarker really used.
 *
 * The crops around a face: the mesh model's ROI (1.5x the detector's box, FACE_ROI_SCALE, turned with
 * the face's roll), the quality gate's second look at it zoomed out by 1.1 and rolled by 0.2 rad, the
 * iris crops inside it, the default model's bake inside it, and the person segmentation's crop, the
 * widest (2.2x the ROI, 0.3 of it lower: SEGMENTATION_CROP), whose mask weighs the bake and decides
 * the share of the face seen. So what is decoded is that crop's square for the preview's box, turned
 * by the roll its eye keypoints show, with a margin for a preview's coarser box; a face boxed
 * differently on the full picture is caught by `roiClearOf` and the photo decoded whole. Only the
 * detector's own view of the whole photo (downscaled to 128 px) reads painted pixels.
 */
import type { NormRect, PixelRect } from '../image/heif-focus';
import { segmentationRect } from './person-mask';
import type { RotatedRect } from './raster';
import { roiFromDetection, type ImageDetection } from './roi';

/** Margin on the segmentation crop's square for the preview's box, whose pixels are 12-18 photo pixels. */
export const FOCUS_MARGIN = 1.1;
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
      const r = roiBounds(segmentationRect(roiFromDetection(d)), FOCUS_MARGIN);
      return { x0: r.x0 / preview.width, y0: r.y0 / preview.height, x1: r.x1 / preview.width, y1: r.y1 / preview.height };
    });
}

/** The axis-aligned pixel rectangle around a rotated ROI scaled by `scale` about its centre. */
export function roiBounds(roi: RotatedRect, scale = 1): PixelRect {
  const h = ((roi.size * scale) / 2) * (Math.abs(Math.cos(roi.angle)) + Math.abs(Math.sin(roi.angle)));
  return { x0: Math.floor(roi.cx - h), y0: Math.floor(roi.cy - h), x1: Math.ceil(roi.cx + h), y1: Math.ceil(roi.cy + h) };
}

/** Whether the landmarker's ROI, with the second look's margin, and the segmentation's crop lie wholly outside `filled`. */
export function roiClearOf(roi: RotatedRect, filled: readonly PixelRect[]): boolean {
  const clear = (r: PixelRect) => filled.every((f) => r.x1 <= f.x0 || r.x0 >= f.x1 || r.y1 <= f.y0 || r.y0 >= f.y1);
  return clear(roiBounds(roi, ROI_CHECK_SCALE)) && clear(roiBounds(segmentationRect(roi)));
}
