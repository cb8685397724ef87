/**
 * Upload policy, decided from the bytes' header only: type by magic bytes, size, dimensions,
 * completeness. Everything rejected here costs no decode and no GPU time.
 */
import { FaceReconError, UPLOAD_LIMITS } from '@facerecon/shared';
import { readImageHeader, type ImageHeader } from './image-header';


export type AcceptedFormat = 'jpeg' | 'png' | 'webp' | 'heic' | 'avif';
const ACCEPTED: readonly string[] = ['jpeg', 'png', 'webp', 'heic', 'avif'] satisfies AcceptedFormat[];

export function validateUpload(bytes: Uint8Array): ImageHeader & { format: AcceptedFormat } {
  if (bytes.byteLength === 0) throw new FaceReconError('INVALID_IMAGE', { detail: 'empty body' });
  if (bytes.byteLength > UPLOAD_LIMITS.maxBytes) throw new FaceReconError('IMAGE_TOO_LARGE', { detail: `${bytes.byteLength} bytes` });
  const header = readImageHeader(bytes);
  if (!header) throw new FaceReconError('INVALID_IMAGE', { detail: 'unreadable header' });
  if (!ACCEPTED.includes(header.format)) {
    throw new FaceReconError(header.format === 'unknown' ? 'INVALID_IMAGE' : 'UNSUPPORTED_FORMAT', { detail: header.format });
  }
  const { width, height } = header;
  if (Math.max(width, height) > UPLOAD_LIMITS.maxLongSide || width * height > UPLOAD_LIMITS.maxPixels) {
    throw new FaceReconError('IMAGE_TOO_LARGE', { detail: `${width}x${height}` });
  }
  if (Math.min(width, height) < UPLOAD_LIMITS.minShortSide) throw new FaceReconError('IMAGE_TOO_SMALL', { detail: `${width}x${height}` });
  if (!header.complete) throw new FaceReconError('INVALID_IMAGE', { detail: 'truncated' });
  return header as ImageHeader & { format: AcceptedFormat };
}
