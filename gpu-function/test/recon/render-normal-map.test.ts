/**
 * The geometry preview with a normal map (render.ts normalMap): tile-0 pixels are shaded with the
 * smooth normal perturbed by the map, by the same Lambert rule as the flat faces; without a map, and
 * everywhere but the flat view's tile-0 pixels, the output is what it was before normal maps existed
 * (hashes recorded from the renderer as it was, on a synthetic two-tile sphere).
 */
import { describe, expect, it } from 'vitest';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { renderMesh, VIEW_LIGHT, type RenderCamera } from '../../src/recon/render';
import { gltfTangents } from '../../src/recon/tangents';
import { planeMesh, twoTileSphere } from '../synthetic-meshes';

// The light the flat view is lit by, as the test expects it (view frame: x right, y up, z to the viewer).
const L = (() => {
  const v = [-0.35, 0.45, 0.82];
  const l = Math.hypot(v[0], v[1], v[2]);
  return v.map((x) => x / l);
})();
/** The flat view's grey (red and green channels) for a unit normal n in the view frame: 205 (0.25 + 0.75 max(0, n.l)). */
const lambertGrey = (n: number[]) => Math.round(205 * (0.25 + 0.75 * Math.max(0, n[0] * L[0] + n[1] * L[1] + n[2] * L[2])));

const FRONT: RenderCamera = { kind: 'orbit', yawDeg: 0, pitchDeg: 0, fovDeg: 24, fill: 0.92 };
const SIZE = 96;

/** A normal map of one tangent-space normal (unit), encoded as DetailMaps does: 128 + 127 * component. */
function uniformNormalMap(n: number[], size = 16): RgbImage {
  const img = createRgbImage(size, size);
  const enc = n.map((c) => Math.round(128 + 127 * c));
  for (let i = 0; i < size * size; i++) img.data.set(enc, 3 * i);
  return img;
}

/** Red levels of the central 40% of the image (the plane covers it) where the mask is set. */
function centreLevels(img: RgbImage, mask: Uint8Array, pick: (x: number) => boolean = () => true): number[] {
  const out: number[] = [];
  for (let y = Math.round(SIZE * 0.3); y < SIZE * 0.7; y++) {
    for (let x = Math.round(SIZE * 0.3); x < SIZE * 0.7; x++) {
      if (!pick(x)) continue;
      expect(mask[y * SIZE + x]).toBe(1);
      out.push(img.data[3 * (y * SIZE + x)]);
    }
  }
  return out;
}

describe('renderMesh with a normal map (the geometry preview)', () => {
  it('a normal map changes the shaded view only: the textured view and the mask are the same with and without it', () => {
    // What the shading itself is (without a map, and with one) is checked against this file's own
    // Lambert computation in the tests below; this one checks what the map must leave alone.
    const mesh = twoTileSphere();
    const tiles = [0, 1].map((t) => {
      const im = createRgbImage(64, 64);
      for (let i = 0; i < 64 * 64; i++) im.data.set([(i * 7 + t * 50) & 255, (i >> 6) * 4, 128 + t * 60], 3 * i);
      return im;
    });
    const camera = { kind: 'orbit', yawDeg: -30, pitchDeg: 8, fovDeg: 24, fill: 0.92 } as const;
    const flat = createRgbImage(160, 160);
    const a = renderMesh({ mesh, width: 160, height: 160, camera, mode: 'textured', tiles, flatTarget: flat });
    const flat2 = createRgbImage(160, 160);
    const normalMap = { image: uniformNormalMap([0.6, 0, 0.8]), tangents: gltfTangents(mesh) };
    const c = renderMesh({ mesh, width: 160, height: 160, camera, mode: 'textured', tiles, flatTarget: flat2, normalMap });
    expect(Buffer.from(c.image.data).equals(Buffer.from(a.image.data))).toBe(true);
    expect(Buffer.from(c.mask).equals(Buffer.from(a.mask))).toBe(true);
    expect(a.mask.reduce((n, v) => n + v, 0)).toBeGreaterThan(2000); // the sphere is in view
    // The shaded view does change with the map.
    let changed = 0;
    for (let i = 0; i < 160 * 160; i++) if (flat.data[3 * i] !== flat2.data[3 * i]) changed++;
    expect(changed).toBeGreaterThan(500);
  });

  it('the renderer\'s light is the one this test computes with', () => {
    VIEW_LIGHT.forEach((v, i) => expect(v).toBeCloseTo(L[i], 12));
  });

  it('a plane seen frontally, its normal map tilted to the light: brighter by what Lambert predicts, in the flat view and in flatTarget', () => {
    const mesh = planeMesh({ size: 100, cells: 6 });
    const tangents = gltfTangents(mesh);
    const plain = renderMesh({ mesh, width: SIZE, height: SIZE, camera: FRONT, mode: 'flat' });
    const lit = renderMesh({ mesh, width: SIZE, height: SIZE, camera: FRONT, mode: 'flat', normalMap: { image: uniformNormalMap(L), tangents } });
    // The plane faces the viewer: per-face normal +Z. Tilted onto the light: n.l = 1.
    const before = centreLevels(plain.image, plain.mask);
    const after = centreLevels(lit.image, lit.mask);
    expect(new Set(before)).toEqual(new Set([lambertGrey([0, 0, 1])]));
    for (const v of after) expect(Math.abs(v - lambertGrey(L))).toBeLessThanOrEqual(1);
    expect(lambertGrey(L) - lambertGrey([0, 0, 1])).toBeGreaterThan(20); // the effect is large enough to mean something
    // Tilted away from the light (towards the lower right, out of the screen by 0.5): darker, as predicted.
    const away = [0.6, -0.62, 0.5].map((x, _, a) => x / Math.hypot(a[0], a[1], a[2]));
    const dark = renderMesh({ mesh, width: SIZE, height: SIZE, camera: FRONT, mode: 'flat', normalMap: { image: uniformNormalMap(away), tangents } });
    for (const v of centreLevels(dark.image, dark.mask)) expect(Math.abs(v - lambertGrey(away))).toBeLessThanOrEqual(1);
    // Blue is the grey 4% higher, as for the flat faces.
    const o = 3 * ((SIZE >> 1) * SIZE + (SIZE >> 1));
    expect(lit.image.data[o + 1]).toBe(lit.image.data[o]);
    expect(lit.image.data[o + 2]).toBe(Math.round(lit.image.data[o] * 1.04));
    // flatTarget of a textured render shows the same.
    const target = createRgbImage(SIZE, SIZE);
    const textured = renderMesh({ mesh, width: SIZE, height: SIZE, camera: FRONT, mode: 'textured', flatTarget: target, normalMap: { image: uniformNormalMap(L), tangents } });
    expect(Buffer.compare(Buffer.from(target.data), Buffer.from(lit.image.data))).toBe(0);
    expect(Buffer.compare(Buffer.from(textured.image.data), Buffer.from(renderMesh({ mesh, width: SIZE, height: SIZE, camera: FRONT, mode: 'textured' }).image.data))).toBe(0);
  });

  it('the map changes only where it differs from flat: left half tilted, right half (128, 128, 255) shades as the face normal', () => {
    const mesh = planeMesh({ size: 100, cells: 6 });
    const map = uniformNormalMap([0, 0, 1], 32);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 16; x++) map.data.set(uniformNormalMap(L, 1).data, 3 * (y * 32 + x));
    const r = renderMesh({ mesh, width: SIZE, height: SIZE, camera: FRONT, mode: 'flat', normalMap: { image: map, tangents: gltfTangents(mesh) } });
    // u = 0.5 is the image's vertical centre line; keep clear of the bilinear blend across it.
    const left = centreLevels(r.image, r.mask, (x) => x < SIZE / 2 - 4);
    const right = centreLevels(r.image, r.mask, (x) => x > SIZE / 2 + 4);
    for (const v of left) expect(Math.abs(v - lambertGrey(L))).toBeLessThanOrEqual(1);
    expect(new Set(right)).toEqual(new Set([lambertGrey([0, 0, 1])]));
  });

  it('mirrored UVs: the tangent flips and w with it, so the map means the same direction on the surface', () => {
    const mesh = planeMesh({ size: 100, cells: 6, mirrorU: true });
    const tangents = gltfTangents(mesh);
    // T = -X here: a map saying "towards -u" (red below 128) for the light's x of -0.35 tilts to the light.
    const toLight = renderMesh({ mesh, width: SIZE, height: SIZE, camera: FRONT, mode: 'flat', normalMap: { image: uniformNormalMap([-L[0], L[1], L[2]]), tangents } });
    for (const v of centreLevels(toLight.image, toLight.mask)) expect(Math.abs(v - lambertGrey(L))).toBeLessThanOrEqual(1);
    // The unmirrored encoding now points the other way in x: n = (-Lx, Ly, Lz) on the surface.
    const wrongWay = renderMesh({ mesh, width: SIZE, height: SIZE, camera: FRONT, mode: 'flat', normalMap: { image: uniformNormalMap(L), tangents } });
    for (const v of centreLevels(wrongWay.image, wrongWay.mask)) expect(Math.abs(v - lambertGrey([-L[0], L[1], L[2]]))).toBeLessThanOrEqual(1);
  });

  it('triangles of other UDIM tiles ignore the map (it is tile 0\'s)', () => {
    const mesh = planeMesh({ size: 100, cells: 6, uOffset: 1 });
    const without = renderMesh({ mesh, width: SIZE, height: SIZE, camera: FRONT, mode: 'flat' });
    const withMap = renderMesh({ mesh, width: SIZE, height: SIZE, camera: FRONT, mode: 'flat', normalMap: { image: uniformNormalMap(L), tangents: gltfTangents(mesh) } });
    expect(Buffer.compare(Buffer.from(withMap.image.data), Buffer.from(without.image.data))).toBe(0);
  });
});
