/**
 * glTF 2.0 binary (GLB): one mesh whose primitives share POSITION (metres, with the min/max the spec
 * requires), NORMAL and TEXCOORD_0 (glTF's top-left UV origin, the same as ours) and differ in their
 * uint32 index range and material; PNG textures embedded as buffer views. Optional morph targets
 * (glTF 2.0 section 3.7.2.2) carry POSITION displacements as sparse accessors (only the vertices a
 * blendshape moves are stored), named in mesh.extras.targetNames (the convention three.js, Blender and
 * Babylon read), with the fitted weights as the mesh's default weights.
 * Normal maps (shading detail): a material's `normalPng` becomes its normalTexture (tangent space,
 * glTF's +X = +u, +Y = up the image), and the primitives of such materials get the TANGENT attribute
 * the caller computed (tangents.ts gltfTangents, on this very mesh); morph targets carry no tangent
 * deltas (optional in glTF: the neutral face's tangents serve every expression).
 * Each distinct PNG (by identity of its bytes array) is embedded once, however many materials use it.
 * Layout per the spec's "GLB File Format Specification": 12-byte header, a JSON chunk padded with
 * spaces and a BIN chunk padded with zeros, all 4-aligned.
 */
import type { TriMesh } from '@facerecon/shared';

export interface GlbMaterial {
  name: string;
  /** PNG bytes of the base colour texture... */
  texturePng?: Uint8Array;
  /** ...or a flat sRGB colour (0..255). */
  color?: readonly [number, number, number];
  doubleSided?: boolean;
  /** glTF roughness (default 0.85, skin-like); low for wet surfaces such as the eyes. */
  roughness?: number;
  /** PNG bytes of a tangent-space normal map (glTF convention); needs GlbOptions.tangents. */
  normalPng?: Uint8Array;
}

export interface GlbMorphTarget {
  name: string;
  /** Vertices the target moves, strictly increasing. */
  indices: Uint32Array;
  /** Their displacements, mm (indices.length x 3). */
  deltas: Float32Array;
  /** Normal changes at full weight, at `normalIndices` (strictly increasing), unit-free x 3. */
  normalIndices?: Uint32Array;
  normalDeltas?: Float32Array;
}

export interface GlbOptions {
  mesh: TriMesh & { normals: Float32Array };
  /** Shorthand for one textured material over the whole mesh. */
  texturePng?: Uint8Array;
  materials?: GlbMaterial[];
  /** Index ranges of mesh.indices and their material (default: all indices, material 0). */
  groups?: Array<{ start: number; count: number; material: number; name?: string }>;
  morphTargets?: GlbMorphTarget[];
  /** Default morph weights (one per target). */
  morphWeights?: ArrayLike<number>;
  /**
   * The TANGENT attribute (n x 4: xyz unit and orthogonal to the normal, w = +-1; gltfTangents of
   * `mesh`), written for the primitives whose material has a normal map. Required when one has.
   */
  tangents?: Float32Array;
  unitsPerMm?: number;
  name?: string;
  generator?: string;
}

const srgbToLinear = (v: number) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};

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
  const materials = opts.materials ?? [{ name: 'face', texturePng: opts.texturePng }];
  const groups = opts.groups ?? [{ start: 0, count: mesh.indices.length, material: 0 }];

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
  const FLOAT = 5126;
  const UNSIGNED_INT = 5125;
  const accessors: object[] = [];
  const accessor = (a: object) => accessors.push(a) - 1;

  const aPos = accessor({ bufferView: add(bytesOf(pos), ARRAY_BUFFER), componentType: FLOAT, count: n, type: 'VEC3', min, max });
  const aNrm = accessor({ bufferView: add(bytesOf(mesh.normals), ARRAY_BUFFER), componentType: FLOAT, count: n, type: 'VEC3' });
  const aUv = accessor({ bufferView: add(bytesOf(mesh.uvs), ARRAY_BUFFER), componentType: FLOAT, count: n, type: 'VEC2' });
  const vIdx = add(bytesOf(mesh.indices), ELEMENT_ARRAY_BUFFER);
  const aIdx = groups.map((g) => accessor({ bufferView: vIdx, byteOffset: g.start * 4, componentType: UNSIGNED_INT, count: g.count, type: 'SCALAR' }));
  const mapped = materials.some((m) => m.normalPng);
  if (mapped && opts.tangents?.length !== 4 * n) throw new RangeError(`writeGlb: a normal map needs n x 4 tangents (${n} vertices, got ${opts.tangents?.length ?? 0} values)`);
  const aTan = mapped ? accessor({ bufferView: add(bytesOf(opts.tangents!), ARRAY_BUFFER), componentType: FLOAT, count: n, type: 'VEC4' }) : -1;

  const images: object[] = [];
  const textures: object[] = [];
  const textureOf = new Map<Uint8Array, number>();
  const texture = (png: Uint8Array) => {
    let t = textureOf.get(png);
    if (t === undefined) {
      images.push({ bufferView: add(png), mimeType: 'image/png' });
      t = textures.push({ sampler: 0, source: images.length - 1 }) - 1;
      textureOf.set(png, t);
    }
    return t;
  };
  const gltfMaterials = materials.map((m) => {
    const pbr: Record<string, unknown> = { metallicFactor: 0, roughnessFactor: m.roughness ?? 0.85 };
    if (m.texturePng) {
      pbr.baseColorTexture = { index: texture(m.texturePng) };
    } else if (m.color) {
      pbr.baseColorFactor = [...m.color.map(srgbToLinear), 1];
    }
    return { name: m.name, pbrMetallicRoughness: pbr, ...(m.normalPng ? { normalTexture: { index: texture(m.normalPng) } } : {}), ...(m.doubleSided ? { doubleSided: true } : {}) };
  });

  const targets = (opts.morphTargets ?? []).map((t) => {
    const d = new Float32Array(t.deltas.length);
    const tmin = [0, 0, 0];
    const tmax = [0, 0, 0];
    for (let i = 0; i < d.length; i++) {
      d[i] = t.deltas[i] * k;
      tmin[i % 3] = Math.min(tmin[i % 3], d[i]);
      tmax[i % 3] = Math.max(tmax[i % 3], d[i]);
    }
    for (let i = 1; i < t.indices.length; i++) if (t.indices[i] <= t.indices[i - 1]) throw new RangeError(`morph target ${t.name}: indices not strictly increasing`);
    // With no displaced vertex the accessor is all zeros, which glTF expresses by leaving out bufferView.
    const sparse = t.indices.length
      ? { sparse: { count: t.indices.length, indices: { bufferView: add(bytesOf(t.indices)), componentType: UNSIGNED_INT }, values: { bufferView: add(bytesOf(d)) } } }
      : {};
    const position = accessor({ componentType: FLOAT, count: n, type: 'VEC3', min: tmin, max: tmax, ...sparse });
    if (!t.normalIndices?.length || !t.normalDeltas) return { POSITION: position };
    const normal = accessor({ componentType: FLOAT, count: n, type: 'VEC3', sparse: { count: t.normalIndices.length, indices: { bufferView: add(bytesOf(t.normalIndices)), componentType: UNSIGNED_INT }, values: { bufferView: add(bytesOf(t.normalDeltas)) } } });
    return { POSITION: position, NORMAL: normal };
  });
  const morph = targets.length
    ? { weights: Array.from({ length: targets.length }, (_, i) => Math.round((opts.morphWeights?.[i] ?? 0) * 1e4) / 1e4), extras: { targetNames: opts.morphTargets!.map((t) => t.name) } }
    : {};

  const name = opts.name ?? 'face';
  const json = {
    asset: { version: '2.0', generator: opts.generator ?? 'facerecon' },
    scene: 0,
    scenes: [{ nodes: [0] }],
    nodes: [{ mesh: 0, name }],
    meshes: [
      {
        name,
        primitives: groups.map((g, i) => ({
          attributes: { POSITION: aPos, NORMAL: aNrm, ...(materials[g.material].normalPng ? { TANGENT: aTan } : {}), TEXCOORD_0: aUv },
          indices: aIdx[i],
          material: g.material,
          mode: 4,
          ...(targets.length ? { targets } : {}),
        })),
        ...morph,
      },
    ],
    materials: gltfMaterials,
    ...(textures.length ? { textures, images, samplers: [{ magFilter: 9729, minFilter: 9987, wrapS: 33071, wrapT: 33071 }] } : {}),
    accessors,
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
