/**
 * npm run bench:morph [-- --runs 15 --write]
 * The full-head path (model=ict) after landmarks, per stage, against the default path on the same
 * photos: the morphable-model fit, the pose fit of the default path (the 468 "fit"), and the whole
 * reconstruction with exports. Runs on the full ICT-FaceKit model in ../shared/ict-facekit-full
 * (100 identity modes, 57 expressions), else on the subset, and says which; stops, saying why,
 * without either. --write records the table in bench/RESULTS.md.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage } from '../gpu-function/src/adapters/image-io';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { loadModelPack } from '../gpu-function/src/morph/model-pack';
import { exportAssets } from '../gpu-function/src/core/export';
import { reconstructFace } from '../gpu-function/src/core/reconstruct';
import { ModelRegistry } from '../gpu-function/src/core/registry';
import { createIctFaceModel, type IctHead } from '../gpu-function/src/face-models/ict';
import { createMediaPipeFaceModel } from '../gpu-function/src/face-models/mediapipe';
import { ICT_SOURCE_LABEL, hasIct, ictTestPack } from '../scripts/lib/ict-pack';
import { fmt, machineLine, median, p95 } from './stats';
import { resultsLog, writeResultsSection } from './results-file';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' }, write: { type: 'boolean', default: false } } });
const RUNS = Number(values.runs);
const ROOT = resolve(import.meta.dirname, '..');
if (!hasIct) {
  console.log('bench:morph skipped: no ICT-FaceKit model in ../shared (the team\'s shared material)');
  process.exit(0);
}
const pack = loadModelPack(ictTestPack());

const photos = [join(ROOT, '.cache/fixtures/astronaut.png')];
for (const p of ['deep3d/000031.jpg', 'deep3d/015309.jpg', '3ddfa/JianzhuGuo.jpg']) {
  const f = resolve(ROOT, '../shared/photos', p);
  if (existsSync(f)) photos.push(f);
}
const landmarker = await createFaceLandmarker({ threads: 1 });
const faceModel = createMediaPipeFaceModel();
const base = new ModelRegistry([faceModel]).get('mediapipe');
const t0 = performance.now();
const ict = new ModelRegistry([createIctFaceModel({ pack, canonical: faceModel.canonical })]).get('ict');
const startup = performance.now() - t0;

const { lines, log } = resultsLog();
const cols = ['fit 468 (pose)', 'fit ICT', 'geometry+fit', 'evaluate', 'bake', 'completion', 'colour', 'grid', 'full-head bake', 'export', 'total ICT', 'total default'] as const;
log(`| photo | ${cols.join(' | ')} |`);
log(`|---|${cols.map(() => '---').join('|')}|`);
const sums: Record<string, number[]> = Object.fromEntries(cols.map((c) => [c, []]));
for (const path of photos) {
  const { image } = await decodeImage(new Uint8Array(readFileSync(path)));
  const lm = await landmarker.landmarks(image);
  if (!lm.ok) throw new Error(`${path}: ${lm.code}`);
  const face = { ...lm.face, presence: 1, detection: { ...lm.face.detection, box: { ...lm.face.detection.box, width: Math.max(256, lm.face.detection.box.width) } } };
  const t: Record<string, number[]> = Object.fromEntries(cols.map((c) => [c, []]));
  for (let i = 0; i < RUNS + 2; i++) {
    let s = performance.now();
    const def = reconstructFace(base, image, face, { uvSize: 1024 });
    await exportAssets(base.model, def.head, def.textures, { result: {} });
    const totalDefault = performance.now() - s;
    s = performance.now();
    const recon = reconstructFace(ict, image, face, { uvSize: 1024 });
    const head = recon.head as IctHead;
    const ex = await exportAssets(ict.model, head, recon.textures, { result: {} });
    const total = performance.now() - s;
    if (i < 2) continue;
    const exportMs = ex.timings.png + ex.timings.obj + ex.timings.glb + ex.timings.preview;
    const row = { 'fit 468 (pose)': def.timings.fit, 'fit ICT': head.morph.fit.ms, 'geometry+fit': recon.timings.fit, evaluate: recon.timings.mesh, bake: recon.timings.bake, completion: recon.timings.completion, colour: recon.timings.colour, grid: recon.timings.grid, 'full-head bake': recon.timings.bake + recon.timings.completion + recon.timings.colour + recon.timings.grid, export: exportMs, 'total ICT': total, 'total default': totalDefault };
    for (const [k, v] of Object.entries(row)) t[k].push(v);
  }
  for (const c of cols) sums[c].push(median(t[c]));
  log(`| ${path.replace(/^.*\/(photos|fixtures)\//, '')} | ${cols.map((c) => `${fmt(median(t[c]))} / ${fmt(p95(t[c]))}`).join(' | ')} |`);
}
await landmarker.close();
log('');
log(`Model: ${ICT_SOURCE_LABEL}.`);
log(`Cells are median / p95 in ms over ${RUNS} runs (2 warm-up), single-threaded, 1024 face tile + 512 back-of-head tile, colour normalisation on. "fit 468 (pose)" is the default path's geometry stage (Procrustes pose + iris scale: the only fit the 468-point default has); "fit ICT" is fitMorphableModel alone on the 468 correspondences (pose, identity and expression weights, convergence 1e-3 or 80 alternations); "geometry+fit" includes the default geometry stage it starts from. "export" is PNG encodes (libuv pool, the painted eye texture included) + OBJ + GLB with morph targets + preview render. Start-up: ${fmt(startup)} ms (model and texel maps built from the loaded pack).`);
const ratio = median(sums['total ICT']) / median(sums['total default']);
log(`Median fit: ${fmt(median(sums['fit ICT']))} ms (target <= 30 ms). Full-head bake (bake + completion + colour + grid, both tiles): ${fmt(median(sums['full-head bake']))} ms (the core's budget for everything after landmarks: 150 ms). Full-head reconstruction after landmarks: ${fmt(median(sums['total ICT']))} ms, ${ratio.toFixed(2)}x the default path's ${fmt(median(sums['total default']))} ms.`);
log(`Machine: ${await machineLine()}.`);
if (values.write) writeResultsSection('morph', 'Full head, model=ict (`npm run bench:morph`)', lines);
