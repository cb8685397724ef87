/** Image transforms for building test cases from real photos (rolled, tiled, shrunk, rotated pixels). */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { buildPyramid, sampleRotatedCrop } from '../src/face/raster';

const toBytes = (f: Float32Array) => Uint8Array.from(f, (v) => Math.max(0, Math.min(255, Math.round(v))));

/** The photo rolled by `angle` radians about its centre (content turns by -angle on screen), same size, black corners. */
export function rollImage(img: RgbImage, angle: number): RgbImage {
  const size = Math.max(img.width, img.height);
  const out = sampleRotatedCrop(buildPyramid(img), { cx: img.width / 2, cy: img.height / 2, size, angle }, { size, scale: 255, offset: 0 });
  return createRgbImage(size, size, toBytes(out));
}

/** Two photos side by side on one canvas (heights padded with black). */
export function tileHorizontally(a: RgbImage, b: RgbImage): RgbImage {
  const h = Math.max(a.height, b.height);
  const out = createRgbImage(a.width + b.width, h);
  for (let y = 0; y < h; y++) {
    if (y < a.height) out.data.set(a.data.subarray(y * a.width * 3, (y + 1) * a.width * 3), y * out.width * 3);
    if (y < b.height) out.data.set(b.data.subarray(y * b.width * 3, (y + 1) * b.width * 3), (y * out.width + a.width) * 3);
  }
  return out;
}

/** Area downscale by an integer factor, placed at (x, y) on a grey canvas of the given size. */
export function shrinkOnto(img: RgbImage, factor: number, canvas: { width: number; height: number; x: number; y: number }): RgbImage {
  const w = Math.floor(img.width / factor);
  const h = Math.floor(img.height / factor);
  const out = createRgbImage(canvas.width, canvas.height, new Uint8Array(canvas.width * canvas.height * 3).fill(128));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let dy = 0; dy < factor; dy++) for (let dx = 0; dx < factor; dx++) s += img.data[((y * factor + dy) * img.width + x * factor + dx) * 3 + c];
    out.data[((canvas.y + y) * canvas.width + canvas.x + x) * 3 + c] = Math.round(s / factor / factor);
  }
  return out;
}

/** Pixels turned 90 degrees counter-clockwise: what a camera stores before tagging EXIF orientation 6. */
export function rotatePixelsCcw(img: RgbImage): RgbImage {
  const out = createRgbImage(img.height, img.width);
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) {
    // (x, y) -> (y, W - 1 - x)
    const o = ((img.width - 1 - x) * out.width + y) * 3;
    const i = (y * img.width + x) * 3;
    out.data[o] = img.data[i];
    out.data[o + 1] = img.data[i + 1];
    out.data[o + 2] = img.data[i + 2];
  }
  return out;
}

/** A sub-rectangle of the photo. */
export function cropImage(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  const out = createRgbImage(w, h);
  for (let r = 0; r < h; r++) out.data.set(img.data.subarray(((y + r) * img.width + x) * 3, ((y + r) * img.width + x + w) * 3), r * w * 3);
  return out;
}
