/**
 * Converts the pinned TF.js face models to ONNX into models/build/ (git-ignored). Runs on install.
 * Skips a model whose sources are unchanged (hash recorded next to the output), so re-runs are cheap.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { convertTfjsGraph } from '../src/convert-tfjs';
import { encodeOnnxModel } from '../src/onnx-graph';
import { readTfGraphModel } from '../src/tfjs-graph';
import { FACE_MODEL_IDS, MODEL_CATALOG, MODELS_BUILD_DIR, catalogOutputs, onnxModelPath, tfjsModelJsonPath } from '../src/index';

const CONVERTER_VERSION = '1';

function sourceHash(jsonPath: string, files: string[]): string {
  const h = createHash('sha256').update(CONVERTER_VERSION);
  for (const f of files) h.update(readFileSync(join(dirname(jsonPath), f)));
  h.update(readFileSync(new URL('../src/convert-tfjs.ts', import.meta.url)));
  return h.digest('hex');
}

mkdirSync(MODELS_BUILD_DIR, { recursive: true });
const force = process.argv.includes('--force');
for (const id of FACE_MODEL_IDS) {
  const spec = MODEL_CATALOG.models[id];
  const jsonPath = tfjsModelJsonPath(id);
  const hash = sourceHash(jsonPath, spec.files);
  const out = onnxModelPath(id);
  const stamp = `${out}.sha256`;
  if (!force && existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) {
    console.log(`models: ${id} up to date`);
    continue;
  }
  const t0 = performance.now();
  const graph = convertTfjsGraph(readTfGraphModel(jsonPath), {
    name: id,
    outputs: catalogOutputs(id),
    metadata: {
      source: `${MODEL_CATALOG.source.package}@${MODEL_CATALOG.source.version}/${MODEL_CATALOG.source.folder}/${spec.files[0]}`,
      licence: MODEL_CATALOG.source.licence,
      converter: `facerecon convert-tfjs v${CONVERTER_VERSION}`,
      source_sha256: hash,
    },
  });
  const bytes = encodeOnnxModel(graph);
  writeFileSync(`${out}.tmp`, bytes);
  renameSync(`${out}.tmp`, out); // never leave a half-written model where the service looks
  writeFileSync(stamp, hash);
  console.log(`models: ${id} -> ${out} (${graph.nodes.length} nodes, ${(bytes.length / 1e6).toFixed(2)} MB, ${(performance.now() - t0).toFixed(0)} ms)`);
}
