/**
 * npm run bench:formats [-- --write]
 * Size and export time of every asset format, for the default face and (when ../shared has it) the
 * full ICT head, on the project's astronaut photo. --write records the table in bench/RESULTS.md.
 */
import { parseArgs } from 'node:util';
import { ASSET_FILES, type AssetKind } from '@facerecon/shared';
import { readImageFile } from '../gpu-function/src/adapters/image-io';
import { exportAssets, type ExportTimings } from '../gpu-function/src/core/export';
import type { FaceModel } from '../gpu-function/src/core/face-model';
import { reconstructFace } from '../gpu-function/src/core/reconstruct';
import { ModelRegistry } from '../gpu-function/src/core/registry';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { createIctFaceModel } from '../gpu-function/src/face-models/ict';
import { createMediaPipeFaceModel } from '../gpu-function/src/face-models/mediapipe';
import { loadModelPack } from '../gpu-function/src/morph/model-pack';
import { ICT_SOURCE_LABEL, hasIct, ictTestPack } from '../scripts/lib/ict-pack';
import { fmt, machineLine, median } from './stats';
import { resultsLog, writeResultsSection } from './results-file';

const { values } = parseArgs({ options: { write: { type: 'boolean', default: false } } });
const RUNS = 5;
const mediapipe = createMediaPipeFaceModel();
const models: Array<[string, FaceModel]> = [['mediapipe (default face)', mediapipe]];
if (hasIct) models.push([`ict: ${ICT_SOURCE_LABEL}`, createIctFaceModel({ pack: loadModelPack(ictTestPack()), canonical: mediapipe.canonical })]);
else console.warn('ICT-FaceKit not found in ../shared: the full head is not measured');

const { image } = await readImageFile('.cache/fixtures/astronaut.png');
const landmarker = await createFaceLandmarker();
const lm = await landmarker.landmarks(image);
await landmarker.close();
if (!lm.ok) throw new Error(lm.code);

const { lines, log } = resultsLog();
const kinds: AssetKind[] = ['glb', 'glb_optimized', 'usdz', 'obj', 'texture', 'texture_head', 'texture_grid', 'preview'];
const timeOf: Partial<Record<AssetKind, keyof ExportTimings>> = { glb: 'glb', glb_optimized: 'glbOptimized', usdz: 'usdz', obj: 'obj' };
log(`| model | ${kinds.map((k) => `\`${ASSET_FILES[k].file}\``).join(' | ')} |`);
log(`|---|${kinds.map(() => '---').join('|')}|`);
for (const [label, model] of models) {
  const recon = reconstructFace(new ModelRegistry([model]).get(model.name), image, lm.face, { uvSize: 1024 });
  const times: Record<string, number[]> = {};
  let files: Partial<Record<AssetKind, Uint8Array>> = {};
  for (let i = 0; i < RUNS + 1; i++) {
    const out = await exportAssets(model, recon.head, recon.textures, { result: {}, usdz: true, glbOptimized: true });
    files = out.files;
    if (i === 0) continue; // warm-up
    for (const [k, v] of Object.entries(out.timings)) (times[k] ??= []).push(v);
  }
  const cell = (k: AssetKind) => {
    const f = files[k];
    if (!f) return 'n/a';
    const t = timeOf[k] ? `, ${fmt(median(times[timeOf[k]!]))} ms` : '';
    return `${(f.length / 1e6).toFixed(2)} MB${t}`;
  };
  log(`| ${label} | ${kinds.map(cell).join(' | ')} |`);
}
log('');
log(`Sizes on the astronaut photo at uv_size 1024; times are the median export time of that format over ${RUNS} runs (PNG textures and previews: \`png\`/\`preview\` in timings_ms, shared by all formats). glb_optimized = KHR_mesh_quantization + EXT_meshopt_compression + WebP (q 90), made from the plain GLB.`);
log(`Machine: ${await machineLine()}.`);
if (values.write) writeResultsSection('formats', 'Asset sizes and export times per format (`npm run bench:formats`)', lines);
