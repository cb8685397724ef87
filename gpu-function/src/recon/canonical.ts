/**
 * The canonical face: MediaPipe's metric mean face (468 vertices, UVs, 898 triangles, Procrustes
 * weights), built into models/build/canonical-face.json by `npm run models:build`.
 *
 * Head frame used throughout the reconstruction: millimetres, right-handed, +Y up, +Z out of the face,
 * +X towards the subject's left (the viewer's right). UV v grows downwards (image rows).
 */
import { existsSync, readFileSync } from 'node:fs';
import { canonicalFacePath } from '@facerecon/models';

export interface CanonicalFace {
  /** 468 x 3, millimetres. */
  positions: Float32Array;
  /** 468 x 2. */
  uvs: Float32Array;
  /** 898 x 3. */
  triangles: Uint32Array;
  /** Procrustes landmark ids and weights (MediaPipe's face-geometry pipeline). */
  procrustesIds: Uint32Array;
  procrustesWeights: Float32Array;
  /** mirror[i]: the vertex at i's position reflected through the x = 0 plane. */
  mirror: Int32Array;
  source: string;
}

export class CanonicalFaceError extends Error {
  override name = 'CanonicalFaceError';
}

export function loadCanonicalFace(path = canonicalFacePath()): CanonicalFace {
  if (!existsSync(path)) throw new CanonicalFaceError(`${path} is missing (run \`npm run models:build\`)`);
  let raw: { positions: number[]; uvs: number[]; triangles: number[]; procrustes: Array<{ id: number; weight: number }>; source: string };
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CanonicalFaceError(`${path} is not valid JSON (rebuild it: npm run models:build): ${(err as Error).message}`);
  }
  if (raw.positions?.length !== 468 * 3 || raw.uvs?.length !== 468 * 2 || raw.triangles?.length !== 898 * 3 || !raw.procrustes?.length) {
    throw new CanonicalFaceError(`${path} is not a 468-vertex, 898-triangle canonical face`);
  }
  if (!raw.positions.every(Number.isFinite) || !raw.uvs.every(Number.isFinite)) throw new CanonicalFaceError(`${path} holds a coordinate that is not a finite number`);
  const positions = Float32Array.from(raw.positions, (v) => v * 10); // cm -> mm
  return {
    positions,
    uvs: Float32Array.from(raw.uvs),
    triangles: Uint32Array.from(raw.triangles),
    procrustesIds: Uint32Array.from(raw.procrustes.map((p) => p.id)),
    procrustesWeights: Float32Array.from(raw.procrustes.map((p) => p.weight)),
    mirror: mirrorMap(positions),
    source: raw.source,
  };
}

/**
 * Left/right correspondence of the topology: each vertex's partner is the vertex nearest its
 * reflection through x = 0. The canonical face is symmetric to within 0.1 mm, so this is exact for
 * it; midline vertices are their own partners.
 */
export function mirrorMap(positions: Float32Array): Int32Array {
  const n = positions.length / 3;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const x = -positions[3 * i];
    const y = positions[3 * i + 1];
    const z = positions[3 * i + 2];
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < n; j++) {
      const d = (positions[3 * j] - x) ** 2 + (positions[3 * j + 1] - y) ** 2 + (positions[3 * j + 2] - z) ** 2;
      if (d < bestD) {
        bestD = d;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}
