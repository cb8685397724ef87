/**
 * The default MediaPipe face on the project's own real photo (astronaut.png), what is specific to it:
 * a metric face from the iris prior, landmarks reproduced exactly, the reprojection onto the photo,
 * a sideways photo. What every model must do (texture, exports, conservative mode) is the contract
 * suite's (test/core/face-model-contract.test.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '@facerecon/shared';
import { readImageFile } from '../../src/adapters/image-io';
import { createFaceLandmarker, type FaceLandmarks } from '../../src/face/landmarker';
import { reprojectionPsnr } from '../../src/core/quality';
import { reconstructFace, type Reconstruction } from '../../src/core/reconstruct';
import { ModelRegistry } from '../../src/core/registry';
import { createMediaPipeFaceModel } from '../../src/face-models/mediapipe';
import { fixture } from '../fixtures';
import { rotatePixelsCcw } from '../image-ops';

const installed = new ModelRegistry([createMediaPipeFaceModel()]).get('mediapipe');
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
  recon = reconstructFace(installed, photo, { ...face, detection: { ...face.detection, box: { ...face.detection.box, width: 200 } } }, { uvSize: 1024 });
});

const noHoles = (t: RgbImage) => {
  let black = 0;
  for (let i = 0; i < t.width * t.height; i++) if (t.data[3 * i] + t.data[3 * i + 1] + t.data[3 * i + 2] === 0) black++;
  return black;
};

describe('reconstruct on a real portrait', () => {
  it('a frontal pose, a metric face from the iris prior, landmarks reproduced', () => {
    const g = recon.head.geometry;
    expect(Math.abs(g.pose.yaw)).toBeLessThan(15);
    expect(Math.abs(g.pose.roll)).toBeLessThan(15);
    expect(g.scalePrior.method).toBe('iris_diameter');
    const eyes = Math.hypot(g.points[3 * 468] - g.points[3 * 473], g.points[3 * 468 + 1] - g.points[3 * 473 + 1]);
    expect(eyes).toBeGreaterThan(50); // adult inter-pupillary distance 54-74 mm
    expect(eyes).toBeLessThan(78);
    expect(g.meshReprojectionErrorPx).toBeLessThan(0.01);
    expect(g.canonicalReprojectionErrorPx).toBeLessThan(0.1 * face.detection.box.width);
  });

  it('7257 vertices after two Loop levels; most of the texture straight from the photo', () => {
    expect(recon.head.mesh.positions.length / 3).toBe(7257);
    expect(recon.textures.completion.fromPhoto).toBeGreaterThan(0.6);
  });

  it('reprojects onto the photo: PSNR inside the face above 26 dB', () => {
    const q = reprojectionPsnr(photo, recon);
    expect(q.maskPixels).toBeGreaterThan(5000);
    expect(q.psnrDb).toBeGreaterThan(26);
  });

});

describe('modes and hard photos', () => {
  it('a photo turned sideways (90 degrees) gives the same face, rolled, and a texture with no holes', async () => {
    const sideways = rotatePixelsCcw(photo);
    const f = await landmarksOf(sideways);
    const r = reconstructFace(installed, sideways, f, { uvSize: 512 });
    expect(Math.abs(Math.abs(r.head.geometry.pose.roll) - 90)).toBeLessThan(15);
    expect(noHoles(r.textures.tiles[0])).toBe(0);
    // The same face: the upright landmarks, carried through the same 90-degree turn of the pixels
    // ((x, y) -> (y, W - 1 - x), rotatePixelsCcw), land on the sideways photo's landmarks.
    let d = 0;
    for (let i = 0; i < 478; i++) d += Math.hypot(f.points[3 * i] - face.points[3 * i + 1], f.points[3 * i + 1] - (photo.width - 1 - face.points[3 * i]));
    expect(d / 478).toBeLessThan(2.5); // px, on a ~100 px face
    // And the same head: its shape in the head frame (pose removed) matches the upright one's.
    let shape = 0;
    for (let i = 0; i < 468 * 3; i++) shape = Math.max(shape, Math.abs(r.head.geometry.points[i] - recon.head.geometry.points[i]));
    expect(shape).toBeLessThan(3); // mm
  });
});
