/**
 * Small meshes with known geometry and UVs for tests of tangent frames, normal-map exports and the
 * renderer. Frames as everywhere: millimetres, right-handed, +Y up, +Z towards the viewer; UVs with v
 * growing downwards (image rows), as TriMesh's.
 */
import type { TriMesh } from '@facerecon/shared';

export type Mesh = TriMesh & { normals: Float32Array };

/**
 * A square in the z = 0 plane, facing +Z, `size` mm wide, centred on the origin, `cells` x `cells`
 * quads. UVs: u = (x + size/2) / size (increasing with x), v = (size/2 - y) / size (down the image as
 * y goes down), so dP/du = +X * size and dP/dv = -Y * size. `mirrorU` flips u (u = 1 - u), which turns
 * dP/du to -X. Triangles are counter-clockwise seen from +Z.
 */
export function planeMesh(opts: { size?: number; cells?: number; mirrorU?: boolean; uOffset?: number } = {}): Mesh {
  const size = opts.size ?? 100;
  const cells = opts.cells ?? 8;
  const n = (cells + 1) ** 2;
  const positions = new Float32Array(3 * n);
  const normals = new Float32Array(3 * n);
  const uvs = new Float32Array(2 * n);
  for (let j = 0; j <= cells; j++) {
    for (let i = 0; i <= cells; i++) {
      const k = j * (cells + 1) + i;
      const x = -size / 2 + (size * i) / cells;
      const y = size / 2 - (size * j) / cells;
      positions.set([x, y, 0], 3 * k);
      normals.set([0, 0, 1], 3 * k);
      const u = i / cells;
      uvs.set([(opts.mirrorU ? 1 - u : u) + (opts.uOffset ?? 0), j / cells], 2 * k);
    }
  }
  const indices: number[] = [];
  for (let j = 0; j < cells; j++) {
    for (let i = 0; i < cells; i++) {
      const a = j * (cells + 1) + i; // top left
      const b = a + 1; // top right
      const c = a + cells + 1; // bottom left
      const d = c + 1; // bottom right
      indices.push(c, d, b, c, b, a); // counter-clockwise seen from +Z (y up)
    }
  }
  return { positions, normals, uvs, indices: new Uint32Array(indices) };
}

/**
 * An open cylinder of radius `r` around +Y, height `h`, its outside facing out. u goes round with the
 * angle from +Z towards +X over `arcDeg` degrees (so dP/du is the circumferential direction, length
 * r * arc), v goes down the height (dP/dv = -Y * h).
 */
export function cylinderMesh(opts: { r?: number; h?: number; arcDeg?: number; segments?: number; rows?: number } = {}): Mesh {
  const r = opts.r ?? 40;
  const h = opts.h ?? 60;
  const arc = ((opts.arcDeg ?? 180) * Math.PI) / 180;
  const segs = opts.segments ?? 24;
  const rows = opts.rows ?? 6;
  const n = (segs + 1) * (rows + 1);
  const positions = new Float32Array(3 * n);
  const normals = new Float32Array(3 * n);
  const uvs = new Float32Array(2 * n);
  for (let j = 0; j <= rows; j++) {
    for (let i = 0; i <= segs; i++) {
      const k = j * (segs + 1) + i;
      const a = -arc / 2 + (arc * i) / segs;
      const y = h / 2 - (h * j) / rows;
      positions.set([r * Math.sin(a), y, r * Math.cos(a)], 3 * k);
      normals.set([Math.sin(a), 0, Math.cos(a)], 3 * k);
      uvs.set([i / segs, j / rows], 2 * k);
    }
  }
  const indices: number[] = [];
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < segs; i++) {
      const a = j * (segs + 1) + i;
      const b = a + 1;
      const c = a + segs + 1;
      const d = c + 1;
      indices.push(c, d, b, c, b, a); // outward-facing: counter-clockwise seen from outside
    }
  }
  return { positions, normals, uvs, indices: new Uint32Array(indices) };
}

/**
 * A UV sphere of radius `r`, its outside facing out, with UDIM UVs over two tiles: the front half
 * (z > 0) in tile 0 (u in [0, 1)), the back half in tile 1. For renderer regression checks.
 */
export function twoTileSphere(opts: { r?: number; segments?: number; rings?: number } = {}): Mesh {
  const r = opts.r ?? 50;
  const segs = opts.segments ?? 32;
  const rings = opts.rings ?? 16;
  const positions: number[] = [];
  const normals: number[] = [];
  const uvs: number[] = [];
  const indices: number[] = [];
  // Two charts, each half of the longitudes: [-90, 90] degrees round from +Z (tile 0), and the rest (tile 1).
  for (let tile = 0; tile < 2; tile++) {
    const base = positions.length / 3;
    const half = segs / 2;
    for (let j = 0; j <= rings; j++) {
      const lat = Math.PI / 2 - (Math.PI * j) / rings;
      for (let i = 0; i <= half; i++) {
        const lon = -Math.PI / 2 + Math.PI * tile + (Math.PI * i) / half;
        const nx = Math.cos(lat) * Math.sin(lon), ny = Math.sin(lat), nz = Math.cos(lat) * Math.cos(lon);
        positions.push(r * nx, r * ny, r * nz);
        normals.push(nx, ny, nz);
        uvs.push(tile + 0.02 + (0.96 * i) / half, 0.02 + (0.96 * j) / rings);
      }
    }
    for (let j = 0; j < rings; j++) {
      for (let i = 0; i < half; i++) {
        const a = base + j * (half + 1) + i;
        const b = a + 1;
        const c = a + half + 1;
        const d = c + 1;
        indices.push(c, d, b, c, b, a);
      }
    }
  }
  return { positions: new Float32Array(positions), normals: new Float32Array(normals), uvs: new Float32Array(uvs), indices: new Uint32Array(indices) };
}
