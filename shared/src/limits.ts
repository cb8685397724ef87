/**
 * The product's limits, defined once: the edge's upload checks, the gpu-function's decoder and face
 * checks, and the error messages all read them from here.
 */
export const UPLOAD_LIMITS = {
  /** Largest upload accepted (the error's hint asks for half of it). */
  maxBytes: 10 * 1024 * 1024,
  /** The size the IMAGE_TOO_LARGE hint suggests compressing to. */
  hintBytes: 5 * 1024 * 1024,
  minShortSide: 128,
  maxLongSide: 8192,
  /** 48-50 MP phone sensors (8064x6048, 8160x6120) fit; a 200 MP mode does not. */
  maxPixels: 50_000_000,
} as const;

export const FACE_LIMITS = {
  /** Below this face-box width (photo px) the landmarks are refused: FACE_TOO_SMALL. */
  minFaceWidthPx: 64,
  /**
   * Below this the reconstruction runs in conservative mode (512 texture, no colour changes): a
   * 128 px face spreads each photo pixel over ~5 texels of a 1024 texture already.
   */
  conservativeBelowPx: 128,
} as const;

const MB = 1024 * 1024;
export const mb = (bytes: number) => `${Math.round(bytes / MB)} MB`;
