/**
 * @facerecon/client: the facerecon API for app developers, in browsers, React Native, Node 18+ and
 * workers. Its types are generated from the API's own OpenAPI document (src/generated/api.ts), so
 * they cannot drift from what the server sends.
 *
 * Portable by construction: only `fetch`, `setTimeout` and (for webhooks) WebCrypto's HMAC are used;
 * no Blob is built from bytes (React Native cannot), bodies are sent as given (Uint8Array,
 * ArrayBuffer or a Blob/File the platform made), query strings are built by hand (no
 * URLSearchParams.set), and a streaming response body is used only where the platform has one.
 */
import type { components } from './generated/api';
import { newIdempotencyKey, retryDelayMs, sleep, type RetryPolicy } from './retry';

export type Reconstruction = components['schemas']['Reconstruction'];
export type ReconstructionJob = components['schemas']['ReconstructionJob'];
export type ReconstructionJobList = components['schemas']['ReconstructionJobList'];
export type Usage = components['schemas']['Usage'];
export type ErrorBody = components['schemas']['Error'];
export type Stage = 'preprocess' | 'geometry' | 'texture' | 'export' | 'upload';
export type { RetryPolicy } from './retry';
export { verifyWebhook, type WebhookEvent } from './webhooks';

export interface ClientOptions {
  /** e.g. https://api.facerecon.example */
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
  /** Per-attempt time-out (default 60 s). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
}

export type Photo = Uint8Array | ArrayBuffer | Blob;

export interface ReconstructOptions {
  photo: Photo;
  uvSize?: 512 | 1024;
  /**
   * Default: obj, glb, texture, texture_grid, preview. On request: `usdz` (AR Quick Look),
   * `glb_optimized` (meshopt + WebP; the viewer needs both decoders), `albedo` (the face texture with
   * the photo's lighting divided out) and `detail` (normal.png and displacement.png, the face's
   * shading detail, which the meshes then carry as their normal map).
   */
  formats?: Array<'obj' | 'glb' | 'glb_optimized' | 'usdz' | 'texture' | 'texture_grid' | 'albedo' | 'detail' | 'preview'>;
  lang?: 'en' | 'zh';
  /** 'mediapipe' (default): the face; 'ict': the full head with identity and ARKit weights. */
  model?: 'mediapipe' | 'ict';
  /** model=ict: ARKit's blendshape names (default) or ICT-FaceKit's own. */
  expressionNames?: 'arkit' | 'ict';
  /** Made for you when absent, and the same across this call's retries: never billed twice. */
  idempotencyKey?: string;
  /** Stage progress: over the event stream where the platform streams, else by polling a job. */
  onStage?: (stage: Stage, elapsedMs: number) => void;
  signal?: AbortSignal;
}

export interface CreateOptions extends Omit<ReconstructOptions, 'onStage'> {
  webhookUrl?: string;
  /** Prefer: wait=N (<= 60): answer with the finished job if it ends within N seconds. */
  waitSeconds?: number;
}

export interface WaitOptions {
  /** Give up after this long (default 3 min); the job keeps running. */
  timeoutMs?: number;
  signal?: AbortSignal;
  onStage?: (stage: Stage, elapsedMs: number) => void;
  onStatus?: (job: ReconstructionJob) => void;
}

/** An error the API answered with: its stable code, HTTP status, both messages and the request id. */
export class FaceReconApiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly requestId?: string;
  readonly messageZh: string;
  readonly hint?: string;
  readonly retryAfterS?: number;
  constructor(status: number, body: ErrorBody, retryAfterS?: number) {
    super(body.error.message);
    this.name = 'FaceReconApiError';
    this.status = status;
    this.code = body.error.code;
    this.requestId = body.error.request_id;
    this.messageZh = body.error.message_zh;
    this.hint = body.error.hint;
    this.retryAfterS = retryAfterS;
  }
}

const STAGES: readonly string[] = ['preprocess', 'geometry', 'texture', 'export', 'upload'];
const TERMINAL: readonly string[] = ['succeeded', 'failed', 'canceled'];

function queryString(pairs: Array<[string, string | number | undefined]>): string {
  const parts = pairs.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

export class FaceReconClient {
  private readonly f: typeof fetch;
  private readonly policy: RetryPolicy;
  constructor(private readonly opts: ClientOptions) {
    this.f = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
    this.policy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 20_000, ...opts.retry };
  }

  /**
   * One API call with retries: 408, 409 (in progress), 429 and 5xx are retried with backoff, honouring
   * Retry-After, with the same Idempotency-Key on every attempt; network failures and time-outs too.
   */
  private async call(method: string, path: string, init: { body?: Photo; headers?: Record<string, string>; signal?: AbortSignal; retry?: boolean } = {}): Promise<Response> {
    const attempts = init.retry === false ? 1 : this.policy.attempts;
    for (let attempt = 1; ; attempt++) {
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), this.opts.timeoutMs ?? 60_000);
      const onAbort = () => ctl.abort();
      init.signal?.addEventListener('abort', onAbort);
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await this.f(`${this.opts.baseUrl}${path}`, { method, body: init.body as BodyInit | undefined, signal: ctl.signal, headers: { authorization: `Bearer ${this.opts.apiKey}`, ...init.headers } });
      } catch (err) {
        failure = err;
      } finally {
        clearTimeout(timer);
        init.signal?.removeEventListener('abort', onAbort);
      }
      if (init.signal?.aborted) throw init.signal.reason ?? new Error('aborted');
      const retryable = !res || res.status === 408 || res.status === 409 || res.status === 429 || (res.status >= 500 && res.status !== 501);
      if (!retryable || attempt >= attempts) {
        if (res) return res;
        throw failure;
      }
      await res?.body?.cancel?.().catch(() => undefined);
      await sleep(retryDelayMs(this.policy, attempt, res?.headers.get('retry-after')), init.signal);
    }
  }

  private async json<T>(res: Response): Promise<T> {
    if (!res.ok) {
      const after = Number(res.headers.get('retry-after'));
      throw new FaceReconApiError(res.status, (await res.json()) as ErrorBody, Number.isFinite(after) && after > 0 ? after : undefined);
    }
    return (await res.json()) as T;
  }

  private static query(o: Pick<CreateOptions, 'uvSize' | 'formats' | 'lang' | 'model' | 'expressionNames' | 'webhookUrl'>): string {
    return queryString([
      ['uv_size', o.uvSize],
      ['formats', o.formats?.join(',')],
      ['lang', o.lang],
      ['model', o.model],
      ['expression_names', o.expressionNames],
      ['webhook_url', o.webhookUrl],
    ]);
  }

  private static photoHeaders(o: ReconstructOptions | CreateOptions, key: string): Record<string, string> {
    return { 'content-type': 'application/octet-stream', 'idempotency-key': key, ...(o.lang ? { 'accept-language': o.lang } : {}) };
  }

  /**
   * Reconstructs and returns the result. With `onStage`, stages are reported from the event stream
   * where the platform can read one, and otherwise from an async job it polls (React Native).
   */
  async reconstruct(o: ReconstructOptions): Promise<Reconstruction> {
    const key = o.idempotencyKey ?? newIdempotencyKey();
    const streaming = typeof ReadableStream !== 'undefined' && typeof TextDecoder !== 'undefined';
    if (o.onStage && !streaming) {
      const job = await this.create({ ...o, idempotencyKey: key });
      return (await this.wait(job.id, { onStage: o.onStage, signal: o.signal })).result!;
    }
    const res = await this.call('POST', `/v1/reconstructions${o.onStage ? '/stream' : ''}${FaceReconClient.query(o)}`, { body: o.photo, signal: o.signal, headers: FaceReconClient.photoHeaders(o, key) });
    if (!o.onStage || !res.ok || !res.body) return this.json<Reconstruction>(res);
    return readStream(res.body, o.onStage);
  }

  /** Creates an async job: 202 with the job at once (or the finished job with `waitSeconds`). */
  async create(o: CreateOptions): Promise<ReconstructionJob> {
    const prefer = o.waitSeconds ? `respond-async, wait=${Math.min(60, o.waitSeconds)}` : 'respond-async';
    const res = await this.call('POST', `/v1/reconstructions${FaceReconClient.query(o)}`, { body: o.photo, signal: o.signal, headers: { ...FaceReconClient.photoHeaders(o, o.idempotencyKey ?? newIdempotencyKey()), prefer } });
    return this.json<ReconstructionJob>(res);
  }

  async get(id: string, opts: { signal?: AbortSignal } = {}): Promise<ReconstructionJob> {
    return this.json<ReconstructionJob>(await this.call('GET', `/v1/reconstructions/${encodeURIComponent(id)}`, opts));
  }

  /**
   * Polls until the job ends, as often as its Retry-After asks (1-5 s), reporting new stage events.
   * Resolves with the succeeded job; a failed or canceled one throws its FaceReconApiError.
   */
  async wait(id: string, opts: WaitOptions = {}): Promise<ReconstructionJob> {
    const until = Date.now() + (opts.timeoutMs ?? 180_000);
    let seen = 0;
    for (;;) {
      const res = await this.call('GET', `/v1/reconstructions/${encodeURIComponent(id)}`, { signal: opts.signal });
      const job = await this.json<ReconstructionJob>(res);
      const stages = (job.events ?? []).filter((e) => e.type === 'stage');
      for (const e of stages.slice(seen)) {
        const d = e.detail as { stage?: string; elapsed_ms?: number } | null;
        if (d?.stage && STAGES.includes(d.stage)) opts.onStage?.(d.stage as Stage, d.elapsed_ms ?? 0);
      }
      seen = stages.length;
      opts.onStatus?.(job);
      if (job.status === 'succeeded') return job;
      if (TERMINAL.includes(job.status)) {
        const e = job.error ?? { code: 'CANCELED', status: 409, message: 'The reconstruction was canceled', message_zh: '重建已取消' };
        throw new FaceReconApiError(e.status, { error: { code: e.code as ErrorBody['error']['code'], message: e.message, message_zh: e.message_zh, request_id: job.id } });
      }
      if (Date.now() > until) throw new Error(`job ${id} is still ${job.status}`);
      const after = Number(res.headers.get('retry-after'));
      await sleep(Math.min(5000, Math.max(1000, Number.isFinite(after) && after > 0 ? after * 1000 : 1000)), opts.signal);
    }
  }

  /** Cancels a queued or running job (not billed), or erases a finished one's assets and result. */
  async cancel(id: string): Promise<ReconstructionJob> {
    return this.json<ReconstructionJob>(await this.call('DELETE', `/v1/reconstructions/${encodeURIComponent(id)}`));
  }

  /** The same as cancel(): DELETE cancels what runs and erases what ended. */
  delete(id: string): Promise<ReconstructionJob> {
    return this.cancel(id);
  }

  async list(opts: { limit?: number; cursor?: string } = {}): Promise<ReconstructionJobList> {
    return this.json<ReconstructionJobList>(await this.call('GET', `/v1/reconstructions${queryString([['limit', opts.limit], ['cursor', opts.cursor]])}`));
  }

  async usage(): Promise<Usage> {
    return this.json<Usage>(await this.call('GET', '/v1/usage'));
  }

  /** The key's webhook signing secret (whsec_...), for verifyWebhook(). */
  async webhookSecret(): Promise<string> {
    return (await this.json<{ secret: string }>(await this.call('GET', '/v1/webhook-secret'))).secret;
  }
}

/** The progress stream: `stage` events, then one `result` or `error` (multi-line data allowed). */
async function readStream(body: ReadableStream<Uint8Array>, onStage: (stage: Stage, ms: number) => void): Promise<Reconstruction> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buf += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (!data.length) continue;
      const payload = JSON.parse(data.join('\n'));
      if (event === 'stage' && STAGES.includes(payload.stage)) onStage(payload.stage, payload.elapsed_ms);
      else if (event === 'result') return payload as Reconstruction;
      else if (event === 'error') throw new FaceReconApiError(payload.status, { error: payload.error });
    }
    if (done) throw new Error('the progress stream ended without a result');
  }
}
