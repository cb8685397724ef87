/**
 * Pre-crop at the edge: photos larger than the pipeline needs, up to a decode budget of pixels, are
 * decoded (photon, wasm, runs in workerd), turned upright by their EXIF orientation (photon ignores it
 * and the re-encode drops it), reduced to `longSide` and re-encoded as JPEG q90 (the orientation as an
 * exact pixel permutation, orientation.ts). Smaller photos, photos above the budget, HEIC and AVIF are
 * forwarded untouched: a decode costs 0.1-0.8 s of CPU here, and the gpu-function honours EXIF itself.
 *
 * Cropping away background is left to the gpu-function's detector: without a detector here, any
 * crop could cut a face that is not where a heuristic expects it.
 */
import type { PhotonImage } from '@cf-wasm/photon';
import type { ImageHeader } from './image-header';
import type { AcceptedFormat } from './validate';
import { orientRgba } from './orientation';

type Photon = typeof import('@cf-wasm/photon');
let photon: Promise<Photon> | undefined;
/** The codec (616 KiB gzipped of wasm) is loaded on the first photo that needs it, not at isolate start. */
const loadPhoton = () => (photon ??= import('@cf-wasm/photon'));

export interface PrecropResult {
  bytes: Uint8Array;
  contentType: string;
  resized: boolean;
  width: number;
  height: number;
  cpuMs: number;
}

const MIME = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', heic: 'image/heic', avif: 'image/avif' } as const;

export interface PrecropOptions {
  /** Long side the photo is reduced to when it is decoded here. */
  longSide: number;
  /**
   * The most pixels the edge decodes (photon holds them as RGBA in wasm memory, which a Worker never
   * gets back, inside a 128 MB isolate). 8 MP is 32 MB. Larger photos travel as sent (the upload limit
   * already bounds them to 10 MB) and the gpu-function, which has the memory and libvips's
   * shrink-on-load, decodes them at full resolution, so the face keeps every pixel the phone captured.
   */
  maxDecodePixels: number;
}

export async function precrop(bytes: Uint8Array, header: ImageHeader & { format: AcceptedFormat }, opts: PrecropOptions): Promise<PrecropResult> {
  const t0 = Date.now();
  const swap = header.orientation >= 5; // orientations 5-8 transpose the image
  const { longSide } = opts;
  // HEIC and AVIF are never decoded here: a Worker has no HEVC decoder, an AV1 or HEVC decode in wasm
  // would not fit its 128 MB at phone resolutions, and both are compact (a 12 MP HEIC is ~2 MB), so
  // they travel as sent and the gpu-function decodes them (image-io.ts). So do photos above the decode budget.
  if (header.format === 'heic' || header.format === 'avif' || Math.max(header.width, header.height) <= longSide || header.width * header.height > opts.maxDecodePixels) {
    const size = { width: swap ? header.height : header.width, height: swap ? header.width : header.height };
    return { bytes, contentType: MIME[header.format], resized: false, ...size, cpuMs: Date.now() - t0 };
  }
  const { PhotonImage, SamplingFilter, resize } = await loadPhoton();
  const decoded = PhotonImage.new_from_byteslice(bytes);
  let small: PhotonImage | undefined;
  let upright: PhotonImage | undefined;
  try {
    // Reduce first, then turn upright: the exact pixel permutation then runs on the small image.
    const w = decoded.get_width();
    const h = decoded.get_height();
    const k = longSide / Math.max(w, h);
    small = resize(decoded, Math.max(1, Math.round(w * k)), Math.max(1, Math.round(h * k)), SamplingFilter.Triangle);
    const turned = orientRgba(small.get_raw_pixels(), small.get_width(), small.get_height(), header.orientation);
    upright = new PhotonImage(turned.pixels, turned.width, turned.height);
    const out = upright.get_bytes_jpeg(90);
    return { bytes: out, contentType: 'image/jpeg', resized: true, width: turned.width, height: turned.height, cpuMs: Date.now() - t0 };
  } finally {
    decoded.free();
    small?.free();
    upright?.free();
  }
}

