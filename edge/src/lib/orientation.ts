/**
 * EXIF orientation (TIFF 6.0 tag 0x0112) applied exactly to RGBA pixels: the four 90-degree turns and
 * mirrors are index permutations, so no resampling blurs or shifts the photo (photon's `rotate` is a
 * general-angle resampler). `out(x, y) = in(source(x, y))` with the stored image W x H.
 */
export function orientRgba(pixels: Uint8Array, width: number, height: number, orientation: number): { pixels: Uint8Array; width: number; height: number } {
  if (orientation < 2 || orientation > 8) return { pixels, width, height };
  const W = width;
  const H = height;
  const swap = orientation >= 5;
  const ow = swap ? H : W;
  const oh = swap ? W : H;
  const out = new Uint8Array(ow * oh * 4);
  const src = new Uint32Array(pixels.buffer, pixels.byteOffset, W * H);
  const dst = new Uint32Array(out.buffer);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sx: number, sy: number;
      switch (orientation) {
        case 2: sx = W - 1 - x; sy = y; break; // mirror horizontal
        case 3: sx = W - 1 - x; sy = H - 1 - y; break; // rotate 180
        case 4: sx = x; sy = H - 1 - y; break; // mirror vertical
        case 5: sx = y; sy = x; break; // transpose
        case 6: sx = y; sy = H - 1 - x; break; // rotate 90 clockwise
        case 7: sx = W - 1 - y; sy = H - 1 - x; break; // transverse
        default: sx = W - 1 - y; sy = x; break; // 8: rotate 90 counter-clockwise
      }
      dst[y * ow + x] = src[sy * W + sx];
    }
  }
  return { pixels: out, width: ow, height: oh };
}
