/**
 * Phone-sized test photos built from the public-domain portrait: the 512 px astronaut composed into a
 * 12, 24 or 48 MP frame at selfie scale (the face ~30% of the frame's width, as at arm's length),
 * with fine, seeded grain over everything (sensor noise and skin detail stand-in, so JPEG sizes and
 * high-frequency texture are those of a real photo rather than of a smooth upscale), saved as a
 * phone does: JPEG q90 with EXIF, or grid-tiled HEIC.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { encodeImage } from '../gpu-function/src/adapters/image-io';
import { rotateCcw } from '../gpu-function/src/image/heif-grid';
import { encodeGridHeic } from '../scripts/lib/heic-grid-encode';

export const PHONE_SIZES: Array<{ label: string; width: number; height: number }> = [
  { label: '12 MP', width: 4032, height: 3024 },
  { label: '24 MP', width: 5712, height: 4284 },
  { label: '48 MP', width: 8064, height: 6048 },
];

/** The portrait's scale in the frame: the astronaut's face is ~210 px wide at 512, so ~30% of width. */
export const selfieScale = (width: number) => Math.round((0.3 * width) / 210);

export function composeSelfie(src: RgbImage, width: number, height: number, opts: { grain?: number; seed?: number } = {}): { image: RgbImage; scale: number; x0: number; y0: number } {
  const k = Math.min(selfieScale(width), Math.floor(height / 512));
  const x0 = (width - 512 * k) >> 1;
  const y0 = (height - 512 * k) >> 1;
  const img = createRgbImage(width, height);
  let s = opts.seed ?? 1;
  const grain = opts.grain ?? 4;
  for (let y = 0; y < height; y++) {
    const sy = Math.floor((y - y0) / k);
    for (let x = 0; x < width; x++) {
      const sx = Math.floor((x - x0) / k);
      const d = (y * width + x) * 3;
      s = (s * 1103515245 + 12345) >>> 0;
      const n = ((s >>> 16) / 65536 - 0.5) * 2 * grain;
      for (let c = 0; c < 3; c++) {
        const v = sx >= 0 && sx < 512 && sy >= 0 && sy < 512 ? src.data[(sy * 512 + sx) * 3 + c] : 96 + 24 * c;
        img.data[d + c] = Math.max(0, Math.min(255, Math.round(v + n)));
      }
    }
  }
  return { image: img, scale: k, x0, y0 };
}

export const phoneJpeg = (img: RgbImage) => encodeImage(img, 'jpeg', { quality: 90, exifOrientation: 1 });
/** A portrait picture as a phone held upright saves it: the pixels a quarter turn counter-clockwise, EXIF orientation 6. */
export const phoneJpegTurned = (img: RgbImage) => encodeImage(rotateCcw(img, 1), 'jpeg', { quality: 90, exifOrientation: 6 });
export const phoneHeic = (img: RgbImage) => encodeGridHeic(img, { quality: 60 }); // about an iPhone's own HEIC size
