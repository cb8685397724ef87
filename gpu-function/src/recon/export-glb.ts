/**
 * glTF 2.0 binary (GLB): one mesh with POSITION (metres, with the min/max the spec requires), NORMAL,
 * TEXCOORD_0 (glTF's top-left UV origin, the same as ours), uint32 indices, and the PNG texture
 * embedded as a buffer view. Layout per the glTF 2.0 spec, section "GLB File Format Specification":
 * 12-byte header, a JSON chunk padded with spaces and a BIN chunk padded with zeros, all 4-aligned.
 */
import type { TriMesh } from '@facerecon/shared';

export interface GlbOptions {
  mesh: TriMesh & { normals: Float32Array };
  texturePng: Uint8Array;
  unitsPerMm?: number;
  name?: string;
  generator?: string;
}

export function writeGlb(opts: GlbOptions): Uint8Array {
  const { mesh } = opts;
  const k = opts.unitsPerMm ?? 0.001;
  const n = mesh.positions.length / 3;
  const pos = new Float32Array(n * 3);
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n * 3; i++) {
    pos[i] = mesh.positions[i] * k;
    min[i % 3] = Math.min(min[i % 3], pos[i]);
    max[i % 3] = Math.max(max[i % 3], pos[i]);
  }
  const parts: Uint8Array[] = [];
  const views: Array<{ buffer: 0; byteOffset: number; byteLength: number; target?: number }> = [];
  let offset = 0;
  const add = (bytes: Uint8Array, target?: number) => {
    views.push({ buffer: 0, byteOffset: offset, byteLength: bytes.byteLength, ...(target ? { target } : {}) });
    parts.push(bytes);
    offset += bytes.byteLength;
    const pad = (4 - (offset % 4)) % 4;
    if (pad) {
      parts.push(new Uint8Array(pad));
      offset += pad;
    }
    return views.length - 1;
  };
  const bytesOf = (a: Float32Array | Uint32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const ARRAY_BUFFER = 34962;
  const ELEMENT_ARRAY_BUFFER = 34963;
  const vPos = add(bytesOf(pos), ARRAY_BUFFER);
  const vNrm = add(bytesOf(mesh.normals), ARRAY_BUFFER);
  const vUv = add(bytesOf(mesh.uvs), ARRAY_BUFFER);
  const vIdx = add(bytesOf(mesh.indices), ELEMENT_ARRAY_BUFFER);
  const vImg = add(opts.texturePng);
  const FLOAT = 5126;
  const UNSIGNED_INT = 5125;
  const json = {
    asset: { version: '2.0', generator: opts.generator ?? 'facerecon' },
    scene: 0,
    scenes: [{ nodes: [0] }],
    nodes: [{ mesh: 0, name: opts.name ?? 'face' }],
    meshes: [{ name: opts.name ?? 'face', primitives: [{ attributes: { POSITION: 0, NORMAL: 1, TEXCOORD_0: 2 }, indices: 3, material: 0, mode: 4 }] }],
    materials: [{ name: 'face', pbrMetallicRoughness: { baseColorTexture: { index: 0 }, metallicFactor: 0, roughnessFactor: 0.85 } }],
    textures: [{ sampler: 0, source: 0 }],
    images: [{ bufferView: vImg, mimeType: 'image/png' }],
    samplers: [{ magFilter: 9729, minFilter: 9987, wrapS: 33071, wrapT: 33071 }],
    accessors: [
      { bufferView: vPos, componentType: FLOAT, count: n, type: 'VEC3', min, max },
      { bufferView: vNrm, componentType: FLOAT, count: n, type: 'VEC3' },
      { bufferView: vUv, componentType: FLOAT, count: n, type: 'VEC2' },
      { bufferView: vIdx, componentType: UNSIGNED_INT, count: mesh.indices.length, type: 'SCALAR' },
    ],
    bufferViews: views,
    buffers: [{ byteLength: offset }],
  };
  let jsonBytes = new TextEncoder().encode(JSON.stringify(json));
  const jsonPad = (4 - (jsonBytes.length % 4)) % 4;
  if (jsonPad) {
    const padded = new Uint8Array(jsonBytes.length + jsonPad).fill(0x20);
    padded.set(jsonBytes);
    jsonBytes = padded;
  }
  const total = 12 + 8 + jsonBytes.length + 8 + offset;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x46546c67, true); // 'glTF'
  dv.setUint32(4, 2, true);
  dv.setUint32(8, total, true);
  dv.setUint32(12, jsonBytes.length, true);
  dv.setUint32(16, 0x4e4f534a, true); // 'JSON'
  out.set(jsonBytes, 20);
  let o = 20 + jsonBytes.length;
  dv.setUint32(o, offset, true);
  dv.setUint32(o + 4, 0x004e4942, true); // 'BIN\0'
  o += 8;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
