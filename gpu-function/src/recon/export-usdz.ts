/**
 * USDZ, what iOS shows in AR Quick Look: a USDA stage (text USD) with the mesh, its UVs and normals,
 * one UsdPreviewSurface material per group (a texture or a flat colour) bound through GeomSubsets,
 * and the textures, packed as Pixar's USDZ spec requires: an uncompressed zip whose first file is the
 * stage and whose every file's data starts on a 64-byte boundary (so it can be memory-mapped).
 *
 * Frame: metres, right-handed, +Y up (upAxis "Y", metersPerUnit 1), +Z out of the face, as the GLB.
 * st has its origin bottom-left (USD's convention): v is flipped from the mesh's top-left UVs.
 * A material's normal map (shading detail) feeds UsdPreviewSurface's `inputs:normal` through a
 * UsdUVTexture read raw and remapped from 0..1 to -1..1 (scale 2, bias -1), as the spec of
 * UsdPreviewSurface asks. Its tangent space is glTF's (+X = +u, +Y = up the image = +t of st), which
 * is USD's own, so the map goes in unchanged; the renderer derives the tangents from st.
 */
import type { TriMesh } from '@facerecon/shared';

export interface UsdMaterial {
  name: string;
  /** The texture's file name inside the package... */
  texture?: string;
  /** ...or a flat sRGB colour (0..255). */
  color?: readonly [number, number, number];
  /** A tangent-space normal map's file name inside the package (glTF / OpenGL convention). */
  normalTexture?: string;
  /** UsdPreviewSurface roughness (default 0.85, skin-like), as the GLB's: low for the wet eye. */
  roughness?: number;
}

export interface UsdStageOptions {
  mesh: TriMesh & { normals: Float32Array };
  materials: UsdMaterial[];
  /** Index ranges of mesh.indices (multiples of 3) and their material; default one group, material 0. */
  groups?: Array<{ start: number; count: number; material: number }>;
  doubleSided?: boolean;
  unitsPerMm?: number;
  name?: string;
}

const f = (x: number) => (Math.round(x * 1e6) / 1e6).toString();
const ident = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_').replace(/^([0-9])/, '_$1');
const linear = (v: number) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
};

export function writeUsda(o: UsdStageOptions): string {
  const k = o.unitsPerMm ?? 0.001;
  const { positions: P, normals: N, uvs: T, indices: I } = o.mesh;
  const root = ident(o.name ?? 'face');
  const groups = o.groups ?? [{ start: 0, count: I.length, material: 0 }];
  const tuples = (a: Float32Array, dim: number, map: (v: number, d: number) => number) => {
    const out: string[] = [];
    for (let i = 0; i < a.length / dim; i++) out.push(`(${Array.from({ length: dim }, (_, d) => f(map(a[dim * i + d], d))).join(', ')})`);
    return out.join(', ');
  };
  const mats = o.materials.map((m) => ({ ...m, id: ident(m.name) }));
  const lines = [
    '#usda 1.0',
    '(',
    `    defaultPrim = "${root}"`,
    '    metersPerUnit = 1',
    '    upAxis = "Y"',
    '    doc = "facerecon: a textured 3D face from one photo"',
    ')',
    '',
    `def Xform "${root}" (`,
    '    kind = "component"',
    ')',
    '{',
    // Prims that author a material:binding apply MaterialBindingAPI (usdchecker's MaterialBindingAPIAppliedChecker;
    // newer USD versions ignore a binding on a prim without it).
    ...(groups.length === 1 ? ['    def Mesh "mesh" (', '        prepend apiSchemas = ["MaterialBindingAPI"]', '    )'] : ['    def Mesh "mesh"']),
    '    {',
    `        uniform bool doubleSided = ${o.doubleSided ? 1 : 0}`,
    `        float3[] extent = [${extent(P, k)}]`,
    `        int[] faceVertexCounts = [${new Array(I.length / 3).fill(3).join(', ')}]`,
    `        int[] faceVertexIndices = [${Array.from(I).join(', ')}]`,
    `        point3f[] points = [${tuples(P, 3, (v) => v * k)}]`,
    `        normal3f[] normals = [${tuples(N, 3, (v) => v)}] (`,
    '            interpolation = "vertex"',
    '        )',
    `        texCoord2f[] primvars:st = [${tuples(T, 2, (v, d) => (d === 1 ? 1 - v : v))}] (`,
    '            interpolation = "vertex"',
    '        )',
    '        uniform token orientation = "rightHanded"',
    '        uniform token subdivisionScheme = "none"',
    ...(groups.length === 1
      ? [`        rel material:binding = </${root}/Materials/${mats[groups[0].material].id}>`]
      : groups.flatMap((g, gi) => [
          '',
          `        def GeomSubset "${mats[g.material].id}_${gi}" (`,
          '            prepend apiSchemas = ["MaterialBindingAPI"]',
          '        )',
          '        {',
          '            uniform token elementType = "face"',
          '            uniform token familyName = "materialBind"',
          `            int[] indices = [${Array.from({ length: g.count / 3 }, (_, t) => g.start / 3 + t).join(', ')}]`,
          `            rel material:binding = </${root}/Materials/${mats[g.material].id}>`,
          '        }',
        ])),
    '    }',
    '',
    '    def Scope "Materials"',
    '    {',
    ...mats.flatMap((m) => {
      const at = `/${root}/Materials/${m.id}`;
      const colour = m.texture
        ? [`                color3f inputs:diffuseColor.connect = <${at}/Texture.outputs:rgb>`]
        : [`                color3f inputs:diffuseColor = (${(m.color ?? [200, 200, 200]).map((c) => f(linear(c))).join(', ')})`];
      const normal = m.normalTexture ? [`                normal3f inputs:normal.connect = <${at}/NormalTexture.outputs:rgb>`] : [];
      const texture = m.texture ? uvTextureShader(at, 'Texture', m.texture, ['                token inputs:sourceColorSpace = "sRGB"']) : [];
      // Read raw and remapped from 0..1 to -1..1, as UsdPreviewSurface's normal input expects.
      const normalTexture = m.normalTexture
        ? uvTextureShader(at, 'NormalTexture', m.normalTexture, ['                token inputs:sourceColorSpace = "raw"', '                float4 inputs:scale = (2, 2, 2, 1)', '                float4 inputs:bias = (-1, -1, -1, 0)'])
        : [];
      const st = m.texture || m.normalTexture
        ? [
            '',
            '            def Shader "PrimvarSt"',
            '            {',
            '                uniform token info:id = "UsdPrimvarReader_float2"',
            '                string inputs:varname = "st"',
            '                float2 outputs:result',
            '            }',
          ]
        : [];
      return [
        `        def Material "${m.id}"`,
        '        {',
        `            token outputs:surface.connect = <${at}/Surface.outputs:surface>`,
        '',
        '            def Shader "Surface"',
        '            {',
        '                uniform token info:id = "UsdPreviewSurface"',
        ...colour,
        ...normal,
        `                float inputs:roughness = ${m.roughness ?? 0.85}`,
        '                float inputs:metallic = 0',
        '                token outputs:surface',
        '            }',
        ...texture,
        ...normalTexture,
        ...st,
        '        }',
      ];
    }),
    '    }',
    '}',
    '',
  ];
  return lines.join('\n');
}

function extent(P: Float32Array, k: number): string {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < P.length; i++) {
    lo[i % 3] = Math.min(lo[i % 3], P[i] * k);
    hi[i % 3] = Math.max(hi[i % 3], P[i] * k);
  }
  return `(${lo.map(f).join(', ')}), (${hi.map(f).join(', ')})`;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let j = 0; j < 8; j++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The USDZ package: stored (no compression) zip entries in the given order (the stage first), each
 * local header padded through its extra field so the data starts on a 64-byte boundary.
 */
export function packUsdz(files: Array<{ name: string; data: Uint8Array }>): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const file of files) {
    const name = enc.encode(file.name);
    const crc = crc32(file.data);
    const headerLen = 30 + name.length;
    const pad = (64 - ((offset + headerLen + 4) % 64)) % 64; // 4: the extra field's own header
    const local = new Uint8Array(headerLen + 4 + pad);
    const dv = new DataView(local.buffer);
    dv.setUint32(0, 0x04034b50, true);
    dv.setUint16(4, 20, true); // version needed
    dv.setUint16(6, 0, true); // flags
    dv.setUint16(8, 0, true); // stored
    dv.setUint16(10, 0, true); // time
    dv.setUint16(12, 0x21, true); // date: 1980-01-01
    dv.setUint32(14, crc, true);
    dv.setUint32(18, file.data.length, true);
    dv.setUint32(22, file.data.length, true);
    dv.setUint16(26, name.length, true);
    dv.setUint16(28, 4 + pad, true);
    local.set(name, 30);
    dv.setUint16(30 + name.length, 0x1986, true); // a private extra field id, as Pixar's tools use for padding
    dv.setUint16(32 + name.length, pad, true);
    const cd = new Uint8Array(46 + name.length);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(12, 0, true);
    cv.setUint16(14, 0x21, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, file.data.length, true);
    cv.setUint32(24, file.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    cd.set(name, 46);
    central.push(cd);
    parts.push(local, file.data);
    offset += local.length + file.data.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let at = 0;
  for (const p of [...parts, ...central, end]) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A UsdUVTexture shader `name` of the material at `at`, reading `file` at the material's st, clamped, with `inputs` (colour space, scale, bias). */
function uvTextureShader(at: string, name: string, file: string, inputs: string[]): string[] {
  return [
    '',
    `            def Shader "${name}"`,
    '            {',
    '                uniform token info:id = "UsdUVTexture"',
    `                asset inputs:file = @${file}@`,
    `                float2 inputs:st.connect = <${at}/PrimvarSt.outputs:result>`,
    ...inputs,
    '                token inputs:wrapS = "clamp"',
    '                token inputs:wrapT = "clamp"',
    '                float3 outputs:rgb',
    '            }',
  ];
}
