/**
 * npm run bench [-- --runs 30 --write]
 * Per photo and stage (decode, detect, mesh, iris): median and p95 over N runs of the production
 * landmarker on onnxruntime-node CPU with ONE intra-op thread, then the same three models on tfjs
 * (wasm backend, else cpu) on the same inputs, model-only on both sides, as a ratio.
 * --write replaces bench/RESULTS.md's "models" section with this run's table and machine.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MODEL_CATALOG, catalogOutputs, onnxModelPath, tfjsModelJsonPath, type FaceModelId } from '@facerecon/models';
import { loadReferenceModel, loadTfjs } from '@facerecon/models/reference';
import { readTfGraphModel } from '@facerecon/models/tfjs-graph';
import { decodeImage } from '../gpu-function/src/adapters/image-io';
import { createModelSession } from '../gpu-function/src/adapters/onnx';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { buildPyramid, letterboxRect, sampleRotatedCrop } from '../gpu-function/src/face/raster';
import { segmentationRect } from '../gpu-function/src/face/person-mask';
import { roiFromEyeCorners } from '../gpu-function/src/face/roi';
import { fmt, machineLine, median, p95 } from './stats';
import { resultsLog, writeResultsSection } from './results-file';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, write: { type: 'boolean', default: false } } });
const RUNS = Number(values.runs);
const ROOT = resolve(import.meta.dirname, '..');
const photos = [join(ROOT, '.cache/fixtures/astronaut.png')];
for (const p of ['deep3d/000002.jpg', 'deep3d/015309.jpg', 'deep3d/vd006.png', '3ddfa/JianzhuGuo.jpg']) {
  const f = resolve(ROOT, '../shared/photos', p);
  if (existsSync(f)) photos.push(f);
}

const landmarker = await createFaceLandmarker({ threads: 1 });
const { lines, log } = resultsLog();

log(`| photo | size | decode | detect | mesh (1-2 passes) | iris (2 eyes) | detect+mesh+iris |`);
log(`|---|---|---|---|---|---|---|`);
const modelInputs: Record<FaceModelId, Array<{ data: Float32Array; dims: number[] }>> = { blazeface: [], facemesh: [], iris: [], selfie: [] };
const totals: number[] = [];
for (const path of photos) {
  const bytes = new Uint8Array(readFileSync(path));
  const t: Record<string, number[]> = { decode: [], detect: [], mesh: [], iris: [], total: [] };
  let size = '';
  for (let i = 0; i < RUNS + 3; i++) {
    const t0 = performance.now();
    const { image } = await decodeImage(bytes);
    const decode = performance.now() - t0;
    const r = await landmarker.landmarks(image);
    if (!r.ok) throw new Error(`${path}: ${r.code}`);
    size = `${image.width}x${image.height}`;
    if (i < 3) {
      if (i === 0) {
        const pyr = buildPyramid(image);
        modelInputs.blazeface.push({ data: sampleRotatedCrop(pyr, letterboxRect(image.width, image.height), { size: 256, scale: 2, offset: -1 }), dims: [1, 256, 256, 3] });
        modelInputs.facemesh.push({ data: sampleRotatedCrop(pyr, r.face.roi, { size: 192, scale: 1, offset: 0 }), dims: [1, 192, 192, 3] });
        const p = r.face.points;
        const eye = roiFromEyeCorners([p[99], p[100]], [p[399], p[400]]);
        const one = sampleRotatedCrop(pyr, eye, { size: 64, scale: 1, offset: 0 });
        const two = new Float32Array(one.length * 2);
        two.set(one);
        two.set(one, one.length);
        modelInputs.iris.push({ data: two, dims: [2, 64, 64, 3] });
        modelInputs.selfie.push({ data: sampleRotatedCrop(pyr, segmentationRect(r.face.roi), { size: 256, scale: 1, offset: 0 }), dims: [1, 256, 256, 3] });
      }
      continue; // warm-up
    }
    t.decode.push(decode);
    t.detect.push(r.timings.detect);
    t.mesh.push(r.timings.mesh);
    t.iris.push(r.timings.iris);
    t.total.push(r.timings.detect + r.timings.mesh + r.timings.iris);
  }
  totals.push(median(t.total));
  const cell = (k: string) => `${fmt(median(t[k]))} / ${fmt(p95(t[k]))}`;
  log(`| ${path.replace(/^.*\/(photos|fixtures)\//, '')} | ${size} | ${cell('decode')} | ${cell('detect')} | ${cell('mesh')} | ${cell('iris')} | ${cell('total')} |`);
}
await landmarker.close();
log('');
log(`Cells are median / p95 in ms over ${RUNS} runs after 3 warm-up runs; onnxruntime-node ${ortVersion()} CPU, 1 intra-op thread. Stage times include cropping and decoding the outputs.`);

// Model-only comparison on identical inputs.
let backend: 'wasm' | 'cpu' = 'wasm';
try {
  await loadTfjs('wasm');
} catch (err) {
  backend = 'cpu';
  console.warn(`tfjs wasm backend unavailable (${(err as Error).message}); comparing with tfjs cpu`);
}
log('');
log(`| model | onnxruntime-node median / p95 | tfjs-${backend} median / p95 | tfjs / onnxruntime |`);
log(`|---|---|---|---|`);
for (const id of Object.keys(modelInputs) as FaceModelId[]) {
  const inputs = modelInputs[id];
  const ort = await createModelSession(onnxModelPath(id), { threads: 1 });
  const ref = await loadReferenceModel(readTfGraphModel(tfjsModelJsonPath(id)), catalogOutputs(id), backend);
  const name = MODEL_CATALOG.models[id].input.name;
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const x = inputs[i % inputs.length];
    let t0 = performance.now();
    await ort.run({ [name]: x });
    const ta = performance.now() - t0;
    t0 = performance.now();
    ref.run(x.data, x.dims);
    const tb = performance.now() - t0;
    if (i >= 3) {
      a.push(ta);
      b.push(tb);
    }
  }
  await ort.release();
  ref.dispose();
  log(`| ${id} (${inputs[0].dims.join('x')}) | ${fmt(median(a))} / ${fmt(p95(a))} | ${fmt(median(b))} / ${fmt(p95(b))} | ${(median(b) / median(a)).toFixed(2)}x |`);
}
const machine = await machineLine();
log('');
log(`Median detect+mesh+iris over photos: ${fmt(median(totals))} ms (target < 25 ms on one core).`);
log(`Machine: ${machine}.`);

function ortVersion(): string {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

if (values.write) writeResultsSection('models', 'Face models (`npm run bench`)', lines);
