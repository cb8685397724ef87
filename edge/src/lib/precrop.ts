/**
 * Pre-crop at the edge: photos larger than the pipeline needs are decoded (photon, wasm, runs in
 * workerd), turned upright by their EXIF orientation (photon ignores it and the re-encode drops it),
 * reduced to `longSide` and re-encoded as JPEG q90. Smaller photos are forwarded untouched: a decode
 * costs 0.1-0.8 s of CPU here, and the gpu-function honours EXIF itself.
 *
 * Cropping away background is left to the gpu-function's detector: without a detector here, any
 * crop could cut a face that is not where a heuristic expects it.
 */
import type { PhotonImage } from '@cf-wasm/photon';
import type { ImageHeader } from './image-header';

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

const MIME = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' } as const;

export async function precrop(bytes: Uint8Array, header: ImageHeader & { format: 'jpeg' | 'png' | 'webp' }, longSide: number): Promise<PrecropResult> {
  const t0 = Date.now();
  const swap = header.orientation >= 5; // orientations 5-8 transpose the image
  const upright = { width: swap ? header.height : header.width, height: swap ? header.width : header.height };
  if (Math.max(header.width, header.height) <= longSide) {
    return { bytes, contentType: MIME[header.format], resized: false, ...upright, cpuMs: Date.now() - t0 };
  }
  const { PhotonImage, SamplingFilter, resize } = await loadPhoton();
  let img = PhotonImage.new_from_byteslice(bytes);
  try {
    img = orient(await loadPhoton(), img, header.orientation);
    const w = img.get_width();
    const h = img.get_height();
    const k = longSide / Math.max(w, h);
    const tw = Math.max(1, Math.round(w * k));
    const th = Math.max(1, Math.round(h * k));
    const small = resize(img, tw, th, SamplingFilter.Triangle);
    img.free();
    img = small;
    const out = img.get_bytes_jpeg(90);
    return { bytes: out, contentType: 'image/jpeg', resized: true, width: tw, height: th, cpuMs: Date.now() - t0 };
  } finally {
    img.free();
  }
}

/** EXIF orientation 1-8 to upright (TIFF 6.0 / EXIF 2.3 Orientation semantics). */
function orient({ rotate, fliph, flipv }: Photon, img: PhotonImage, o: number): PhotonImage {
  const turn = (deg: number) => {
    const r = rotate(img, deg);
    img.free();
    return r;
  };
  switch (o) {
    case 2: fliph(img); return img;
    case 3: return turn(180);
    case 4: flipv(img); return img;
    case 5: fliph(img); return turn(270);
    case 6: return turn(90);
    case 7: fliph(img); return turn(90);
    case 8: return turn(270);
    default: return img;
  }
}
