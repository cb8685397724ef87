/**
 * npm run docs:ict -- regenerates docs/ict/ from the ICT-FaceKit model in ../shared (the full model
 * when it is there, else the subset; the pack is built into .cache, nothing of ICT is committed but
 * these renders, which carry its MIT notice):
 *   correspondence.png  the ICT neutral face (front and three-quarter) with MediaPipe's 468 landmarks as
 *                       embedded by the pack (green) and the iBUG anchors the warp interpolates (red);
 *                       the visual check of models/src/correspondence.ts.
 *   heads.png           shared photos next to their full-head reconstructions (front, side, back) and
 *                       the two baked texture tiles.
 *   eyes.png            the eye texture painted from each photo and the eyes on the head, front view.
 *   sides.png           side and back views of heads in front of coloured backgrounds, baked without
 *                       and with the person segmentation: what the background did to ears and neck.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { IBUG68_TO_MEDIAPIPE } from '../models/src/correspondence';
import { ICT_SOURCE, ICT_SOURCE_LABEL, hasIct, ictTestPack } from './lib/ict-pack';
import { blit, faceCrop, resize } from './lib/panels';
import { encodePng, readImageFile } from '../gpu-function/src/adapters/image-io';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { buildHeadTopology } from '../gpu-function/src/morph/head-topology';
import { loadModelPack } from '../gpu-function/src/morph/model-pack';
import { reconstructFace } from '../gpu-function/src/core/reconstruct';
import { ModelRegistry } from '../gpu-function/src/core/registry';
import { createIctFaceModel, type IctHead } from '../gpu-function/src/face-models/ict';
import { loadCanonicalFace } from '../gpu-function/src/recon/canonical';
import { projectHeadPoint, type WeakPerspectiveCamera } from '../gpu-function/src/recon/face-geometry';
import { rotationAxisAngle } from '../gpu-function/src/recon/linalg';
import { renderMesh } from '../gpu-function/src/recon/render';
import { computeVertexNormals } from '../gpu-function/src/recon/subdivide';

const ROOT = resolve(import.meta.dirname, '..');
const PHOTOS = resolve(ROOT, '../shared/photos');
const OUT = join(ROOT, 'docs/ict');
if (!hasIct) {
  console.error(`${ICT_SOURCE} not found: these renders are made from the team's ICT-FaceKit model`);
  process.exit(1);
}
mkdirSync(OUT, { recursive: true });
console.log(`docs:ict: ${ICT_SOURCE_LABEL}`);
const pack = loadModelPack(ictTestPack());

function dot(img: RgbImage, x: number, y: number, r: number, c: readonly number[]): void {
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++) {
      const px = Math.round(x + dx), py = Math.round(y + dy);
      if (dx * dx + dy * dy > r * r || px < 0 || py < 0 || px >= img.width || py >= img.height) continue;
      img.data.set(c, (py * img.width + px) * 3);
    }
  }
}

// 1. The correspondence on the ICT neutral face.
{
  const topo = buildHeadTopology(pack);
  const used = new Float32Array(topo.usedVertices.length * 3);
  topo.usedVertices.forEach((v, i) => used.set(pack.mean.subarray(3 * v, 3 * v + 3), 3 * i));
  const positions = new Float32Array(topo.renderToUsed.length * 3);
  topo.renderToUsed.forEach((u, r) => positions.set(used.subarray(3 * u, 3 * u + 3), 3 * r));
  const normalsUsed = computeVertexNormals(used, topo.smoothIndices);
  const normals = new Float32Array(positions.length);
  topo.renderToUsed.forEach((u, r) => normals.set(normalsUsed.subarray(3 * u, 3 * u + 3), 3 * r));
  const faceGroups = topo.groups.filter((g) => g.name === 'face' || g.name === 'head');
  const indices = topo.indices.subarray(0, faceGroups.reduce((s, g) => s + g.count, 0));
  const mesh = { positions, normals, uvs: topo.uvs, indices };
  const S = 640;
  const sheet = createRgbImage(2 * S, S);
  const anchors = new Set(IBUG68_TO_MEDIAPIPE.map(([, mp]) => mp));
  const nAll = computeVertexNormals(pack.mean, pack.triangles);
  [0, 35].forEach((yaw, k) => {
    // A weak-perspective camera looking at the face (model frame mm), so the dots project exactly as the mesh.
    const camera: WeakPerspectiveCamera = { model: 'weak_perspective', pixelsPerMm: S / 210, rotation: rotationAxisAngle([0, 1, 0], (yaw * Math.PI) / 180), origin: [S / 2, S / 2 - 10, 0] };
    const img = renderMesh({ mesh, width: S, height: S, camera: { kind: 'photo', camera }, mode: 'flat', background: [236, 238, 242] }).image;
    const { landmarks, vertices, barycentric } = pack.correspondence;
    for (let i = 0; i < landmarks.length; i++) {
      const p = [0, 1, 2].map((d) => [0, 1, 2].reduce((s, j) => s + barycentric[3 * i + j] * pack.mean[3 * vertices[3 * i + j] + d], 0));
      const [x, y] = projectHeadPoint(camera, p[0], p[1], p[2]);
      // Only points on surface that faces the camera are drawn (the far cheek is hidden).
      const nz = [0, 1, 2].reduce((s, j) => s + barycentric[3 * i + j] * [0, 1, 2].reduce((t, d) => t + camera.rotation[6 + d] * nAll[3 * vertices[3 * i + j] + d], 0), 0);
      if (nz < 0.15) continue;
      const a = anchors.has(landmarks[i]);
      dot(img, x, y, a ? 3 : 2, a ? [220, 40, 40] : [20, 150, 60]);
    }
    blit(sheet, img, k * S, 0);
  });
  writeFileSync(join(OUT, 'correspondence.png'), await encodePng(sheet));
  console.log(`docs:ict: ${join(OUT, 'correspondence.png')} (${pack.correspondence.landmarks.length} landmarks, median snap ${pack.manifest.correspondence468.medianDistanceMm} mm)`);
}

// 2. Full heads from shared photos.
{
  const model = createIctFaceModel({ pack, canonical: loadCanonicalFace() });
  const rec = new ModelRegistry([model]).get('ict');
  // The bake as it was before segmentation: no person mask, no skin-only neck, no hair over the scalp.
  const before = new ModelRegistry([{ ...model, layout: { ...model.layout, regions: undefined } }]).get('ict');
  const landmarker = await createFaceLandmarker();
  /** A shared photo and its one face's landmarks (a docs photo without one is a broken docs run). */
  const photoFace = async (name: string) => {
    const { image } = await readImageFile(join(PHOTOS, name));
    const lm = await landmarker.landmarks(image);
    if (!lm.ok) throw new Error(`${name}: ${lm.code}`);
    return { image, face: lm.face };
  };
  const names = ['deep3d/000031.jpg', 'deep3d/000055.jpg', 'deep3d/015259.jpg', '3ddfa/JianzhuGuo.jpg'];
  const T = 256;
  const sheet = createRgbImage(6 * T, names.length * T);
  for (const [row, name] of names.entries()) {
    const { image, face } = await photoFace(name);
    const recon = reconstructFace(rec, image, face, { uvSize: 1024 });
    const r = { mesh: recon.head.mesh, texture: recon.textures.tiles[0], headTexture: recon.textures.tiles[1], morph: (recon.head as IctHead).morph };
    const crop = faceCrop(image, face.detection.box);
    blit(sheet, resize(crop, T, T), 0, row * T);
    const tiles = [r.texture, r.headTexture, ...model.previewTiles!(recon.head as IctHead)];
    [-25, 90, 180].forEach((yaw, k) => {
      const view = renderMesh({ mesh: r.mesh, width: T, height: T, camera: { kind: 'orbit', yawDeg: yaw, pitchDeg: 8, fovDeg: 24, fill: 0.9 }, mode: 'textured', tiles, background: [236, 238, 242] }).image;
      blit(sheet, view, (k + 1) * T, row * T);
    });
    blit(sheet, resize(r.texture, T, T), 4 * T, row * T);
    blit(sheet, resize(r.headTexture, T, T), 5 * T, row * T);
    const top = r.morph.expressionNames.map((n, i) => [n, r.morph.expression[i]] as const).filter(([, v]) => v >= 0.1).sort((a, b) => b[1] - a[1]);
    console.log(`docs:ict: ${name}: ${top.map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ') || 'neutral'}`);
  }
  writeFileSync(join(OUT, 'heads.png'), await encodePng(sheet));
  console.log(`docs:ict: ${join(OUT, 'heads.png')}`);

  // 3. Ears and neck in front of coloured backgrounds, without and with the person mask.
  const sideNames = ['deep3d/015259.jpg', 'deep3d/000002.jpg', 'identity/harington_1.jpg', 'identity/obama_1.png', 'deep3d/vd034.png'];
  const sides = createRgbImage(7 * T, sideNames.length * T);
  for (const [row, name] of sideNames.entries()) {
    const { image, face } = await photoFace(name);
    const crop = faceCrop(image, face.detection.box);
    blit(sides, resize(crop, T, T), 0, row * T);
    for (const [k, [installed, input]] of ([[before, { ...face, personMask: undefined }], [rec, face]] as const).entries()) {
      const recon = reconstructFace(installed, image, input, { uvSize: 1024 });
      const tiles = [recon.textures.tiles[0], recon.textures.tiles[1], ...model.previewTiles!(recon.head as IctHead)];
      [70, 180, -70].forEach((yaw, v) => {
        const view = renderMesh({ mesh: recon.head.mesh, width: T, height: T, camera: { kind: 'orbit', yawDeg: yaw, pitchDeg: 8, fovDeg: 24, fill: 0.9 }, mode: 'textured', tiles, background: [236, 238, 242] }).image;
        blit(sides, view, (1 + 3 * k + v) * T, row * T);
      });
    }
  }
  // 4. The painted eyes: the eye texture beside a frontal close-up of the eyes on the head.
  const eyeNames = ['deep3d/000055.jpg', 'deep3d/015259.jpg', 'identity/obama_2.jpg', 'deep3d/000002.jpg'];
  const eyesSheet = createRgbImage(3 * T, eyeNames.length * T);
  for (const [row, name] of eyeNames.entries()) {
    const { image, face } = await photoFace(name);
    const recon = reconstructFace(rec, image, face, { uvSize: 1024 });
    const head = recon.head as IctHead;
    blit(eyesSheet, resize(head.morph.eyeTexture, T, T), 0, row * T);
    const tiles = [recon.textures.tiles[0], recon.textures.tiles[1], ...model.previewTiles!(head)];
    const front = renderMesh({ mesh: head.mesh, width: 4 * T, height: 4 * T, camera: { kind: 'orbit', yawDeg: 0, pitchDeg: 0, fovDeg: 24, fill: 0.9 }, mode: 'textured', tiles, background: [236, 238, 242] }).image;
    // The eye band of the front view (its upper middle), at 2x.
    const band = createRgbImage(2 * T, T);
    for (let y = 0; y < T; y++) band.data.set(front.data.subarray(((y + Math.round(1.17 * T)) * front.width + T) * 3, ((y + Math.round(1.17 * T)) * front.width + 3 * T) * 3), y * 2 * T * 3);
    blit(eyesSheet, band, T, row * T);
  }
  writeFileSync(join(OUT, 'eyes.png'), await encodePng(eyesSheet));
  console.log(`docs:ict: ${join(OUT, 'eyes.png')} (eye texture | the eyes on the head, front view)`);
  await landmarker.close();
  writeFileSync(join(OUT, 'sides.png'), await encodePng(sides));
  console.log(`docs:ict: ${join(OUT, 'sides.png')} (photo | before (no segmentation, no skin gate): left, back, right | now: left, back, right)`);
}
