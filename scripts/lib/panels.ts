/** Image panels for the docs scripts: copy, nearest-neighbour resize, the square around a face. */
import { createRgbImage, type RgbImage } from '@facerecon/shared';

export function blit(dst: RgbImage, src: RgbImage, x0: number, y0: number): void {
  for (let y = 0; y < src.height && y0 + y < dst.height; y++) {
    dst.data.set(src.data.subarray(y * src.width * 3, (y * src.width + Math.min(src.width, dst.width - x0)) * 3), ((y0 + y) * dst.width + x0) * 3);
  }
}

export function resize(src: RgbImage, w: number, h: number): RgbImage {
  const out = createRgbImage(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sx = Math.min(src.width - 1, Math.floor(((x + 0.5) * src.width) / w));
      const sy = Math.min(src.height - 1, Math.floor(((y + 0.5) * src.height) / h));
      out.data.set(src.data.subarray((sy * src.width + sx) * 3, (sy * src.width + sx) * 3 + 3), (y * w + x) * 3);
    }
  }
  return out;
}

/** The square around a face box, 1.8x its larger side, clamped into the photo. */
export function faceCrop(image: RgbImage, box: { x: number; y: number; width: number; height: number }): RgbImage {
  const side = Math.round(Math.max(box.width, box.height) * 1.8);
  const x0 = Math.max(0, Math.min(image.width - side, Math.round(box.x + box.width / 2 - side / 2)));
  const y0 = Math.max(0, Math.min(image.height - side, Math.round(box.y + box.height / 2 - side / 2)));
  const crop = createRgbImage(Math.min(side, image.width), Math.min(side, image.height));
  for (let y = 0; y < crop.height; y++) crop.data.set(image.data.subarray(((y0 + y) * image.width + x0) * 3, ((y0 + y) * image.width + x0 + crop.width) * 3), y * crop.width * 3);
  return crop;
}
