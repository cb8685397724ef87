import { describe, expect, it } from 'vitest';
import { shareOutsideFrame } from '../../src/face/framing';

describe('shareOutsideFrame', () => {
  it('counts points off each edge of the pixel grid [0, w) x [0, h), and non-finite points, as outside', () => {
    const pts = new Float32Array([
      0, 0, 0, // inside (the first pixel's corner)
      9.99, 4.99, 0, // inside
      10, 2, 0, // x = width: outside
      -0.01, 2, 0, // outside
      3, 5, 0, // y = height: outside
      3, -1, 0, // outside
      Number.NaN, 2, 0, // outside
      5, 2.5, 100, // inside (depth is not looked at)
    ]);
    expect(shareOutsideFrame(pts, 8, 10, 5)).toBeCloseTo(5 / 8, 12);
    expect(shareOutsideFrame(pts, 2, 10, 5)).toBe(0);
    expect(shareOutsideFrame(pts, 0, 10, 5)).toBe(0);
  });
});
