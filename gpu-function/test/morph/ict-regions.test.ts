/**
 * The ICT head's layout regions (face-models/ict-regions.ts): where only skin may be baked, where
 * nothing from the photo is, and where the scalp is. Geometry on the model's mean head (needs the ICT pack from
 * ../shared/ict-facekit), then two shared photos whose clothing used to be baked onto the head:
 * obama_2's shirt collar under the chin and harington_2's fur cloak over the shoulders.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/adapters/image-io';
import { createFaceLandmarker, type FaceLandmarker } from '../../src/face/landmarker';
import { reconstructFace } from '../../src/core/reconstruct';
import { ModelRegistry } from '../../src/core/registry';
import { createIctFaceModel, type IctFaceModel } from '../../src/face-models/ict';
import { headRegions, jawLineOnMeanHead } from '../../src/face-models/ict-regions';
import { landmarkModel } from '../../src/morph/fit-3dmm';
import { loadModelPack } from '../../src/morph/model-pack';
import { loadCanonicalFace } from '../../src/recon/canonical';
import { skinLikelihood, type SkinColourModel } from '../../src/recon/skin-gate';
import { interpolateAtTexels, rasterizeUvTriangles } from '../../src/recon/texel-map';
import { ICT_SOURCE, SHARED_PHOTOS, hasIct, hasSharedPhotos, ictTestPack } from '../fixtures';

const why = hasIct ? '' : `skipped: ${ICT_SOURCE} not found (a clone without the team's shared folder)`;

describe.skipIf(!hasIct)(hasIct ? 'ICT head regions' : `ICT head regions ${why}`, () => {
  let model: IctFaceModel;
  /** Per render vertex of the face and head parts: the mean head's position (mm). */
  const at = (r: number) => {
    const v = model.topology.usedVertices[model.topology.renderToUsed[r]];
    return [model.pack.mean[3 * v], model.pack.mean[3 * v + 1], model.pack.mean[3 * v + 2]];
  };
  const renderVertices = (group: 'face' | 'head') => {
    const g = model.topology.groups.find((x) => x.name === group)!;
    return [...new Set(model.topology.indices.subarray(g.start, g.start + g.count))];
  };

  beforeAll(() => {
    model = createIctFaceModel({ pack: loadModelPack(ictTestPack()), canonical: loadCanonicalFace() });
  });

  it('the jaw line runs from one jaw angle round the chin to the other, below the ears', () => {
    const pack = model.pack;
    const lm = landmarkModel(
      { mean: pack.mean, identity: pack.identity, expression: pack.expression, identityCount: pack.manifest.identity.count, expressionCount: pack.manifest.expression.count },
      { vertices: pack.correspondence.vertices, barycentric: pack.correspondence.barycentric },
    );
    const jaw = jawLineOnMeanHead(lm.mean, pack.correspondence.landmarks);
    const n = jaw.length / 3;
    expect(n).toBeGreaterThanOrEqual(15);
    for (let i = 1; i < n; i++) expect(jaw[3 * i]).toBeGreaterThan(jaw[3 * (i - 1)]);
    // Symmetric about x = 0 and lowest at the chin (MediaPipe 152, ICT's chin at y ~ -76).
    expect(jaw[0] + jaw[3 * (n - 1)]).toBeLessThan(3);
    let low = 0;
    for (let i = 0; i < n; i++) if (jaw[3 * i + 1] < jaw[3 * low + 1]) low = i;
    expect(Math.abs(jaw[3 * low])).toBeLessThan(2);
    expect(jaw[3 * low + 1]).toBeGreaterThan(-85);
    expect(jaw[3 * low + 1]).toBeLessThan(-70);
  });

  it('skin only under the jaw and on the neck, never on the face above the jaw line; fill only on the shoulders and the bust, never on the neck or the face', () => {
    const { skinOnly, fillOnly } = model.layout.regions!;
    const jaw = new Map<number, number>();
    let under = 0, underN = 0, face = 0, faceN = 0;
    for (const r of renderVertices('face')) {
      const [x, y, z] = at(r);
      // The face above the jaw angles (y -39 on the mean head) in front of the ears, and the chin's front.
      if ((y > -30 && z > 20) || (Math.abs(x) < 20 && y > -76 && z > 95)) {
        faceN++;
        if (skinOnly[r] > 0) face++;
        expect(fillOnly![r]).toBe(0);
      }
      // Right under the chin, behind its front: the jaw's underside, where collars project.
      if (Math.abs(x) < 15 && y < -78 && y > -90 && z < 85) {
        underN++;
        if (skinOnly[r] >= 0.9) under++;
      }
      jaw.set(r, skinOnly[r]);
    }
    expect(faceN).toBeGreaterThan(1000);
    expect(face).toBe(0);
    expect(underN).toBeGreaterThan(20);
    expect(under / underN).toBeGreaterThan(0.9);
    // Height alone (the previous rule) left most of that underside bakeable.
    const used = model.topology.usedVertices;
    const meanUsed = new Float32Array(used.length * 3);
    for (let i = 0; i < used.length; i++) for (let d = 0; d < 3; d++) meanUsed[3 * i + d] = model.pack.mean[3 * used[i] + d];
    const byHeight = headRegions(model.topology, meanUsed);
    let heightOnly = 0;
    for (const r of jaw.keys()) {
      const [x, y, z] = at(r);
      if (Math.abs(x) < 15 && y < -78 && y > -90 && z < 85 && byHeight.skinOnly[r] >= 0.9) heightOnly++;
    }
    expect(heightOnly / underN).toBeLessThan(0.5);

    let neck = 0, shoulders = 0, shouldersN = 0;
    for (const group of ['face', 'head'] as const) {
      for (const r of renderVertices(group)) {
        const [x, y] = at(r);
        if (Math.abs(x) < 40 && y < -90 && y > -130 && fillOnly![r] > 0) neck++;
        if (Math.abs(x) > 80 && y < -125) {
          shouldersN++;
          if (fillOnly![r] === 1) shoulders++;
        }
      }
    }
    expect(neck).toBe(0);
    expect(shouldersN).toBeGreaterThan(50);
    expect(shoulders).toBe(shouldersN);
  });

  describe.skipIf(!hasSharedPhotos)(hasSharedPhotos ? 'on photos' : `on photos: skipped, ${SHARED_PHOTOS} not found`, () => {
    let landmarker: FaceLandmarker;
    beforeAll(async () => {
      landmarker = await createFaceLandmarker({ threads: 1 });
    });

    const bake = async (name: string) => {
      const { image } = await decodeImage(new Uint8Array(readFileSync(join(SHARED_PHOTOS, 'identity', name))));
      const lm = await landmarker.landmarks(image);
      if (!lm.ok) throw new Error(`${name}: ${lm.code}`);
      const r = reconstructFace(new ModelRegistry([model]).get('ict'), image, lm.face, { uvSize: 1024 });
      expect(r.head.mode.uvSize).toBe(1024);
      // The judge of skin: the pipeline's own skin colour after correction, with a fixed chroma spread
      // (as bench/head-quality.ts judges), independent of the gate's per-photo model.
      const s = r.textures.colour.skinAfter;
      const skin: SkinColourModel = { mean: [Math.log(s[0] / s[1]), Math.log(s[2] / s[1])], invCov: [1 / 0.08 ** 2, 0, 0, 1 / 0.08 ** 2], luminance: 0.2126 * s[0] + 0.7152 * s[1] + 0.0722 * s[2], samples: 1 };
      return { r, skin };
    };
    /** Per render vertex: one coordinate of the mean head (mm), |x| when `abs`. */
    const coord = (d: number, abs = false) => Float32Array.from({ length: model.topology.renderToUsed.length }, (_, v) => (abs ? Math.abs(at(v)[d]) : at(v)[d]));
    const tileTexels = (tile: number, size: number, values: Float32Array) => {
      const t = model.layout.tiles[tile];
      const map = rasterizeUvTriangles(tile === 0 ? model.layout.uvs : model.layout.uvs.map((v, i) => (i % 2 === 0 ? v - t.index : v)), model.layout.indices, t.sizeFor(size as 512 | 1024));
      return { map, at: interpolateAtTexels(map, model.layout.indices, values) };
    };

    it('obama_2: the shirt collar that projects under the chin is not baked there', async () => {
      const { r, skin } = await bake('obama_2.jpg');
      // The jaw's underside by the mean head's geometry (not by the regions under test): within 30 mm
      // of the midline, 3-14 mm below the chin's level and at least 10 mm behind its front.
      const { map, at: x } = tileTexels(0, 1024, coord(0));
      const y = tileTexels(0, 1024, coord(1)).at, z = tileTexels(0, 1024, coord(2)).at;
      const tex = r.textures.tiles[0];
      let notSkin = 0, n = 0;
      for (let k = 0; k < map.texels.length; k++) {
        if (!(Math.abs(x[k]) < 30 && y[k] < -79 && y[k] > -90 && z[k] < 94)) continue;
        const o = 3 * map.texels[k];
        n++;
        if (skinLikelihood(skin, tex.data[o], tex.data[o + 1], tex.data[o + 2]) < 0.3) notSkin++;
      }
      expect(n).toBeGreaterThan(5000);
      // With the height-only region, 17% of this underside was collar.
      expect(notSkin / n).toBeLessThan(0.05);
    }, 60_000);

    it('000055 (dark hair): the unseen sides of the head above the temples and its back down to the nape take the hair', async () => {
      const { image } = await decodeImage(new Uint8Array(readFileSync(join(SHARED_PHOTOS, 'deep3d', '000055.jpg'))));
      const lm = await landmarker.landmarks(image);
      if (!lm.ok) throw new Error(lm.code);
      const r = reconstructFace(new ModelRegistry([model]).get('ict'), image, lm.face, { uvSize: 1024 });
      // The face tile beside and above the temples, by the mean head's geometry.
      const { map, at: ax } = tileTexels(0, 1024, coord(0, true));
      const y = tileTexels(0, 1024, coord(1)).at;
      const tex = r.textures.tiles[0];
      const lum: number[] = [];
      for (let k = 0; k < map.texels.length; k++) {
        if (!(ax[k] > 65 && y[k] > 60)) continue;
        const o = 3 * map.texels[k];
        lum.push(0.2126 * tex.data[o] + 0.7152 * tex.data[o + 1] + 0.0722 * tex.data[o + 2]);
      }
      lum.sort((a, b) => a - b);
      const s = r.textures.colour.skinAfter;
      expect(lum.length).toBeGreaterThan(20000);
      // With the skin tone there (before), the upper quartile read 66 against a skin of 188; hair now.
      expect(lum[Math.floor(0.75 * lum.length)]).toBeLessThan(0.3 * (0.2126 * s[0] + 0.7152 * s[1] + 0.0722 * s[2]));
      // The back of the head between the ears' level and the nape: hair, not the skin of a shaved back.
      const hz = tileTexels(1, 1024, coord(2));
      const hy = tileTexels(1, 1024, coord(1)).at;
      const head = r.textures.tiles[1];
      const back: number[] = [];
      for (let k = 0; k < hz.map.texels.length; k++) {
        if (!(hz.at[k] < -65 && hy[k] > -25 && hy[k] < 15)) continue;
        const o = 3 * hz.map.texels[k];
        back.push(0.2126 * head.data[o] + 0.7152 * head.data[o + 1] + 0.0722 * head.data[o + 2]);
      }
      back.sort((a, b) => a - b);
      expect(back.length).toBeGreaterThan(1000);
      expect(back[back.length >> 1]).toBeLessThan(0.4 * (0.2126 * s[0] + 0.7152 * s[1] + 0.0722 * s[2]));
    }, 60_000);

    it('harington_2: the fur cloak over the shoulders is not baked; the bust is the even skin-tone fill', async () => {
      const { r, skin } = await bake('harington_2.jpg');
      const lum: number[] = [];
      let notSkin = 0;
      r.textures.tiles.forEach((tex, t) => {
        const { map, at: fo } = tileTexels(t, 1024, model.layout.regions!.fillOnly!);
        for (let k = 0; k < map.texels.length; k++) {
          if (fo[k] < 0.99) continue;
          const o = 3 * map.texels[k];
          lum.push(0.2126 * tex.data[o] + 0.7152 * tex.data[o + 1] + 0.0722 * tex.data[o + 2]);
          if (skinLikelihood(skin, tex.data[o], tex.data[o + 1], tex.data[o + 2]) < 0.3) notSkin++;
        }
      });
      lum.sort((a, b) => a - b);
      expect(lum.length).toBeGreaterThan(5000);
      expect(notSkin / lum.length).toBeLessThan(0.01);
      // Patches of fur spread the bust's luminance over ~100 levels; the fill is even.
      expect(lum[Math.floor(0.95 * lum.length)] - lum[Math.floor(0.05 * lum.length)]).toBeLessThan(25);
    }, 60_000);
  });
});
