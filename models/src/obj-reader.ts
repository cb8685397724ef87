/**
 * A fast reader for the OBJ files of morphable models: positions, UVs, and polygon faces with
 * separate position and UV indices (0-based). Quads and larger polygons are kept as polygons.
 */
export interface ObjMesh {
  positions: Float32Array;
  uvs: Float32Array;
  /** Polygon sizes, then flat position and UV indices. */
  faceSizes: Uint8Array;
  faceV: Uint32Array;
  faceVt: Uint32Array;
  /** Per polygon: index into `materials` of the `usemtl` in force (0 before any). */
  faceMaterial: Uint16Array;
  materials: string[];
}

export function parseObj(text: string, name = 'obj'): ObjMesh {
  const pos: number[] = [];
  const uv: number[] = [];
  const sizes: number[] = [];
  const fv: number[] = [];
  const fvt: number[] = [];
  const fmat: number[] = [];
  const materials: string[] = [];
  let current = 0;
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.length < 2) continue;
    const c0 = line.charCodeAt(0);
    const c1 = line.charCodeAt(1);
    if (c0 === 118 /* v */ && c1 === 32) {
      const p = line.trim().split(/\s+/);
      pos.push(+p[1], +p[2], +p[3]);
    } else if (c0 === 118 && c1 === 116 /* t */) {
      const p = line.trim().split(/\s+/);
      uv.push(+p[1], +p[2]);
    } else if (c0 === 102 /* f */ && c1 === 32) {
      const p = line.trim().split(/\s+/);
      sizes.push(p.length - 1);
      fmat.push(current);
      for (let k = 1; k < p.length; k++) {
        const [a, b] = p[k].split('/');
        const vi = Number(a) - 1;
        const ti = b ? Number(b) - 1 : -1;
        if (!(vi >= 0)) throw new Error(`${name}:${lineNo}: bad face index "${p[k]}"`);
        fv.push(vi);
        fvt.push(ti);
      }
    } else if (line.startsWith('usemtl ')) {
      const m = line.slice(7).trim();
      current = materials.indexOf(m);
      if (current < 0) current = materials.push(m) - 1;
    }
  }
  if (materials.length === 0) materials.push('default');
  if (pos.some((x) => !Number.isFinite(x))) throw new Error(`${name}: non-numeric vertex coordinates`);
  return { positions: Float32Array.from(pos), uvs: Float32Array.from(uv), faceSizes: Uint8Array.from(sizes), faceV: Uint32Array.from(fv), faceVt: Uint32Array.from(fvt.map((x) => (x < 0 ? 0xffffffff : x))), faceMaterial: Uint16Array.from(fmat), materials };
}

/** Fan-triangulates polygons (quads split along their first diagonal), keeping winding. */
export function triangulate(mesh: ObjMesh): { triangles: Uint32Array; uvTriangles: Uint32Array; triangleMaterials: Uint16Array } {
  let n = 0;
  for (const s of mesh.faceSizes) n += s - 2;
  const tri = new Uint32Array(n * 3);
  const uvt = new Uint32Array(n * 3);
  const mat = new Uint16Array(n);
  let o = 0;
  let at = 0;
  for (let f = 0; f < mesh.faceSizes.length; f++) {
    const s = mesh.faceSizes[f];
    for (let k = 1; k + 1 < s; k++) {
      mat[o / 3] = mesh.faceMaterial[f];
      tri.set([mesh.faceV[at], mesh.faceV[at + k], mesh.faceV[at + k + 1]], o);
      uvt.set([mesh.faceVt[at], mesh.faceVt[at + k], mesh.faceVt[at + k + 1]], o);
      o += 3;
    }
    at += s;
  }
  return { triangles: tri, uvTriangles: uvt, triangleMaterials: mat };
}
