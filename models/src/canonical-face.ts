/**
 * MediaPipe's canonical face model, read from the files `@mediapipe/face_mesh` ships: the packed-asset
 * loader script lists each packed file's name and byte range in `face_mesh_solution_packed_assets.data`;
 * `geometry_pipeline_metadata_landmarks.binarypb` in it is a GeometryPipelineMetadata protobuf
 * (mediapipe/modules/face_geometry/protos) whose canonical_mesh holds 468 x (x, y, z, u, v) and the
 * triangle indices, and whose procrustes_landmark_basis lists the weighted landmarks MediaPipe fits pose on.
 *
 * Units and frame of the source: centimetres, right-handed, +Y up, +Z out of the face, x towards the
 * subject's left; UV origin at the bottom-left (OpenGL convention).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CANONICAL_SOURCE = {
  package: '@mediapipe/face_mesh',
  data: 'face_mesh_solution_packed_assets.data',
  loader: 'face_mesh_solution_packed_assets_loader.js',
  file: '/third_party/mediapipe/modules/face_geometry/data/geometry_pipeline_metadata_landmarks.binarypb',
};

export interface CanonicalFace {
  /** 468 x (x, y, z), centimetres, as the source stores them. */
  positions: number[];
  /** 468 x (u, v), v up. */
  uvs: number[];
  /** Triangles, 3 indices each. */
  triangles: number[];
  /** Landmarks and weights MediaPipe's geometry pipeline uses for its Procrustes pose fit. */
  procrustes: Array<{ id: number; weight: number }>;
}

/** Reads the byte range of one packed file from the loader script's file table. */
export function readPackedFile(packageDir: string, name: string): Uint8Array {
  const loader = readFileSync(join(packageDir, CANONICAL_SOURCE.loader), 'utf8');
  const re = /"filename":\s*"([^"]+)",\s*"start":\s*(\d+),\s*"end":\s*(\d+)/g;
  for (const m of loader.matchAll(re)) {
    if (m[1] === name) {
      const data = readFileSync(join(packageDir, CANONICAL_SOURCE.data));
      const start = Number(m[2]);
      const end = Number(m[3]);
      if (end > data.length || start >= end) throw new Error(`${name}: range ${start}-${end} outside ${data.length} bytes`);
      return new Uint8Array(data.buffer, data.byteOffset + start, end - start);
    }
  }
  throw new Error(`${name} is not listed in ${CANONICAL_SOURCE.loader}`);
}

/** Minimal protobuf wire-format reader: enough for GeometryPipelineMetadata. */
class ProtoReader {
  private pos = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  get done() {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
  }
  float(): number {
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new Error('truncated length-delimited field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

function readMesh(buf: Uint8Array): { vertexBuffer: number[]; indexBuffer: number[]; vertexType: number; primitiveType: number } {
  const r = new ProtoReader(buf);
  const vertexBuffer: number[] = [];
  const indexBuffer: number[] = [];
  let vertexType = 0;
  let primitiveType = 0;
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === 0) vertexType = r.varint();
    else if (field === 2 && wire === 0) primitiveType = r.varint();
    else if (field === 3 && wire === 2) {
      const p = new ProtoReader(r.bytes());
      while (!p.done) vertexBuffer.push(p.float());
    } else if (field === 3 && wire === 5) vertexBuffer.push(r.float());
    else if (field === 4 && wire === 2) {
      const p = new ProtoReader(r.bytes());
      while (!p.done) indexBuffer.push(p.varint());
    } else if (field === 4 && wire === 0) indexBuffer.push(r.varint());
    else r.skip(wire);
  }
  return { vertexBuffer, indexBuffer, vertexType, primitiveType };
}

export function parseGeometryPipelineMetadata(buf: Uint8Array): CanonicalFace {
  const r = new ProtoReader(buf);
  let mesh: ReturnType<typeof readMesh> | undefined;
  const procrustes: Array<{ id: number; weight: number }> = [];
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === 2) mesh = readMesh(r.bytes());
    else if (field === 2 && wire === 2) {
      const p = new ProtoReader(r.bytes());
      let id = 0;
      let weight = 0;
      while (!p.done) {
        const t = p.varint();
        if (t === (1 << 3) + 0) id = p.varint();
        else if (t === (2 << 3) + 5) weight = p.float();
        else p.skip(t & 7);
      }
      procrustes.push({ id, weight });
    } else r.skip(wire);
  }
  if (!mesh) throw new Error('GeometryPipelineMetadata has no canonical_mesh');
  if (mesh.vertexType !== 0) throw new Error(`canonical mesh vertex type ${mesh.vertexType} is not VERTEX_PT`);
  if (mesh.primitiveType !== 0) throw new Error(`canonical mesh primitive type ${mesh.primitiveType} is not TRIANGLE`);
  const n = mesh.vertexBuffer.length / 5;
  if (!Number.isInteger(n)) throw new Error(`vertex buffer of ${mesh.vertexBuffer.length} floats is not 5 per vertex`);
  const positions: number[] = [];
  const uvs: number[] = [];
  for (let i = 0; i < n; i++) {
    positions.push(mesh.vertexBuffer[5 * i], mesh.vertexBuffer[5 * i + 1], mesh.vertexBuffer[5 * i + 2]);
    uvs.push(mesh.vertexBuffer[5 * i + 3], mesh.vertexBuffer[5 * i + 4]);
  }
  if (mesh.indexBuffer.length % 3 !== 0 || mesh.indexBuffer.some((i) => i >= n)) throw new Error('canonical mesh index buffer is not a triangle list over its vertices');
  return { positions, uvs, triangles: mesh.indexBuffer, procrustes };
}
