/**
 * Draws landmark results over a copy of the photo, for humans checking that points sit on the face.
 * Pure pixel code (no image library): filled discs, rectangle outlines and circles, clipped to the image.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import type { LandmarkResult } from './landmarker';
import { MESH_POINTS } from './landmarks';

type Rgb = readonly [number, number, number];

export function fillDisc(img: RgbImage, cx: number, cy: number, r: number, color: Rgb): void {
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(img.width - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(img.height - 1, Math.ceil(cy + r));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 > r * r) continue;
      const o = (y * img.width + x) * 3;
      img.data[o] = color[0];
      img.data[o + 1] = color[1];
      img.data[o + 2] = color[2];
    }
  }
}

export function strokeRect(img: RgbImage, box: { x: number; y: number; width: number; height: number }, t: number, color: Rgb): void {
  const steps = Math.ceil(2 * (box.width + box.height));
  for (let i = 0; i <= steps; i++) {
    const f = i / steps;
    fillDisc(img, box.x + f * box.width, box.y, t, color);
    fillDisc(img, box.x + f * box.width, box.y + box.height, t, color);
    fillDisc(img, box.x, box.y + f * box.height, t, color);
    fillDisc(img, box.x + box.width, box.y + f * box.height, t, color);
  }
}

export function strokeCircle(img: RgbImage, cx: number, cy: number, r: number, t: number, color: Rgb): void {
  const steps = Math.max(16, Math.ceil(2 * Math.PI * r));
  for (let i = 0; i < steps; i++) {
    const a = (2 * Math.PI * i) / steps;
    fillDisc(img, cx + r * Math.cos(a), cy + r * Math.sin(a), t, color);
  }
}

/** The photo with detector boxes (yellow), keypoints (magenta), mesh points (green) and irises (red). */
export function drawLandmarkOverlay(photo: RgbImage, result: LandmarkResult): RgbImage {
  const img = createRgbImage(photo.width, photo.height, photo.data.slice());
  const unit = Math.max(1, Math.min(photo.width, photo.height) / 400);
  for (const f of result.faces) {
    strokeRect(img, f.box, unit, [255, 220, 0]);
    for (const [x, y] of f.keypoints) fillDisc(img, x, y, 2.5 * unit, [255, 0, 255]);
  }
  if (!result.ok) return img;
  const p = result.face.points;
  // Dots scale with the face so 468 points stay distinguishable on small and large faces alike.
  const r = Math.max(1, result.face.detection.box.width / 180);
  for (let i = 0; i < MESH_POINTS; i++) fillDisc(img, p[3 * i], p[3 * i + 1], r, [0, 255, 80]);
  for (const base of [468, 473]) {
    const cx = p[3 * base];
    const cy = p[3 * base + 1];
    let rad = 0;
    for (let k = 1; k <= 4; k++) rad += Math.hypot(p[3 * (base + k)] - cx, p[3 * (base + k) + 1] - cy) / 4;
    strokeCircle(img, cx, cy, rad, Math.max(0.6, r * 0.6), [255, 40, 40]);
    fillDisc(img, cx, cy, r, [255, 40, 40]);
  }
  return img;
}
