/**
 * The internal API contract between the edge and the gpu-function: request options and the response.
 * The edge's public API reuses these shapes.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors';

export const ASSET_KINDS = ['obj', 'mtl', 'texture', 'texture_head', 'texture_eye', 'texture_grid', 'albedo', 'normal', 'displacement', 'glb', 'glb_optimized', 'usdz', 'preview', 'preview_geometry', 'result'] as const;
export type AssetKind = (typeof ASSET_KINDS)[number];

/**
 * The file and content type of every asset: the one table the service, the exports and the clients
 * use (the file names are what the OBJ's MTL and the GLB refer to).
 */
export const ASSET_FILES: Readonly<Record<AssetKind, { file: string; contentType: string }>> = {
  obj: { file: 'face.obj', contentType: 'text/plain' },
  mtl: { file: 'face.mtl', contentType: 'text/plain' },
  texture: { file: 'texture.png', contentType: 'image/png' },
  texture_head: { file: 'texture_head.png', contentType: 'image/png' },
  texture_eye: { file: 'texture_eye.png', contentType: 'image/png' },
  texture_grid: { file: 'texture_grid.png', contentType: 'image/png' },
  albedo: { file: 'albedo.png', contentType: 'image/png' },
  normal: { file: 'normal.png', contentType: 'image/png' },
  displacement: { file: 'displacement.png', contentType: 'image/png' },
  glb: { file: 'face.glb', contentType: 'model/gltf-binary' },
  glb_optimized: { file: 'face.optimized.glb', contentType: 'model/gltf-binary' },
  usdz: { file: 'face.usdz', contentType: 'model/vnd.usdz+zip' },
  preview: { file: 'preview.png', contentType: 'image/png' },
  preview_geometry: { file: 'preview_geometry.png', contentType: 'image/png' },
  result: { file: 'result.json', contentType: 'application/json' },
};

/** Face models by name: the gpu-function's registry (core/registry.ts) maps each to its implementation. */
export const MODELS = ['mediapipe', 'ict'] as const;
export type ModelName = (typeof MODELS)[number];

/**
 * Formats a caller may ask for; `obj` brings its MTL, `preview` its geometry view; the result JSON
 * always comes. `detail` is the face's shading detail: normal.png (tangent-space normal map of the
 * face texture, glTF / OpenGL convention: R = +u, G = up the image, B = out of the surface, 128 = 0)
 * and displacement.png (8-bit grey, 128 = 0, along the normal; result.json's detail states its range
 * in mm), and the meshes asked for carry the normal map (GLB normalTexture with tangents, MTL norm,
 * USDZ normal input).
 */
export const OUTPUT_FORMATS = ['obj', 'glb', 'glb_optimized', 'usdz', 'texture', 'texture_grid', 'albedo', 'detail', 'preview'] as const;
/**
 * What a request gets when it names no formats. USDZ (for AR Quick Look), the optimised GLB (meshopt
 * + WebP, which needs a viewer with both decoders), the albedo (the face texture with the photo's
 * estimated lighting divided out) and the shading detail (normal and displacement maps, an extra
 * solve) come only on request.
 */
export const DEFAULT_FORMATS = OUTPUT_FORMATS.filter((f) => f !== 'usdz' && f !== 'glb_optimized' && f !== 'albedo' && f !== 'detail');

export const ReconstructOptionsSchema = z.object({
  uv_size: z.enum(['512', '1024']).default('1024').transform((v) => Number(v) as 512 | 1024),
  formats: z
    .string()
    .max(256)
    .default(DEFAULT_FORMATS.join(','))
    .transform((s, ctx) => {
      const list = s.split(',').map((x) => x.trim()).filter(Boolean);
      for (const f of list) {
        if (!(OUTPUT_FORMATS as readonly string[]).includes(f)) {
          ctx.addIssue({ code: 'custom', message: `unknown format "${f}" (use ${OUTPUT_FORMATS.join(', ')})` });
          return z.NEVER;
        }
      }
      return [...new Set(list)] as Array<(typeof OUTPUT_FORMATS)[number]>;
    }),
  lang: z.enum(['en', 'zh']).default('en'),
  /**
   * The face model: `mediapipe` (default, always installed) reconstructs the face area in MediaPipe's
   * 468-point topology; `ict` fits ICT-FaceKit's full head (ears, neck, eyes, teeth) and returns
   * identity and ARKit expression coefficients. A deployment without the ICT pack answers
   * MODEL_NOT_INSTALLED.
   */
  model: z.enum(MODELS).default('mediapipe'),
  /**
   * How model=ict names its expression weights and GLB morph targets: `arkit` (default), ARKit's 52
   * blendshape names, which ARKit, Unity, Unreal and MediaPipe drivers bind to as they are; `ict`,
   * ICT-FaceKit's own 57 shapes.
   */
  expression_names: z.enum(['arkit', 'ict']).default('arkit'),
  /**
   * Which face texture the meshes (OBJ, GLB, USDZ) carry: `lit` (default), the photo as it was lit;
   * `albedo`, the same texture with the photo's estimated lighting divided out, for relighting in an
   * engine (then albedo.png comes too).
   */
  texture: z.enum(['lit', 'albedo']).default('lit'),
});
export type ReconstructOptions = z.output<typeof ReconstructOptionsSchema>;

/**
 * The options as the gpu-function's query string: the inverse of ReconstructOptionsSchema, so the
 * edge forwards exactly what it validated, through the same schema on both sides.
 */
export function reconstructQuery(o: ReconstructOptions): URLSearchParams {
  const q = new URLSearchParams();
  q.append('uv_size', String(o.uv_size));
  q.append('formats', o.formats.join(','));
  q.append('lang', o.lang);
  q.append('model', o.model);
  q.append('expression_names', o.expression_names);
  q.append('texture', o.texture);
  return q;
}

export const STAGES = ['preprocess', 'geometry', 'texture', 'export', 'upload'] as const;
export type Stage = (typeof STAGES)[number];

export const AssetLinkSchema = z.object({
  url: z.string().url(),
  content_type: z.string(),
  bytes: z.number().int().nonnegative(),
  expires_at: z.iso.datetime(),
});

/** One optional link per asset kind: named properties, so generated clients type `assets.glb` exactly. */
export const AssetsSchema = z.object({
  obj: AssetLinkSchema.optional(),
  mtl: AssetLinkSchema.optional(),
  texture: AssetLinkSchema.optional(),
  texture_head: AssetLinkSchema.optional(),
  texture_eye: AssetLinkSchema.optional(),
  texture_grid: AssetLinkSchema.optional(),
  albedo: AssetLinkSchema.optional(),
  normal: AssetLinkSchema.optional(),
  displacement: AssetLinkSchema.optional(),
  glb: AssetLinkSchema.optional(),
  glb_optimized: AssetLinkSchema.optional(),
  usdz: AssetLinkSchema.optional(),
  preview: AssetLinkSchema.optional(),
  preview_geometry: AssetLinkSchema.optional(),
  result: AssetLinkSchema.optional(),
} satisfies Record<AssetKind, z.ZodOptional<typeof AssetLinkSchema>>);

/**
 * Something the caller asked for that this result does not have, and why (a code of the error model, so
 * it has its English and Chinese message and hint). The request itself succeeded and is billed: what was
 * left out is optional (LIGHTING_UNAVAILABLE: the albedo and the shading detail; meshes asked for with
 * texture=albedo then carry the lit texture).
 */
export const NoticeSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  message_zh: z.string(),
  hint: z.string().optional(),
  /** The asset kinds asked for and left out. */
  assets: z.array(z.enum(ASSET_KINDS)),
});
export type Notice = z.infer<typeof NoticeSchema>;

export const ReconstructResponseSchema = z.object({
  request_id: z.string(),
  assets: AssetsSchema,
  /** convention: how rotation, the angles and translation_px are defined, in words (also in result.json). */
  pose: z.object({ yaw_deg: z.number(), pitch_deg: z.number(), roll_deg: z.number(), rotation: z.array(z.number()).length(9), translation_px: z.array(z.number()).length(2), convention: z.string() }),
  camera: z.object({ model: z.literal('weak_perspective'), pixels_per_mm: z.number() }),
  scale_prior: z.object({ method: z.string(), value_mm: z.number(), measured_px: z.number() }).passthrough(),
  /** image: the displayed photo's size (EXIF orientation and HEIF irot/imir applied), the frame image_px is in. */
  landmarks: z.object({ count: z.number(), image_px: z.array(z.array(z.number()).length(2)), image: z.object({ width: z.number().int(), height: z.number().int(), frame: z.string() }).optional() }),
  /** landmarks: how far the landmarks can be trusted, 0-1 (0.5 is the refusal threshold: LOW_QUALITY, FACE_TURNED_AWAY). */
  confidences: z.object({
    detection: z.number(),
    face_presence: z.number(),
    landmarks: z.number(),
    /** What the landmark score rests on: the crop-vs-mirror disagreement (share of the crop), the head's yaw, the detector's eye span, and on borderline faces the five views' disagreement. */
    landmark_evidence: z.object({ flip_disagreement: z.number(), yaw_deg: z.number(), detector_eye_span: z.number(), augment_disagreement: z.number().optional() }),
  }),
  conservative: z.boolean(),
  conservative_reasons: z.array(z.string()),
  uv_size: z.union([z.literal(512), z.literal(1024)]),
  model: z.enum(MODELS),
  /** Present for model=ict: what an avatar pipeline stores (identity) and drives (ARKit weights). */
  morph: z
    .object({
      model: z.string(),
      identity: z.array(z.number()),
      expressions: z.record(z.string(), z.number().min(0).max(1)),
      /** With ARKit names: the model's shapes ARKit has no name for (ICT: cheekRaiser_L/_R, PupilDilate_L/_R). */
      extras: z.record(z.string(), z.number().min(0).max(1)).optional(),
      /** With ARKit names: names this model cannot fit (ICT has no tongue: tongueOut), absent from expressions. */
      unfitted: z.array(z.string()).optional(),
      fit_rms_mm: z.number(),
    })
    .optional(),
  /** Present only when something asked for was left out (NoticeSchema). */
  notices: z.array(NoticeSchema).optional(),
  timings_ms: z.object({ preprocess: z.number(), geometry: z.number(), texture: z.number(), export: z.number(), upload: z.number(), total: z.number() }),
});
export type ReconstructResponse = z.infer<typeof ReconstructResponseSchema>;

export const StageEventSchema = z.object({ stage: z.enum(STAGES), elapsed_ms: z.number() });
export type StageEvent = z.infer<typeof StageEventSchema>;

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

const JobEventSchema = z.object({ at: z.iso.datetime(), type: z.string(), detail: z.unknown() });

/** A reconstruction job (GET/DELETE /v1/reconstructions/{id}, 202 answers, list items, webhook data). */
export const ReconstructionJobSchema = z.object({
  id: z.string(),
  object: z.literal('reconstruction'),
  status: z.enum(JOB_STATUSES),
  mode: z.enum(['sync', 'async']),
  created_at: z.iso.datetime(),
  started_at: z.iso.datetime().nullable(),
  finished_at: z.iso.datetime().nullable(),
  attempts: z.number().int(),
  /** What ended a failed or canceled job: the code and messages an error response has, and its hint in the job's language. */
  error: z.object({ code: z.enum(ERROR_CODES), status: z.number().int(), message: z.string(), message_zh: z.string(), hint: z.string().optional() }).optional(),
  /** The synchronous response, while it is retained (24 h) and not erased. */
  result: ReconstructResponseSchema.optional(),
  erased_at: z.iso.datetime().optional(),
  /** deliveries: on GET of the one job only (the list and other answers do not read the events). */
  webhook: z.object({ url: z.string(), deliveries: z.array(JobEventSchema).optional() }).optional(),
  /** Attempts, retries and stage progress (`stage` events: { stage, elapsed_ms }). */
  events: z.array(JobEventSchema).optional(),
});
export type ReconstructionJob = z.infer<typeof ReconstructionJobSchema>;

export const ReconstructionJobListSchema = z.object({ object: z.literal('list'), data: z.array(ReconstructionJobSchema), next_cursor: z.string().nullable() });

/**
 * The asset folder of a result, read from its signed URLs (`.../<YYYY-MM-DD>/<32 hex>/<file>?...`,
 * the layout the gpu-function writes in every store), so erasing needs nothing the result lacks.
 */
export function assetFolderOf(resultJson: string): string | null {
  try {
    const r = JSON.parse(resultJson) as { assets?: Record<string, { url?: string }> };
    for (const a of Object.values(r.assets ?? {})) {
      const m = a.url ? /\/(\d{4}-\d{2}-\d{2})\/([0-9a-f]{32})\/[^/?]+(?:\?|$)/.exec(new URL(a.url).pathname + '?') : null;
      if (m) return `${m[1]}/${m[2]}`;
    }
  } catch {
    // not a result
  }
  return null;
}
