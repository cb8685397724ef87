/**
 * The FaceModel contract, the same suite for every model: the project's own photo (astronaut.png)
 * through fit, the core's texture stage and the core's exports. The default MediaPipe face always
 * runs; the ICT-FaceKit head runs when the team's subset is there (../shared/ict-facekit) and says
 * so when it is not. A new model (a customer's BFM or FLAME pack) joins by adding one line here.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error gltf-validator ships no types
import * as gltfValidator from 'gltf-validator';
import { ASSET_FILES, type RgbImage } from '@facerecon/shared';
import { readImageFile } from '../../src/adapters/image-io';
import type { FaceModel } from '../../src/core/face-model';
import { exportAssets } from '../../src/core/export';
import { reconstructFace, type Reconstruction } from '../../src/core/reconstruct';
import { ModelRegistry, type InstalledModel } from '../../src/core/registry';
import { reconstructionResultJson } from '../../src/core/result-json';
import { createFaceLandmarker, type FaceLandmarks } from '../../src/face/landmarker';
import { createIctFaceModel } from '../../src/face-models/ict';
import { createMediaPipeFaceModel } from '../../src/face-models/mediapipe';
import { loadModelPack } from '../../src/morph/model-pack';
import { parseObjCounts } from '../../src/recon/export-obj';
import { ICT_SOURCE, ictTestPack, fixture, hasIct } from '../fixtures';
import { checkUsdStage, readUsdz } from '../usdz-check';

const face = createMediaPipeFaceModel();
const models: Array<[string, () => FaceModel]> = [
  ['mediapipe', () => face],
  ...(hasIct ? ([['ict', () => createIctFaceModel({ pack: loadModelPack(ictTestPack()), canonical: face.canonical })]] as Array<[string, () => FaceModel]>) : []),
];

let photo: RgbImage;
let landmarks: FaceLandmarks;
async function inputs() {
  if (!photo) {
    photo = (await readImageFile(fixture('astronaut.png'))).image;
    const lm = await createFaceLandmarker();
    const r = await lm.landmarks(photo);
    await lm.close();
    if (!r.ok) throw new Error(r.code);
    // The astronaut's face is ~104 px wide, which selects conservative mode; the contract suite forces the full bake.
    landmarks = { ...r.face, detection: { ...r.face.detection, box: { ...r.face.detection.box, width: 200 } } };
    // No pixel of the photo is black (its dark background and suit are lifted to grey), so a black
    // texel in a texture can only be one nothing wrote: a hole.
    for (let i = 0; i < photo.data.length; i += 3) if (photo.data[i] + photo.data[i + 1] + photo.data[i + 2] < 60) photo.data.set([60, 60, 60], i);
  }
  return { photo, landmarks };
}

const blackTexels = (t: RgbImage) => {
  let black = 0;
  for (let i = 0; i < t.width * t.height; i++) if (t.data[3 * i] + t.data[3 * i + 1] + t.data[3 * i + 2] === 0) black++;
  return black;
};

describe.each(models)('FaceModel contract: %s', (name, make) => {
  let installed: InstalledModel;
  let recon: Reconstruction;
  const ready = async () => {
    if (!recon) {
      installed = new ModelRegistry([make()]).get(name as 'mediapipe');
      const { photo, landmarks } = await inputs();
      recon = reconstructFace(installed, photo, landmarks, { uvSize: 1024 });
    }
    return { installed, recon };
  };

  it('fits a head in the head frame: unit normals, the layout\'s UVs and triangles, a frontal pose', async () => {
    const { installed, recon } = await ready();
    const { mesh } = recon.head;
    expect(recon.head.model).toBe(name);
    expect(mesh.uvs).toBe(installed.model.layout.uvs);
    expect(mesh.indices).toBe(installed.model.layout.indices);
    const n = mesh.positions.length / 3;
    expect(mesh.normals.length).toBe(3 * n);
    for (let i = 0; i < n; i += 97) expect(Math.hypot(mesh.normals[3 * i], mesh.normals[3 * i + 1], mesh.normals[3 * i + 2])).toBeCloseTo(1, 3);
    expect(Math.abs(recon.head.geometry.pose.yaw)).toBeLessThan(15);
    for (const k of ['fit', 'mesh', 'bake', 'colour', 'completion', 'grid']) {
      expect(Number.isFinite(recon.timings[k]), k).toBe(true);
      expect(recon.timings[k], k).toBeGreaterThanOrEqual(0);
    }
    expect(Object.values(recon.timings).every(Number.isFinite)).toBe(true);
  });

  it('bakes every tile at its size with no holes, the face mostly from the photo', async () => {
    const { installed, recon } = await ready();
    const { tiles } = installed.model.layout;
    expect(recon.textures.tiles).toHaveLength(tiles.length);
    tiles.forEach((tile, i) => {
      expect(recon.textures.tiles[i].width).toBe(tile.sizeFor(1024));
      expect(blackTexels(recon.textures.tiles[i]), `tile ${i}`).toBe(0);
    });
    expect(recon.textures.completion.fromPhoto).toBeGreaterThan(0.3);
    // (How the three shares are counted is checked against an independent count in texture.test.ts.)
    const { fromPhoto, fromMirror, interpolated } = recon.textures.completion;
    for (const share of [fromPhoto, fromMirror, interpolated]) {
      expect(share).toBeGreaterThanOrEqual(0);
      expect(share).toBeLessThanOrEqual(1);
    }
    expect(Math.abs(fromPhoto + fromMirror + interpolated - 1)).toBeLessThan(1e-6); // every chart texel counted once
  });

  it('the grid image differs from the face tile only along the wireframe', async () => {
    const { recon } = await ready();
    const a = recon.textures.tiles[0].data;
    const b = recon.textures.grid.data;
    let changed = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) changed++;
    expect(changed / a.length).toBeGreaterThan(0.005);
    expect(changed / a.length).toBeLessThan(0.7); // the full head's face chart is dense: about half its texels lie on an edge
  });

  it('exports, from the core alone: PNG tiles, an OBJ that parses back with its MTL naming every tile, a valid GLB, previews, the result', async () => {
    const { installed, recon } = await ready();
    const { landmarks } = await inputs();
    const result = reconstructionResultJson({ model: installed.model, face: landmarks, head: recon.head, textures: recon.textures, timings: recon.timings });
    const assets = await exportAssets(installed.model, recon.head, recon.textures, { result, usdz: true });
    const dec = new TextDecoder();
    const desc = installed.model.exportDescription(recon.head);
    // USDZ for AR Quick Look: the OBJ's mesh and materials, packed as Pixar's spec asks.
    checkUsdStage(readUsdz(assets.files.usdz!), { vertices: desc.obj.positions.length / 3, triangles: desc.obj.indices.length / 3 });
    const obj = parseObjCounts(dec.decode(assets.files.obj));
    // Welded where the model splits at UV seams: one v/vn per shared position, vt per copy.
    const positions = desc.objWeld ? new Set(desc.objWeld).size : desc.obj.positions.length / 3;
    expect(obj).toEqual({ v: positions, vt: desc.obj.uvs.length / 2, vn: positions, f: desc.obj.indices.length / 3, mtllib: ASSET_FILES.mtl.file });
    if (desc.objWeld) {
      expect(positions).toBeLessThan(desc.obj.positions.length / 3);
      // No two written positions coincide: nothing left for an artist to merge by distance.
      const vs = dec.decode(assets.files.obj).split('\n').filter((l) => l.startsWith('v '));
      expect(new Set(vs).size).toBe(vs.length);
    }
    const mtl = dec.decode(assets.files.mtl);
    for (const tile of installed.model.layout.tiles) {
      expect(mtl).toMatch(new RegExp(`^map_Kd ${ASSET_FILES[tile.asset].file.replace('.', '\\.')}$`, 'm'));
      expect(Array.from(assets.files[tile.asset]!.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    }
    for (const k of ['texture_grid', 'preview', 'preview_geometry'] as const) expect(Array.from(assets.files[k]!.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const report = await gltfValidator.validateBytes(assets.files.glb);
    const errors = report.issues.messages.filter((m: { severity: number }) => m.severity === 0);
    expect(errors, JSON.stringify(errors.slice(0, 3))).toEqual([]);
    // The validator counts each primitive's vertices; all primitives share the one vertex array.
    expect(report.info.totalVertexCount).toBe((desc.glb.positions.length / 3) * (desc.groups?.length ?? 1));
    // The open face mask is seen from inside past its rim: double-sided; the closed head is not.
    const glb = assets.files.glb!;
    const gltf = JSON.parse(dec.decode(glb.subarray(20, 20 + new DataView(glb.buffer, glb.byteOffset).getUint32(12, true))));
    expect(gltf.materials[0].doubleSided ?? false).toBe(name === 'mediapipe');
    const json = JSON.parse(dec.decode(assets.files.result));
    expect(json.model).toBe(name);
    expect(json.landmarks.head_mm).toHaveLength(478);
    expect(json.mesh.vertices).toBe(recon.head.mesh.positions.length / 3);
    expect(json.texture.size).toBe(1024);
    // The delivered mesh's own reprojection. The default face's first 468 vertices are the landmarks'
    // after Loop subdivision, which moves them a little: the value is those vertices projected with
    // result.json's own pose and camera (the documented formula), against the landmarks. The full head
    // cannot follow every landmark (a few px, through its own correspondence).
    const reproj = json.reprojection_error_px.reconstructed_mesh as number;
    if (name === 'mediapipe') {
      const [R, [tx, ty], s] = [json.pose.rotation as number[], json.pose.translation_px as number[], json.camera.pixels_per_mm as number];
      const P = recon.head.mesh.positions;
      let sum = 0;
      for (let i = 0; i < 468; i++) {
        const [X, Y, Z] = [P[3 * i], P[3 * i + 1], P[3 * i + 2]];
        const x = tx + s * (R[0] * X + R[1] * Y + R[2] * Z);
        const y = ty - s * (R[3] * X + R[4] * Y + R[5] * Z);
        sum += Math.hypot(x - landmarks.points[3 * i], y - landmarks.points[3 * i + 1]);
      }
      expect(reproj).toBeCloseTo(sum / 468, 1); // result.json rounds the pose; 0.05 px
      expect(reproj).toBeGreaterThan(0.05); // not the landmark points' own 0
    } else expect(reproj).toBeGreaterThan(0.2);
    expect(reproj).toBeLessThan(20);
  }, 60_000);

  it('conservative mode for a weak photo: a 512 bake without colour changes, with the reason', async () => {
    const { installed } = await ready();
    const { photo, landmarks } = await inputs();
    const small = { ...landmarks, detection: { ...landmarks.detection, box: { ...landmarks.detection.box, width: 100 } } };
    const r = reconstructFace(installed, photo, small, { uvSize: 1024 });
    expect(r.head.mode.conservative.enabled).toBe(true);
    expect(r.head.mode.conservative.reasons.join()).toMatch(/px wide/);
    expect(r.textures.tiles[0].width).toBe(512);
    expect(r.textures.colour.applied).toBe(false);
  });
});

describe('the registry', () => {
  it('a model that is not installed is MODEL_NOT_INSTALLED; an installed one is found', () => {
    const registry = new ModelRegistry([face, undefined]);
    expect(registry.names()).toEqual(['mediapipe']);
    expect(registry.get('mediapipe').model).toBe(face);
    expect(() => registry.get('ict')).toThrow(expect.objectContaining({ code: 'MODEL_NOT_INSTALLED' }));
  });

  it(`the contract suite ran on ${hasIct ? 'both models' : `MediaPipe only (ICT skipped, ${ICT_SOURCE} not found)`}; MediaPipe's layout is one symmetric tile`, () => {
    expect(models.map(([name]) => name)).toEqual(hasIct ? ['mediapipe', 'ict'] : ['mediapipe']);
    expect(face.layout.tiles).toEqual([expect.objectContaining({ index: 0, asset: 'texture', mirrorU: true, toneFill: false })]);
    // Mirror symmetry of MediaPipe's chart: every UV has a partner at (1 - u, v) within 1.5e-3 (1.5 texels at 1024).
    const uvs = face.canonical.uvs;
    let worst = 0;
    for (let i = 0; i < uvs.length / 2; i++) {
      let best = Infinity;
      for (let j = 0; j < uvs.length / 2; j++) best = Math.min(best, Math.hypot(uvs[2 * j] - (1 - uvs[2 * i]), uvs[2 * j + 1] - uvs[2 * i + 1]));
      worst = Math.max(worst, best);
    }
    expect(worst).toBeLessThan(1.5e-3);
  });
});
