/** Neutral data types shared by the edge and the gpu-function: no library types cross this boundary. */

/** Interleaved 8-bit RGB pixels, row-major, top-left origin. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array; // length = width * height * 3
}

/** A point in image pixel coordinates (x right, y down), optionally with relative depth z. */
export type Point2 = readonly [number, number];
export type Point3 = readonly [number, number, number];

/** Axis-aligned box in image pixels. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export function createRgbImage(width: number, height: number, data?: Uint8Array): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
  const buf = data ?? new Uint8Array(width * height * 3);
  if (buf.length !== width * height * 3) throw new RangeError(`RGB buffer length ${buf.length} != ${width}*${height}*3`);
  return { width, height, data: buf };
}
