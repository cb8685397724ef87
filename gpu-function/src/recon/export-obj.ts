/**
 * Wavefront OBJ + MTL. One object, one material whose map_Kd names the clean texture PNG, so Blender
 * and three.js load it textured as is. Positions in metres (as the GLB, whose unit glTF fixes), +Y up,
 * +Z out of the face; vt with v flipped to OBJ's bottom-left origin; faces v/vt/vn (1-based).
 * With shading detail the face material also names its normal map (`norm`, from the PBR extension of
 * MTL; three.js's MTLLoader reads it as its normalMap). The displacement map is not named: `bump` is
 * read as a height map by three.js but as a normal map by Blender's importer (which would shade with
 * the grey displacement as normals), so no line serves both; it stays a file of its own.
 */
import type { TriMesh } from '@facerecon/shared';

/** The OBJ's unit: metres (writeObj's default unitsPerMm). */
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

/** A material's shading detail (detail-maps.ts DetailMaps, as a file next to the MTL). */
export interface ObjDetailMaps {
  /** Tangent-space normal map, glTF / OpenGL convention (R = +u, G = up the image, B = out; 128 = 0). */
  normal: string;
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
 * An ASCII byte buffer that grows: the OBJ is written straight into bytes, numbers included, rather
 * than as strings joined and then encoded (a 7k-vertex face: ~16 ms as strings, most of it building
 * and encoding them).
 */
class AsciiWriter {
  buf: Uint8Array;
  len = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(2 * this.buf.length, this.len + n));
    grown.set(this.buf.subarray(0, this.len));
    this.buf = grown;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** A string; anything outside ASCII (a caller's file name) through UTF-8. */
  text(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) {
        this.bytes(utf8.encode(s.slice(i)));
        return;
      }
      this.buf[this.len++] = c;
    }
  }
  byte(c: number): void {
    this.room(1);
    this.buf[this.len++] = c;
  }
  /** A non-negative integer below 2^53, in decimal. */
  uint(v: number): void {
    this.room(16);
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    for (let i = this.len + digits - 1; i >= this.len; i--) {
      const q = Math.floor(v / 10);
      this.buf[i] = 48 + (v - 10 * q);
      v = q;
    }
    this.len += digits;
  }
  /** x as f6(x) writes it. */
  num6(x: number): void {
    const k = Math.round(x * 1e6);
    if (!(Math.abs(k) < 1e15)) return this.text((k / 1e6).toString());
    const a = k < 0 ? -k : k;
    if (k < 0) this.byte(45); // '-'; a negative zero (k = -0) writes "0", as f6
    const whole = Math.floor(a / 1e6);
    let frac = a - whole * 1e6;
    this.uint(whole);
    if (frac === 0) return;
    this.room(7);
    this.buf[this.len++] = 46; // '.'
    let digits = 6;
    while (frac % 10 === 0) {
      frac /= 10;
      digits--;
    }
    for (let i = this.len + digits - 1; i >= this.len; i--) {
      const q = Math.floor(frac / 10);
      this.buf[i] = 48 + (frac - 10 * q);
      frac = q;
    }
    this.len += digits;
  }
  /** `prefix x y z` and a newline, each number as f6 writes it. */
  triple(prefix: Uint8Array, a: Float32Array, i: number, scale: number): void {
    this.bytes(prefix);
    this.num6(a[3 * i] * scale);
    this.byte(32);
    this.num6(a[3 * i + 1] * scale);
    this.byte(32);
    this.num6(a[3 * i + 2] * scale);
    this.byte(10);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

const utf8 = new TextEncoder();
const V = utf8.encode('v '), VN = utf8.encode('vn ');

interface TopologyBlocks {
  /** The `vt` lines, each ending in a newline. */
  vt: Uint8Array;
  /** The `f` lines, each ending in a newline; `lineStart[t]` is where triangle t's line begins (one more entry at the end). */
  f: Uint8Array;
  lineStart: Uint32Array;
}

/** The `vt` and `f` blocks as bytes, with where each face line starts (groups take runs of them). */
function encodeBlocks(vt: string[], f: string[]): TopologyBlocks {
  const vtBytes = utf8.encode(vt.map((l) => `${l}\n`).join(''));
  const fBytes = utf8.encode(f.map((l) => `${l}\n`).join(''));
  const lineStart = new Uint32Array(f.length + 1);
  for (let t = 0; t < f.length; t++) lineStart[t + 1] = lineStart[t] + f[t].length + 1; // ASCII: one byte a character
  return { vt: vtBytes, f: fBytes, lineStart };
}

/**
 * The `vt` and `f` blocks depend only on the topology, which is the same for every face: callers
 * reconstructing many faces pass the same `uvs`/`indices` arrays and get them from this cache.
 */
const staticBlocks = new WeakMap<Uint32Array, { uvs: Float32Array; blocks: TopologyBlocks }>();

function topologyBlocks(uvs: Float32Array, indices: Uint32Array): TopologyBlocks {
  const hit = staticBlocks.get(indices);
  if (hit && hit.uvs === uvs) return hit.blocks;
  const vt: string[] = [];
  for (let i = 0; i < uvs.length / 2; i++) vt.push(`vt ${f6(uvs[2 * i])} ${f6(1 - uvs[2 * i + 1])}`);
  const f: string[] = [];
  for (let k = 0; k < indices.length; k += 3) {
    const [a, b, c] = [indices[k] + 1, indices[k + 1] + 1, indices[k + 2] + 1];
    f.push(`f ${a}/${a}/${a} ${b}/${b}/${b} ${c}/${c}/${c}`);
  }
  const blocks = encodeBlocks(vt, f);
  staticBlocks.set(indices, { uvs, blocks });
  return blocks;
}

export interface ObjWriteOptions {
  unitsPerMm?: number;
  /** Per mesh vertex, its welded position index (copies split at UV seams share one): `v`/`vn` once each, `vt` split. */
  weld?: Uint32Array;
}

/** writeObjBytes as a string. */
export function writeObj(mesh: TriMesh & { normals: Float32Array }, names: ObjNames, opts: ObjWriteOptions = {}): string {
  return new TextDecoder().decode(writeObjBytes(mesh, names, opts));
}

/** The OBJ file's bytes (UTF-8; ASCII unless a name is not). */
export function writeObjBytes(mesh: TriMesh & { normals: Float32Array }, names: ObjNames, opts: ObjWriteOptions = {}): Uint8Array {
  const unitsPerMm = opts.unitsPerMm ?? OBJ_UNITS_PER_MM;
  const material = names.material ?? 'face';
  const n = mesh.positions.length / 3;
  // The vertex that stands for each welded position (its first copy).
  const weld = opts.weld;
  const reps: number[] = [];
  if (weld) {
    const seen = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) if (seen[weld[i]] < 0) seen[weld[i]] = reps.push(i) - 1;
  } else for (let i = 0; i < n; i++) reps.push(i);
  const blocks = weld ? weldedBlocks(mesh.uvs, mesh.indices, weld) : topologyBlocks(mesh.uvs, mesh.indices);
  const out = new AsciiWriter(blocks.vt.length + blocks.f.length + reps.length * 2 * 40 + 4096);
  out.text(`# facerecon face mesh\n# units: metres; right-handed, +Y up, +Z out of the face, origin between the eyes\nmtllib ${names.mtl}\no face\n`);
  for (const i of reps) out.triple(V, mesh.positions, i, unitsPerMm);
  out.bytes(blocks.vt);
  for (const i of reps) out.triple(VN, mesh.normals, i, 1);
  if (!names.groups) {
    out.text(`usemtl ${material}\ns 1\n`);
    out.bytes(blocks.f);
  } else {
    // One face line per triangle, in index order: each group is a run of them.
    for (const g of names.groups) {
      out.text(`g ${g.material.name}\nusemtl ${g.material.name}\ns 1\n`);
      out.bytes(blocks.f.subarray(blocks.lineStart[g.start / 3], blocks.lineStart[(g.start + g.count) / 3]));
    }
  }
  return out.result();
}

/** Face lines with welded position and normal indices (in first-copy order) and per-copy `vt`. */
const weldedCache = new WeakMap<Uint32Array, { uvs: Float32Array; indices: Uint32Array; blocks: TopologyBlocks }>();
function weldedBlocks(uvs: Float32Array, indices: Uint32Array, weld: Uint32Array): TopologyBlocks {
  const hit = weldedCache.get(weld);
  if (hit && hit.uvs === uvs && hit.indices === indices) return hit.blocks;
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
  const blocks = encodeBlocks(vt, f);
  weldedCache.set(weld, { uvs, indices, blocks });
  return blocks;
}

/**
 * The MTL of writeObj's materials. A material with `detail` gets one more line, `norm <normal>`: the
 * tangent-space normal map (glTF / OpenGL convention: green is up the image, i.e. +v of the OBJ's
 * bottom-left vt; tangents are the importer's, from the UVs). three.js's MTLLoader reads it as its
 * normalMap; Blender's OBJ importer skips it (its normal maps come through `map_Bump`, which three.js
 * reads as a height map), so Blender users take the detail from the GLB, whose normalTexture it reads.
 */
export function writeMtl(names: ObjNames): string {
  const mats: ObjMaterial[] = names.groups ? [...new Map(names.groups.map((g) => [g.material.name, g.material])).values()] : [{ name: names.material ?? 'face', texture: names.texture, detail: names.detail }];
  const lines = ['# facerecon material'];
  for (const m of mats) {
    const kd = m.color ? m.color.map((c) => f6(c / 255)).join(' ') : '1 1 1';
    const detail = m.detail ? [`norm ${m.detail.normal}`] : [];
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
