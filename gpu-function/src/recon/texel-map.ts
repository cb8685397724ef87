import { EDGE_TOLERANCE, setupTriangle } from './raster-kernel';

/**
 * Which triangle covers each texel of a UV layout, with barycentrics. The layout is fixed per topology,
 * so the map is computed once at start-up and every bake only walks the covered texels.
 *
 * Texel (x, y) has its centre at UV ((x + 0.5) / size, (y + 0.5) / size), v growing downwards.
 */
export interface TexelMap {
  size: number;
  /** Covered texel indices (y * size + x), in raster order. */
  texels: Int32Array;
  /** Per covered texel: its triangle and the barycentric weights of the triangle's 2nd and 3rd corners. */
  triangle: Int32Array;
  b1: Float32Array;
  b2: Float32Array;
  /** size*size: 1 where a triangle covers the texel centre. */
  covered: Uint8Array;
}

/**
 * rasterizeUvTriangles: point-sampled coverage of texel centres by the project's one raster rule
 * (raster-kernel.ts, EDGE_TOLERANCE); a texel on a shared edge goes to the first triangle listing it.
 */
export function rasterizeUvTriangles(uvs: Float32Array, indices: Uint32Array, size: number): TexelMap {
  const owner = new Int32Array(size * size).fill(-1);
  const B1 = new Float32Array(size * size);
  const B2 = new Float32Array(size * size);
  for (let t = 0; t < indices.length / 3; t++) {
    const a = indices[3 * t], b = indices[3 * t + 1], c = indices[3 * t + 2];
    const ax = uvs[2 * a] * size, ay = uvs[2 * a + 1] * size;
    const bx = uvs[2 * b] * size, by = uvs[2 * b + 1] * size;
    const cx = uvs[2 * c] * size, cy = uvs[2 * c + 1] * size;
    const tri = setupTriangle(ax, ay, bx, by, cx, cy, size, size);
    if (!tri) continue;
    for (let y = tri.y0; y <= tri.y1; y++) {
      const py = y + 0.5;
      for (let x = tri.x0; x <= tri.x1; x++) {
        const i = y * size + x;
        if (owner[i] >= 0) continue;
        const px = x + 0.5;
        const w1 = ((px - ax) * (cy - ay) - (py - ay) * (cx - ax)) * tri.inv;
        const w2 = ((bx - ax) * (py - ay) - (by - ay) * (px - ax)) * tri.inv;
        if (w1 < -EDGE_TOLERANCE || w2 < -EDGE_TOLERANCE || 1 - w1 - w2 < -EDGE_TOLERANCE) continue;
        owner[i] = t;
        B1[i] = w1;
        B2[i] = w2;
      }
    }
  }
  let count = 0;
  for (let i = 0; i < owner.length; i++) if (owner[i] >= 0) count++;
  const texels = new Int32Array(count);
  const triangle = new Int32Array(count);
  const b1 = new Float32Array(count);
  const b2 = new Float32Array(count);
  const covered = new Uint8Array(size * size);
  let k = 0;
  for (let i = 0; i < owner.length; i++) {
    if (owner[i] < 0) continue;
    texels[k] = i;
    triangle[k] = owner[i];
    b1[k] = B1[i];
    b2[k] = B2[i];
    covered[i] = 1;
    k++;
  }
  return { size, texels, triangle, b1, b2, covered };
}

/** A per-vertex value (e.g. a layout region) at each covered texel of `map`, by its barycentrics. */
export function interpolateAtTexels(map: TexelMap, indices: Uint32Array, perVertex: Float32Array): Float32Array {
  const out = new Float32Array(map.texels.length);
  for (let k = 0; k < out.length; k++) {
    const t = 3 * map.triangle[k];
    const w1 = map.b1[k], w2 = map.b2[k];
    out[k] = (1 - w1 - w2) * perVertex[indices[t]] + w1 * perVertex[indices[t + 1]] + w2 * perVertex[indices[t + 2]];
  }
  return out;
}

/**
 * Per chart texel of `grid` (a coarser raster of a chart), the offset of its centre's texel in a size x
 * size raster of the same chart (the bake, the texture): the same for every request on a layout, so
 * kept per map and size.
 */
const centreCache = new WeakMap<TexelMap, Map<number, Int32Array>>();
export function centreOffsets(grid: TexelMap, size: number): Int32Array {
  let bySize = centreCache.get(grid);
  if (!bySize) centreCache.set(grid, (bySize = new Map()));
  let at = bySize.get(size);
  if (!at) bySize.set(size, (at = computeCentreOffsets(grid.texels, grid.size, size)));
  return at;
}

function computeCentreOffsets(texels: Int32Array, gridSize: number, size: number): Int32Array {
  const f = size / gridSize;
  const at = new Int32Array(texels.length);
  for (let k = 0; k < texels.length; k++) {
    const i = texels[k], gx = i % gridSize, gy = (i - gx) / gridSize;
    at[k] = Math.floor((gy + 0.5) * f) * size + Math.floor((gx + 0.5) * f);
  }
  return at;
}
