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
  /**
   * The texture the meshes (OBJ, GLB, USDZ) carry: 'lit' (default, the photo as it was lit) or 'albedo'
   * (the photo's estimated lighting divided out, for relighting in an engine; albedo.png then comes too).
   */
  texture?: 'lit' | 'albedo';
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

  /** The attempt behind each returned response: its abort link and time-out stay on until its body is read. */
  private readonly live = new WeakMap<Response, { done: () => void; touch: () => void }>();

  /**
   * One API call with retries: 408, 409 (in progress), 429 and 5xx are retried with backoff, honouring
   * Retry-After, with the same Idempotency-Key on every attempt; network failures and time-outs too.
   * The caller's signal and the per-attempt time-out keep governing the response's body after the
   * headers (for a stream, the time-out restarts with each chunk): an abort mid-stream cancels the
   * read, which is what tells the edge to release the charge.
   */
  private async call(method: string, path: string, init: { body?: Photo; headers?: Record<string, string>; signal?: AbortSignal; retry?: boolean; timeoutMs?: number } = {}): Promise<Response> {
    const attempts = init.retry === false ? 1 : this.policy.attempts;
    const timeoutMs = init.timeoutMs ?? this.opts.timeoutMs ?? 60_000;
    /** Until when 409 IDEMPOTENCY_IN_PROGRESS is waited out (from the first one: our own earlier attempt may run that long). */
    let inProgressUntil: number | undefined;
    let inProgressWaits = 0;
    for (let attempt = 1; ; attempt++) {
      // Already aborted (before the first attempt, or during the wait for the next): nothing is sent.
      if (init.signal?.aborted) throw init.signal.reason ?? new Error('aborted');
      const ctl = new AbortController();
      const expire = () => ctl.abort(new Error(`no answer within ${timeoutMs} ms`));
      let timer = setTimeout(expire, timeoutMs);
      const onAbort = () => ctl.abort(init.signal?.reason);
      init.signal?.addEventListener('abort', onAbort);
      const done = () => {
        clearTimeout(timer);
        init.signal?.removeEventListener('abort', onAbort);
      };
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await this.f(`${this.opts.baseUrl}${path}`, { method, body: init.body as BodyInit | undefined, signal: ctl.signal, headers: { authorization: `Bearer ${this.opts.apiKey}`, ...init.headers } });
      } catch (err) {
        failure = err;
      }
      if (init.signal?.aborted) {
        done();
        await res?.body?.cancel?.().catch(() => undefined);
        throw init.signal.reason ?? new Error('aborted');
      }
      // 409 only as IDEMPOTENCY_IN_PROGRESS says it (with Retry-After): a replayed CANCELED is final.
      const inProgress = init.retry !== false && res?.status === 409 && res.headers.has('retry-after');
      const retryable = !res || transientStatus(res.status) || inProgress;
      // An attempt that dropped while the edge kept working answers 409 to the retry until it ends (up to
      // the edge's 45 s deadline): that wait is not a failed attempt, and counting it against `attempts`
      // gave up after a few seconds on a call that was about to succeed.
      // Each wait for it longer than the last (0.5, 1, 2 ... s, never under Retry-After): every retry sends the
      // photo again and takes a token of the key's rate, so a minute of 2 s waits would cost 30 uploads.
      const retryAfter = res?.headers.get('retry-after');
      let delay: number | undefined;
      if (inProgress) {
        inProgressUntil ??= Date.now() + timeoutMs;
        if (Date.now() < inProgressUntil) delay = retryDelayMs(this.policy, ++inProgressWaits, retryAfter);
        if (delay !== undefined) attempt--; // not a failed attempt
      } else if (retryable && attempt < attempts) delay = retryDelayMs(this.policy, attempt, retryAfter);
      if (delay === undefined) {
        if (!res) {
          done();
          throw failure;
        }
        const touch = () => {
          clearTimeout(timer);
          timer = setTimeout(expire, timeoutMs);
        };
        this.live.set(res, { done, touch });
        return res;
      }
      done();
      await res?.body?.cancel?.().catch(() => undefined);
      await sleep(delay, init.signal);
    }
  }

  /** The body as text, under the attempt's abort link and time-out, which it then releases. */
  private async text(res: Response): Promise<string> {
    try {
      return await res.text();
    } finally {
      this.live.get(res)?.done();
    }
  }

  private async json<T>(res: Response): Promise<T> {
    const text = await this.text(res);
    if (res.ok) return JSON.parse(text) as T;
    const after = Number(res.headers.get('retry-after'));
    throw new FaceReconApiError(res.status, errorBodyOf(res, text), Number.isFinite(after) && after > 0 ? after : undefined);
  }

  private static query(o: Pick<CreateOptions, 'uvSize' | 'formats' | 'lang' | 'model' | 'texture' | 'expressionNames' | 'webhookUrl'>): string {
    return queryString([
      ['uv_size', o.uvSize],
      ['formats', o.formats?.join(',')],
      ['lang', o.lang],
      ['model', o.model],
      ['texture', o.texture],
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
    // React Native's fetch hands over no streaming body even where ReadableStream is polyfilled, so the
    // stream's stages would all arrive with the result: there, progress comes from polling a job.
    const reactNative = typeof navigator !== 'undefined' && (navigator as { product?: string }).product === 'ReactNative';
    const streaming = typeof ReadableStream !== 'undefined' && typeof TextDecoder !== 'undefined' && !reactNative;
    if (o.onStage && !streaming) {
      const job = await this.create({ ...o, idempotencyKey: key });
      return (await this.wait(job.id, { onStage: o.onStage, signal: o.signal })).result!;
    }
    const path = `/v1/reconstructions${o.onStage ? '/stream' : ''}${FaceReconClient.query(o)}`;
    for (let attempt = 1; ; attempt++) {
      const res = await this.call('POST', path, { body: o.photo, signal: o.signal, headers: FaceReconClient.photoHeaders(o, key) });
      // A retry's stored answer (Idempotent-Replayed) comes back as JSON even from /stream.
      if (!o.onStage || !res.ok || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) return FaceReconClient.resultOf(await this.json<Reconstruction | ReconstructionJob>(res));
      try {
        return await this.readStream(res, o.onStage);
      } catch (err) {
        // Failures after the stream started are retried like those before it (the edge released the
        // charge and the key when the stream failed), under the same Idempotency-Key; stages are
        // reported again from the start. A caller's abort, and a final error, end the call.
        const delay = !o.signal?.aborted && attempt < this.policy.attempts && retryableStreamFailure(err) ? retryDelayMs(this.policy, attempt, err instanceof FaceReconApiError && err.retryAfterS ? String(err.retryAfterS) : null) : undefined;
        if (delay === undefined) throw err;
        await sleep(delay, o.signal);
      }
    }
  }

  /**
   * The reconstruction a 200 holds. A retry whose key's result was erased (DELETE of its job) is answered
   * with that job, not a reconstruction: thrown as 410 NOT_FOUND rather than returned as a result without
   * assets. A new Idempotency-Key reconstructs the photo again.
   */
  private static resultOf(body: Reconstruction | ReconstructionJob): Reconstruction {
    if (!('object' in body) || body.object !== 'reconstruction') return body as Reconstruction;
    if (body.result) return body.result;
    throw new FaceReconApiError(410, { error: { code: 'NOT_FOUND', message: 'The result of this call was erased (DELETE); send the photo with a new Idempotency-Key to reconstruct it again', message_zh: '此调用的结果已被删除（DELETE）；如需重新重建，请使用新的 Idempotency-Key 再次发送照片', request_id: body.id } });
  }

  /** The progress stream read to its result (an `error` event throws), under the attempt's time-out. */
  private async readStream(res: Response, onStage: NonNullable<ReconstructOptions['onStage']>): Promise<Reconstruction> {
    const parser = new SseParser(onStage);
    const live = this.live.get(res);
    // A fetch that hands over no stream (React Native's, even with ReadableStream polyfilled): the events, whole.
    if (!res.body) return parser.end(await this.text(res));
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        live?.touch();
        if (done) return parser.end(decoder.decode());
        const result = parser.push(decoder.decode(value, { stream: true }));
        if (result) return result;
      }
    } finally {
      live?.done();
      await reader.cancel().catch(() => undefined);
    }
  }

  /** Creates an async job: 202 with the job at once (or the finished job with `waitSeconds`). */
  async create(o: CreateOptions): Promise<ReconstructionJob> {
    const waitS = o.waitSeconds ? Math.min(60, o.waitSeconds) : 0;
    const prefer = waitS ? `respond-async, wait=${waitS}` : 'respond-async';
    // The server may hold the answer for the whole wait: the attempt's time-out must outlast it (a 60 s
    // wait under the default 60 s time-out was cut off, and its retry got the stored 202 instead).
    const timeoutMs = (this.opts.timeoutMs ?? 60_000) + waitS * 1000;
    const res = await this.call('POST', `/v1/reconstructions${FaceReconClient.query(o)}`, { body: o.photo, signal: o.signal, timeoutMs, headers: { ...FaceReconClient.photoHeaders(o, o.idempotencyKey ?? newIdempotencyKey()), prefer } });
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
        throw new FaceReconApiError(e.status, { error: { code: e.code as ErrorBody['error']['code'], message: e.message, message_zh: e.message_zh, request_id: job.id, ...('hint' in e && e.hint ? { hint: e.hint } : {}) } });
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

/**
 * The progress stream (Server-Sent Events): `stage` events, then one `result` or `error`. Line ends LF,
 * CRLF or CR, also when a CRLF is split between two chunks; multi-line data; comments; a last event
 * without its blank line is still read at the end.
 */
/** Statuses worth another attempt with the same key: a time-out, the rate limit, the server's own failures but 501. */
const transientStatus = (status: number) => status === 408 || status === 429 || (status >= 500 && status !== 501);

/**
 * What a failed progress stream may be retried for: a network failure or the attempt's time-out (not
 * the API's errors), or an in-band error with a transient status, as `call` retries them before a
 * stream starts.
 */
function retryableStreamFailure(err: unknown): boolean {
  return !(err instanceof FaceReconApiError) || transientStatus(err.status);
}

export class SseParser {
  private buf = '';
  constructor(private readonly onStage: (stage: Stage, ms: number) => void) {}

  /** Feeds decoded text; returns the result once its event is complete (an `error` event throws). */
  push(text: string): Reconstruction | undefined {
    this.buf += text;
    // A CR at the very end may be half of a CRLF: it waits for the next chunk.
    const keep = this.buf.endsWith('\r') ? 1 : 0;
    const ready = this.buf.slice(0, this.buf.length - keep).replace(/\r\n?/g, '\n');
    this.buf = ready + this.buf.slice(this.buf.length - keep);
    let cut: number;
    while ((cut = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, cut);
      this.buf = this.buf.slice(cut + 2);
      const result = this.event(block);
      if (result) return result;
    }
    return undefined;
  }

  /** The stream ended: the last event, if it lacked its blank line, and otherwise an error. */
  end(text = ''): Reconstruction {
    const result = this.push(text) ?? this.event(this.buf.replace(/\r\n?/g, '\n').replace(/\n+$/, ''));
    if (result) return result;
    throw new Error('the progress stream ended without a result');
  }

  private event(block: string): Reconstruction | undefined {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (!data.length) return undefined;
    const payload = JSON.parse(data.join('\n'));
    if (event === 'stage' && STAGES.includes(payload.stage)) this.onStage(payload.stage, payload.elapsed_ms);
    else if (event === 'result') return payload as Reconstruction;
    else if (event === 'error') throw new FaceReconApiError(payload.status, { error: payload.error });
    return undefined;
  }
}

/** The codes a bare HTTP status stands for, when what answered was not the API (a gateway, a proxy). */
function codeForStatus(status: number): ErrorBody['error']['code'] {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 408 || status === 504) return 'TIMEOUT';
  if (status === 413) return 'IMAGE_TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 502) return 'UPSTREAM_UNAVAILABLE';
  if (status === 503) return 'OVERLOADED';
  return status >= 500 ? 'INTERNAL' : 'INVALID_REQUEST';
}

/** The API's error body, or one made from the status when the answer was not the API's JSON (an HTML 502). */
function errorBodyOf(res: Response, text: string): ErrorBody {
  try {
    const body = JSON.parse(text) as Partial<ErrorBody>;
    if (body?.error && typeof body.error.code === 'string' && typeof body.error.message === 'string') return body as ErrorBody;
  } catch {
    // not JSON
  }
  return { error: { code: codeForStatus(res.status), message: `HTTP ${res.status} from ${res.headers.get('server') ?? 'the network'}, not from the API`, message_zh: `网络返回 HTTP ${res.status}（非 API 应答）`, request_id: res.headers.get('x-request-id') ?? '' } };
}
