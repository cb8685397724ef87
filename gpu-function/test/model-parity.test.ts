/**
 * Parity of the converted face models (onnxruntime-node) with the original TF.js graphs (tfjs cpu),
 * on random inputs and on real face crops cut by the production pipeline; and proof that the check
 * catches a conversion that is wrong in a way a smoke test would not notice.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODEL_CATALOG, catalogOutputs, onnxModelPath, tfjsModelJsonPath, type FaceModelId } from '@facerecon/models';
import { readTfGraphModel } from '@facerecon/models/tfjs-graph';
import { readImageFile } from '../src/adapters/image-io';
import { createFaceLandmarker } from '../src/face/landmarker';
import { buildPyramid, letterboxRect, sampleRotatedCrop } from '../src/face/raster';
import { segmentationRect } from '../src/face/person-mask';
import { roiFromEyeCorners } from '../src/face/roi';
import { compareRuntimes, seededUniform } from './parity-helpers';
import { fixture } from './fixtures';

/** Max |onnx - tfjs| relative to the output's range: float32 reordering noise is ~1e-6. */
const PARITY_TOL = 1e-4;

type Input = { data: Float32Array; dims: number[] };
const realInputs: Record<FaceModelId, Input[]> = { blazeface: [], facemesh: [], iris: [], selfie: [] };

function randomInputs(id: FaceModelId): Input[] {
  const { shape, range } = MODEL_CATALOG.models[id].input;
  const dims = shape.map((d) => (d < 0 ? 1 : d));
  const n = dims.reduce((a, b) => a * b, 1);
  return [11, 12].map((seed) => ({ data: seededUniform(n, seed, range[0], range[1]), dims }));
}

beforeAll(async () => {
  // Real crops exactly as the service cuts them from a real photo.
  const { image } = await readImageFile(fixture('astronaut.png'));
  const landmarker = await createFaceLandmarker();
  const result = await landmarker.landmarks(image);
  await landmarker.close();
  if (!result.ok) throw new Error(`astronaut: ${result.code}`);
  const pyr = buildPyramid(image);
  realInputs.blazeface.push({ data: sampleRotatedCrop(pyr, letterboxRect(image.width, image.height), { size: 256, scale: 2, offset: -1 }), dims: [1, 256, 256, 3] });
  realInputs.facemesh.push({ data: sampleRotatedCrop(pyr, result.face.roi, { size: 192, scale: 1, offset: 0 }), dims: [1, 192, 192, 3] });
  const p = result.face.points;
  const eye = roiFromEyeCorners([p[3 * 33], p[3 * 33 + 1]], [p[3 * 133], p[3 * 133 + 1]]);
  realInputs.iris.push({ data: sampleRotatedCrop(pyr, eye, { size: 64, scale: 1, offset: 0 }), dims: [1, 64, 64, 3] });
  realInputs.selfie.push({ data: sampleRotatedCrop(pyr, segmentationRect(result.face.roi), { size: 256, scale: 1, offset: 0 }), dims: [1, 256, 256, 3] });
});

const models = Object.keys(MODEL_CATALOG.models) as FaceModelId[];

describe('converted models agree with tfjs', () => {
  it.each(models)('%s (the built file the service loads) on random inputs and a real face crop', async (id) => {
    const model = readTfGraphModel(tfjsModelJsonPath(id));
    const inputs = [...randomInputs(id), ...realInputs[id]];
    const built = new Uint8Array(readFileSync(onnxModelPath(id)));
    const d = await compareRuntimes(model, catalogOutputs(id), MODEL_CATALOG.models[id].input.name, inputs, built);
    for (const [out, rel] of Object.entries(d.relToRange)) {
      expect(rel, `${id}.${out} max abs diff ${d.maxAbs[out]}`).toBeLessThanOrEqual(PARITY_TOL);
    }
  });
});

describe('the parity check catches wrong conversions', () => {
  it.each(models)('%s with the SAME padding of its first strided conv on the wrong side', async (id) => {
    const model = readTfGraphModel(tfjsModelJsonPath(id));
    let damaged = '';
    const d = await compareRuntimes(model, catalogOutputs(id), MODEL_CATALOG.models[id].input.name, realInputs[id], (g) => {
      // TF puts the odd padding pixel at the bottom/right; pretending it goes top/left (ONNX SAME_LOWER)
      // shifts features by one pixel: outputs stay plausible, which is why it needs parity to catch.
      const conv = g.nodes.find((n) => n.op === 'Conv' && (n.attrs?.strides as number[])[0] === 2 && (n.attrs?.pads as number[]).some((v) => v !== 0));
      if (!conv) throw new Error(`${id}: no strided padded conv to damage`);
      const [t, l, b, r] = conv.attrs!.pads as number[];
      conv.attrs!.pads = [b, r, t, l];
      damaged = conv.name;
    });
    expect(damaged).not.toBe('');
    const worst = Math.max(...Object.values(d.relToRange));
    expect(worst, `damage to ${damaged} went unnoticed`).toBeGreaterThan(PARITY_TOL * 10);
  });

  it('a graph whose weights were transposed the wrong way', async () => {
    const id: FaceModelId = 'facemesh';
    const model = readTfGraphModel(tfjsModelJsonPath(id));
    const d = await compareRuntimes(model, catalogOutputs(id), MODEL_CATALOG.models[id].input.name, realInputs[id], (g) => {
      // Swap kernel rows and columns of the first 3x3 conv: same shape, same values, wrong orientation.
      const conv = g.nodes.find((n) => n.op === 'Conv' && (n.attrs?.kernel_shape as number[])[0] === 3)!;
      const w = g.initializers.find((i) => i.name === conv.inputs[1])!;
      const [o, c, kh, kw] = w.dims;
      const src = w.data as Float32Array;
      const dst = new Float32Array(src.length);
      for (let a = 0; a < o * c; a++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) dst[a * kh * kw + x * kw + y] = src[a * kh * kw + y * kw + x];
      w.data = dst;
    });
    expect(Math.max(...Object.values(d.relToRange))).toBeGreaterThan(PARITY_TOL * 10);
  });
});

