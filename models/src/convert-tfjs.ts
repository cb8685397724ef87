/**
 * TF.js graph model -> ONNX graph.
 *
 * TF graphs are NHWC; ONNX convolutions are NCHW. The converter transposes the input once, keeps every
 * 4-D activation in NCHW, rewrites weights and constants into that layout, and transposes back only
 * where NHWC memory order is observable (Reshape, graph outputs). Padding is made explicit from static
 * shapes with TensorFlow's own SAME rule (extra row/column at the end), so it never depends on an
 * auto_pad interpretation. Any op, attribute or fused pattern it does not know is an error naming the
 * node: a silent approximation would pass a smoke test and fail on faces.
 */
import { decodeAttrString, type TfGraphModel, type TfNode, type TfWeight } from './tfjs-graph';
import type { OnnxGraph, OnnxNode, OnnxValueInfo } from './onnx-graph';

type Layout = 'NCHW' | 'plain';

interface Value {
  name: string; // ONNX tensor name
  layout: Layout;
  /** Shape in TF (NHWC) semantics; -1 for the dynamic batch. */
  shape: number[];
}

export interface ConvertOptions {
  name: string;
  /** ONNX output name -> TF node name. Defaults to the model's signature outputs. */
  outputs?: Record<string, string>;
  metadata?: Record<string, string>;
}

export class UnsupportedTfOpError extends Error {
  constructor(node: TfNode, why: string) {
    super(`cannot convert node "${node.name}" (op ${node.op}): ${why}`);
    this.name = 'UnsupportedTfOpError';
  }
}

export const SUPPORTED_TF_OPS = [
  'Placeholder', 'Const', 'Identity', '_FusedConv2D', 'Conv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative',
  'AddV2', 'Add', 'Sub', 'Mul', 'Relu', 'Relu6', 'Sigmoid', 'Tanh', 'Prelu', 'MaxPool', 'AvgPool', 'Pad', 'PadV2',
  'Reshape', 'ConcatV2', 'AddN', 'ResizeBilinear', 'Conv2DBackpropInput',
] as const;

/** Permutes a dense row-major array: out.shape[i] = shape[perm[i]]. */
export function transposeData<T extends Float32Array | Int32Array>(data: T, shape: number[], perm: number[]): T {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) { inStrides[i] = s; s *= shape[i]; }
  const out = new (data.constructor as { new (n: number): T })(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += idx[i] * inStrides[perm[i]];
    out[o] = data[src];
    for (let i = rank - 1; i >= 0; i--) { if (++idx[i] < outShape[i]) break; idx[i] = 0; }
  }
  return out;
}

/** TensorFlow's output size and [top, left, bottom, right] padding for one spatial window op. */
export function tfWindowPadding(args: {
  inH: number; inW: number; kH: number; kW: number; sH: number; sW: number; dH?: number; dW?: number;
  padding: 'SAME' | 'VALID';
}): { outH: number; outW: number; pads: [number, number, number, number] } {
  const { inH, inW, kH, kW, sH, sW, dH = 1, dW = 1, padding } = args;
  const eH = (kH - 1) * dH + 1;
  const eW = (kW - 1) * dW + 1;
  if (padding === 'VALID') {
    return { outH: Math.floor((inH - eH) / sH) + 1, outW: Math.floor((inW - eW) / sW) + 1, pads: [0, 0, 0, 0] };
  }
  const outH = Math.ceil(inH / sH);
  const outW = Math.ceil(inW / sW);
  const tH = Math.max((outH - 1) * sH + eH - inH, 0);
  const tW = Math.max((outW - 1) * sW + eW - inW, 0);
  const top = Math.floor(tH / 2);
  const left = Math.floor(tW / 2);
  return { outH, outW, pads: [top, left, tH - top, tW - left] };
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];

export function convertTfjsGraph(model: TfGraphModel, options: ConvertOptions): OnnxGraph {
  const byName = new Map(model.nodes.map((n) => [n.name, n]));
  const outputs = options.outputs ?? model.signatureOutputs;
  if (Object.keys(outputs).length === 0) throw new Error(`${options.name}: no outputs given and no signature in the model`);

  for (const outName of Object.keys(outputs)) {
    if (byName.has(outName)) throw new Error(`${options.name}: output name "${outName}" collides with a node of the graph; choose another`);
  }
  const graph: OnnxGraph = { name: options.name, inputs: [], outputs: [], nodes: [], initializers: [], metadata: { ...options.metadata } };
  const values = new Map<string, Value>();
  const consts = new Map<string, TfWeight>();
  let counter = 0;
  const fresh = (base: string) => `${base}__${counter++}`;

  const emit = (node: OnnxNode) => { graph.nodes.push(node); };
  const addFloat = (base: string, dims: number[], data: Float32Array) => {
    const name = fresh(base);
    graph.initializers.push({ name, dims, data });
    return name;
  };
  const addInt64 = (base: string, values: number[]) => {
    const name = fresh(base);
    graph.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  };

  const inputName = (ref: string, node: TfNode) => {
    if (ref.startsWith('^')) return undefined; // control dependency: no data
    const [base, index] = ref.split(':');
    if (index !== undefined && index !== '0') throw new UnsupportedTfOpError(node, `multi-output input ${ref}`);
    return base;
  };
  const dataInputs = (node: TfNode) => (node.input ?? []).map((r) => inputName(r, node)).filter((x): x is string => !!x);
  const valueOf = (node: TfNode, ref: string): Value => {
    const v = values.get(ref);
    if (!v) throw new UnsupportedTfOpError(node, `input ${ref} is not an activation (constant in an activation slot?)`);
    return v;
  };
  const constOf = (node: TfNode, ref: string): TfWeight => {
    const c = consts.get(ref);
    if (!c) throw new UnsupportedTfOpError(node, `input ${ref} must be a constant`);
    return c;
  };
  const toNhwc = (v: Value): string => {
    if (v.layout !== 'NCHW') return v.name;
    const name = fresh(`${v.name}_nhwc`);
    emit({ name, op: 'Transpose', inputs: [v.name], outputs: [name], attrs: { perm: NCHW_TO_NHWC } });
    return name;
  };
  /** A constant that broadcasts against an NHWC activation, rewritten to broadcast against its NCHW twin. */
  const broadcastConst = (c: TfWeight, layout: Layout, base: string) => {
    const data = Float32Array.from(c.data);
    if (layout !== 'NCHW') return addFloat(base, c.shape, data);
    if (c.shape.length > 4) throw new Error(`constant ${c.name} has rank ${c.shape.length} > 4`);
    const shape4 = [...new Array(4 - c.shape.length).fill(1), ...c.shape];
    return addFloat(base, NHWC_TO_NCHW.map((p) => shape4[p]), transposeData(data, shape4, NHWC_TO_NCHW));
  };
  const padAttr = (node: TfNode): 'SAME' | 'VALID' => {
    const p = decodeAttrString(node.attr?.padding);
    if (p !== 'SAME' && p !== 'VALID') throw new UnsupportedTfOpError(node, `padding ${p ?? '(none)'}`);
    return p;
  };
  const requireNhwc = (node: TfNode) => {
    const f = decodeAttrString(node.attr?.data_format) ?? 'NHWC';
    if (f !== 'NHWC') throw new UnsupportedTfOpError(node, `data_format ${f}`);
  };
  const ints = (node: TfNode, key: string, fallback?: number[]) => {
    const l = node.attr?.[key]?.list?.i;
    if (!l) { if (fallback) return fallback; throw new UnsupportedTfOpError(node, `missing attribute ${key}`); }
    return l.map(Number);
  };

  const convertConv = (node: TfNode, depthwise: boolean) => {
    requireNhwc(node);
    const [xRef, wRef, ...extra] = dataInputs(node);
    const x = valueOf(node, xRef);
    const w = constOf(node, wRef);
    const [kH, kW, cIn, cOut] = w.shape; // depthwise: cOut is the channel multiplier
    const strides = ints(node, 'strides');
    const dil = ints(node, 'dilations', [1, 1, 1, 1]);
    if (strides[0] !== 1 || strides[3] !== 1 || dil[0] !== 1 || dil[3] !== 1) throw new UnsupportedTfOpError(node, 'batch/channel stride or dilation');
    const { outH, outW, pads } = tfWindowPadding({ inH: x.shape[1], inW: x.shape[2], kH, kW, sH: strides[1], sW: strides[2], dH: dil[1], dW: dil[2], padding: padAttr(node) });
    const weight = depthwise
      ? addFloat(`${node.name}/W`, [cIn * cOut, 1, kH, kW], transposeData(Float32Array.from(w.data), w.shape, [2, 3, 0, 1]))
      : addFloat(`${node.name}/W`, [cOut, cIn, kH, kW], transposeData(Float32Array.from(w.data), w.shape, [3, 2, 0, 1]));
    const channels = depthwise ? cIn * cOut : cOut;
    const fused = (node.attr?.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
    if (!node.op.startsWith('Fused') && !node.op.startsWith('_Fused') && fused.length) throw new UnsupportedTfOpError(node, 'fused ops on a plain conv');
    const inputs = [x.name, weight];
    let rest = fused;
    if (rest[0] === 'BiasAdd') {
      inputs.push(addFloat(`${node.name}/B`, [channels], Float32Array.from(constOf(node, extra[0]).data)));
      rest = rest.slice(1);
    } else if (rest.length) {
      throw new UnsupportedTfOpError(node, `fused ops [${fused.join(', ')}] (only BiasAdd first is supported)`);
    }
    const convOut = rest.length ? fresh(`${node.name}/conv`) : node.name;
    emit({
      name: fresh(node.name), op: 'Conv', inputs, outputs: [convOut],
      attrs: { kernel_shape: [kH, kW], strides: [strides[1], strides[2]], dilations: [dil[1], dil[2]], pads, group: depthwise ? cIn : 1 },
    });
    if (rest.length > 1) throw new UnsupportedTfOpError(node, `fused ops [${fused.join(', ')}]`);
    if (rest.length === 1) {
      const act = rest[0];
      if (act === 'Relu') emit({ name: fresh(node.name), op: 'Relu', inputs: [convOut], outputs: [node.name] });
      else if (act === 'Relu6') emit({ name: fresh(node.name), op: 'Clip', inputs: [convOut, addFloat('zero', [], new Float32Array([0])), addFloat('six', [], new Float32Array([6]))], outputs: [node.name] });
      else if (act === 'Prelu') emit({ name: fresh(node.name), op: 'PRelu', inputs: [convOut, broadcastConst(constOf(node, extra[1]), 'NCHW', `${node.name}/alpha`)], outputs: [node.name] });
      else throw new UnsupportedTfOpError(node, `fused activation ${act}`);
    }
    values.set(node.name, { name: node.name, layout: 'NCHW', shape: [x.shape[0], outH, outW, channels] });
  };

  const convertNode = (node: TfNode) => {
    const ins = dataInputs(node);
    switch (node.op) {
      case 'Const': {
        const w = model.weights.get(node.name);
        if (!w) throw new UnsupportedTfOpError(node, 'constant without weight data');
        consts.set(node.name, w);
        return;
      }
      case 'Placeholder': {
        const dims = (node.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size));
        if (dims.length !== 4 || dims.slice(1).some((d) => d <= 0)) throw new UnsupportedTfOpError(node, `input shape [${dims}] (need NHWC with static H, W, C)`);
        graph.inputs.push({ name: node.name, dims: dims.map((d, i) => (i === 0 && d < 0 ? 'batch' : d)) });
        const nchw = fresh(`${node.name}_nchw`);
        emit({ name: nchw, op: 'Transpose', inputs: [node.name], outputs: [nchw], attrs: { perm: NHWC_TO_NCHW } });
        values.set(node.name, { name: nchw, layout: 'NCHW', shape: dims });
        return;
      }
      case 'Identity': {
        if (consts.has(ins[0])) consts.set(node.name, consts.get(ins[0])!);
        else values.set(node.name, valueOf(node, ins[0]));
        return;
      }
      case 'Conv2D': case '_FusedConv2D': return convertConv(node, false);
      case 'DepthwiseConv2dNative': case 'FusedDepthwiseConv2dNative': return convertConv(node, true);
      case 'AddV2': case 'Add': case 'Sub': case 'Mul': {
        const op = node.op === 'Sub' ? 'Sub' : node.op === 'Mul' ? 'Mul' : 'Add';
        const act = ins.map((r) => values.get(r));
        const anchor = act.find((v) => v);
        if (!anchor) throw new UnsupportedTfOpError(node, 'both operands constant');
        const names = ins.map((r, i) => act[i]?.name ?? broadcastConst(constOf(node, r), anchor.layout, `${node.name}/c${i}`));
        if (act.filter(Boolean).some((v) => v!.layout !== anchor.layout)) throw new UnsupportedTfOpError(node, 'operands in different layouts');
        emit({ name: fresh(node.name), op, inputs: names, outputs: [node.name] });
        values.set(node.name, { name: node.name, layout: anchor.layout, shape: anchor.shape });
        return;
      }
      case 'AddN': {
        const parts = ins.map((r) => valueOf(node, r));
        if (parts.some((v) => v.layout !== parts[0].layout)) throw new UnsupportedTfOpError(node, 'operands in different layouts');
        emit({ name: fresh(node.name), op: 'Sum', inputs: parts.map((v) => v.name), outputs: [node.name] });
        values.set(node.name, { name: node.name, layout: parts[0].layout, shape: parts[0].shape });
        return;
      }
      case 'ResizeBilinear': {
        // TF's half_pixel_centers is ONNX's half_pixel; align_corners is align_corners; neither is
        // TF's legacy "asymmetric" mode, which ONNX also has. Scales (not sizes) keep the batch dynamic.
        const x = valueOf(node, ins[0]);
        if (x.layout !== 'NCHW') throw new UnsupportedTfOpError(node, 'resize of a non-image tensor');
        const [outH, outW] = Array.from(constOf(node, ins[1]).data, Number);
        const halfPixel = node.attr?.half_pixel_centers?.b === true;
        const alignCorners = node.attr?.align_corners?.b === true;
        const mode = alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric';
        // Sizes when the batch is static (exact); scales otherwise, whose float ratio can round the
        // inferred output size down by one (onnxruntime warns and still computes the right size).
        const inputs = x.shape[0] > 0
          ? [x.name, '', '', addInt64(`${node.name}/sizes`, [x.shape[0], x.shape[3], outH, outW])]
          : [x.name, '', addFloat(`${node.name}/scales`, [4], Float32Array.from([1, 1, outH / x.shape[1], outW / x.shape[2]]))];
        emit({ name: fresh(node.name), op: 'Resize', inputs, outputs: [node.name], attrs: { mode: 'linear', coordinate_transformation_mode: mode } });
        values.set(node.name, { name: node.name, layout: 'NCHW', shape: [x.shape[0], outH, outW, x.shape[3]] });
        return;
      }
      case 'Conv2DBackpropInput': {
        // The transposed convolution is the gradient of the forward conv that maps the output size to
        // the input size: its SAME pads (TF's rule) become ConvTranspose's pads, and any remainder
        // rows/columns at the end become output_padding, exactly as TF places them.
        requireNhwc(node);
        const sizes = Array.from(constOf(node, ins[0]).data, Number);
        const w = constOf(node, ins[1]); // [kH, kW, outC, inC]
        const x = valueOf(node, ins[2]);
        const [kH, kW, cOut, cIn] = w.shape;
        const strides = ints(node, 'strides');
        const dil = ints(node, 'dilations', [1, 1, 1, 1]);
        if (dil.some((d) => d !== 1)) throw new UnsupportedTfOpError(node, 'dilated transposed convolution');
        const [outH, outW] = [sizes[1], sizes[2]];
        const fwd = tfWindowPadding({ inH: outH, inW: outW, kH, kW, sH: strides[1], sW: strides[2], padding: padAttr(node) });
        if (fwd.outH !== x.shape[1] || fwd.outW !== x.shape[2]) throw new UnsupportedTfOpError(node, `input_sizes [${sizes}] do not match the input ${x.shape}`);
        const [pt, pl, pb, pr] = fwd.pads;
        const opH = outH - ((x.shape[1] - 1) * strides[1] + kH - pt - pb);
        const opW = outW - ((x.shape[2] - 1) * strides[2] + kW - pl - pr);
        const weight = addFloat(`${node.name}/W`, [cIn, cOut, kH, kW], transposeData(Float32Array.from(w.data), w.shape, [3, 2, 0, 1]));
        emit({
          name: fresh(node.name), op: 'ConvTranspose', inputs: [x.name, weight], outputs: [node.name],
          attrs: { kernel_shape: [kH, kW], strides: [strides[1], strides[2]], pads: [pt, pl, pb, pr], output_padding: [opH, opW] },
        });
        values.set(node.name, { name: node.name, layout: 'NCHW', shape: [x.shape[0], outH, outW, cOut] });
        return;
      }
      case 'Relu': case 'Sigmoid': case 'Tanh': case 'Relu6': {
        const x = valueOf(node, ins[0]);
        if (node.op === 'Relu6') emit({ name: fresh(node.name), op: 'Clip', inputs: [x.name, addFloat('zero', [], new Float32Array([0])), addFloat('six', [], new Float32Array([6]))], outputs: [node.name] });
        else emit({ name: fresh(node.name), op: node.op, inputs: [x.name], outputs: [node.name] });
        values.set(node.name, { ...x, name: node.name });
        return;
      }
      case 'Prelu': {
        const x = valueOf(node, ins[0]);
        emit({ name: fresh(node.name), op: 'PRelu', inputs: [x.name, broadcastConst(constOf(node, ins[1]), x.layout, `${node.name}/alpha`)], outputs: [node.name] });
        values.set(node.name, { ...x, name: node.name });
        return;
      }
      case 'MaxPool': case 'AvgPool': {
        requireNhwc(node);
        const x = valueOf(node, ins[0]);
        const k = ints(node, 'ksize');
        const s = ints(node, 'strides');
        if (k[0] !== 1 || k[3] !== 1 || s[0] !== 1 || s[3] !== 1) throw new UnsupportedTfOpError(node, 'pooling over batch or channels');
        const { outH, outW, pads } = tfWindowPadding({ inH: x.shape[1], inW: x.shape[2], kH: k[1], kW: k[2], sH: s[1], sW: s[2], padding: padAttr(node) });
        const attrs: Record<string, number | number[]> = { kernel_shape: [k[1], k[2]], strides: [s[1], s[2]], pads };
        if (node.op === 'AvgPool') attrs.count_include_pad = 0; // TF averages over the valid window only
        emit({ name: fresh(node.name), op: node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', inputs: [x.name], outputs: [node.name], attrs });
        values.set(node.name, { name: node.name, layout: 'NCHW', shape: [x.shape[0], outH, outW, x.shape[3]] });
        return;
      }
      case 'Pad': case 'PadV2': {
        const x = valueOf(node, ins[0]);
        const p = constOf(node, ins[1]);
        if (p.shape.length !== 2 || p.shape[1] !== 2 || p.shape[0] !== x.shape.length) throw new UnsupportedTfOpError(node, `paddings shape [${p.shape}]`);
        const rank = x.shape.length;
        const order = x.layout === 'NCHW' ? NHWC_TO_NCHW : [...Array(rank).keys()];
        const pads = [...order.map((a) => p.data[a * 2]), ...order.map((a) => p.data[a * 2 + 1])].map(Number);
        const inputs = [x.name, addInt64(`${node.name}/pads`, pads)];
        if (node.op === 'PadV2') inputs.push(addFloat(`${node.name}/value`, [], Float32Array.from(constOf(node, ins[2]).data)));
        emit({ name: fresh(node.name), op: 'Pad', inputs, outputs: [node.name], attrs: { mode: 'constant' } });
        values.set(node.name, { name: node.name, layout: x.layout, shape: x.shape.map((d, a) => (d < 0 ? d : d + p.data[a * 2] + p.data[a * 2 + 1])) });
        return;
      }
      case 'Reshape': {
        const x = valueOf(node, ins[0]);
        const target = Array.from(constOf(node, ins[1]).data, Number);
        emit({ name: fresh(node.name), op: 'Reshape', inputs: [toNhwc(x), addInt64(`${node.name}/shape`, target)], outputs: [node.name] });
        const known = x.shape.every((d) => d > 0) ? x.shape.reduce((a, b) => a * b, 1) : -1;
        const rest = target.filter((d) => d > 0).reduce((a, b) => a * b, 1);
        values.set(node.name, { name: node.name, layout: 'plain', shape: target.map((d) => (d === -1 ? (known > 0 ? known / rest : -1) : d)) });
        return;
      }
      case 'ConcatV2': {
        const parts = ins.slice(0, -1).map((r) => valueOf(node, r));
        const layout = parts[0].layout;
        if (parts.some((v) => v.layout !== layout)) throw new UnsupportedTfOpError(node, 'inputs in different layouts');
        const rank = parts[0].shape.length;
        let axis = Number(constOf(node, ins[ins.length - 1]).data[0]);
        if (axis < 0) axis += rank;
        const onnxAxis = layout === 'NCHW' ? NHWC_TO_NCHW.indexOf(axis) : axis;
        emit({ name: fresh(node.name), op: 'Concat', inputs: parts.map((v) => v.name), outputs: [node.name], attrs: { axis: onnxAxis } });
        const shape = [...parts[0].shape];
        shape[axis] = parts.reduce((a, v) => a + v.shape[axis], 0);
        values.set(node.name, { name: node.name, layout, shape });
        return;
      }
      default:
        throw new UnsupportedTfOpError(node, 'op not supported by this converter');
    }
  };

  // Depth-first topological order from the requested outputs: only what they need is converted.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string) => {
    const st = state.get(name);
    if (st === 'done') return;
    if (st === 'visiting') throw new Error(`${options.name}: cycle at ${name}`);
    const node = byName.get(name);
    if (!node) throw new Error(`${options.name}: node ${name} not found`);
    state.set(name, 'visiting');
    for (const ref of node.input ?? []) {
      const base = ref.replace(/^\^/, '').split(':')[0];
      visit(base);
    }
    convertNode(node);
    state.set(name, 'done');
  };
  for (const tfName of Object.values(outputs)) visit(tfName);

  for (const [outName, tfName] of Object.entries(outputs)) {
    const v = values.get(tfName);
    if (!v) throw new Error(`${options.name}: output ${tfName} is not an activation`);
    const src = toNhwc(v);
    emit({ name: fresh(outName), op: 'Identity', inputs: [src], outputs: [outName] });
    const info: OnnxValueInfo = { name: outName, dims: v.shape.map((d, i) => (d < 0 ? (i === 0 ? 'batch' : `d${i}`) : d)) };
    graph.outputs.push(info);
  }
  return graph;
}
