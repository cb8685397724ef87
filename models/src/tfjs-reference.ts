/**
 * The reference runtime for parity tests and benchmarks: the original TF.js graph on @tensorflow/tfjs
 * (a dev dependency; never loaded by the service).
 */
import type { TfGraphModel } from './tfjs-graph';

type Tf = typeof import('@tensorflow/tfjs');

export interface ReferenceModel {
  run(input: Float32Array, dims: number[]): Record<string, { data: Float32Array; dims: number[] }>;
  dispose(): void;
}

let tfPromise: Promise<Tf> | undefined;

/** Loads tfjs once, on the requested backend ('cpu' always works; 'wasm' when its package is installed). */
export async function loadTfjs(backend: 'cpu' | 'wasm' = 'cpu'): Promise<Tf> {
  tfPromise ??= import('@tensorflow/tfjs');
  const tf = await tfPromise;
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new Error(`tfjs backend ${backend} failed to initialise`);
  }
  await tf.ready();
  return tf;
}

/** Wraps a parsed graph model for tfjs; `outputs` maps our output names to TF node names. */
export async function loadReferenceModel(
  model: TfGraphModel,
  outputs: Record<string, string>,
  backend: 'cpu' | 'wasm' = 'cpu',
): Promise<ReferenceModel> {
  const tf = await loadTfjs(backend);
  const json = model.json as unknown as Record<string, unknown>;
  const graph = await tf.loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology as object,
      weightSpecs: model.json.weightsManifest.flatMap((g) => g.weights) as never,
      weightData: model.weightData,
      format: json.format as string,
      generatedBy: json.generatedBy as string,
      convertedBy: json.convertedBy as string,
      signature: json.signature as object,
      userDefinedMetadata: json.userDefinedMetadata as Record<string, {}>,
    }),
  });
  const names = Object.keys(outputs);
  const tfNames = names.map((k) => outputs[k]);
  return {
    run(input, dims) {
      return tf.tidy(() => {
        const x = tf.tensor(input, dims, 'float32');
        const res = graph.execute(x, tfNames);
        const list = Array.isArray(res) ? res : [res];
        const out: Record<string, { data: Float32Array; dims: number[] }> = {};
        list.forEach((t, i) => { out[names[i]] = { data: t.dataSync() as Float32Array, dims: t.shape }; });
        return out;
      });
    },
    dispose: () => graph.dispose(),
  };
}
