/**
 * The reconstruction end to end on the project's own real photo (astronaut.png): geometry, texture
 * without holes, exports that parse back and validate, reprojection quality, conservative mode.
 */
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error gltf-validator ships no types
import * as gltfValidator from 'gltf-validator';
import type { RgbImage } from '@facerecon/shared';
import { readImageFile } from '../../src/adapters/image-io';
import { createFaceLandmarker, type FaceLandmarks } from '../../src/face/landmarker';
import { exportAssets, reconstructionResultJson } from '../../src/recon/assets';
import { parseObjCounts } from '../../src/recon/export-obj';
import { reprojectionPsnr } from '../../src/recon/quality';
import { createReconstructor, type Reconstruction } from '../../src/recon/reconstruct';
import { fixture } from '../fixtures';
import { rotatePixelsCcw } from '../image-ops';

const reconstructor = createReconstructor();
let photo: RgbImage;
let face: FaceLandmarks;
let recon: Reconstruction;

async function landmarksOf(image: RgbImage): Promise<FaceLandmarks> {
  const lm = await createFaceLandmarker();
  try {
    const r = await lm.landmarks(image);
    if (!r.ok) throw new Error(`${r.code}: ${r.detail}`);
    return r.face;
  } finally {
    await lm.close();
  }
}

beforeAll(async () => {
  photo = (await readImageFile(fixture('astronaut.png'))).image;
  face = await landmarksOf(photo);
  // The astronaut's face is ~104 px wide, which selects conservative mode; force the full bake.
  recon = reconstructor.reconstruct(photo, { ...face, detection: { ...face.detection, box: { ...face.detection.box, width: 200 } } }, { uvSize: 1024 });
});

const noHoles = (t: RgbImage) => {
  let black = 0;
  for (let i = 0; i < t.width * t.height; i++) if (t.data[3 * i] + t.data[3 * i + 1] + t.data[3 * i + 2] === 0) black++;
  return black;
};

describe('reconstruct on a real portrait', () => {
  it('a frontal pose, a metric face from the iris prior, landmarks reproduced', () => {
    const g = recon.geometry;
    expect(Math.abs(g.pose.yaw)).toBeLessThan(15);
    expect(Math.abs(g.pose.roll)).toBeLessThan(15);
    expect(g.scalePrior.method).toBe('iris_diameter');
    const eyes = Math.hypot(g.points[3 * 468] - g.points[3 * 473], g.points[3 * 468 + 1] - g.points[3 * 473 + 1]);
    expect(eyes).toBeGreaterThan(50); // adult inter-pupillary distance 54-74 mm
    expect(eyes).toBeLessThan(78);
    expect(g.meshReprojectionErrorPx).toBeLessThan(0.01);
    expect(g.canonicalReprojectionErrorPx).toBeLessThan(0.1 * face.detection.box.width);
  });

  it('bakes a 1024 texture with no holes, mostly from the photo', () => {
    expect(recon.uvSize).toBe(1024);
    expect(recon.texture.width).toBe(1024);
    expect(noHoles(recon.texture)).toBe(0);
    expect(recon.completion.fromPhoto).toBeGreaterThan(0.6);
    expect(recon.mesh.positions.length / 3).toBeGreaterThan(5000);
  });

  it('reprojects onto the photo: PSNR inside the face above 26 dB', () => {
    const q = reprojectionPsnr(photo, recon);
    expect(q.maskPixels).toBeGreaterThan(5000);
    expect(q.psnrDb).toBeGreaterThan(26);
  });

  it('exports an OBJ that parses back, its MTL, and a GLB the Khronos validator accepts', async () => {
    const assets = await exportAssets(recon, { result: reconstructionResultJson(face, recon, {}) });
    const dec = new TextDecoder();
    const obj = parseObjCounts(dec.decode(assets.files.obj));
    const n = recon.mesh.positions.length / 3;
    expect(obj).toEqual({ v: n, vt: n, vn: n, f: recon.mesh.indices.length / 3, mtllib: 'face.mtl' });
    expect(dec.decode(assets.files.mtl)).toMatch(/^map_Kd texture\.png$/m);
    const report = await gltfValidator.validateBytes(assets.files.glb);
    const errors = report.issues.messages.filter((m: { severity: number }) => m.severity === 0);
    expect(errors, JSON.stringify(errors.slice(0, 3))).toEqual([]);
    expect(report.issues.numErrors).toBe(0);
    expect(report.info.totalVertexCount).toBe(n);
    // PNG signatures
    for (const k of ['texture', 'textureGrid', 'preview', 'previewGeometry'] as const) expect(Array.from(assets.files[k].subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const result = JSON.parse(dec.decode(assets.files.result));
    expect(result.landmarks.head_mm).toHaveLength(478);
    expect(result.scale_prior.method).toBe('iris_diameter');
    expect(result.camera.model).toBe('weak_perspective');
  });

  it('the grid texture differs from the clean one only along the wireframe', () => {
    let changed = 0;
    for (let i = 0; i < recon.texture.data.length; i++) if (recon.texture.data[i] !== recon.textureGrid.data[i]) changed++;
    const frac = changed / recon.texture.data.length;
    expect(frac).toBeGreaterThan(0.02);
    expect(frac).toBeLessThan(0.3);
  });
});

describe('modes and hard photos', () => {
  it('conservative mode for a small face: 512 bake, no enhancement, with the reason', () => {
    const small = { ...face, detection: { ...face.detection, box: { ...face.detection.box, width: 100 } } };
    const r = reconstructor.reconstruct(photo, small);
    expect(r.conservative.enabled).toBe(true);
    expect(r.conservative.reasons.join()).toMatch(/px wide/);
    expect(r.uvSize).toBe(512);
    expect(r.colour.applied).toBe(false);
    const turned = reconstructor.reconstruct(photo, { ...face, presence: 0.6 });
    expect(turned.conservative.reasons.join()).toMatch(/presence 0.60/);
  });

  it('a photo turned sideways (90 degrees) gives the same face, rolled, and a texture with no holes', async () => {
    const sideways = rotatePixelsCcw(photo);
    const f = await landmarksOf(sideways);
    const r = reconstructor.reconstruct(sideways, f, { uvSize: 512 });
    expect(Math.abs(Math.abs(r.geometry.pose.roll) - 90)).toBeLessThan(15);
    expect(noHoles(r.texture)).toBe(0);
  });
});
