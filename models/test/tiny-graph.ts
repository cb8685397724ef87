/**
 * Builds small TF.js graph models in memory, in the exact JSON form tensorflowjs_converter writes, so
 * that converter cases can run on both onnxruntime and tfjs without files.
 */
import type { TfAttrValue, TfGraphModel, TfNode, TfWeight } from '../src/tfjs-graph';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

export const attr = {
  s: (v: string): TfAttrValue => ({ s: b64(v) }),
  ints: (v: number[]): TfAttrValue => ({ list: { i: v.map(String) } }),
  strs: (v: string[]): TfAttrValue => ({ list: { s: v.map(b64) } }),
  int: (v: number): TfAttrValue => ({ i: String(v) }),
  f: (v: number): TfAttrValue => ({ f: v }),
  type: (): TfAttrValue => ({ type: 'DT_FLOAT' }),
};

export class TinyGraph {
  readonly nodes: TfNode[] = [];
  private readonly weights: TfWeight[] = [];
  private seed: number;

  constructor(seed = 1) {
    this.seed = seed;
  }

  /** Deterministic pseudo-random values in [-1, 1] (LCG; tests must not depend on Math.random). */
  random(n: number, scale = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      this.seed = (this.seed * 1664525 + 1013904223) >>> 0;
      out[i] = ((this.seed / 2 ** 32) * 2 - 1) * scale;
    }
    return out;
  }

  input(name: string, shape: number[]): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { dtype: attr.type(), shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } } });
    return name;
  }

  const(name: string, shape: number[], data: Float32Array | Int32Array): string {
    const dtype = data instanceof Int32Array ? 'int32' : 'float32';
    this.weights.push({ name, dtype, shape, data });
    this.nodes.push({ name, op: 'Const', attr: { dtype: dtype === 'int32' ? { type: 'DT_INT32' } : attr.type(), value: { tensor: {} } as TfAttrValue } });
    return name;
  }

  op(name: string, op: string, inputs: string[], attrs: Record<string, TfAttrValue> = {}): string {
    this.nodes.push({ name, op, input: inputs, attr: { T: attr.type(), ...attrs } });
    return name;
  }

  conv(name: string, x: string, opts: { k: number; cin: number; cout: number; stride: number; padding: 'SAME' | 'VALID'; fused?: string[]; depthwise?: boolean }): string {
    const shape = [opts.k, opts.k, opts.cin, opts.cout];
    const w = this.const(`${name}/w`, shape, this.random(shape.reduce((a, b) => a * b, 1), 0.5));
    const ch = opts.depthwise ? opts.cin * opts.cout : opts.cout;
    const inputs = [x, w];
    const fused = opts.fused ?? [];
    if (fused.includes('BiasAdd')) inputs.push(this.const(`${name}/b`, [ch], this.random(ch, 0.2)));
    if (fused.includes('Prelu')) inputs.push(this.const(`${name}/alpha`, [ch], this.random(ch, 0.3)));
    const op = opts.depthwise ? (fused.length ? 'FusedDepthwiseConv2dNative' : 'DepthwiseConv2dNative') : fused.length ? '_FusedConv2D' : 'Conv2D';
    return this.op(name, op, inputs, {
      strides: attr.ints([1, opts.stride, opts.stride, 1]),
      padding: attr.s(opts.padding),
      data_format: attr.s('NHWC'),
      dilations: attr.ints([1, 1, 1, 1]),
      explicit_paddings: { list: {} },
      ...(fused.length ? { fused_ops: attr.strs(fused), num_args: attr.int(inputs.length - 2), epsilon: attr.f(0) } : {}),
    });
  }

  build(): TfGraphModel {
    const bytes = Buffer.concat(this.weights.map((w) => Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength)));
    const json = {
      format: 'graph-model',
      modelTopology: { node: this.nodes, library: {}, versions: {} },
      weightsManifest: [{ paths: ['weights.bin'], weights: this.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype })) }],
    };
    return {
      nodes: this.nodes,
      weights: new Map(this.weights.map((w) => [w.name, w])),
      signatureOutputs: {},
      json,
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    };
  }
}
