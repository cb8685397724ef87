/**
 * One reconstruction request, stage by stage: preprocess (decode + landmarks), geometry, texture,
 * export, upload. Stage boundaries are where a deadline stops the work and where progress is
 * reported. Assets are uploaded under a folder this service names itself with 128 random bits (never a
 * caller's id, so no request can write into or over another's set), and URLs are handed out only
 * after every upload succeeded; a failure deletes exactly the files this request wrote.
 */
import { FaceReconError, type AssetKind, type ReconstructOptions, type ReconstructResponse, type Stage } from '@facerecon/shared';
import { decodeImage } from '../adapters/image-io';
import type { FaceLandmarker, FaceLandmarks } from '../face/landmarker';
import { expressionWeights } from '../morph/morph-export';
import { ASSET_TYPES, exportAssets, reconstructionResultJson, type AssetKey } from '../recon/assets';
import type { GeometryStage, Reconstruction, ReconstructOptions as ReconstructOptionsCore, Reconstructor } from '../recon/reconstruct';
import type { RgbImage } from '@facerecon/shared';
import type { MorphReconstructor } from '../morph/reconstruct-morph';
import type { AssetStore } from './store/types';

export interface PipelineDeps {
  landmarker: FaceLandmarker;
  reconstructor: Reconstructor;
  /** The full-head path (model=ict), when its pack is installed. */
  morphReconstructor?: MorphReconstructor;
  store: AssetStore;
  ttlSeconds: number;
}

export interface PipelineContext {
  requestId: string;
  signal: AbortSignal;
  onStage?: (stage: Stage, elapsedMs: number) => void;
}

const FILE_OF: Record<AssetKind, { key: AssetKey; file: string }> = {
  obj: { key: 'obj', file: 'face.obj' },
  mtl: { key: 'mtl', file: 'face.mtl' },
  texture: { key: 'texture', file: 'texture.png' },
  texture_head: { key: 'textureHead', file: 'texture_head.png' },
  texture_grid: { key: 'textureGrid', file: 'texture_grid.png' },
  glb: { key: 'glb', file: 'face.glb' },
  preview: { key: 'preview', file: 'preview.png' },
  preview_geometry: { key: 'previewGeometry', file: 'preview_geometry.png' },
  result: { key: 'result', file: 'result.json' },
};

function kindsFor(formats: ReconstructOptions['formats'], fullHead: boolean): AssetKind[] {
  const kinds = new Set<AssetKind>(['result']);
  for (const f of formats) {
    if (f === 'obj') kinds.add('obj').add('mtl').add('texture'); // the OBJ is useless without its MTL and texture
    else if (f === 'preview') kinds.add('preview').add('preview_geometry');
    else kinds.add(f);
  }
  // A full head has a second texture tile (back of the head), which its OBJ references too.
  if (fullHead && (kinds.has('texture') || kinds.has('obj'))) kinds.add('texture_head');
  return [...kinds];
}

/** Geometry, a stage boundary (deadline check and progress), then texture: the same for every model. */
function runStages<S extends GeometryStage>(
  r: { geometryStage(photo: RgbImage, face: FaceLandmarks, opts: ReconstructOptionsCore): S; textureStage(stage: S): Reconstruction },
  photo: RgbImage,
  face: FaceLandmarks,
  opts: ReconstructOptionsCore,
  done: (stage: Stage) => void,
): Reconstruction {
  const stage = r.geometryStage(photo, face, opts);
  done('geometry');
  return r.textureStage(stage);
}

/** A fresh asset folder name: 128 random bits, never derived from anything a caller sent. */
export function newAssetFolderId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function runReconstruction(bytes: Uint8Array, options: ReconstructOptions, deps: PipelineDeps, ctx: PipelineContext): Promise<ReconstructResponse> {
  const timings: Record<Stage, number> = { preprocess: 0, geometry: 0, texture: 0, export: 0, upload: 0 };
  const t0 = performance.now();
  let mark = t0;
  const done = (stage: Stage) => {
    const now = performance.now();
    timings[stage] = now - mark;
    mark = now;
    ctx.onStage?.(stage, now - t0);
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof FaceReconError ? ctx.signal.reason : new FaceReconError('TIMEOUT', { detail: 'caller gone' });
  };
  // A deadline may already have passed while queued.
  if (ctx.signal.aborted) throw new FaceReconError('TIMEOUT');
  const morph = options.model === 'ict' ? deps.morphReconstructor : undefined;
  if (options.model === 'ict' && !morph) throw new FaceReconError('MODEL_NOT_INSTALLED', { detail: 'model "ict": no ICT-FaceKit pack on this service (FACERECON_ICT_PACK)' });

  const { image } = await decodeImage(bytes);
  const lm = await deps.landmarker.landmarks(image);
  if (!lm.ok) throw new FaceReconError(lm.code, { detail: lm.detail });
  done('preprocess');

  const ropts = { uvSize: options.uv_size };
  const recon = morph ? runStages(morph, image, lm.face, ropts, done) : runStages(deps.reconstructor, image, lm.face, ropts, done);
  done('texture');

  const resultJson = reconstructionResultJson(lm.face, recon, { ...lm.timings, ...recon.timings }) as {
    pose: ReconstructResponse['pose'];
    camera: ReconstructResponse['camera'];
    scale_prior: ReconstructResponse['scale_prior'];
    landmarks: { count: number; image_px: number[][] };
    confidences: ReconstructResponse['confidences'];
  };
  const exported = await exportAssets(recon, { result: resultJson });
  done('export');

  const kinds = kindsFor(options.formats, !!recon.morph);
  const day = new Date().toISOString().slice(0, 10);
  const prefix = `${day}/${newAssetFolderId()}`;
  const expiresAt = new Date(Date.now() + deps.ttlSeconds * 1000).toISOString();
  const assets: Partial<ReconstructResponse['assets']> = {};
  const written: string[] = [];
  try {
    await Promise.all(
      kinds.map(async (kind) => {
        const { key, file } = FILE_OF[kind];
        const body = exported.files[key];
        if (!body) throw new Error(`asset ${kind} was not exported`);
        written.push(`${prefix}/${file}`);
        await deps.store.put(`${prefix}/${file}`, body, ASSET_TYPES[key]);
        assets[kind] = { url: '', content_type: ASSET_TYPES[key], bytes: body.byteLength, expires_at: expiresAt };
      }),
    );
    if (ctx.signal.aborted) throw new FaceReconError('TIMEOUT');
    for (const kind of kinds) assets[kind]!.url = await deps.store.signedUrl(`${prefix}/${FILE_OF[kind].file}`, deps.ttlSeconds);
  } catch (err) {
    await deps.store.deleteKeys(written).catch(() => undefined);
    if (err instanceof FaceReconError) throw err;
    throw new FaceReconError('STORAGE_UNAVAILABLE', { detail: (err as Error).message, cause: err });
  }
  done('upload');

  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    request_id: ctx.requestId,
    assets: assets as ReconstructResponse['assets'],
    pose: resultJson.pose,
    camera: { model: 'weak_perspective', pixels_per_mm: resultJson.camera.pixels_per_mm },
    scale_prior: resultJson.scale_prior,
    landmarks: { count: resultJson.landmarks.count, image_px: resultJson.landmarks.image_px },
    confidences: resultJson.confidences,
    conservative: recon.conservative.enabled,
    conservative_reasons: recon.conservative.reasons,
    uv_size: recon.uvSize,
    model: options.model,
    ...(recon.morph ? { morph: { model: recon.morph.model, identity: Array.from(recon.morph.identity, (x) => Math.round(x * 1e4) / 1e4), expressions: expressionWeights(recon.morph), fit_rms_mm: r(recon.morph.fit.rmsMm) } } : {}),
    timings_ms: { preprocess: r(timings.preprocess), geometry: r(timings.geometry), texture: r(timings.texture), export: r(timings.export), upload: r(timings.upload), total: r(performance.now() - t0) },
  };
}
