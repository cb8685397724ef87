/** Image panels for the docs scripts: copy, nearest-neighbour and area-averaging resize, crops, the square around a face. */
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

/** Area-averaging resize (a box filter over each output pixel's footprint): for shrinking renders and textures without aliasing. */
export function shrink(src: RgbImage, w: number, h: number): RgbImage {
  const out = createRgbImage(w, h);
  for (let y = 0; y < h; y++) {
    const sy0 = Math.floor((y * src.height) / h), sy1 = Math.max(sy0 + 1, Math.floor(((y + 1) * src.height) / h));
    for (let x = 0; x < w; x++) {
      const sx0 = Math.floor((x * src.width) / w), sx1 = Math.max(sx0 + 1, Math.floor(((x + 1) * src.width) / w));
      let r = 0, g = 0, b = 0;
      for (let sy = sy0; sy < sy1; sy++) {
        for (let sx = sx0; sx < sx1; sx++) {
          const o = (sy * src.width + sx) * 3;
          r += src.data[o];
          g += src.data[o + 1];
          b += src.data[o + 2];
        }
      }
      const n = (sy1 - sy0) * (sx1 - sx0);
      out.data.set([Math.round(r / n), Math.round(g / n), Math.round(b / n)], (y * w + x) * 3);
    }
  }
  return out;
}

/** The w x h window of `src` at (x0, y0), clamped into it. */
export function crop(src: RgbImage, x0: number, y0: number, w: number, h: number): RgbImage {
  x0 = Math.max(0, Math.min(src.width - w, Math.round(x0)));
  y0 = Math.max(0, Math.min(src.height - h, Math.round(y0)));
  const out = createRgbImage(Math.min(w, src.width), Math.min(h, src.height));
  for (let y = 0; y < out.height; y++) out.data.set(src.data.subarray(((y0 + y) * src.width + x0) * 3, ((y0 + y) * src.width + x0 + out.width) * 3), y * out.width * 3);
  return out;
}
