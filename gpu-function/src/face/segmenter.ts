/**
 * Person segmentation: which photo pixels belong to the person (face, hair, neck, body) and which to
 * the background, from MediaPipe Selfie Segmentation (Apache-2.0 weights, converted like the face
 * models; models/catalog.json "selfie"). The UV bake multiplies its visibility weight by this mask.
 * Texels that land on the background (a wall behind the ear, sky beside a turned cheek) then count as
 * unseen and are completed instead of baked.
 *
 * The model sees a 256x256 square. It runs on a crop around the face, not the whole photo, so that at
 * 12-48 MP the head's outline is resolved at ~1/90 of the face's width rather than ~1/500 of the photo.
 * The crop is turned with the face's roll and extends below the chin, where the model
 * expects the shoulders of a selfie.
 */
import { MODEL_CATALOG, onnxModelPath } from '@facerecon/models';
import type { RgbImage } from '@facerecon/shared';
import { createModelSession, type ExecutionProvider, type ModelSession } from '../adapters/onnx';
import { segmentationRect, type PersonMask } from './person-mask';
import { buildPyramid, sampleRotatedCrop, type Pyramid, type RotatedRect } from './raster';

const SPEC = MODEL_CATALOG.models.selfie;
export const SEGMENTATION_SIZE = SPEC.input.shape[1];

export interface PersonSegmenter {
  /** Segments the person around the face whose landmark ROI is `roi`. */
  segment(image: RgbImage, roi: RotatedRect, pyramid?: Pyramid): Promise<PersonMask>;
  close(): Promise<void>;
}

/** Loads and warms the model; throws ModelLoadError if it is missing or malformed (fail at start-up). */
export async function createPersonSegmenter(options: { providers?: readonly ExecutionProvider[]; threads?: number; modelsDir?: string } = {}): Promise<PersonSegmenter> {
  const dims = SPEC.input.shape;
  const n = dims.reduce((a, b) => a * b, 1);
  const session: ModelSession = await createModelSession(onnxModelPath('selfie', options.modelsDir), {
    providers: options.providers,
    threads: options.threads,
    warmup: { [SPEC.input.name]: { data: new Float32Array(n), dims } },
  });
  return {
    async segment(image, roi, pyramid = buildPyramid(image)) {
      const rect = segmentationRect(roi);
      const input = sampleRotatedCrop(pyramid, rect, { size: SEGMENTATION_SIZE, scale: 1, offset: 0 });
      const out = await session.run({ [SPEC.input.name]: { data: input, dims } });
      return { rect, size: SEGMENTATION_SIZE, data: Float32Array.from(out.mask.data) };
    },
    close: () => session.release(),
  };
}
