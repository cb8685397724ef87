/**
 * optimizeGlb: the `glb_optimized` asset, a smaller GLB of the same scene for apps that download it
 * over a phone network. It takes the exported GLB and makes three changes:
 * - Quantisation (KHR_mesh_quantization, as gltfpack and glTF-Transform's quantize() do).
 *   - Positions become normalised int16 in the mesh's bounding box, and the node's transform maps
 *     them back: a step of ~4 um on a 25 cm head.
 *   - Morph-target position deltas are int16 in the same scale.
 *   - Normals and normal deltas are normalised int8, a step of 1/127. Normal-delta components past
 *     +-1 are clamped (0.02-0.05% of ICT's components: the subset / the full model).
 *   - Tangents (with a normal map) are normalised int8 too; their w, +-1, stays exact.
 *   - UVs (tile-local, [0, 1]) are normalised uint16.
 *   - Morph targets are stored dense: meshopt's delta coding packs their zero runs better than the
 *     sparse index lists do.
 * - EXT_meshopt_compression (meshoptimizer, MIT) on every buffer view.
 * - The textures replaced by WebP (EXT_texture_webp), encoded by the caller through the image adapter
 *   (the caller's choice of quality: lossless for a normal map, whose levels are vectors, not colours).
 *
 * Units and frame: unchanged (metres, glTF's +Y up, right-handed). What a viewer shows differs from the
 * plain GLB only by the quantisation steps above.
 * Preconditions: one mesh node without children (what export-glb.ts writes).
 * Failure: throws if a texture of the GLB has no WebP replacement (nothing half-converted).
 * Viewers need meshopt and WebP support (three.js GLTFLoader with setMeshoptDecoder, Babylon.js,
 * Blender 3.4+ via its glTF importer's meshopt support, model-viewer).
 */
import { Accessor, WebIO, type Document } from '@gltf-transform/core';
import { EXTMeshoptCompression, EXTTextureWebP, KHRMeshQuantization } from '@gltf-transform/extensions';
import { MeshoptDecoder, MeshoptEncoder } from 'meshoptimizer';

const ready = Promise.all([MeshoptEncoder.ready, MeshoptDecoder.ready]);

/** An I/O that reads and writes everything the optimised GLB uses (decoding included, for checks). */
export async function gltfIo(): Promise<WebIO> {
  await ready;
  return new WebIO()
    .registerExtensions([EXTMeshoptCompression, EXTTextureWebP, KHRMeshQuantization])
    .registerDependencies({ 'meshopt.encoder': MeshoptEncoder, 'meshopt.decoder': MeshoptDecoder });
}

export interface OptimizeGlbOptions {
  glb: Uint8Array;
  /** For each texture image in the GLB (its PNG bytes), the WebP bytes that replace it. */
  webp: ReadonlyArray<{ png: Uint8Array; webp: Uint8Array }>;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

function quantize(array: Float32Array, scale: number, offset: ArrayLike<number> | undefined, itemSize: number, Out: Int16ArrayConstructor | Int8ArrayConstructor | Uint16ArrayConstructor): Int16Array | Int8Array | Uint16Array {
  const max = Out === Int8Array ? 127 : Out === Int16Array ? 32767 : 65535;
  const lo = Out === Uint16Array ? 0 : -max;
  const out = new Out(array.length);
  for (let i = 0; i < array.length; i++) {
    const v = (array[i] - (offset ? offset[i % itemSize] : 0)) / scale;
    out[i] = Math.max(lo, Math.min(max, Math.round(v * max)));
  }
  return out;
}

function quantizeDocument(doc: Document): void {
  const root = doc.getRoot();
  const node = root.listNodes().find((n) => n.getMesh());
  if (!node || node.listChildren().length) throw new Error('optimizeGlb: expected one mesh node without children');
  const prims = node.getMesh()!.listPrimitives();
  const positions = new Set<Accessor>(prims.map((p) => p.getAttribute('POSITION')!));
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (const a of positions) {
    const arr = a.getArray() as Float32Array;
    for (let i = 0; i < arr.length; i++) {
      min[i % 3] = Math.min(min[i % 3], arr[i]);
      max[i % 3] = Math.max(max[i % 3], arr[i]);
    }
  }
  const centre = min.map((m, d) => (m + max[d]) / 2);
  // One isotropic scale keeps normals valid under the node transform.
  const half = Math.max(...max.map((m, d) => (m - min[d]) / 2), 1e-9);
  const done = new Set<Accessor>();
  const set = (a: Accessor | null, f: (arr: Float32Array) => Int16Array | Int8Array | Uint16Array) => {
    if (!a || done.has(a) || a.getComponentType() !== Accessor.ComponentType.FLOAT) return;
    done.add(a);
    a.setArray(f(a.getArray() as Float32Array)).setNormalized(true).setSparse(false);
  };
  for (const p of prims) {
    set(p.getAttribute('POSITION'), (arr) => quantize(arr, half, centre, 3, Int16Array));
    set(p.getAttribute('NORMAL'), (arr) => quantize(arr, 1, undefined, 3, Int8Array));
    set(p.getAttribute('TANGENT'), (arr) => quantize(arr, 1, undefined, 4, Int8Array));
    set(p.getAttribute('TEXCOORD_0'), (arr) => quantize(arr, 1, undefined, 2, Uint16Array));
    for (const t of p.listTargets()) {
      set(t.getAttribute('POSITION'), (arr) => quantize(arr, half, undefined, 3, Int16Array));
      // Normalised integers stop at +-1. On ICT's 55 targets 969 of 4.2 million normal-delta components
      // (0.02-0.05%, where a lid or lash turns its surface past 90 degrees) reach up to 2; they are clamped.
      // Keeping floats for the 34 targets that have any would make the file 3.7x larger.
      set(t.getAttribute('NORMAL'), (arr) => quantize(arr, 1, undefined, 3, Int8Array));
    }
  }
  // x_world = M (centre + half * q): the node's matrix gains the dequantisation.
  const m = node.getMatrix();
  const local = [half, 0, 0, 0, 0, half, 0, 0, 0, 0, half, 0, centre[0], centre[1], centre[2], 1];
  const out = new Array<number>(16).fill(0);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) for (let k = 0; k < 4; k++) out[c * 4 + r] += m[k * 4 + r] * local[c * 4 + k];
  node.setMatrix(out as unknown as Parameters<typeof node.setMatrix>[0]);
  doc.createExtension(KHRMeshQuantization).setRequired(true);
}

export async function optimizeGlb(opts: OptimizeGlbOptions): Promise<Uint8Array> {
  const io = await gltfIo();
  const doc = await io.readBinary(opts.glb);
  for (const tex of doc.getRoot().listTextures()) {
    const img = tex.getImage();
    const hit = img && opts.webp.find((w) => sameBytes(w.png, img));
    if (!hit) throw new Error(`optimizeGlb: no WebP for texture "${tex.getName()}"`);
    tex.setImage(hit.webp).setMimeType('image/webp');
  }
  if (doc.getRoot().listTextures().length) doc.createExtension(EXTTextureWebP).setRequired(true);
  quantizeDocument(doc);
  doc.createExtension(EXTMeshoptCompression).setRequired(true).setEncoderOptions({ method: EXTMeshoptCompression.EncoderMethod.QUANTIZE });
  return io.writeBinary(doc);
}
