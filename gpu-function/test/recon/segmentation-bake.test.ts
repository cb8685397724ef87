/**
 * What keeps non-face pixels out of the texture: the person mask in the bake (person-mask.ts, bake.ts)
 * and the skin gate on skin-only regions (skin-gate.ts), against independent computations on synthetic
 * photos whose every pixel is known.
 */
import { describe, expect, it } from 'vitest';
import { createRgbImage, type TriMesh } from '@facerecon/shared';
import { MIN_PERSON_MASK_AGREEMENT, personMaskAgreement, samplePersonMask, segmentationRect, type PersonMask } from '../../src/face/person-mask';
import { cropToImage } from '../../src/face/raster';
import { bakeUvTexture } from '../../src/recon/bake';
import type { WeakPerspectiveCamera } from '../../src/recon/face-geometry';
import { rotationFromEuler } from '../../src/recon/pose';
import { fitSkinColourModel, gateBySkin, scalpHairTone, skinLikelihood } from '../../src/recon/skin-gate';
import { computeVertexNormals } from '../../src/recon/subdivide';
import { rasterizeUvTriangles } from '../../src/recon/texel-map';

describe('person mask lookup', () => {
  it('maps photo positions into a rotated crop exactly as the crop sampler maps crop pixels out (cropToImage)', () => {
    const rect = { cx: 310, cy: 240, size: 200, angle: 0.4 };
    const size = 16;
    // A mask whose value at pixel (u, v) is (u + 16 v) / 256: a plane, so bilinear lookup is exact.
    const mask: PersonMask = { rect, size, data: Float32Array.from({ length: size * size }, (_, i) => (i % size) / 256 + Math.floor(i / size) / 16) };
    for (const [u, v] of [[3.5, 4.5], [8, 8], [12.25, 1.75], [0.5, 14.5]]) {
      const [x, y] = cropToImage(rect, size, u, v);
      expect(samplePersonMask(mask, x, y)).toBeCloseTo((u - 0.5) / 256 + (v - 0.5) / 16, 5);
    }
    // Outside the crop there is no evidence: 0.
    const [fx, fy] = cropToImage(rect, size, -3, 8);
    expect(samplePersonMask(mask, fx, fy)).toBe(0);
  });

  it('agreement with the face is the mean person probability at its landmarks, and a failed mask falls below the limit', () => {
    const rect = { cx: 100, cy: 100, size: 100, angle: 0 };
    const size = 10;
    // Person on the left half of the crop (x < 100 in the photo), background on the right.
    const mask: PersonMask = { rect, size, data: Float32Array.from({ length: size * size }, (_, i) => (i % size < 5 ? 1 : 0)) };
    const at = (xy: number[][]) => Float32Array.from(xy.flatMap(([x, y]) => [x, y, 0]));
    expect(personMaskAgreement(mask, at([[60, 80], [70, 120], [140, 100], [130, 60]]), 4)).toBeCloseTo(0.5, 9);
    expect(personMaskAgreement(mask, at([[60, 80], [70, 120], [140, 100], [130, 60]]), 2)).toBeCloseTo(1, 9);
    // A face the mask calls background (the segmentation failed), or outside the mask's crop.
    expect(personMaskAgreement(mask, at([[140, 100], [135, 70], [300, 300]]), 3)).toBeLessThan(MIN_PERSON_MASK_AGREEMENT);
  });

  it('the segmentation crop is the face ROI grown 2.2x and moved down the face by 0.3 of its side', () => {
    const r = segmentationRect({ cx: 100, cy: 100, size: 50, angle: Math.PI / 2 });
    expect(r.size).toBeCloseTo(110, 9);
    // Rolled 90 degrees clockwise, the face's "down" (+y) points to -x in the image.
    expect(r.cx).toBeCloseTo(85, 9);
    expect(r.cy).toBeCloseTo(100, 9);
  });
});

/** A plane facing +Z over [-50, 50]^2 mm, UV [0, 1]^2 (v down). */
function plane(n: number): TriMesh & { normals: Float32Array } {
  const pos: number[] = [];
  const uv: number[] = [];
  for (let j = 0; j <= n; j++) for (let i = 0; i <= n; i++) {
    pos.push(-50 + (100 * i) / n, 50 - (100 * j) / n, 0);
    uv.push(i / n, j / n);
  }
  const idx: number[] = [];
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
    const a = j * (n + 1) + i;
    idx.push(a, a + n + 1, a + 1, a + 1, a + n + 1, a + n + 2);
  }
  const mesh = { positions: Float32Array.from(pos), uvs: Float32Array.from(uv), indices: Uint32Array.from(idx) };
  return { ...mesh, normals: computeVertexNormals(mesh.positions, mesh.indices) };
}

describe('bake with a person mask', () => {
  it('a face turned 40 degrees in front of a saturated background: no texel that lands on the background keeps weight', () => {
    const mesh = plane(8);
    const yaw = 40;
    const camera: WeakPerspectiveCamera = { model: 'weak_perspective', pixelsPerMm: 3, rotation: rotationFromEuler({ yaw, pitch: 0, roll: 0 }), origin: [300, 250, 0] };
    // The person is the left 60% of the projected plane; right of x = 330 is a saturated green wall.
    const W = 600, H = 500, edge = 330;
    const photo = createRgbImage(W, H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) photo.data.set(x < edge ? [200, 150, 120] : [0, 255, 0], 3 * (y * W + x));
    // The mask is the segmentation a perfect model would give, stored as a 64x64 crop over the photo.
    const rect = { cx: 300, cy: 250, size: 600, angle: 0 };
    const size = 64;
    const data = new Float32Array(size * size);
    for (let v = 0; v < size; v++) for (let u = 0; u < size; u++) data[v * size + u] = cropToImage(rect, size, u + 0.5, v + 0.5)[0] < edge ? 1 : 0;
    const map = rasterizeUvTriangles(mesh.uvs, mesh.indices, 64);
    const without = bakeUvTexture({ mesh, camera, photo, texelMap: map });
    const withMask = bakeUvTexture({ mesh, camera, photo, texelMap: map, personMask: { rect, size, data } });
    const green = (b: typeof without) => {
      let n = 0;
      for (let i = 0; i < b.weight.length; i++) if (b.weight[i] > 0 && b.color[3 * i + 1] > 200 && b.color[3 * i] < 100) n++;
      return n;
    };
    expect(green(without)).toBeGreaterThan(500); // without the mask the wall is baked
    expect(green(withMask)).toBe(0);
    // Texels well inside the person keep their full view-angle weight.
    const inside = 32 * 64 + 8;
    expect(withMask.weight[inside]).toBeCloseTo(without.weight[inside], 6);
    expect(withMask.weight[inside]).toBeGreaterThan(0.5);
  });
});

describe('skin gate', () => {
  const skinRgb = (i: number): [number, number, number] => {
    // Skin with shading and a little noise: r/g ~ 1.35, b/g ~ 0.8, luminance 90-170.
    const l = 90 + ((i * 37) % 80);
    const j = ((i * 7919) % 13) / 13 - 0.5;
    return [l * 1.35 * (1 + 0.04 * j), l, l * 0.8 * (1 - 0.04 * j)];
  };

  function texture(n: number, fill: (i: number) => [number, number, number]) {
    const color = new Float32Array(3 * n);
    for (let i = 0; i < n; i++) color.set(fill(i), 3 * i);
    return { color, weight: new Float32Array(n).fill(1), texels: Int32Array.from({ length: n }, (_, i) => i) };
  }

  it('fits the skin chroma and accepts the skin in shadow, refuses a blue collar, a white shirt, a black suit', () => {
    const t = texture(4000, skinRgb);
    const model = fitSkinColourModel(t.color, t.weight, t.texels, () => true)!;
    expect(model).toBeDefined();
    expect(Math.exp(model.mean[0])).toBeCloseTo(1.35, 1);
    expect(Math.exp(model.mean[1])).toBeCloseTo(0.8, 1);
    expect(skinLikelihood(model, 1.35 * 130, 130, 0.8 * 130)).toBe(1);
    expect(skinLikelihood(model, 1.35 * 80, 80, 0.8 * 80)).toBe(1); // the neck under the chin, darker
    expect(skinLikelihood(model, 120, 150, 220)).toBe(0); // blue collar
    expect(skinLikelihood(model, 235, 235, 235)).toBe(0); // white shirt
    expect(skinLikelihood(model, 25, 22, 22)).toBe(0); // black suit
  });

  it('gates only the skin-only texels, by the skin likelihood', () => {
    const n = 3000;
    // Texels 0-1999: face skin; 2000-2499: neck skin; 2500-2999: a blue collar on the neck.
    const t = texture(n, (i) => (i < 2500 ? skinRgb(i) : [60, 80, 160]));
    const skinOnly = Float32Array.from({ length: n }, (_, i) => (i < 2000 ? 0 : 1));
    const model = fitSkinColourModel(t.color, t.weight, t.texels, (k) => skinOnly[k] === 0)!;
    gateBySkin(t.color, t.weight, t.texels, skinOnly, model);
    for (let i = 0; i < n; i++) expect(t.weight[i], `texel ${i}`).toBe(i < 2500 ? 1 : 0);
  });

  it('gives the scalp the seen hair colour when hair covers enough of it, none for a bald head', () => {
    const face = texture(3000, skinRgb);
    const model = fitSkinColourModel(face.color, face.weight, face.texels, () => true)!;
    const scalp = new Float32Array(1000).fill(1);
    const hairy = texture(1000, (i) => (i < 600 ? [60, 40, 30] : skinRgb(i)));
    expect(scalpHairTone(hairy.color, hairy.weight, hairy.texels, scalp, model)).toEqual([60, 40, 30]);
    const bald = texture(1000, skinRgb);
    expect(scalpHairTone(bald.color, bald.weight, bald.texels, scalp, model)).toBeUndefined();
  });
});
