/**
 * What the edge forwards: the photo exactly as sent, once its header has passed (validate.ts). The
 * edge decodes nothing.
 *
 * Why not pre-crop here: the edge has no face detector, so any crop it made could only be a downscale
 * of the whole photo, and that is what cost the face its pixels (a 12 MP selfie reached the UV bake
 * with 2.6x fewer pixels across the face than the phone captured). A decode also does not fit the
 * platform: photon (wasm) took 0.56 s of billed CPU for 12 MP and 1.2 s for 40 MP, grew the isolate's
 * wasm memory by 4 bytes a pixel and never gave it back, inside a 128 MB isolate; HEIC has no decoder
 * a Worker can run at all. The gpu-function has the detector, the memory and libvips's shrink-on-load,
 * and the upload limit (UPLOAD_LIMITS.maxBytes) bounds what the edge relays. Measured in bench:edge:
 * edge CPU is the header check (~0.01 ms) and its peak memory is the body it relays.
 */
import type { ImageHeader } from './image-header';
import type { AcceptedFormat } from './validate';

const MIME = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', heic: 'image/heic', avif: 'image/avif' } as const;

export interface ForwardedPhoto {
  bytes: Uint8Array;
  contentType: (typeof MIME)[AcceptedFormat];
  /** Displayed size (orientation applied), for logs and the x-edge-forward header. */
  width: number;
  height: number;
}

export function forwardedPhoto(bytes: Uint8Array, header: ImageHeader & { format: AcceptedFormat }): ForwardedPhoto {
  const swap = header.orientation >= 5; // EXIF orientations 5-8 transpose a JPEG; HEIF sizes come already turned by irot
  return { bytes, contentType: MIME[header.format], width: swap ? header.height : header.width, height: swap ? header.width : header.height };
}
