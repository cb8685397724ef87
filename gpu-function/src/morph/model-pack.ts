/**
 * Loads a morphable-model pack (models/src/model-pack.ts) into typed arrays, in millimetres. Fails at
 * once, naming the file, when the pack is missing, of another format version, or inconsistent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACK_FORMAT, PACK_VERSION, type PackManifest } from '@facerecon/models/model-pack';
import { solveSymmetricPositiveDefinite } from '../recon/linalg';

export interface MorphableModel {
  manifest: PackManifest;
  /** n x 3, mm. */
  mean: Float32Array;
  /** identity.count x n x 3 offsets, mm. */
  identity: Float32Array;
  /** expression.count x n x 3 offsets, mm. */
  expression: Float32Array;
  triangles: Uint32Array;
  /** Per triangle corner: its UV index (UV seams have their own indices). */
  uvTriangles: Uint32Array;
  /** uvCount x 2, v up as in the OBJ. */
  uvs: Float32Array;
  /** Per triangle: index into manifest.materials. */
  triangleMaterials: Uint16Array;
  /** The 468-point landmarks the model surface carries: landmark ids, and 3 vertices + barycentrics each. */
  correspondence: { landmarks: Uint32Array; vertices: Uint32Array; barycentric: Float32Array };
}

export class ModelPackError extends Error {
  override name = 'ModelPackError';
}

export function loadModelPack(dir: string): MorphableModel {
  const mf = join(dir, 'manifest.json');
  if (!existsSync(mf)) throw new ModelPackError(`${mf} is missing (build the pack: npm run models:ict -- <FaceXModel dir>)`);
  let manifest: PackManifest;
  try {
    manifest = JSON.parse(readFileSync(mf, 'utf8')) as PackManifest;
  } catch (err) {
    throw new ModelPackError(`${mf} is not valid JSON (rebuild the pack: npm run models:ict -- <FaceXModel dir>): ${(err as Error).message}`);
  }
  if (manifest.format !== PACK_FORMAT || manifest.version !== PACK_VERSION) throw new ModelPackError(`${mf}: pack ${manifest.format} v${manifest.version}, this build reads ${PACK_FORMAT} v${PACK_VERSION}: rebuild it with npm run models:ict -- <FaceXModel dir>`);
  const n = manifest.vertexCount;
  const f32 = (file: string, count: number) => {
    const b = readFileSync(join(dir, file));
    if (b.byteLength !== count * 4) throw new ModelPackError(`${file}: ${b.byteLength} bytes, expected ${count * 4}`);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const k = manifest.mmPerUnit;
  if (!(k > 0)) throw new ModelPackError(`${mf}: mmPerUnit must be a positive number`);
  const scale = (a: Float32Array) => (k === 1 ? a : a.map((v) => v * k));
  const u32 = (file: string, count: number) => {
    const b = readFileSync(join(dir, file));
    if (b.byteLength !== count * 4) throw new ModelPackError(`${file}: ${b.byteLength} bytes, expected ${count * 4}`);
    return new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const triangles = u32(manifest.files.triangles, manifest.triangleCount * 3);
  const uvTriangles = u32(manifest.files.uvTriangles, manifest.triangleCount * 3);
  const uvs = f32(manifest.files.uvs, manifest.uvCount * 2);
  const mb = readFileSync(join(dir, manifest.files.triangleMaterials));
  if (mb.byteLength !== manifest.triangleCount * 2) throw new ModelPackError(`${manifest.files.triangleMaterials}: ${mb.byteLength} bytes, expected ${manifest.triangleCount * 2}`);
  const triangleMaterials = new Uint16Array(mb.buffer.slice(mb.byteOffset, mb.byteOffset + mb.byteLength));
  if (triangleMaterials.some((x) => x >= manifest.materials.length)) throw new ModelPackError(`${manifest.files.triangleMaterials}: material index out of range`);
  const c = manifest.correspondence468;
  const pairs = u32(c.file, c.count * 2);
  const barycentric = f32(c.barycentrics, c.count * 3);
  const landmarks = new Uint32Array(c.count);
  const vertices = new Uint32Array(c.count * 3);
  for (let i = 0; i < c.count; i++) {
    landmarks[i] = pairs[2 * i];
    if (landmarks[i] >= 468 || pairs[2 * i + 1] >= manifest.triangleCount) throw new ModelPackError(`${c.file}: entry ${i} out of range`);
    for (let j = 0; j < 3; j++) vertices[3 * i + j] = triangles[3 * pairs[2 * i + 1] + j];
  }
  for (let i = 0; i < triangles.length; i++) if (triangles[i] >= n || uvTriangles[i] >= manifest.uvCount) throw new ModelPackError(`${manifest.files.triangles}: index out of range at ${i}`);
  const mean = scale(f32(manifest.files.mean, n * 3));
  const identity = scale(f32(manifest.identity.file, manifest.identity.count * n * 3));
  const expression = scale(f32(manifest.expression.file, manifest.expression.count * n * 3));
  // Identity modes lose their similarity part (the pose owns it); expressions stay the artist's
  // blendshapes, local and exactly zero where they do not act, as a rig consuming the weights expects.
  removeSimilarityComponents(mean, identity, manifest.identity.count);
  return { manifest, mean, identity, expression, triangles, uvTriangles, uvs, triangleMaterials, correspondence: { landmarks, vertices, barycentric } };
}

/**
 * Removes from each mode (in place) its least-squares infinitesimal similarity motion over all
 * vertices, d ~ t + w x p + s p (p relative to the mean's centroid). A basis that can translate,
 * turn or scale the head competes with the pose in a fit (the pose is then not identifiable); after
 * this the modes only change shape, and the fitted pose is the head's.
 */
export function removeSimilarityComponents(mean: Float32Array | Float64Array, modes: Float32Array | Float64Array, count: number): void {
  const n = mean.length / 3;
  const c = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let d = 0; d < 3; d++) c[d] += mean[3 * i + d] / n;
  // Each vertex contributes 3 rows of the 3 x 7 Jacobian J = [I | -[p]x | p].
  const rows = (px: number, py: number, pz: number) => [
    [1, 0, 0, 0, pz, -py, px],
    [0, 1, 0, -pz, 0, px, py],
    [0, 0, 1, py, -px, 0, pz],
  ];
  const JtJ = new Float64Array(49);
  for (let i = 0; i < n; i++) {
    for (const r of rows(mean[3 * i] - c[0], mean[3 * i + 1] - c[1], mean[3 * i + 2] - c[2])) for (let a = 0; a < 7; a++) for (let b = 0; b < 7; b++) JtJ[a * 7 + b] += r[a] * r[b];
  }
  for (let m = 0; m < count; m++) {
    const off = m * n * 3;
    const Jtd = new Float64Array(7);
    for (let i = 0; i < n; i++) {
      const R = rows(mean[3 * i] - c[0], mean[3 * i + 1] - c[1], mean[3 * i + 2] - c[2]);
      for (let d = 0; d < 3; d++) for (let a = 0; a < 7; a++) Jtd[a] += R[d][a] * modes[off + 3 * i + d];
    }
    const x = solveSymmetricPositiveDefinite(JtJ, Jtd, 7);
    for (let i = 0; i < n; i++) {
      const R = rows(mean[3 * i] - c[0], mean[3 * i + 1] - c[1], mean[3 * i + 2] - c[2]);
      for (let d = 0; d < 3; d++) {
        let v = 0;
        for (let a = 0; a < 7; a++) v += R[d][a] * x[a];
        modes[off + 3 * i + d] -= v;
      }
    }
  }
}
