import { describe, expect, it } from 'vitest';
import { SUPPORTED_TF_OPS, UnsupportedTfOpError, convertTfjsGraph, tfWindowPadding, transposeData } from '../src/convert-tfjs';
import { TinyGraph, attr } from './tiny-graph';

describe('tfWindowPadding (TensorFlow SAME/VALID rule)', () => {
  // Reference values computed by hand from TF's definition: out = ceil(in / stride),
  // total = max((out - 1) * stride + k - in, 0), the odd pixel goes at the end (bottom/right).
  it.each([
    // in, k, s -> out, before, after
    [256, 3, 1, 256, 1, 1],
    [256, 3, 2, 128, 0, 1], // even input, stride 2: TF pads only at the end (ONNX SAME_UPPER agrees, SAME_LOWER does not)
    [255, 3, 2, 128, 1, 1],
    [192, 5, 2, 96, 1, 2],
    [64, 2, 2, 32, 0, 0],
    [7, 4, 3, 3, 1, 2],
  ])('SAME in=%i k=%i s=%i', (n, k, s, out, before, after) => {
    const r = tfWindowPadding({ inH: n, inW: n, kH: k, kW: k, sH: s, sW: s, padding: 'SAME' });
    expect([r.outH, r.pads[0], r.pads[2]]).toEqual([out, before, after]);
    expect([r.outW, r.pads[1], r.pads[3]]).toEqual([out, before, after]);
  });

  it('VALID has no padding and floors the output', () => {
    expect(tfWindowPadding({ inH: 10, inW: 9, kH: 3, kW: 2, sH: 2, sW: 3, padding: 'VALID' })).toEqual({ outH: 4, outW: 3, pads: [0, 0, 0, 0] });
  });

  it('accounts for dilation in the effective kernel size', () => {
    // k=3, d=2 -> effective 5: out = 8, total = 7 + 5 - 8 = 4
    expect(tfWindowPadding({ inH: 8, inW: 8, kH: 3, kW: 3, sH: 1, sW: 1, dH: 2, dW: 2, padding: 'SAME' }).pads).toEqual([2, 2, 2, 2]);
  });
});

describe('transposeData', () => {
  it('permutes NHWC to NCHW element by element', () => {
    const [n, h, w, c] = [2, 3, 4, 5];
    const src = Float32Array.from({ length: n * h * w * c }, (_, i) => i);
    const out = transposeData(src, [n, h, w, c], [0, 3, 1, 2]);
    for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) {
      expect(out[((b * c + k) * h + y) * w + x]).toBe(src[((b * h + y) * w + x) * c + k]);
    }
  });

  it('round-trips through the inverse permutation', () => {
    const src = Float32Array.from({ length: 120 }, (_, i) => Math.sin(i));
    const t = transposeData(src, [2, 3, 4, 5], [3, 2, 0, 1]);
    expect(Array.from(transposeData(t, [5, 4, 2, 3], [2, 3, 1, 0]))).toEqual(Array.from(src));
  });
});

describe('convertTfjsGraph failures', () => {
  it('names the node and op it cannot convert', () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 8, 8, 3]);
    g.op('y', 'Softplus', [x]);
    expect(() => convertTfjsGraph(g.build(), { name: 't', outputs: { out: 'y' } })).toThrow(UnsupportedTfOpError);
    expect(() => convertTfjsGraph(g.build(), { name: 't', outputs: { out: 'y' } })).toThrow(/"y" \(op Softplus\)/);
    expect(SUPPORTED_TF_OPS).not.toContain('Softplus');
  });

  it('rejects fused activations it does not implement rather than dropping them', () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 8, 8, 3]);
    g.conv('c', x, { k: 3, cin: 3, cout: 4, stride: 1, padding: 'SAME', fused: ['BiasAdd', 'Elu'] });
    expect(() => convertTfjsGraph(g.build(), { name: 't', outputs: { out: 'c' } })).toThrow(/fused activation Elu/);
  });

  it('rejects NCHW data_format and explicit padding', () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 8, 8, 3]);
    const c = g.conv('c', x, { k: 3, cin: 3, cout: 4, stride: 1, padding: 'SAME' });
    g.nodes.find((n) => n.name === c)!.attr!.data_format = attr.s('NCHW');
    expect(() => convertTfjsGraph(g.build(), { name: 't', outputs: { out: 'c' } })).toThrow(/data_format NCHW/);
    g.nodes.find((n) => n.name === c)!.attr!.data_format = attr.s('NHWC');
    g.nodes.find((n) => n.name === c)!.attr!.padding = attr.s('EXPLICIT');
    expect(() => convertTfjsGraph(g.build(), { name: 't', outputs: { out: 'c' } })).toThrow(/padding EXPLICIT/);
  });

  it('refuses an output name that is also a node name (the ONNX graph would define it twice)', () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, 8, 8, 3]);
    g.op('y', 'Relu', [x]);
    expect(() => convertTfjsGraph(g.build(), { name: 't', outputs: { y: 'y' } })).toThrow(/collides/);
  });

  it('rejects an input with dynamic spatial size', () => {
    const g = new TinyGraph();
    const x = g.input('x', [1, -1, -1, 3]);
    g.op('y', 'Relu', [x]);
    expect(() => convertTfjsGraph(g.build(), { name: 't', outputs: { out: 'y' } })).toThrow(/input shape/);
  });
});
