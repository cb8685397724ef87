/**
 * npm run models:ict -- <FaceXModel dir> [--out models/build/ict]
 * Builds the ICT-FaceKit pack (model-pack.ts) from the public repository's FaceXModel folder: the
 * neutral mesh, identityNNN.obj modes and ARKit-named expression meshes, all in one topology.
 * Fails, naming the file, on a folder that is not ICT-FaceKit or whose meshes disagree in topology.
 * The MIT licence of ICT-FaceKit is copied next to the derived files.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseObj, triangulate, type ObjMesh } from '../src/obj-reader';
import { PACK_FORMAT, PACK_VERSION, type PackManifest } from '../src/model-pack';

export class PackError extends Error {
  override name = 'PackError';
}

const bytes = (a: Float32Array | Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function sameTopology(a: ObjMesh, b: ObjMesh): boolean {
  if (a.positions.length !== b.positions.length || a.faceV.length !== b.faceV.length || a.faceSizes.length !== b.faceSizes.length) return false;
  for (let i = 0; i < a.faceV.length; i++) if (a.faceV[i] !== b.faceV[i]) return false;
  return true;
}

export function buildIctPack(dir: string, out: string): PackManifest {
  const need = ['generic_neutral_mesh.obj', 'vertex_indices.json', 'LICENSE'];
  for (const f of need) if (!existsSync(join(dir, f))) throw new PackError(`${dir} is not an ICT-FaceKit FaceXModel folder: ${f} is missing`);
  const indices = JSON.parse(readFileSync(join(dir, 'vertex_indices.json'), 'utf8')) as { expressions?: string[]; idx_to_landmark_verts?: number[] };
  if (!Array.isArray(indices.expressions)) throw new PackError(`${dir}/vertex_indices.json has no "expressions" list`);
  const neutral = parseObj(readFileSync(join(dir, 'generic_neutral_mesh.obj'), 'utf8'), 'generic_neutral_mesh.obj');
  const n = neutral.positions.length / 3;
  if (n < 1000 || neutral.faceSizes.length === 0) throw new PackError('generic_neutral_mesh.obj has no usable mesh');

  const load = (file: string) => {
    const m = parseObj(readFileSync(join(dir, file), 'utf8'), file);
    if (!sameTopology(neutral, m)) throw new PackError(`${file} does not share the neutral mesh's topology (${m.positions.length / 3} vertices, ${m.faceSizes.length} faces vs ${n}, ${neutral.faceSizes.length})`);
    const d = new Float32Array(n * 3);
    for (let i = 0; i < d.length; i++) d[i] = m.positions[i] - neutral.positions[i];
    return d;
  };
  const files = readdirSync(dir);
  const identityFiles = files.filter((f) => /^identity\d{3}\.obj$/.test(f)).sort();
  const expressionNames = indices.expressions.filter((e) => files.includes(`${e}.obj`));
  if (identityFiles.length === 0 && expressionNames.length === 0) throw new PackError(`${dir} has neither identity nor expression meshes`);

  const stack = (list: string[]) => {
    const all = new Float32Array(list.length * n * 3);
    list.forEach((f, k) => all.set(load(f), k * n * 3));
    return all;
  };
  const identity = stack(identityFiles);
  const expression = stack(expressionNames.map((e) => `${e}.obj`));
  const { triangles, uvTriangles } = triangulate(neutral);

  const tmp = `${out}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, 'mean.f32'), bytes(neutral.positions));
  writeFileSync(join(tmp, 'identity.f32'), bytes(identity));
  writeFileSync(join(tmp, 'expression.f32'), bytes(expression));
  writeFileSync(join(tmp, 'triangles.u32'), bytes(triangles));
  writeFileSync(join(tmp, 'uv_triangles.u32'), bytes(uvTriangles));
  writeFileSync(join(tmp, 'uvs.f32'), bytes(neutral.uvs));
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
    files: { mean: 'mean.f32', triangles: 'triangles.u32', uvTriangles: 'uv_triangles.u32', uvs: 'uvs.f32', licence: 'LICENSE' },
    parts: { face: [0, Math.min(n, 9409)], head: [0, n] },
    ...(Array.isArray(indices.idx_to_landmark_verts) && indices.idx_to_landmark_verts.length === 68 ? { landmarks68: indices.idx_to_landmark_verts } : {}),
    correspondence468: null,
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
    console.log(`ict pack -> ${out}: ${m.vertexCount} vertices, ${m.triangleCount} triangles, ${m.uvCount} UVs, ${m.identity.count} identity modes, ${m.expression.count} expressions (${(performance.now() - t0).toFixed(0)} ms)`);
  } catch (err) {
    console.error(err instanceof PackError ? `models:ict: ${err.message}` : err);
    process.exit(1);
  }
}
