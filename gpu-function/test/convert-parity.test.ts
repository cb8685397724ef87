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
});
