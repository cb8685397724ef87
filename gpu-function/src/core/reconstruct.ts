/**
 * One reconstruction with an installed model: fit (landmarks -> head), a stage boundary, then the
 * texture stage. Pure computation over typed arrays; encoding and storage are the export stage's and
 * the service's. Used by the service, the command line, the benchmarks and the tests alike.
 */
import type { RgbImage } from '@facerecon/shared';
import type { FaceLandmarks } from '../face/landmarker';
import type { FitOptions, FittedHead } from './face-model';
import type { InstalledModel } from './registry';
import type { TextureSet } from './texture';

export interface Reconstruction<H extends FittedHead = FittedHead> {
  head: H;
  textures: TextureSet;
  /** fit, mesh (the model's), then bake, colour, completion, grid (the texture stage's), ms. */
  timings: Record<string, number>;
}

export function reconstructFace<H extends FittedHead>(installed: InstalledModel<H>, photo: RgbImage, face: FaceLandmarks, opts: FitOptions & { afterGeometry?: () => void; albedo?: boolean; detail?: boolean }): Reconstruction<H> {
  const head = installed.model.fit(photo, face, { uvSize: opts.uvSize, expressionNames: opts.expressionNames });
  opts.afterGeometry?.();
  // The person mask found with the landmarks keeps the background out of the texture.
  const textures = installed.baker.bake(head, photo, { personMask: face.personMask, albedo: opts.albedo, detail: opts.detail });
  return { head, textures, timings: { ...head.timings, ...textures.timings } };
}
