import { describe, expect, it } from 'vitest';
import { createRgbImage } from '@facerecon/shared';
import { buildPyramid, cropToImage, letterboxRect, sampleRotatedCrop } from '../src/face/raster';

/** A smooth colour field sampled at pixel centres, so bilinear interpolation of it is exact. */
function linearImage(w: number, h: number) {
  const img = createRgbImage(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = (y * w + x) * 3;
    img.data[o] = x * 2;
    img.data[o + 1] = y * 2;
    img.data[o + 2] = 100;
  }
  return img;
}

describe('buildPyramid', () => {
  it('halves with a rounded 2x2 box filter until the short side would fall under the minimum', () => {
    const img = linearImage(100, 80);
    const pyr = buildPyramid(img, 16);
    expect(pyr.count).toBe(3);
    expect([0, 1, 2].map((i) => `${pyr.level(i).width}x${pyr.level(i).height}`)).toEqual(['100x80', '50x40', '25x20']);
    expect(() => pyr.level(3)).toThrow(RangeError);
    const l1 = pyr.level(1);
    // Level-1 pixel (3, 2) averages source x 6..7 -> red (12+14)/2 = 13, y 4..5 -> green 9.
    const o = (2 * l1.width + 3) * 3;
    expect([l1.data[o], l1.data[o + 1], l1.data[o + 2]]).toEqual([13, 9, 100]);
  });
});

describe('sampleRotatedCrop', () => {
  it('reproduces pixels exactly for an axis-aligned crop at scale 1', () => {
    const img = linearImage(40, 30);
    const out = sampleRotatedCrop(buildPyramid(img), { cx: 20, cy: 15, size: 10, angle: 0 }, { size: 10, scale: 255, offset: 0 });
    // Crop pixel (u, v) is photo pixel (15 + u, 10 + v).
    for (const [u, v] of [[0, 0], [9, 9], [3, 7]]) {
      const o = (v * 10 + u) * 3;
      expect([out[o], out[o + 1], out[o + 2]]).toEqual([(15 + u) * 2, (10 + v) * 2, 100]);
    }
  });

  it('rotates: a 90-degree crop samples along the photo columns; flip mirrors it', () => {
    const img = linearImage(40, 40);
    const rect = { cx: 20, cy: 20, size: 8, angle: Math.PI / 2 };
    const out = sampleRotatedCrop(buildPyramid(img), rect, { size: 8, scale: 255, offset: 0 });
    const flipped = sampleRotatedCrop(buildPyramid(img), rect, { size: 8, scale: 255, offset: 0, flip: true });
    for (const [u, v] of [[0, 0], [7, 2], [4, 5]]) {
      const [x, y] = cropToImage(rect, 8, u + 0.5, v + 0.5);
      const o = (v * 8 + u) * 3;
      expect(out[o]).toBeCloseTo((x - 0.5) * 2, 3);
      expect(out[o + 1]).toBeCloseTo((y - 0.5) * 2, 3);
      const m = (v * 8 + (7 - u)) * 3;
      expect(flipped[m]).toBeCloseTo(out[o], 4);
    }
  });

  it('normalises with scale/offset and pads outside the photo with black', () => {
    const img = linearImage(10, 10);
    const out = sampleRotatedCrop(buildPyramid(img), letterboxRect(10, 4), { size: 10, scale: 2, offset: -1 });
    // Letterbox of a 10x4 region in a 10x10 photo: rows are all inside; check a known pixel and range.
    expect(out[(5 * 10 + 5) * 3]).toBeCloseTo((10 / 255) * 2 - 1, 5);
    const far = sampleRotatedCrop(buildPyramid(img), { cx: 100, cy: 100, size: 4, angle: 0 }, { size: 4, scale: 2, offset: -1 });
    expect(Array.from(far).every((v) => v === -1)).toBe(true);
  });

  it('maps crop coordinates back with cropToImage consistently with the sampler', () => {
    const rect = { cx: 50, cy: 40, size: 30, angle: 0.3 };
    const [cx, cy] = cropToImage(rect, 192, 96, 96);
    expect([cx, cy]).toEqual([50, 40]);
    const [x, y] = cropToImage(rect, 192, 192, 96); // right edge centre: half the side along the rolled x axis
    expect(x).toBeCloseTo(50 + 15 * Math.cos(0.3), 9);
    expect(y).toBeCloseTo(40 + 15 * Math.sin(0.3), 9);
  });
});
