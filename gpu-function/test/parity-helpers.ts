/** Runs a converted graph on onnxruntime-node and the original on tfjs, and measures disagreement. */
import { convertTfjsGraph } from '@facerecon/models/convert';
import { encodeOnnxModel, type OnnxGraph } from '@facerecon/models/onnx-graph';
import { loadReferenceModel } from '@facerecon/models/reference';
import type { TfGraphModel } from '@facerecon/models/tfjs-graph';
import { createModelSessionFromBytes } from '../src/adapters/onnx';

export interface Disagreement {
  /** max |onnx - tfjs| per output */
  maxAbs: Record<string, number>;
  /** max |onnx - tfjs| / (max(ref) - min(ref)) per output, over all inputs */
  relToRange: Record<string, number>;
}

export async function compareRuntimes(
  model: TfGraphModel,
  outputs: Record<string, string>,
  inputName: string,
  inputs: Array<{ data: Float32Array; dims: number[] }>,
  /** Damages the freshly converted graph, or (a Uint8Array) runs these ONNX bytes instead, e.g. the built file. */
  onnx?: ((g: OnnxGraph) => void) | Uint8Array,
): Promise<Disagreement> {
  let bytes: Uint8Array;
  if (onnx instanceof Uint8Array) bytes = onnx;
  else {
    const graph = convertTfjsGraph(model, { name: 'under-test', outputs });
    onnx?.(graph);
    bytes = encodeOnnxModel(graph);
  }
  const session = await createModelSessionFromBytes('under-test', bytes);
  const reference = await loadReferenceModel(model, outputs, 'cpu');
  const maxAbs: Record<string, number> = {};
  const lo: Record<string, number> = {};
  const hi: Record<string, number> = {};
  try {
    for (const input of inputs) {
      const got = await session.run({ [inputName]: input });
      const want = reference.run(input.data, input.dims);
      for (const key of Object.keys(outputs)) {
        const a = got[key].data;
        const b = want[key].data;
        if (a.length !== b.length) throw new Error(`${key}: ${a.length} values from onnxruntime, ${b.length} from tfjs`);
        let d = maxAbs[key] ?? 0;
        let l = lo[key] ?? Infinity;
        let h = hi[key] ?? -Infinity;
        for (let i = 0; i < b.length; i++) {
          l = Math.min(l, b[i]);
          h = Math.max(h, b[i]);
          const e = Math.abs(a[i] - b[i]);
          d = Number.isNaN(e) ? Infinity : Math.max(d, e);
        }
        maxAbs[key] = d;
        lo[key] = l;
        hi[key] = h;
      }
    }
  } finally {
    reference.dispose();
    await session.release();
  }
  // The range is taken over every input, so a scalar output (face presence) is judged on its span.
  const relToRange: Record<string, number> = {};
  for (const key of Object.keys(maxAbs)) relToRange[key] = maxAbs[key] / Math.max(hi[key] - lo[key], 1e-6);
  return { maxAbs, relToRange };
}

/** Deterministic uniform values in [lo, hi]. */
export function seededUniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = lo + (s / 2 ** 32) * (hi - lo);
  }
  return out;
}
