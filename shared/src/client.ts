/**
 * A small typed client for the public API, for web and mobile developers (fetch-based: browsers,
 * React Native, Node 18+, workers). Its paths and shapes come from the same zod schemas as the
 * OpenAPI document; a test checks it against that document.
 */
import { ReconstructionJobListSchema, ReconstructionJobSchema, ReconstructResponseSchema, STAGES, type ReconstructionJob, type ReconstructResponse, type Stage } from './api';
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

export interface CreateJobRequest extends Omit<ReconstructRequest, 'onStage'> {
  /** https URL that receives the final state, signed with the key's webhook secret. */
  webhookUrl?: string;
  /** Prefer: wait=N: hold the call up to N s (<= 60) and return the finished job when it ends in time. */
  waitSeconds?: number;
}

export interface WaitOptions {
  /** Give up (and throw) after this long; the job keeps running. Default 3 minutes. */
  timeoutMs?: number;
  signal?: AbortSignal;
  onStage?: (stage: Stage, elapsedMs: number) => void;
  onStatus?: (job: ReconstructionJob) => void;
}

const TERMINAL = ['succeeded', 'failed', 'canceled'];

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

  private query(req: Pick<ReconstructRequest, 'uvSize' | 'formats' | 'lang' | 'model'> & { webhookUrl?: string }): string {
    const q = new URLSearchParams();
    if (req.uvSize) q.append('uv_size', String(req.uvSize));
    if (req.formats) q.append('formats', req.formats.join(','));
    if (req.lang) q.append('lang', req.lang);
    if (req.model) q.append('model', req.model);
    if (req.webhookUrl) q.append('webhook_url', req.webhookUrl);
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  private async json<T>(res: Response, parse: (v: unknown) => T): Promise<T> {
    if (!res.ok) throw new ApiError(res.status, (await res.json()) as ErrorBody);
    return parse(await res.json());
  }

  /** Creates a job (202 at once, or the finished job with `waitSeconds`); follow it with get() or wait(). */
  async create(req: CreateJobRequest): Promise<ReconstructionJob> {
    const body: Blob = req.photo instanceof Uint8Array ? new Blob([new Uint8Array(req.photo)]) : req.photo;
    const res = await this.f(`${this.opts.baseUrl}${CLIENT_PATHS.reconstructions}${this.query(req)}`, {
      method: 'POST',
      body,
      signal: req.signal,
      headers: this.headers({
        'content-type': 'application/octet-stream',
        prefer: req.waitSeconds ? `respond-async, wait=${req.waitSeconds}` : 'respond-async',
        ...(req.lang ? { 'accept-language': req.lang } : {}),
        ...(req.idempotencyKey ? { 'idempotency-key': req.idempotencyKey } : {}),
      }),
    });
    return this.json(res, (v) => ReconstructionJobSchema.parse(v));
  }

  async get(id: string, opts: { signal?: AbortSignal } = {}): Promise<ReconstructionJob> {
    const res = await this.f(`${this.opts.baseUrl}${CLIENT_PATHS.reconstructions}/${encodeURIComponent(id)}`, { headers: this.headers(), signal: opts.signal });
    return this.json(res, (v) => ReconstructionJobSchema.parse(v));
  }

  /**
   * Polls the job until it ends (as often as its Retry-After says, 1-5 s), reporting stage events as
   * they appear. Resolves with a succeeded job; a failed or canceled one throws its ApiError.
   */
  async wait(id: string, opts: WaitOptions = {}): Promise<ReconstructionJob> {
    const until = Date.now() + (opts.timeoutMs ?? 180_000);
    let seen = 0;
    for (;;) {
      const res = await this.f(`${this.opts.baseUrl}${CLIENT_PATHS.reconstructions}/${encodeURIComponent(id)}`, { headers: this.headers(), signal: opts.signal });
      const job = await this.json(res, (v) => ReconstructionJobSchema.parse(v));
      const stages = (job.events ?? []).filter((e) => e.type === 'stage');
      for (const e of stages.slice(seen)) {
        const d = e.detail as { stage?: string; elapsed_ms?: number } | null;
        if (d?.stage && (STAGES as readonly string[]).includes(d.stage)) opts.onStage?.(d.stage as Stage, d.elapsed_ms ?? 0);
      }
      seen = stages.length;
      opts.onStatus?.(job);
      if (job.status === 'succeeded') return job;
      if (TERMINAL.includes(job.status)) {
        const e = job.error ?? { code: 'CANCELED', status: 409, message: 'canceled', message_zh: '已取消' };
        throw new ApiError(e.status, { error: { code: e.code as ErrorBody['error']['code'], message: e.message, message_zh: e.message_zh, request_id: job.id } });
      }
      if (Date.now() > until) throw new Error(`job ${id} still ${job.status} after the wait`);
      const after = Number(res.headers.get('retry-after'));
      await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(1000, Number.isFinite(after) && after > 0 ? after * 1000 : 1000))));
    }
  }

  /** Cancels a queued or running job, or erases a finished one's assets and result. */
  async delete(id: string): Promise<ReconstructionJob> {
    const res = await this.f(`${this.opts.baseUrl}${CLIENT_PATHS.reconstructions}/${encodeURIComponent(id)}`, { method: 'DELETE', headers: this.headers() });
    return this.json(res, (v) => ReconstructionJobSchema.parse(v));
  }

  async list(opts: { limit?: number; cursor?: string } = {}): Promise<{ data: ReconstructionJob[]; next_cursor: string | null }> {
    const q = `?limit=${opts.limit ?? 20}${opts.cursor ? `&cursor=${encodeURIComponent(opts.cursor)}` : ''}`;
    const res = await this.f(`${this.opts.baseUrl}${CLIENT_PATHS.reconstructions}${q}`, { headers: this.headers() });
    return this.json(res, (v) => ReconstructionJobListSchema.parse(v));
  }

  /** Reconstructs synchronously; with `onStage`, follows the progress stream and reports each stage as it completes. */
  async reconstruct(req: ReconstructRequest): Promise<ReconstructResponse> {
    const body: Blob = req.photo instanceof Uint8Array ? new Blob([new Uint8Array(req.photo)]) : req.photo;
    const res = await this.f(`${this.opts.baseUrl}${CLIENT_PATHS.reconstructions}${this.query(req)}`, {
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
