/**
 * A small in-memory ONNX graph and its protobuf encoder (via onnx-proto's generated protobufjs code).
 * Kept as plain data so tests can inspect or deliberately damage a converted graph before encoding.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const ONNX_OPSET = 13;
const IR_VERSION = 8;

export type AttrValue = number | number[] | string | { float: number };

export interface OnnxNode {
  name: string;
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export interface OnnxValueInfo {
  name: string;
  /** Static sizes, or a symbolic name for a dynamic dimension (e.g. "batch"). */
  dims: (number | string)[];
}

export interface OnnxGraph {
  name: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  /** Free-form metadata stored in the model (source, licence, converter version). */
  metadata: Record<string, string>;
}

function encodeAttr(name: string, v: AttrValue) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) {
    if (!v.every(Number.isInteger)) throw new Error(`attribute ${name}: ints expected`);
    return { name, type: T.INTS, ints: v };
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use { float } for non-integers`);
    return { name, type: T.INT, i: v };
  }
  return { name, type: T.FLOAT, f: v.float };
}

function valueInfo(v: OnnxValueInfo) {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** Serialises the graph to ONNX protobuf bytes (opset 13, IR 8). */
export function encodeOnnxModel(graph: OnnxGraph): Uint8Array {
  const initializer = graph.initializers.map((t) => ({
    name: t.name,
    dims: t.dims,
    dataType: t.data instanceof Float32Array ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
    rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
  }));
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'facerecon-models',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    metadataProps: Object.entries(graph.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer,
      node: graph.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => encodeAttr(k, v)),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
