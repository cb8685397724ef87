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
}

const f6 = (x: number) => (Math.round(x * 1e6) / 1e6).toString();

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
  for (let i = 0; i < n; i++) lines.push(`vt ${f6(mesh.uvs[2 * i])} ${f6(1 - mesh.uvs[2 * i + 1])}`);
  for (let i = 0; i < n; i++) lines.push(`vn ${f6(mesh.normals[3 * i])} ${f6(mesh.normals[3 * i + 1])} ${f6(mesh.normals[3 * i + 2])}`);
  lines.push(`usemtl ${material}`, 's 1');
  for (let f = 0; f < mesh.indices.length; f += 3) {
    const [a, b, c] = [mesh.indices[f] + 1, mesh.indices[f + 1] + 1, mesh.indices[f + 2] + 1];
    lines.push(`f ${a}/${a}/${a} ${b}/${b}/${b} ${c}/${c}/${c}`);
  }
  return `${lines.join('\n')}\n`;
}

export function writeMtl(names: ObjNames): string {
  return [`# facerecon material`, `newmtl ${names.material ?? 'face'}`, 'Ka 1 1 1', 'Kd 1 1 1', 'Ks 0 0 0', 'Ns 10', 'd 1', 'illum 1', `map_Kd ${names.texture}`, ''].join('\n');
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
