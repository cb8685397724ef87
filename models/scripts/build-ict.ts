/**
 * npm run models:ict -- <FaceXModel dir> [--out models/build/ict]
 * Builds the ICT-FaceKit pack (model-pack.ts) from the public repository's FaceXModel folder: the
 * neutral mesh, identityNNN.obj modes and ARKit-named expression meshes, all in one topology.
 * Fails, naming the file, on a folder that is not ICT-FaceKit or whose meshes disagree in topology.
 * The MIT licence of ICT-FaceKit is copied next to the derived files.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseObj, triangulate, type ObjMesh } from '../src/obj-reader';
import { PACK_FORMAT, PACK_VERSION, type PackManifest } from '../src/model-pack';
import { IBUG68_TO_MEDIAPIPE, embedLandmarksOnSurface } from '../src/correspondence';
import { canonicalFacePath } from '../src/index';

/**
 * ICT-FaceKit's head parts as vertex ranges [start, end) (its README; each range is one or more
 * connected components of the neutral mesh, checked when this was written).
 */
export const ICT_PARTS: Record<string, [number, number]> = {
  face: [0, 9409],
  headNeck: [9409, 11248],
  mouthSocket: [11248, 13294],
  eyeSockets: [13294, 14062],
  gumsTongue: [14062, 17039],
  teeth: [17039, 21451],
  eyeballLeft: [21451, 23021],
  eyeballRight: [23021, 24591],
  lacrimalFluid: [24591, 24999],
  eyeBlend: [24999, 25047],
  eyeOcclusion: [25047, 25351],
  eyelashes: [25351, 26719],
};
const ICT_VERTEX_COUNT = 26719;
/** Largest accepted snap of a warped MediaPipe point onto the ICT face (cm): every canonical point lands within 0.7. */
const CORRESPONDENCE_MAX_CM = 1;

/**
 * The 468 <-> ICT correspondence: MediaPipe's canonical face warped onto the ICT neutral face through
 * the iBUG-68 points both define (ICT lists its own in vertex_indices.json), then snapped to the face
 * part's triangles. Returns full-mesh triangle indices.
 */
export function ictCorrespondence(mean: Float32Array, triangles: Uint32Array, landmarks68: number[], canonicalPositions: ArrayLike<number>) {
  const [f0, f1] = ICT_PARTS.face;
  const faceTris: number[] = [];
  const faceIds: number[] = [];
  for (let t = 0; t < triangles.length / 3; t++) {
    const a = triangles[3 * t], b = triangles[3 * t + 1], c = triangles[3 * t + 2];
    if (a >= f0 && a < f1 && b >= f0 && b < f1 && c >= f0 && c < f1) {
      faceTris.push(a, b, c);
      faceIds.push(t);
    }
  }
  const e = embedLandmarksOnSurface({
    source: canonicalPositions,
    target: mean,
    triangles: faceTris,
    anchors: IBUG68_TO_MEDIAPIPE.map(([i, m]) => [m, landmarks68[i]] as const),
    maxDistance: CORRESPONDENCE_MAX_CM,
  });
  return { ...e, triangle: e.triangle.map((t) => faceIds[t]) };
}

export class PackError extends Error {
  override name = 'PackError';
}

const bytes = (a: Float32Array | Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function sameTopology(a: ObjMesh, b: ObjMesh): boolean {
  if (a.positions.length !== b.positions.length || a.faceV.length !== b.faceV.length || a.faceSizes.length !== b.faceSizes.length) return false;
  for (let i = 0; i < a.faceV.length; i++) if (a.faceV[i] !== b.faceV[i]) return false;
  return true;
}

/**
 * A mesh of the folder, as the public repository stores it (`name.obj`) or gzip-compressed
 * (`name.obj.gz`, how the full model is handed around): one converter for both.
 */
function objText(dir: string, file: string): string {
  if (existsSync(join(dir, file))) return readFileSync(join(dir, file), 'utf8');
  return gunzipSync(readFileSync(join(dir, `${file}.gz`))).toString('utf8');
}

export function buildIctPack(dir: string, out: string): PackManifest {
  const hasObj = (f: string) => existsSync(join(dir, f)) || existsSync(join(dir, `${f}.gz`));
  if (!hasObj('generic_neutral_mesh.obj')) throw new PackError(`${dir} is not an ICT-FaceKit FaceXModel folder: generic_neutral_mesh.obj(.gz) is missing`);
  for (const f of ['vertex_indices.json', 'LICENSE']) if (!existsSync(join(dir, f))) throw new PackError(`${dir} is not an ICT-FaceKit FaceXModel folder: ${f} is missing`);
  const indices = JSON.parse(readFileSync(join(dir, 'vertex_indices.json'), 'utf8')) as { expressions?: string[]; idx_to_landmark_verts?: number[] };
  if (!Array.isArray(indices.expressions)) throw new PackError(`${dir}/vertex_indices.json has no "expressions" list`);
  if (!Array.isArray(indices.idx_to_landmark_verts) || indices.idx_to_landmark_verts.length !== 68) throw new PackError(`${dir}/vertex_indices.json has no 68-point "idx_to_landmark_verts" list`);
  const landmarks68 = indices.idx_to_landmark_verts;
  const canonicalFile = canonicalFacePath();
  if (!existsSync(canonicalFile)) throw new PackError(`${canonicalFile} is missing: run npm run models:build first (the correspondence needs MediaPipe's canonical face)`);
  const neutral = parseObj(objText(dir, 'generic_neutral_mesh.obj'), 'generic_neutral_mesh.obj');
  const n = neutral.positions.length / 3;
  if (n !== ICT_VERTEX_COUNT || neutral.faceSizes.length === 0) throw new PackError(`generic_neutral_mesh.obj has ${n} vertices; ICT-FaceKit's topology has ${ICT_VERTEX_COUNT}`);

  const load = (file: string) => {
    const m = parseObj(objText(dir, file), file);
    if (!sameTopology(neutral, m)) throw new PackError(`${file} does not share the neutral mesh's topology (${m.positions.length / 3} vertices, ${m.faceSizes.length} faces vs ${n}, ${neutral.faceSizes.length})`);
    const d = new Float32Array(n * 3);
    for (let i = 0; i < d.length; i++) d[i] = m.positions[i] - neutral.positions[i];
    return d;
  };
  const files = readdirSync(dir).map((f) => f.replace(/\.gz$/, ''));
  const identityFiles = files.filter((f) => /^identity\d{3}\.obj$/.test(f)).sort();
  // vertex_indices.json lists 53 ARKit-style shapes; the folder also holds shapes it does not list
  // (cheekRaiser_L/_R, PupilDilate_L/_R), kept after them under their own names.
  const listed = indices.expressions.filter((e) => files.includes(`${e}.obj`));
  const unlisted = files.filter((f) => f.endsWith('.obj') && f !== 'generic_neutral_mesh.obj' && !/^identity\d{3}\.obj$/.test(f) && !indices.expressions!.includes(f.replace(/\.obj$/, ''))).map((f) => f.replace(/\.obj$/, '')).sort();
  const expressionNames = [...listed, ...unlisted];
  if (identityFiles.length === 0 && expressionNames.length === 0) throw new PackError(`${dir} has neither identity nor expression meshes`);

  const stack = (list: string[]) => {
    const all = new Float32Array(list.length * n * 3);
    list.forEach((f, k) => all.set(load(f), k * n * 3));
    return all;
  };
  const identity = stack(identityFiles);
  const expression = stack(expressionNames.map((e) => `${e}.obj`));
  const { triangles, uvTriangles, triangleMaterials } = triangulate(neutral);
  const canonical = JSON.parse(readFileSync(canonicalFile, 'utf8')) as { positions: number[] };
  const corr = ictCorrespondence(neutral.positions, triangles, landmarks68, canonical.positions);
  const corrIndex = new Uint32Array(corr.source.length * 2);
  corr.source.forEach((s, k) => corrIndex.set([s, corr.triangle[k]], 2 * k));
  const sortedDist = [...corr.distance].sort((a, b) => a - b);

  const tmp = `${out}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'mean.f32'), bytes(neutral.positions));
  writeFileSync(join(tmp, 'identity.f32'), bytes(identity));
  writeFileSync(join(tmp, 'expression.f32'), bytes(expression));
  writeFileSync(join(tmp, 'triangles.u32'), bytes(triangles));
  writeFileSync(join(tmp, 'uv_triangles.u32'), bytes(uvTriangles));
  writeFileSync(join(tmp, 'uvs.f32'), bytes(neutral.uvs));
  writeFileSync(join(tmp, 'triangle_materials.u16'), new Uint8Array(triangleMaterials.buffer, triangleMaterials.byteOffset, triangleMaterials.byteLength));
  writeFileSync(join(tmp, 'correspondence468.u32'), bytes(corrIndex));
  writeFileSync(join(tmp, 'correspondence468.f32'), bytes(corr.barycentric));
  copyFileSync(join(dir, 'LICENSE'), join(tmp, 'LICENSE'));
  const manifest: PackManifest = {
    format: PACK_FORMAT,
    version: PACK_VERSION,
    name: 'ict-facekit',
    kind: 'ict-facekit',
    source: 'ICT-VGL/ICT-FaceKit, FaceXModel/',
    licence: 'MIT (USC Institute for Creative Technologies); see LICENSE',
    units: 'centimetres, as in the source OBJ files',
    mmPerUnit: 10,
    vertexCount: n,
    uvCount: neutral.uvs.length / 2,
    triangleCount: triangles.length / 3,
    identity: { count: identityFiles.length, file: 'identity.f32', names: identityFiles.map((f) => f.replace(/\.obj$/, '')) },
    expression: { count: expressionNames.length, file: 'expression.f32', names: expressionNames },
    files: { mean: 'mean.f32', triangles: 'triangles.u32', uvTriangles: 'uv_triangles.u32', uvs: 'uvs.f32', triangleMaterials: 'triangle_materials.u16', licence: 'LICENSE' },
    materials: neutral.materials,
    parts: ICT_PARTS,
    landmarks68,
    correspondence468: {
      count: corr.source.length,
      file: 'correspondence468.u32',
      barycentrics: 'correspondence468.f32',
      maxDistanceMm: Math.round(sortedDist.at(-1)! * 10 * 100) / 100,
      medianDistanceMm: Math.round(sortedDist[sortedDist.length >> 1] * 10 * 100) / 100,
    },
  };
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2));
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out); // never a half-written pack where the service looks
  return manifest;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
  const dir = positionals[0];
  if (!dir) {
    console.error('usage: npm run models:ict -- <FaceXModel dir> [--out models/build/ict]');
    process.exit(1);
  }
  try {
    const t0 = performance.now();
    const out = resolve(values.out ?? join(import.meta.dirname, '../build/ict'));
    const m = buildIctPack(resolve(dir), out);
    console.log(`ict pack -> ${out}: ${m.vertexCount} vertices, ${m.triangleCount} triangles, ${m.uvCount} UVs, ${m.identity.count} identity modes, ${m.expression.count} expressions, ${m.correspondence468.count}/468 landmarks embedded (median snap ${m.correspondence468.medianDistanceMm} mm) (${(performance.now() - t0).toFixed(0)} ms)`);
  } catch (err) {
    console.error(err instanceof PackError ? `models:ict: ${err.message}` : err);
    process.exit(1);
  }
}
