/**
 * npm run models:ibug68: the iBUG-68 points as combinations of MediaPipe's 478, written as data to
 * gpu-function/src/face/data/ibug68.json (committed: it is small and changes only with this script).
 *
 * - 52 points (brows, nose, eyes, lips, chin) have a MediaPipe vertex of the same meaning:
 *   IBUG68_TO_MEDIAPIPE (models/src/correspondence.ts), one to one.
 * - The 16 jaw points (iBUG 0-7, 9-16) are not surface features MediaPipe names. They are fitted on
 *   a 3D model, not on photos: ICT-FaceKit (MIT) marks all 68 iBUG points as vertices of its mean
 *   head, and its pack embeds MediaPipe's landmarks on the same surface. Each jaw point becomes the
 *   point on the segment between two neighbouring MediaPipe face-oval landmarks that is nearest to
 *   ICT's jaw vertex: `[ibug, a, b, t]` means (1 - t) mp[a] + t mp[b]. No benchmark photo (AFLW2000-3D
 *   is research data) took part.
 *
 * Usage: npm run models:ibug68 -- <ICT-FaceKit FaceXModel dir (plain or .obj.gz)>
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { IBUG68_TO_MEDIAPIPE } from '../src/correspondence';
import { buildIctPack } from './build-ict';
import { loadModelPack } from '../../gpu-function/src/morph/model-pack';
import { FACE_OVAL } from '../../gpu-function/src/morph/calibration';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: npm run models:ibug68 -- <FaceXModel dir>');
  process.exit(1);
}
const out = join(mkdtempSync(join(tmpdir(), 'ibug68-')), 'ict');
buildIctPack(resolve(dir), out);
const pack = loadModelPack(out);
const M = pack.mean;
const at = (v: number) => [M[3 * v], M[3 * v + 1], M[3 * v + 2]];
// MediaPipe landmark -> its position on ICT's mean surface.
const mp = new Map<number, number[]>();
const c = pack.correspondence;
for (let i = 0; i < c.landmarks.length; i++) {
  const p = [0, 0, 0];
  for (let j = 0; j < 3; j++) {
    const v = at(c.vertices[3 * i + j]);
    for (let d = 0; d < 3; d++) p[d] += c.barycentric[3 * i + j] * v[d];
  }
  mp.set(c.landmarks[i], p);
}
const ring = FACE_OVAL.filter((i) => mp.has(i));
const jaw: Array<[number, number, number, number]> = [];
const residualsMm: number[] = [];
for (const k of [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16]) {
  const J = at(pack.manifest.landmarks68![k]);
  let best = { d: Infinity, a: 0, b: 0, t: 0 };
  for (let r = 0; r < ring.length; r++) {
    const A = mp.get(ring[r])!, B = mp.get(ring[(r + 1) % ring.length])!;
    const AB = [0, 1, 2].map((d) => B[d] - A[d]);
    const t = Math.max(0, Math.min(1, [0, 1, 2].reduce((s, d) => s + (J[d] - A[d]) * AB[d], 0) / [0, 1, 2].reduce((s, d) => s + AB[d] ** 2, 0)));
    const dist = Math.hypot(...[0, 1, 2].map((d) => A[d] + t * AB[d] - J[d]));
    if (dist < best.d) best = { d: dist, a: ring[r], b: ring[(r + 1) % ring.length], t };
  }
  jaw.push([k, best.a, best.b, Math.round(best.t * 1000) / 1000]);
  residualsMm.push(Math.round(best.d * 10) / 10); // the pack is in mm
}
const data = {
  about: 'iBUG-68 (the 300-W / AFLW2000-3D point order) from MediaPipe face mesh landmarks. direct: [ibug, mediapipe] one-to-one (models/src/correspondence.ts IBUG68_TO_MEDIAPIPE). jaw: [ibug, a, b, t] = (1 - t) mp[a] + t mp[b], fitted by models/scripts/build-ibug68.ts on ICT-FaceKit\'s mean head (MIT), whose vertices mark all 68 iBUG points and whose pack embeds MediaPipe\'s landmarks on the same surface; no photo took part. jawResidualMm: how far each ICT jaw vertex lies from its segment.',
  direct: IBUG68_TO_MEDIAPIPE,
  jaw,
  jawResidualMm: residualsMm,
};
const file = resolve(import.meta.dirname, '../../gpu-function/src/face/data/ibug68.json');
writeFileSync(file, `${JSON.stringify(data)}\n`);
console.log(`ibug68: ${data.direct.length} direct + ${jaw.length} jaw points -> ${file}; jaw residuals (mm): ${residualsMm.join(', ')}`);
