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
import { CANONICAL_SOURCE, parseGeometryPipelineMetadata, readPackedFile } from '../src/canonical-face';
import { FACE_MODEL_IDS, MODEL_CATALOG, modelSource, MODELS_BUILD_DIR, canonicalFacePath, catalogOutputs, findPackageDir, onnxModelPath, tfjsModelJsonPath } from '../src/index';

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
      source: `${modelSource(id).package}@${modelSource(id).version}/${modelSource(id).folder}/${spec.files[0]}`,
      licence: modelSource(id).licence,
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

// The canonical face (468 vertices, UVs, 898 triangles, Procrustes weights) as plain JSON data.
{
  const dir = findPackageDir(CANONICAL_SOURCE.package);
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const face = parseGeometryPipelineMetadata(readPackedFile(dir, CANONICAL_SOURCE.file));
  if (face.positions.length !== 468 * 3 || face.triangles.length !== 898 * 3) {
    throw new Error(`canonical face has ${face.positions.length / 3} vertices and ${face.triangles.length / 3} triangles, expected 468 and 898`);
  }
  const out = canonicalFacePath();
  const json = JSON.stringify({
    source: `${CANONICAL_SOURCE.package}@${version}/${CANONICAL_SOURCE.data}:${CANONICAL_SOURCE.file}`,
    licence: 'Apache-2.0 (Google MediaPipe)',
    units: 'centimetres; right-handed, +Y up, +Z out of the face, +X towards the subject\'s left; UV v grows downwards (image rows)',
    ...face,
  });
  writeFileSync(`${out}.tmp`, json);
  renameSync(`${out}.tmp`, out);
  console.log(`models: canonical face -> ${out} (${face.positions.length / 3} vertices, ${face.triangles.length / 3} triangles)`);
}
