/**
 * One reconstruction request, stage by stage: preprocess (decode + landmarks), geometry, texture,
 * export, upload. Stage boundaries are where a deadline stops the work and where progress is
 * reported. Assets are uploaded under a folder this service names itself with 128 random bits (never a
 * caller's id, so no request can write into or over another's set), and URLs are handed out only
 * after every upload succeeded; a failure deletes exactly the files this request wrote.
 */
import { ASSET_FILES, FaceReconError, toErrorBody, type AssetKind, type Notice, type ReconstructOptions, type ReconstructResponse, type RgbImage, type Stage } from '@facerecon/shared';
import { decodeImage, type DecodedImage } from '../adapters/image-io';
import { exportAssets } from '../core/export';
import { reconstructFace } from '../core/reconstruct';
import type { ModelRegistry } from '../core/registry';
import { reconstructionResultJson } from '../core/result-json';
import type { UvLayout } from '../core/face-model';
import { faceFocusRegions, roiClearOf } from '../face/focus';
import type { FaceLandmarker, LandmarkResult } from '../face/landmarker';
import type { AssetStore } from './store/types';
import type { Logger } from './logger';

export interface PipelineDeps {
  landmarker: FaceLandmarker;
  /** The installed face models; a request for another is MODEL_NOT_INSTALLED. */
  models: ModelRegistry;
  store: AssetStore;
  ttlSeconds: number;
  logger?: Pick<Logger, 'warn'>;
}

export interface PipelineContext {
  requestId: string;
  signal: AbortSignal;
  onStage?: (stage: Stage, elapsedMs: number) => void;
}

/** The assets a request gets: what it asked for, what those need (the OBJ its MTL and textures), and the result JSON. */
function kindsFor(formats: ReconstructOptions['formats'], produced: ReadonlySet<AssetKind>, texture: ReconstructOptions['texture']): AssetKind[] {
  const kinds = new Set<AssetKind>(['result']);
  // Meshes textured with the albedo refer to albedo.png.
  if (texture === 'albedo') kinds.add('albedo');
  for (const f of formats) {
    if (f === 'obj') kinds.add('obj').add('mtl').add('texture').add('texture_head').add('texture_eye'); // the OBJ is useless without its MTL and textures
    else if (f === 'preview') kinds.add('preview').add('preview_geometry');
    else if (f === 'usdz' || f === 'glb_optimized') kinds.add(f);
    else if (f === 'texture') kinds.add('texture').add('texture_head').add('texture_eye');
    else if (f === 'detail') kinds.add('normal').add('displacement'); // and the meshes asked for refer to them
    else kinds.add(f);
  }
  return [...kinds].filter((k) => produced.has(k));
}

/**
 * What was asked for and cannot be made, as notices (shared NoticeSchema): without an estimate of the
 * photo's lighting (too little of the face seen clearly) there is no albedo and no shading detail.
 */
export function noticesFor(options: Pick<ReconstructOptions, 'formats' | 'texture' | 'lang'>, produced: ReadonlySet<AssetKind>): Notice[] {
  const asked: AssetKind[] = [];
  if ((options.formats.includes('albedo') || options.texture === 'albedo') && !produced.has('albedo')) asked.push('albedo');
  if (options.formats.includes('detail') && !produced.has('normal')) asked.push('normal', 'displacement');
  if (!asked.length) return [];
  const { error } = toErrorBody('LIGHTING_UNAVAILABLE', { lang: options.lang });
  return [{ code: error.code, message: error.message, message_zh: error.message_zh, ...(error.hint ? { hint: error.hint } : {}), assets: asked }];
}

/**
 * The last check before anything is stored or billed: a face texture whose photo-sampled share (bake
 * weight over the face chart, before completion) is under MIN_FACE_SEEN_SHARE would be mostly
 * invented, and is refused as LOW_QUALITY. Accepted faces measure 0.49-0.66 with the default model and
 * 0.34 and up with the full head's larger face tile (AFLW2000-3D dev split, heads turned up to the
 * gate's 54 degrees); the one result under it was a person segmentation that failed outright (0.007,
 * a texture invented from 40 texels), which the landmarker now catches itself (personMaskAgreement).
 */
export const MIN_FACE_SEEN_SHARE = 0.2;
export function refuseMostlyUnseen(completion: { fromPhoto: number }): void {
  if (completion.fromPhoto < MIN_FACE_SEEN_SHARE) throw new FaceReconError('LOW_QUALITY', { detail: `only ${(100 * completion.fromPhoto).toFixed(1)}% of the face texture could be taken from the photo (< ${100 * MIN_FACE_SEEN_SHARE}%)` });
}

/**
 * The photo decoded and landmarked. A grid HEIC with a thumbnail (every iPhone photo) decodes only the
 * tiles around the faces the detector finds on the thumbnail, and a turned JPEG of 8 MP and more (a phone held upright) only the
 * cells around those it finds on its 1/8-scale decode (face/focus.ts, image-io.ts), for a model whose bake
 * reads only the face (a full head's scalp and neck lie outside those crops). The result stands only
 * when the landmarker's crops lay wholly on decoded tiles; otherwise, and for any refusal (a refusal
 * must never come from the shortcut), the photo is decoded whole and landmarked again.
 */
export async function decodeAndLandmark(bytes: Uint8Array, landmarker: FaceLandmarker, layout: UvLayout, signal: AbortSignal): Promise<{ image: RgbImage; lm: LandmarkResult; focused?: DecodedImage['focused'] }> {
  const faceOnly = layout.tiles.every((t) => t.asset === 'texture');
  const focus = faceOnly ? async (preview: RgbImage) => faceFocusRegions(await landmarker.detectFaces(preview), preview) : undefined;
  const first = await decodeImage(bytes, { signal, focus });
  const lm = await landmarker.landmarks(first.image);
  const filled = first.focused?.filled ?? [];
  if (!filled.length || (lm.ok && roiClearOf(lm.face.roi, filled))) return { image: first.image, lm, focused: first.focused };
  const { image } = await decodeImage(bytes, { signal });
  return { image, lm: await landmarker.landmarks(image), focused: first.focused };
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
  const installed = deps.models.get(options.model);

  const { image, lm } = await decodeAndLandmark(bytes, deps.landmarker, installed.model.layout, ctx.signal);
  if (!lm.ok) throw new FaceReconError(lm.code, { detail: lm.detail });
  done('preprocess');

  const albedo = options.texture === 'albedo' || options.formats.includes('albedo');
  // The shading-detail solve runs only on request: it costs texture-stage time no default caller needs.
  const detail = options.formats.includes('detail');
  const recon = reconstructFace(installed, image, lm.face, { uvSize: options.uv_size, expressionNames: options.expression_names, albedo, detail, afterGeometry: () => done('geometry') });
  refuseMostlyUnseen(recon.textures.completion);
  done('texture');

  const { model } = installed;
  const result = reconstructionResultJson({ model, face: lm.face, head: recon.head, textures: recon.textures, timings: { ...lm.timings, ...recon.timings }, image });
  const exported = await exportAssets(model, recon.head, recon.textures, { result, usdz: options.formats.includes('usdz'), glbOptimized: options.formats.includes('glb_optimized'), texture: options.texture });
  done('export');

  const produced = new Set(Object.keys(exported.files) as AssetKind[]);
  const kinds = kindsFor(options.formats, produced, options.texture);
  const notices = noticesFor(options, produced);
  const day = new Date().toISOString().slice(0, 10);
  const prefix = `${day}/${newAssetFolderId()}`;
  const expiresAt = new Date(Date.now() + deps.ttlSeconds * 1000).toISOString();
  const assets: Partial<ReconstructResponse['assets']> = {};
  const written: string[] = [];
  try {
    // allSettled: the clean-up below must come after every write has ended, or a write that lands
    // after it leaves an orphan behind.
    const writes = await Promise.allSettled(
      kinds.map(async (kind) => {
        const { file, contentType } = ASSET_FILES[kind];
        const body = exported.files[kind]!;
        written.push(`${prefix}/${file}`);
        await deps.store.put(`${prefix}/${file}`, body, contentType, ctx.signal);
        assets[kind] = { url: '', content_type: contentType, bytes: body.byteLength, expires_at: expiresAt };
      }),
    );
    const failed = writes.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (failed) throw failed.reason;
    if (ctx.signal.aborted) throw new FaceReconError('TIMEOUT');
    for (const kind of kinds) assets[kind]!.url = await deps.store.signedUrl(`${prefix}/${ASSET_FILES[kind].file}`, deps.ttlSeconds);
    // Inside the clean-up's reach: a deadline that passes while the URLs are signed (the last await) is
    // seen here, and what was written is deleted, as for any other stage. After it nothing awaits, so the
    // queue cannot time the job out between this check and its result.
    done('upload');
  } catch (err) {
    // Logged: an asset set a failed clean-up leaves stays until the bucket's lifecycle rule, unseen otherwise.
    await deps.store.deleteKeys(written).catch((e: unknown) => deps.logger?.warn({ requestId: ctx.requestId, err: (e as Error).message, files: written.length }, 'clean-up of a failed request\'s assets failed'));
    if (err instanceof FaceReconError) throw err;
    throw new FaceReconError('STORAGE_UNAVAILABLE', { detail: (err as Error).message, cause: err });
  }

  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    request_id: ctx.requestId,
    assets: assets as ReconstructResponse['assets'],
    pose: result.pose,
    camera: { model: 'weak_perspective', pixels_per_mm: result.camera.pixels_per_mm },
    scale_prior: result.scale_prior,
    landmarks: { count: result.landmarks.count, image_px: result.landmarks.image_px, ...(result.landmarks.image ? { image: result.landmarks.image } : {}) },
    confidences: result.confidences,
    conservative: result.conservative,
    conservative_reasons: result.conservative_reasons,
    uv_size: recon.head.mode.uvSize,
    model: options.model,
    ...(model.extras?.(recon.head).response ?? {}),
    ...(notices.length ? { notices } : {}),
    timings_ms: { preprocess: r(timings.preprocess), geometry: r(timings.geometry), texture: r(timings.texture), export: r(timings.export), upload: r(timings.upload), total: r(performance.now() - t0) },
  } as ReconstructResponse;
}
