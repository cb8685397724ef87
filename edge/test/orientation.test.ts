import { describe, expect, it } from 'vitest';
import { orientRgba } from '../src/lib/orientation';

/** A 3x2 image whose pixel values name their stored position: value = 10 * y + x. */
const W = 3;
const H = 2;
const stored = new Uint8Array(W * H * 4);
for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) stored[4 * (y * W + x)] = 10 * y + x;

const grid = (r: { pixels: Uint8Array; width: number; height: number }) =>
  Array.from({ length: r.height }, (_, y) => Array.from({ length: r.width }, (_, x) => r.pixels[4 * (y * r.width + x)]));

describe('orientRgba (EXIF orientation as exact permutations)', () => {
  // Expected displays written out by hand from the TIFF 6.0 definitions, for stored [[0,1,2],[10,11,12]].
  it.each([
    [1, [[0, 1, 2], [10, 11, 12]]],
    [2, [[2, 1, 0], [12, 11, 10]]],
    [3, [[12, 11, 10], [2, 1, 0]]],
    [4, [[10, 11, 12], [0, 1, 2]]],
    [5, [[0, 10], [1, 11], [2, 12]]],
    [6, [[10, 0], [11, 1], [12, 2]]],
    [7, [[12, 2], [11, 1], [10, 0]]],
    [8, [[2, 12], [1, 11], [0, 10]]],
  ])('orientation %i', (o, expected) => {
    expect(grid(orientRgba(stored, W, H, o))).toEqual(expected);
  });
});
