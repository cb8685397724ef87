/**
 * Wavefront OBJ + MTL. One object, one material whose map_Kd names the clean texture PNG, so Blender
 * and three.js load it textured as is. Positions in metres (as the GLB, whose unit glTF fixes), +Y up,
 * +Z out of the face; vt with v flipped to OBJ's bottom-left origin; faces v/vt/vn (1-based).
 * With shading detail the face material also names its normal map (`norm`, from the PBR extension of
 * MTL; three.js's MTLLoader reads it as its normalMap) and its displacement map (`bump -bm`, the
 * original spec's scalar bump map; three.js: bumpMap with bumpScale = -bm).
 */
import type { TriMesh } from '@facerecon/shared';

/** The OBJ's unit: metres (writeObj's default unitsPerMm, and what writeMtl's bump scale is in). */
export const OBJ_UNITS_PER_MM = 0.001;

export interface ObjNames {
  /** File name of the MTL, as referenced by `mtllib`. */
  mtl: string;
  /** File name of the texture, as referenced by `map_Kd`. */
  texture: string;
  material?: string;
  /** Shading detail of the one material (without `groups`; with groups, each ObjMaterial carries its own). */
  detail?: ObjDetailMaps;
  /** Several materials: each index range of the mesh (in indices, a multiple of 3) with its material. */
  groups?: Array<{ start: number; count: number; material: ObjMaterial }>;
}

export interface ObjMaterial {
  name: string;
  /** Texture file (map_Kd), or a flat sRGB colour 0..255 (Kd). */
  texture?: string;
  color?: readonly [number, number, number];
  detail?: ObjDetailMaps;
}

/** A material's shading detail (detail-maps.ts DetailMaps, as files next to the MTL). */
export interface ObjDetailMaps {
  /** Tangent-space normal map, glTF / OpenGL convention (R = +u, G = up the image, B = out; 128 = 0). */
  normal: string;
  /** Grey displacement map along the normal: level L is (L - 128) / 127 * rangeMm millimetres. */
  displacement: string;
  rangeMm: number;
}

/**
 * x rounded to 6 decimals, as (Math.round(x * 1e6) / 1e6).toString() writes it (no trailing zeros, "0"
 * for a negative zero), from integers: the shortest-round-trip conversion of a double cost twice as
 * much, and an OBJ writes ~44k of these per face. Below 1e9 in magnitude the double nearest k / 1e6
 * has no shorter round-trip string than k's own decimals, so the two agree; larger values take the
 * double's own conversion.
 */
export function f6(x: number): string {
  const k = Math.round(x * 1e6);
  if (!(Math.abs(k) < 1e15)) return (k / 1e6).toString();
  const a = k < 0 ? -k : k;
  const whole = Math.floor(a / 1e6);
  let frac = a - whole * 1e6;
  const head = k < 0 ? `-${whole}` : `${whole}`; // k is -0 for a negative x that rounds to 0, and -0 < 0 is false
  if (frac === 0) return head;
  let digits = 6;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  const tail = `${frac}`;
  return `${head}.${'000000'.slice(0, digits - tail.length)}${tail}`;
}

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

export interface ObjWriteOptions {
  unitsPerMm?: number;
  /** Per mesh vertex, its welded position index (copies split at UV seams share one): `v`/`vn` once each, `vt` split. */
  weld?: Uint32Array;
}

export function writeObj(mesh: TriMesh & { normals: Float32Array }, names: ObjNames, opts: ObjWriteOptions = {}): string {
  const unitsPerMm = opts.unitsPerMm ?? OBJ_UNITS_PER_MM;
  const material = names.material ?? 'face';
  const lines: string[] = [
    '# facerecon face mesh',
    '# units: metres; right-handed, +Y up, +Z out of the face, origin between the eyes',
    `mtllib ${names.mtl}`,
    'o face',
  ];
  const n = mesh.positions.length / 3;
  // The vertex that stands for each welded position (its first copy).
  const weld = opts.weld;
  const reps: number[] = [];
  if (weld) {
    const seen = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) if (seen[weld[i]] < 0) seen[weld[i]] = reps.push(i) - 1;
  } else for (let i = 0; i < n; i++) reps.push(i);
  for (const i of reps) lines.push(`v ${f6(mesh.positions[3 * i] * unitsPerMm)} ${f6(mesh.positions[3 * i + 1] * unitsPerMm)} ${f6(mesh.positions[3 * i + 2] * unitsPerMm)}`);
  const blocks = weld ? weldedBlocks(mesh.uvs, mesh.indices, weld) : topologyBlocks(mesh.uvs, mesh.indices);
  lines.push(blocks.vt);
  for (const i of reps) lines.push(`vn ${f6(mesh.normals[3 * i])} ${f6(mesh.normals[3 * i + 1])} ${f6(mesh.normals[3 * i + 2])}`);
  if (!names.groups) lines.push(`usemtl ${material}`, 's 1', blocks.f);
  else {
    // One face line per triangle, in index order: each group is a run of them.
    for (const g of names.groups) lines.push(`g ${g.material.name}`, `usemtl ${g.material.name}`, 's 1', ...blocks.faceLines.slice(g.start / 3, (g.start + g.count) / 3));
  }
  return `${lines.join('\n')}\n`;
}

/** Face lines with welded position and normal indices (in first-copy order) and per-copy `vt`. */
const weldedCache = new WeakMap<Uint32Array, { uvs: Float32Array; indices: Uint32Array; vt: string; f: string; faceLines: string[] }>();
function weldedBlocks(uvs: Float32Array, indices: Uint32Array, weld: Uint32Array): { vt: string; f: string; faceLines: string[] } {
  const hit = weldedCache.get(weld);
  if (hit && hit.uvs === uvs && hit.indices === indices) return hit;
  const n = uvs.length / 2;
  const order = new Int32Array(n).fill(-1);
  let next = 0;
  for (let i = 0; i < n; i++) if (order[weld[i]] < 0) order[weld[i]] = next++;
  const vt: string[] = [];
  for (let i = 0; i < n; i++) vt.push(`vt ${f6(uvs[2 * i])} ${f6(1 - uvs[2 * i + 1])}`);
  const f: string[] = [];
  for (let k = 0; k < indices.length; k += 3) {
    const c = [indices[k], indices[k + 1], indices[k + 2]].map((i) => `${order[weld[i]] + 1}/${i + 1}/${order[weld[i]] + 1}`);
    f.push(`f ${c.join(' ')}`);
  }
  const blocks = { uvs, indices, vt: vt.join('\n'), f: f.join('\n'), faceLines: f };
  weldedCache.set(weld, blocks);
  return blocks;
}

/**
 * The MTL of writeObj's materials. A material with `detail` gets two more lines:
 * - `norm <normal>`: the tangent-space normal map (glTF / OpenGL convention: green is up the image,
 *   i.e. +v of the OBJ's bottom-left vt; tangents are the importer's, from the UVs).
 * - `bump -bm <k> <displacement>`: the displacement along the normal. A scalar map reads 0..1 (level
 *   L / 255) and -bm multiplies it, so k is the OBJ-unit length of that whole range: level L stands for
 *   (L - 128) / 127 * rangeMm mm, so 0..1 spans 255 / 127 * rangeMm mm, k = that in `unitsPerMm`
 *   (metres by default, as writeObj). Zero displacement is mid-grey, 128 / 255 = 0.502: a renderer's
 *   displacement midlevel (Blender's Displacement node: Midlevel 0.502, Scale k).
 */
export function writeMtl(names: ObjNames, opts: { unitsPerMm?: number } = {}): string {
  const unitsPerMm = opts.unitsPerMm ?? OBJ_UNITS_PER_MM;
  const mats: ObjMaterial[] = names.groups ? [...new Map(names.groups.map((g) => [g.material.name, g.material])).values()] : [{ name: names.material ?? 'face', texture: names.texture, detail: names.detail }];
  const lines = ['# facerecon material'];
  for (const m of mats) {
    const kd = m.color ? m.color.map((c) => f6(c / 255)).join(' ') : '1 1 1';
    const detail = m.detail ? [`norm ${m.detail.normal}`, `bump -bm ${f6(((255 / 127) * m.detail.rangeMm * unitsPerMm))} ${m.detail.displacement}`] : [];
    lines.push(`newmtl ${m.name}`, 'Ka 1 1 1', `Kd ${kd}`, 'Ks 0 0 0', 'Ns 10', 'd 1', 'illum 1', ...(m.texture ? [`map_Kd ${m.texture}`] : []), ...detail, '');
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
