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
import { fixture } from '../fixtures';

let installed: InstalledModel;
let face: FaceLandmarks;
let recon: Reconstruction;
beforeAll(async () => {
  const { image } = await readImageFile(fixture('astronaut.png'));
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
