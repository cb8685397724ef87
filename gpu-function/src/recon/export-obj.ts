/**
 * Wavefront OBJ + MTL. One object, one material whose map_Kd names the clean texture PNG, so Blender
 * and three.js load it textured as is. Positions in metres (as the GLB, whose unit glTF fixes), +Y up,
 * +Z out of the face; vt with v flipped to OBJ's bottom-left origin; faces v/vt/vn (1-based).
 */
import type { TriMesh } from '@facerecon/shared';

export interface ObjNames {
  /** File name of the MTL, as referenced by `mtllib`. */
  mtl: string;
  /** File name of the texture, as referenced by `map_Kd`. */
  texture: string;
  material?: string;
  /** Several materials: each index range of the mesh (in indices, a multiple of 3) with its material. */
  groups?: Array<{ start: number; count: number; material: ObjMaterial }>;
}

export interface ObjMaterial {
  name: string;
  /** Texture file (map_Kd), or a flat sRGB colour 0..255 (Kd). */
  texture?: string;
  color?: readonly [number, number, number];
}

const f6 = (x: number) => (Math.round(x * 1e6) / 1e6).toString();

/**
 * The `vt` and `f` blocks depend only on the topology, which is the same for every face: callers
 * reconstructing many faces pass the same `uvs`/`indices` arrays and get them from this cache.
 */
const staticBlocks = new WeakMap<Uint32Array, { uvs: Float32Array; vt: string; f: string; faceLines: string[] }>();

function topologyBlocks(uvs: Float32Array, indices: Uint32Array): { vt: string; f: string; faceLines: string[] } {
  const hit = staticBlocks.get(indices);
  if (hit && hit.uvs === uvs) return hit;
  const vt: string[] = [];
  for (let i = 0; i < uvs.length / 2; i++) vt.push(`vt ${f6(uvs[2 * i])} ${f6(1 - uvs[2 * i + 1])}`);
  const f: string[] = [];
  for (let k = 0; k < indices.length; k += 3) {
    const [a, b, c] = [indices[k] + 1, indices[k + 1] + 1, indices[k + 2] + 1];
    f.push(`f ${a}/${a}/${a} ${b}/${b}/${b} ${c}/${c}/${c}`);
  }
  const blocks = { uvs, vt: vt.join('\n'), f: f.join('\n'), faceLines: f };
  staticBlocks.set(indices, blocks);
  return blocks;
}

export function writeObj(mesh: TriMesh & { normals: Float32Array }, names: ObjNames, unitsPerMm = 0.001): string {
  const material = names.material ?? 'face';
  const lines: string[] = [
    '# facerecon face mesh',
    '# units: metres; right-handed, +Y up, +Z out of the face, origin between the eyes',
    `mtllib ${names.mtl}`,
    'o face',
  ];
  const n = mesh.positions.length / 3;
  for (let i = 0; i < n; i++) lines.push(`v ${f6(mesh.positions[3 * i] * unitsPerMm)} ${f6(mesh.positions[3 * i + 1] * unitsPerMm)} ${f6(mesh.positions[3 * i + 2] * unitsPerMm)}`);
  const blocks = topologyBlocks(mesh.uvs, mesh.indices);
  lines.push(blocks.vt);
  for (let i = 0; i < n; i++) lines.push(`vn ${f6(mesh.normals[3 * i])} ${f6(mesh.normals[3 * i + 1])} ${f6(mesh.normals[3 * i + 2])}`);
  if (!names.groups) lines.push(`usemtl ${material}`, 's 1', blocks.f);
  else {
    // One face line per triangle, in index order: each group is a run of them.
    for (const g of names.groups) lines.push(`g ${g.material.name}`, `usemtl ${g.material.name}`, 's 1', ...blocks.faceLines.slice(g.start / 3, (g.start + g.count) / 3));
  }
  return `${lines.join('\n')}\n`;
}

export function writeMtl(names: ObjNames): string {
  const mats = names.groups ? [...new Map(names.groups.map((g) => [g.material.name, g.material])).values()] : [{ name: names.material ?? 'face', texture: names.texture }];
  const lines = ['# facerecon material'];
  for (const m of mats) {
    const kd = m.color ? m.color.map((c) => f6(c / 255)).join(' ') : '1 1 1';
    lines.push(`newmtl ${m.name}`, 'Ka 1 1 1', `Kd ${kd}`, 'Ks 0 0 0', 'Ns 10', 'd 1', 'illum 1', ...(m.texture ? [`map_Kd ${m.texture}`] : []), '');
  }
  return lines.join('\n');
}

/** Counts of an OBJ's records, for round-trip checks. */
export function parseObjCounts(obj: string): { v: number; vt: number; vn: number; f: number; mtllib?: string } {
  let v = 0, vt = 0, vn = 0, f = 0;
  let mtllib: string | undefined;
  for (const line of obj.split('\n')) {
    if (line.startsWith('v ')) v++;
    else if (line.startsWith('vt ')) vt++;
    else if (line.startsWith('vn ')) vn++;
    else if (line.startsWith('f ')) f++;
    else if (line.startsWith('mtllib ')) mtllib = line.slice(7).trim();
  }
  return { v, vt, vn, f, mtllib };
}
