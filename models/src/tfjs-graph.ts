/**
 * Reader for the TF.js graph-model format (model.json + binary weight shards), as written by
 * tensorflowjs_converter. Returns the node list and every weight decoded to Float32/Int32, with
 * quantised weights (float16, uint8, uint16 affine) expanded back to their original dtype.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface TfAttrValue {
  s?: string; // base64
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size: string | number }[]; unknownRank?: boolean };
  list?: { s?: string[]; i?: (string | number)[]; f?: number[] };
  tensor?: unknown;
}

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttrValue>;
}

export interface TfWeight {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface TfGraphModel {
  nodes: TfNode[];
  weights: Map<string, TfWeight>;
  /** Signature outputs (key -> tensor name without ":0"), when the model carries one. */
  signatureOutputs: Record<string, string>;
  /** The raw model.json, for reference runtimes that want it untouched. */
  json: TfModelJson;
  /** Concatenated weight shards, as tfjs expects them. */
  weightData: ArrayBuffer;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: 'float16' | 'uint8' | 'uint16'; scale?: number; min?: number; original_dtype?: string };
}

export interface TfModelJson {
  format?: string;
  modelTopology: { node: TfNode[] };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  signature?: { outputs?: Record<string, { name: string }> };
  userDefinedMetadata?: { signature?: { outputs?: Record<string, { name: string }> } };
}

export function decodeAttrString(v: TfAttrValue | undefined): string | undefined {
  return v?.s === undefined ? undefined : Buffer.from(v.s, 'base64').toString('utf8');
}

/** IEEE 754 half -> single; exact for every half value, including subnormals, inf and NaN. */
export function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function decodeWeight(spec: WeightSpec, bytes: Buffer, offset: number): { weight: TfWeight; size: number } {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.dtype === 'int32' ? 'int32' : spec.dtype === 'float32' ? 'float32' : undefined;
  if (!dtype) throw new Error(`weight ${spec.name}: unsupported dtype ${spec.dtype}`);
  const q = spec.quantization;
  if (!q) {
    const size = count * 4;
    const view = bytes.subarray(offset, offset + size);
    if (view.length !== size) throw new Error(`weight ${spec.name}: shard too short`);
    const copy = new Uint8Array(view); // aligned copy
    const data = dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
    return { weight: { name: spec.name, dtype, shape: spec.shape, data }, size };
  }
  const bytesPer = q.dtype === 'uint8' ? 1 : 2;
  const size = count * bytesPer;
  if (offset + size > bytes.length) throw new Error(`weight ${spec.name}: shard too short`);
  const out = dtype === 'int32' ? new Int32Array(count) : new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const p = offset + i * bytesPer;
    if (q.dtype === 'float16') out[i] = float16ToFloat32(bytes.readUInt16LE(p));
    else if (q.dtype === 'uint16') out[i] = bytes.readUInt16LE(p) * (q.scale ?? 1) + (q.min ?? 0);
    else if (q.dtype === 'uint8') out[i] = bytes[p] * (q.scale ?? 1) + (q.min ?? 0);
    else throw new Error(`weight ${spec.name}: unsupported quantisation ${String(q.dtype)}`);
  }
  return { weight: { name: spec.name, dtype, shape: spec.shape, data: out }, size };
}

/** Loads model.json and its shards from disk. Throws with the file name on any inconsistency. */
export function readTfGraphModel(modelJsonPath: string): TfGraphModel {
  const json = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as TfModelJson;
  if (json.format !== undefined && json.format !== 'graph-model') {
    throw new Error(`${modelJsonPath}: format "${json.format}" is not a TF.js graph model`);
  }
  if (!json.modelTopology?.node || !Array.isArray(json.weightsManifest)) {
    throw new Error(`${modelJsonPath}: missing modelTopology.node or weightsManifest`);
  }
  const weights = new Map<string, TfWeight>();
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) {
    const bytes = Buffer.concat(group.paths.map((p) => readFileSync(join(dirname(modelJsonPath), p))));
    shards.push(bytes);
    let offset = 0;
    for (const spec of group.weights) {
      const { weight, size } = decodeWeight(spec, bytes, offset);
      weights.set(spec.name, weight);
      offset += size;
    }
    if (offset !== bytes.length) throw new Error(`${modelJsonPath}: ${bytes.length - offset} unread bytes in weight shards`);
  }
  const sig = json.signature?.outputs ?? json.userDefinedMetadata?.signature?.outputs ?? {};
  const signatureOutputs: Record<string, string> = {};
  for (const [key, v] of Object.entries(sig)) signatureOutputs[key] = v.name.replace(/:0$/, '');
  const all = Buffer.concat(shards);
  return {
    nodes: json.modelTopology.node,
    weights,
    signatureOutputs,
    json,
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
  };
}
