/**
 * Converter cases on small graphs, each run on onnxruntime-node (converted) and tfjs (original). Sizes
 * are chosen so that TF's asymmetric SAME padding and NHWC memory order are observable: a converter
 * that pads the other side, or reshapes in NCHW order, fails these.
 */
import { describe, expect, it } from 'vitest';
import { TinyGraph, attr } from '../../models/test/tiny-graph';
import { compareRuntimes, seededUniform } from './parity-helpers';

const TOL = 1e-5;

function inputOf(shape: number[], seed: number) {
  return [{ data: seededUniform(shape.reduce((a, b) => a * b, 1), seed, -1, 1), dims: shape }];
}

describe('converter parity on small graphs (onnxruntime-node vs tfjs cpu)', () => {
  it.each([
    ['even input, stride 2, SAME', 8, 3, 2, 'SAME'],
    ['odd input, stride 2, SAME', 9, 3, 2, 'SAME'],
    ['5x5 kernel, stride 2, SAME', 10, 5, 2, 'SAME'],
    ['stride 1, VALID', 7, 3, 1, 'VALID'],
  ] as const)('_FusedConv2D BiasAdd+Relu: %s', async (_label, size, k, stride, padding) => {
    const g = new TinyGraph(7);
    const x = g.input('x', [1, size, size, 3]);
    g.conv('y', x, { k, cin: 3, cout: 4, stride, padding, fused: ['BiasAdd', 'Relu'] });
    const d = await compareRuntimes(g.build(), { out: 'y' }, 'x', inputOf([1, size, size, 3], 1));
    expect(d.maxAbs.out).toBeLessThan(TOL);
  });

  it('_FusedConv2D BiasAdd+Prelu and DepthwiseConv2dNative with a channel multiplier', async () => {
    const g = new TinyGraph(3);
    const x = g.input('x', [1, 12, 12, 3]);
    const c = g.conv('c', x, { k: 3, cin: 3, cout: 4, stride: 1, padding: 'SAME', fused: ['BiasAdd', 'Prelu'] });
    g.conv('y', c, { k: 3, cin: 4, cout: 2, stride: 2, padding: 'SAME', depthwise: true });
    const d = await compareRuntimes(g.build(), { out: 'y' }, 'x', inputOf([1, 12, 12, 3], 2));
    expect(d.maxAbs.out).toBeLessThan(TOL);
  });

  it('MaxPool SAME on an odd size, Pad on H/W/C, AddV2 residual, ConcatV2 on channels', async () => {
    const g = new TinyGraph(5);
    const x = g.input('x', [1, 9, 9, 2]);
    const p = g.op('p', 'MaxPool', [x], { ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 2, 2, 1]), padding: attr.s('SAME'), data_format: attr.s('NHWC') });
    const padded = g.op('pad', 'Pad', [p, g.const('pads', [4, 2], Int32Array.from([0, 0, 1, 0, 0, 2, 0, 3]))]);
    const c = g.conv('c', padded, { k: 1, cin: 5, cout: 5, stride: 1, padding: 'VALID', fused: ['BiasAdd'] });
    const sum = g.op('sum', 'AddV2', [c, padded]);
    const r = g.op('r', 'Relu', [sum]);
    g.op('y', 'ConcatV2', [r, padded, g.const('axis', [], Int32Array.from([-1]))], { N: attr.int(2) });
    const d = await compareRuntimes(g.build(), { out: 'y' }, 'x', inputOf([1, 9, 9, 2], 3));
    expect(d.maxAbs.out).toBeLessThan(TOL);
  });

  it('Reshape keeps NHWC element order, Sigmoid on the flat tensor', async () => {
    const g = new TinyGraph(9);
    const x = g.input('x', [1, 4, 6, 3]);
    const c = g.conv('c', x, { k: 3, cin: 3, cout: 5, stride: 1, padding: 'SAME' });
    const r = g.op('r', 'Reshape', [c, g.const('shape', [3], Int32Array.from([1, -1, 5]))], { Tshape: { type: 'DT_INT32' } });
    g.op('y', 'Sigmoid', [r]);
    const d = await compareRuntimes(g.build(), { out: 'y' }, 'x', inputOf([1, 4, 6, 3], 4));
    expect(d.maxAbs.out).toBeLessThan(TOL);
  });
  it.each([
    ['half_pixel_centers (what MediaPipe segmentation uses)', { half_pixel_centers: true, align_corners: false }, [8, 12]],
    ['align_corners', { half_pixel_centers: false, align_corners: true }, [9, 11]],
    ['legacy asymmetric', { half_pixel_centers: false, align_corners: false }, [10, 15]],
  ] as const)('ResizeBilinear %s, then AddN of three tensors', async (_label, flags, size) => {
    const g = new TinyGraph(11);
    const x = g.input('x', [1, 5, 6, 3]);
    const c = g.conv('c', x, { k: 3, cin: 3, cout: 4, stride: 1, padding: 'SAME' });
    const r = g.op('r', 'ResizeBilinear', [c, g.const('size', [2], Int32Array.from(size))], { half_pixel_centers: { b: flags.half_pixel_centers }, align_corners: { b: flags.align_corners } });
    const a = g.conv('a', r, { k: 1, cin: 4, cout: 4, stride: 1, padding: 'VALID' });
    const b = g.conv('b', r, { k: 3, cin: 4, cout: 4, stride: 1, padding: 'SAME' });
    g.op('y', 'AddN', [r, a, b], { N: attr.int(3) });
    const d = await compareRuntimes(g.build(), { out: 'y' }, 'x', inputOf([1, 5, 6, 3], 6));
    expect(d.maxAbs.out).toBeLessThan(TOL);
  });

  it.each([
    ['k=2 s=2 SAME (MediaPipe selfie segmentation head)', 2, 2, 'SAME', [1, 12, 14, 2], [6, 7]],
    ['k=3 s=2 SAME to an odd size (padding split unevenly)', 3, 2, 'SAME', [1, 11, 9, 2], [6, 5]],
    ['k=3 s=2 SAME to an even size', 3, 2, 'SAME', [1, 12, 10, 2], [6, 5]],
    ['k=3 s=1 VALID', 3, 1, 'VALID', [1, 9, 8, 2], [7, 6]],
  ] as const)('Conv2DBackpropInput %s', async (_label, k, s, padding, outSize, inHW) => {
    const g = new TinyGraph(13);
    const x = g.input('x', [1, inHW[0], inHW[1], 3]);
    const w = g.const('w', [k, k, outSize[3], 3], g.random(k * k * outSize[3] * 3, 0.5));
    g.op('y', 'Conv2DBackpropInput', [g.const('sizes', [4], Int32Array.from(outSize)), w, x], {
      strides: attr.ints([1, s, s, 1]), padding: attr.s(padding), data_format: attr.s('NHWC'), dilations: attr.ints([1, 1, 1, 1]),
    });
    const d = await compareRuntimes(g.build(), { out: 'y' }, 'x', inputOf([1, inHW[0], inHW[1], 3], 8));
    expect(d.maxAbs.out).toBeLessThan(TOL);
  });
});
