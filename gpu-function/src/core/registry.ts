/**
 * The installed face models by name. The service builds it at start-up from the models whose data is
 * there (a model is either fully loaded or absent: never half-loaded); a request for a model that is
 * not installed is a registry miss, MODEL_NOT_INSTALLED. Each entry carries its texture baker, whose
 * per-layout tables are computed once here rather than per request.
 */
import { FaceReconError, type ModelName } from '@facerecon/shared';
import type { FaceModel, FittedHead } from './face-model';
import { createTextureBaker, type TextureBaker } from './texture';

export interface InstalledModel<H extends FittedHead = FittedHead> {
  model: FaceModel<H>;
  baker: TextureBaker;
}

export class ModelRegistry {
  private readonly entries = new Map<string, InstalledModel>();

  constructor(models: ReadonlyArray<FaceModel | undefined>) {
    for (const m of models) {
      if (!m) continue;
      if (this.entries.has(m.name)) throw new Error(`face model ${m.name} registered twice`);
      this.entries.set(m.name, { model: m, baker: createTextureBaker(m.layout) });
    }
  }

  /** The installed model, or MODEL_NOT_INSTALLED. */
  get(name: ModelName): InstalledModel {
    const e = this.entries.get(name);
    if (!e) throw new FaceReconError('MODEL_NOT_INSTALLED', { detail: `model "${name}" is not installed on this service` });
    return e;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }
}
