/**
 * Where the face models live and what they are. The catalog is data (models/catalog.json); converted
 * ONNX files are built into models/build/ by `npm run models:build` and never committed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import catalog from '../catalog.json';

export type FaceModelId = keyof typeof catalog.models;
export const FACE_MODEL_IDS = Object.keys(catalog.models) as FaceModelId[];
export const MODEL_CATALOG = catalog;

const MODELS_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const MODELS_BUILD_DIR = process.env.FACERECON_MODELS_DIR ?? join(MODELS_ROOT, 'build');

/** Where `npm run models:ict` writes the ICT-FaceKit pack by default. */
export function ictPackDir(dir = MODELS_BUILD_DIR): string {
  return join(dir, 'ict');
}

export function onnxModelPath(id: FaceModelId, dir = MODELS_BUILD_DIR): string {
  return join(dir, `${id}.onnx`);
}

/** The canonical face data built from @mediapipe/face_mesh (see canonical-face.ts). */
export function canonicalFacePath(dir = MODELS_BUILD_DIR): string {
  return join(dir, 'canonical-face.json');
}

/** Finds an installed package's folder by walking up node_modules, as Node's resolver would. */
export function findPackageDir(pkg: string, from = MODELS_ROOT): string {
  let dir = from;
  for (;;) {
    const candidate = join(dir, 'node_modules', pkg);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`package ${pkg} is not installed (run npm ci)`);
    dir = parent;
  }
}

/** Path of the original TF.js model.json for a model, checked against the pinned package version. */
export function tfjsModelJsonPath(id: FaceModelId): string {
  const dir = findPackageDir(catalog.source.package);
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  if (version !== catalog.source.version) {
    throw new Error(`${catalog.source.package} is ${version}, catalog pins ${catalog.source.version}`);
  }
  return join(dir, catalog.source.folder, catalog.models[id].files[0]);
}

/** ONNX output name -> TF node name, as the catalog declares. */
export function catalogOutputs(id: FaceModelId): Record<string, string> {
  const outs = catalog.models[id].outputs as Record<string, { tf: string }>;
  return Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, v.tf]));
}
