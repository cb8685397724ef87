/**
 * A small typed client for the public API, for web and mobile developers (fetch-based: browsers,
 * React Native, Node 18+, workers). Its paths and shapes come from the same zod schemas as the
 * OpenAPI document; a test checks it against that document.
 */
import { ReconstructResponseSchema, STAGES, type ReconstructResponse, type Stage } from './api';
import type { ErrorBody } from './errors';

export const CLIENT_PATHS = { reconstructions: '/v1/reconstructions', usage: '/v1/usage', openapi: '/v1/openapi.json' } as const;

export interface ClientOptions {
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
}

export interface ReconstructRequest {
  photo: Blob | Uint8Array;
  uvSize?: 512 | 1024;
  formats?: Array<'obj' | 'glb' | 'texture' | 'texture_grid' | 'preview'>;
  lang?: 'en' | 'zh';
  /** 'mediapipe' (default): the face area; 'ict': the full head with identity and ARKit expression weights. */
  model?: 'mediapipe' | 'ict';
  /** Reuse across retries of the same photo: the API answers a retry with the first result, uncharged. */
  idempotencyKey?: string;
  onStage?: (stage: Stage, elapsedMs: number) => void;
  signal?: AbortSignal;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.error.message);
    this.name = 'ApiError';
  }
  get code() {
    return this.body.error.code;
  }
}

export class FaceReconClient {
  private readonly f: typeof fetch;
  constructor(private readonly opts: ClientOptions) {
    this.f = opts.fetch ?? ((...a) => fetch(...a));
  }

  private headers(extra: Record<string, string> = {}) {
    return { authorization: `Bearer ${this.opts.apiKey}`, ...extra };
  }

  /** Reconstructs; with `onStage`, follows the progress stream and reports each stage as it completes. */
  async reconstruct(req: ReconstructRequest): Promise<ReconstructResponse> {
    const q = new URLSearchParams();
    if (req.uvSize) q.set('uv_size', String(req.uvSize));
    if (req.formats) q.set('formats', req.formats.join(','));
    if (req.lang) q.set('lang', req.lang);
    if (req.model) q.set('model', req.model);
    const body: Blob = req.photo instanceof Uint8Array ? new Blob([new Uint8Array(req.photo)]) : req.photo;
    const res = await this.f(`${this.opts.baseUrl}${CLIENT_PATHS.reconstructions}${q.size ? `?${q}` : ''}`, {
      method: 'POST',
      body,
      signal: req.signal,
      headers: this.headers({
        'content-type': 'application/octet-stream',
        accept: req.onStage ? 'text/event-stream' : 'application/json',
        ...(req.lang ? { 'accept-language': req.lang } : {}),
        ...(req.idempotencyKey ? { 'idempotency-key': req.idempotencyKey } : {}),
      }),
    });
    if (!res.ok) throw new ApiError(res.status, (await res.json()) as ErrorBody);
    if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) return ReconstructResponseSchema.parse(await res.json());
    return this.readStream(res, req.onStage);
  }

  private async readStream(res: Response, onStage?: (stage: Stage, ms: number) => void): Promise<ReconstructResponse> {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buf += value;
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || data === undefined) continue;
        if (event === 'stage') {
          const s = JSON.parse(data) as { stage: Stage; elapsed_ms: number };
          if ((STAGES as readonly string[]).includes(s.stage)) onStage?.(s.stage, s.elapsed_ms);
        } else if (event === 'result') return ReconstructResponseSchema.parse(JSON.parse(data));
        else if (event === 'error') {
          const e = JSON.parse(data) as ErrorBody & { status: number };
          throw new ApiError(e.status, { error: e.error });
        }
      }
      if (done) throw new Error('the progress stream ended without a result');
    }
  }

  async usage(): Promise<{ billable_calls: number; remaining: number; quota: number }> {
    const res = await this.f(`${this.opts.baseUrl}${CLIENT_PATHS.usage}`, { headers: this.headers() });
    if (!res.ok) throw new ApiError(res.status, (await res.json()) as ErrorBody);
    return res.json() as Promise<{ billable_calls: number; remaining: number; quota: number }>;
  }
}
