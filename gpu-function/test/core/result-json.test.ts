/**
 * result.json's optional blocks on the project's own photo (astronaut.png): `detail` (how normal.png
 * and displacement.png were made and are read) comes exactly when the texture stage computed the
 * shading detail (formats=detail), beside the `lighting` it was solved under.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ASSET_FILES } from '@facerecon/shared';
import { readImageFile } from '../../src/adapters/image-io';
import { reconstructFace, type Reconstruction } from '../../src/core/reconstruct';
import { ModelRegistry, type InstalledModel } from '../../src/core/registry';
import { reconstructionResultJson, type ResultJson } from '../../src/core/result-json';
import { createFaceLandmarker, type FaceLandmarks } from '../../src/face/landmarker';
import { createMediaPipeFaceModel } from '../../src/face-models/mediapipe';
import { ibug68From } from '../../src/face/ibug68';
import { projectHeadPoint } from '../../src/recon/face-geometry';
import { texelNormals } from '../../src/recon/photo-lighting';
import { shadeSh } from '../../src/recon/sh-lighting';
import { linearToSrgb, srgbToLinear } from '../../src/recon/srgb';
import { fixture } from '../fixtures';

let installed: InstalledModel;
let face: FaceLandmarks;
let recon: Reconstruction;
let photo: Awaited<ReturnType<typeof readImageFile>>['image'];
beforeAll(async () => {
  const { image } = await readImageFile(fixture('astronaut.png'));
  photo = image;
  const lm = await createFaceLandmarker();
  const r = await lm.landmarks(image);
  await lm.close();
  if (!r.ok) throw new Error(r.code);
  face = r.face;
  installed = new ModelRegistry([createMediaPipeFaceModel()]).get('mediapipe');
  recon = reconstructFace(installed, image, face, { uvSize: 1024, detail: true });
});

/** As result.json is written: through JSON, so an undefined block is no key at all. */
const resultOf = (textures: Reconstruction['textures']) =>
  JSON.parse(JSON.stringify(reconstructionResultJson({ model: installed.model, face, head: recon.head, textures, timings: recon.timings }))) as ResultJson;

describe('result.json: the detail block', () => {
  it('with formats=detail: method, both maps (file, convention, encoding, range) and the solve grid, beside the lighting', () => {
    const { detail } = recon.textures;
    expect(detail, 'the bake computed no shading detail').toBeDefined();
    const json = resultOf(recon.textures);
    expect(json.lighting).toBeDefined();
    const block = json.detail!;
    expect(Object.keys(block).sort()).toEqual(['displacement_map', 'evidence_texels', 'method', 'normal_map', 'rms_height_mm', 'work_size']);
    expect(block.method).toMatch(/shape-from-shading/);
    expect(block.method).toMatch(/Kemelmacher-Shlizerman & Basri 2011/);
    expect(block.method).toMatch(/Nehab et al\. 2005/);
    expect(block.normal_map).toEqual({ file: ASSET_FILES.normal.file, convention: expect.stringMatching(/^tangent space, glTF\/OpenGL: R = \+T .*G = \+B .*B = \+N/) });
    expect(block.normal_map.file).toBe('normal.png');
    expect(block.displacement_map).toMatchObject({ file: 'displacement.png', encoding: expect.stringMatching(/128 = 0.*\(L - 128\) \/ 127 \* range_mm/) });
    expect(block.displacement_map.range_mm).toBeCloseTo(detail!.rangeMm, 3);
    expect(block.displacement_map.range_mm).toBeGreaterThan(0);
    expect(block.work_size).toBe(detail!.workSize);
    expect(block.evidence_texels).toBe(detail!.stats.evidenceTexels);
    expect(block.evidence_texels).toBeGreaterThan(0);
    expect(block.rms_height_mm).toBeCloseTo(detail!.stats.rmsHeightMm, 3);
    // The detail never reshapes the face: its height stays well under the encoded range.
    expect(block.rms_height_mm).toBeGreaterThan(0);
    expect(block.rms_height_mm).toBeLessThan(block.displacement_map.range_mm);
  });

  it('without formats=detail: no detail key (the lighting stays)', () => {
    const json = resultOf({ ...recon.textures, detail: undefined });
    expect(json).not.toHaveProperty('detail');
    expect(json.lighting).toBeDefined();
  });
});

describe('result.json: the lighting block with texture=albedo', () => {
  it('states how albedo.png relights, and that relation gives texture.png back over the seen face', () => {
    const r = reconstructFace(installed, photo, face, { uvSize: 1024, albedo: true });
    const json = JSON.parse(JSON.stringify(reconstructionResultJson({ model: installed.model, face, head: r.head, textures: r.textures, timings: r.timings }))) as ResultJson;
    const L = json.lighting!;
    expect(L.albedo_relation).toMatch(/texture = albedo \* max\(shading_c\(n\), shading_floor\[c\]\) \/ albedo_reference\[c\]/);
    expect(L.albedo_reference).toHaveLength(3);
    expect(L.shading_floor).toHaveLength(3);
    for (let c = 0; c < 3; c++) {
      expect(L.albedo_reference![c]).toBeGreaterThan(0);
      expect(L.shading_floor![c]).toBeGreaterThan(0);
    }
    // Relight from the JSON's own numbers: sh, floor and reference, on the texels facing the camera.
    const map = installed.baker.texelMap(0, r.head.mode.uvSize);
    const ks = Int32Array.from({ length: map.texels.length }, (_, k) => k);
    const n = texelNormals(map, r.head.mesh.indices, r.head.mesh.normals, r.head.geometry.camera.rotation, ks);
    const tex = r.textures.tiles[0].data, alb = r.textures.albedo!.data, s = new Float64Array(3);
    const light = { sh: Float64Array.from(L.sh) };
    let se = 0, m = 0;
    for (let k = 0; k < ks.length; k += 3) {
      if (n[3 * k + 2] < 0.6) continue;
      const t = map.texels[k];
      shadeSh(light, n[3 * k], n[3 * k + 1], n[3 * k + 2], s);
      for (let c = 0; c < 3; c++) {
        const relit = linearToSrgb(Math.min(1, (srgbToLinear(alb[3 * t + c]) * Math.max(s[c], L.shading_floor![c])) / L.albedo_reference![c]));
        se += (relit - tex[3 * t + c]) ** 2;
        m++;
      }
    }
    const psnr = 10 * Math.log10((255 * 255) / (se / m));
    console.log(`astronaut: albedo relit from result.json vs texture, ${psnr.toFixed(1)} dB over ${m / 3} facing texels`);
    // Exact where the division was not limited; limitLocalLift's cuts (eyelids, nostrils) and the eyes and
    // brows these facing texels include keep it from infinity (40.6 dB here). A reference 10% off alone
    // would cost more than that margin.
    expect(psnr).toBeGreaterThan(35);
  });

  it('without the albedo, no albedo relation', () => {
    const json = resultOf(recon.textures);
    expect(json.lighting).not.toHaveProperty('albedo_reference');
    expect(json.lighting).not.toHaveProperty('shading_floor');
  });
});

describe('result.json: the person segmentation', () => {
  it('says it kept the background out, with its agreement with the face; and that it was not used when it disagreed', () => {
    const json = resultOf(recon.textures);
    expect(json.texture.person_segmentation?.used).toBe(true);
    expect(json.texture.person_segmentation!.agreement).toBeCloseTo(face.personMaskAgreement!, 3);
    // A segmentation the landmarker dropped (it called the face background): reported, not hidden.
    const dropped = JSON.parse(JSON.stringify(reconstructionResultJson({ model: installed.model, face: { ...face, personMask: undefined, personMaskAgreement: 0.02 }, head: recon.head, textures: recon.textures, timings: recon.timings }))) as ResultJson;
    expect(dropped.texture.person_segmentation).toEqual({ used: false, agreement: 0.02 });
  });
});

describe('result.json: landmarks_68', () => {
  it('the photo points are the head-frame points seen through the fitted camera, jaw included (its depth offset agrees in both frames)', () => {
    const json = resultOf(recon.textures);
    const { image_px, head_mm } = json.landmarks_68;
    expect(image_px).toHaveLength(68);
    let worst = 0;
    for (let k = 0; k < 68; k++) {
      const [x, y] = projectHeadPoint(recon.head.geometry.camera, head_mm[k][0], head_mm[k][1], head_mm[k][2]);
      worst = Math.max(worst, Math.hypot(x - image_px[k][0], y - image_px[k][1]));
    }
    // Both are rounded to 0.01 (px, mm): the projection agrees to well under a pixel.
    expect(worst).toBeLessThan(0.1);
    // The side jaw lies behind the face oval's rim: deeper (more negative z) than the oval point it was spaced along.
    const withoutOffset = ibug68From(Array.from({ length: 478 }, (_, i) => [recon.head.geometry.points[3 * i], recon.head.geometry.points[3 * i + 1], recon.head.geometry.points[3 * i + 2]]));
    // The documented depths (bench/RESULTS.md, models/src/correspondence.ts): the jaw 10 mm, the pair beside the
    // chin 3 mm, the chin itself on the oval, the nose base (31-35) 4 mm behind the nostril rim; no other point moves.
    const depthMm = (k: number) => (k === 7 || k === 9 ? 3 : k <= 16 && k !== 8 ? 10 : k >= 31 && k <= 35 ? 4 : 0);
    for (const k of [0, 4, 12, 16]) expect(head_mm[k][2]).toBeCloseTo(withoutOffset[k][2] - 10, 1);
    for (const k of [7, 9]) expect(head_mm[k][2]).toBeCloseTo(withoutOffset[k][2] - 3, 1);
    expect(head_mm[8][2]).toBeCloseTo(withoutOffset[8][2], 1);
    for (let k = 31; k <= 35; k++) expect(head_mm[k][2], `nose base ${k}`).toBeCloseTo(withoutOffset[k][2] - 4, 1);
    for (let k = 0; k < 68; k++) expect(head_mm[k][2], `point ${k}`).toBeCloseTo(withoutOffset[k][2] - depthMm(k), 1);
  });
});
