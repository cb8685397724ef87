/**
 * The one raster rule: a square split into many triangles (shared edges, T-free) is covered without a
 * crack, and the texel map, the bake's depth buffer and the preview renderer agree on which pixel
 * centres a triangle covers.
 */
import { describe, expect, it } from 'vitest';
import { depthBuffer } from '../../src/recon/bake';
import { EDGE_TOLERANCE, setupTriangle } from '../../src/recon/raster-kernel';
import { renderMesh } from '../../src/recon/render';
import { rasterizeUvTriangles } from '../../src/recon/texel-map';

/** An n x n grid of jittered vertices over [0.1, 0.9]^2, each cell split into two triangles. */
function jitteredGrid(n: number) {
  const uvs = new Float32Array((n + 1) * (n + 1) * 2);
  let seed = 3;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.6;
  for (let y = 0; y <= n; y++) {
    for (let x = 0; x <= n; x++) {
      const inner = x > 0 && y > 0 && x < n && y < n;
      uvs[2 * (y * (n + 1) + x)] = 0.1 + (0.8 * (x + (inner ? rnd() : 0))) / n;
      uvs[2 * (y * (n + 1) + x) + 1] = 0.1 + (0.8 * (y + (inner ? rnd() : 0))) / n;
    }
  }
  const idx: number[] = [];
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const a = y * (n + 1) + x, b = a + 1, c = a + n + 1, d = c + 1;
      idx.push(a, c, b, b, c, d);
    }
  }
  return { uvs, indices: Uint32Array.from(idx) };
}

describe('raster kernel', () => {
  it('covers a tiled square with no crack: every texel centre inside it belongs to exactly one triangle', () => {
    const { uvs, indices } = jitteredGrid(12);
    const size = 256;
    const map = rasterizeUvTriangles(uvs, indices, size);
    const lo = Math.ceil(0.1 * size), hi = Math.floor(0.9 * size) - 1;
    let missing = 0;
    for (let y = lo; y <= hi; y++) for (let x = lo; x <= hi; x++) if (!map.covered[y * size + x]) missing++;
    expect(missing).toBe(0);
    expect(map.texels.length).toBeLessThanOrEqual((hi - lo + 3) ** 2);
  });

  it('setupTriangle: degenerate and off-target triangles are refused; barycentrics step by d1x, d2x', () => {
    expect(setupTriangle(0, 0, 1, 1, 2, 2, 10, 10)).toBeUndefined();
    expect(setupTriangle(20, 20, 30, 20, 20, 30, 10, 10)).toBeUndefined();
    const t = setupTriangle(0, 0, 8, 0, 0, 8, 10, 10)!;
    const l1 = (px: number, py: number) => ((px - 0) * (8 - 0) - (py - 0) * (0 - 0)) * t.inv;
    expect(l1(3.5, 2.5) - l1(2.5, 2.5)).toBeCloseTo(t.d1x, 12);
    expect(EDGE_TOLERANCE).toBe(1e-5);
  });

  it('the depth buffer and the renderer cover the same pixels the texel map covers', () => {
    const { uvs, indices } = jitteredGrid(6);
    const size = 64;
    const map = rasterizeUvTriangles(uvs, indices, size);
    // The same triangles as a screen-space mesh: pixel coordinates = uv * size, depth 0.
    const n = uvs.length / 2;
    const projected = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      projected[3 * i] = uvs[2 * i] * size;
      projected[3 * i + 1] = uvs[2 * i + 1] * size;
    }
    const zb = depthBuffer(projected, indices, size, size);
    let disagree = 0;
    for (let y = 0; y < zb.height; y++) {
      for (let x = 0; x < zb.width; x++) {
        const gx = x + zb.minX, gy = y + zb.minY;
        if ((zb.buf[y * zb.width + x] > -Infinity ? 1 : 0) !== map.covered[gy * size + gx]) disagree++;
      }
    }
    expect(disagree, 'depth buffer').toBe(0);
    // The renderer in photo mode with an identity camera draws the same pixels (the grid's triangles
    // are wound to face the viewer on the y-down screen).
    const positions = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      positions[3 * i] = projected[3 * i];
      positions[3 * i + 1] = -projected[3 * i + 1];
    }
    const camera = { rotation: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]), origin: [0, 0, 0], pixelsPerMm: 1 };
    const { mask } = renderMesh({ mesh: { positions, uvs, indices, normals: new Float32Array(n * 3).fill(0).map((_, i) => (i % 3 === 2 ? 1 : 0)) }, width: size, height: size, camera: { kind: 'photo', camera: camera as never }, mode: 'flat' });
    let differ = 0;
    for (let i = 0; i < size * size; i++) if (mask[i] !== map.covered[i]) differ++;
    expect(differ, 'renderer').toBe(0);
  });
});
