/**
 * paintEyeTexture on a synthetic photo whose eyes are known pixel by pixel: a blue iris with a black
 * pupil, white sclera, skin around, the lids covering the iris's top and bottom. Checked against the
 * texture frame the head topology projects the eyeballs into (EYE_UV_RADIUS_MM, IRIS_RADIUS_MM).
 */
import { describe, expect, it } from 'vitest';
import { createRgbImage } from '@facerecon/shared';
import topology from '../../src/face/data/mesh-topology.json';
import { EYE_UV_RADIUS_MM, IRIS_RADIUS_MM } from '../../src/morph/head-topology';
import { paintEyeTexture } from '../../src/morph/eye-texture';

const SKIN = [200, 150, 120], WHITE = [235, 235, 230], BLUE = [40, 90, 190], PUPIL = [10, 10, 10];
const R = 20; // photo iris radius, px
const eyes = [
  { cx: 200, cy: 200, centre: 468, eye: topology.rightEye },
  { cx: 400, cy: 200, centre: 473, eye: topology.leftEye },
];

/** The photo and its 478 landmarks; `open` is the lids' half-height as a fraction of the iris radius. */
function synthetic(open: number) {
  const photo = createRgbImage(600, 400);
  const points = new Float32Array(478 * 3);
  const halfW = 2.2 * R, halfH = open * R;
  for (const e of eyes) {
    // Eye contour: an ellipse from corner to corner, lower lid below, upper lid above.
    const [c0, c1] = e.eye.corners;
    const lower = e.eye.lower0, upper = e.eye.upper0;
    const put = (i: number, x: number, y: number) => points.set([x, y, 0], 3 * i);
    const left = c0 === lower[0] ? -1 : 1; // corner c0 sits at the lower list's start
    lower.forEach((i, k) => {
      const t = Math.PI * (k / (lower.length - 1));
      put(i, e.cx + left * halfW * Math.cos(t), e.cy + halfH * Math.sin(t));
    });
    upper.forEach((i, k) => {
      const t = Math.PI * ((k + 1) / (upper.length + 1));
      put(i, e.cx + left * halfW * Math.cos(t), e.cy - halfH * Math.sin(t));
    });
    put(c0, e.cx + left * halfW, e.cy);
    put(c1, e.cx - left * halfW, e.cy);
    put(e.centre, e.cx, e.cy);
    [[R, 0], [0, -R], [-R, 0], [0, R]].forEach(([dx, dy], k) => put(e.centre + 1 + k, e.cx + dx, e.cy + dy));
  }
  for (let y = 0; y < photo.height; y++) {
    for (let x = 0; x < photo.width; x++) {
      let c = SKIN;
      for (const e of eyes) {
        const dx = (x + 0.5 - e.cx) / halfW, dy = (y + 0.5 - e.cy) / Math.max(halfH, 1e-6);
        if (dx * dx + dy * dy > 1) continue;
        const r = Math.hypot(x + 0.5 - e.cx, y + 0.5 - e.cy);
        c = r < 0.35 * R ? PUPIL : r < R ? BLUE : WHITE;
      }
      photo.data.set(c, 3 * (y * photo.width + x));
    }
  }
  return { photo, points };
}

const SIZE = 256;
/** Texel of the texture at (x, y) mm across the optical axis (+x subject's left, +y up). */
function at(img: { data: Uint8Array }, x: number, y: number) {
  const u = Math.floor(SIZE / 2 + (x / EYE_UV_RADIUS_MM) * (SIZE / 2));
  const v = Math.floor(SIZE / 2 - (y / EYE_UV_RADIUS_MM) * (SIZE / 2));
  return Array.from(img.data.subarray(3 * (v * SIZE + u), 3 * (v * SIZE + u) + 3));
}
const close = (a: number[], b: number[], tol: number) => a.every((v, i) => Math.abs(v - b[i]) <= tol);
const lum = (c: number[]) => 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];

describe('paintEyeTexture', () => {
  const fallback = { scleraFallback: [226, 220, 212] as const, irisFallback: [70, 50, 35] as const };

  it('paints the photo\'s iris and pupil at their radii, fills what the lids hide, and the eye white beyond', () => {
    const { photo, points } = synthetic(0.7); // lids cover the iris's top and bottom 30%
    const img = paintEyeTexture({ photo, points, size: SIZE, ...fallback });
    const irisMid = 0.6 * IRIS_RADIUS_MM;
    expect(close(at(img, irisMid, 0), BLUE, 12), `${at(img, irisMid, 0)}`).toBe(true); // seen directly
    expect(close(at(img, 0, 0.9 * irisMid), BLUE, 12), `${at(img, 0, 0.9 * irisMid)}`).toBe(true); // under the lid: the ring's median
    expect(lum(at(img, 0, 0))).toBeLessThan(20); // the pupil
    // The limbus is darker than the mid iris; the eye white is the photo's white, shaded a little.
    expect(lum(at(img, 0.92 * IRIS_RADIUS_MM, 0))).toBeLessThan(0.85 * lum(at(img, irisMid, 0)));
    const white = at(img, -(IRIS_RADIUS_MM + 1.2), -1);
    expect(close(white, WHITE, 25), `${white}`).toBe(true);
  });

  it('shades the eyeball under the lids: darker towards the rim and under the upper lid than below', () => {
    const { photo, points } = synthetic(0.7);
    const img = paintEyeTexture({ photo, points, size: SIZE, ...fallback });
    expect(lum(at(img, 10.5, 0))).toBeLessThan(0.85 * lum(at(img, IRIS_RADIUS_MM + 1, 0)));
    expect(lum(at(img, 0, 9))).toBeLessThan(lum(at(img, 0, -9)));
  });

  it('closed eyes: no iris and no white to read, so the fallbacks', () => {
    const { photo, points } = synthetic(0.02);
    const img = paintEyeTexture({ photo, points, size: SIZE, ...fallback });
    expect(close(at(img, 0.5 * IRIS_RADIUS_MM, 0), [...fallback.irisFallback], 3)).toBe(true);
    expect(close(at(img, -(IRIS_RADIUS_MM + 1.2), -1), [...fallback.scleraFallback], 12)).toBe(true);
  });
});
