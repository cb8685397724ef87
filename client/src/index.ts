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
import { apiError, CallbackFailure, FaceReconAbortError, FaceReconApiError, FaceReconNetworkError, keyed, type ErrorBody, type ErrorCode } from './errors';
import { abortReason, newIdempotencyKey, retryAfterMs, retryDelayMs, sleep, type RetryPolicy } from './retry';
import { SseParser, STAGES, type Stage } from './sse';

export type Reconstruction = components['schemas']['Reconstruction'];
export type ReconstructionJob = components['schemas']['ReconstructionJob'];
export type ReconstructionJobList = components['schemas']['ReconstructionJobList'];
export type Usage = components['schemas']['Usage'];
export type Lang = 'en' | 'zh';
export type { RetryPolicy } from './retry';
export { FaceReconAbortError, FaceReconApiError, FaceReconNetworkError, type ErrorBody, type ErrorCode } from './errors';
export { SseParser, type Stage } from './sse';
export { verifyWebhook, type WebhookEvent } from './webhooks';

export interface ClientOptions {
  /** e.g. https://api.facerecon.example */
  baseUrl: string;
  apiKey: string;
  fetch?: typeof fetch;
  /**
   * Per-attempt time-out (default 60 s), until the answer is read; on a progress stream, the longest
   * silence between events once it started. A photo's upload comes on top of it, at an assumed floor
   * uplink of 64 kB/s (timeoutMs + bytes / 64 ms: 10 MB adds 156 s), so that a slow mobile uplink is
   * not cut off while the edge would still have answered.
   */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** The language of the API's messages (job errors included) for every call that names none. */
  lang?: Lang;
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
  lang?: Lang;
  /** 'mediapipe' (default): the face; 'ict': the full head with identity and ARKit weights. */
  model?: 'mediapipe' | 'ict';
  /**
   * The texture the meshes (OBJ, GLB, USDZ) carry: 'lit' (default, the photo as it was lit) or 'albedo'
   * (the photo's estimated lighting divided out, for relighting in an engine; albedo.png then comes too).
   */
  texture?: 'lit' | 'albedo';
  /** model=ict: ARKit's blendshape names (default) or ICT-FaceKit's own. */
  expressionNames?: 'arkit' | 'ict';
  /**
   * Made for you when absent, and the same across this call's retries: never billed twice. Every error
   * the call throws carries it (`idempotencyKey`): a later retry with it is not billed again either.
   */
  idempotencyKey?: string;
  /**
   * Stage progress: over the event stream where the platform streams, else by polling a job. An
   * exception it throws ends the call at once and is rethrown as it is.
   */
  onStage?: (stage: Stage, elapsedMs: number) => void;
  signal?: AbortSignal;
}

export interface CreateOptions extends Omit<ReconstructOptions, 'onStage'> {
  webhookUrl?: string;
  /** Prefer: wait=N (whole seconds, 0-60): answer with the finished job if it ends within N seconds. */
  waitSeconds?: number;
}

/** What every job call takes: a signal, and the language of its messages (a failed job's error among them). */
export interface JobCallOptions {
  signal?: AbortSignal;
  lang?: Lang;
}

export interface WaitOptions extends JobCallOptions {
  /** Give up after this long (default 3 min); the job keeps running. */
  timeoutMs?: number;
  onStage?: (stage: Stage, elapsedMs: number) => void;
  onStatus?: (job: ReconstructionJob) => void;
}

const TERMINAL: readonly string[] = ['succeeded', 'failed', 'canceled'];

/** The slowest uplink an upload is given time for: 64 kB/s, a poor mobile connection's. */
const UPLOAD_FLOOR_BYTES_PER_MS = 64;

function uploadAllowanceMs(body: Photo | undefined): number {
  const bytes = body ? ((body as { byteLength?: number }).byteLength ?? (body as { size?: number }).size ?? 0) : 0;
  return Math.ceil(bytes / UPLOAD_FLOOR_BYTES_PER_MS);
}

function queryString(pairs: Array<[string, string | number | undefined]>): string {
  const parts = pairs.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

const jobPath = (id: string) => `/v1/reconstructions/${encodeURIComponent(id)}`;

interface CallInit<T> {
  body?: Photo;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  retry?: boolean;
  timeoutMs?: number;
  lang?: Lang;
  /** Reads a 2xx answer (default: its JSON) within the attempt; `touch` restarts the time-out (a stream's chunk). */
  read?: (res: Response, touch: () => void) => Promise<T>;
}

export class FaceReconClient {
  private readonly f: typeof fetch;
  private readonly policy: RetryPolicy;
  /** Without its trailing slashes: `${baseUrl}/v1/...` with one left in was `//v1/...`, a 404 on every call. */
  private readonly baseUrl: string;
  constructor(private readonly opts: ClientOptions) {
    this.f = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
    this.policy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 20_000, ...opts.retry };
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
  }

  /**
   * One API call with retries, its answer read within them: 408, 409 (in progress), 429 and 5xx are
   * retried with backoff, honouring Retry-After, with the same Idempotency-Key on every attempt; network
   * failures and time-outs too, also those while the body is read (a 200 whose body dropped was billed
   * all the same: the retry gets the stored answer, unbilled), and a progress stream that fails after it
   * started (the edge released the charge and the key when it failed; its stages are reported again).
   * The caller's signal and the per-attempt time-out govern the body too (on a stream the time-out
   * restarts with each chunk): an abort mid-stream cancels the read, which is what tells the edge to
   * release the charge. After the last attempt a failure without the API's answer is a FaceReconNetworkError.
   */
  private async call<T>(method: string, path: string, init: CallInit<T> = {}): Promise<T> {
    const attempts = init.retry === false ? 1 : this.policy.attempts;
    const timeoutMs = init.timeoutMs ?? this.opts.timeoutMs ?? 60_000;
    // The upload's time comes on top until the answer starts; after that, each chunk of a stream has timeoutMs.
    const firstMs = timeoutMs + uploadAllowanceMs(init.body);
    const read = init.read ?? (async (res: Response) => JSON.parse(await res.text()) as T);
    const lang = init.lang ?? this.opts.lang;
    const headers = { authorization: `Bearer ${this.opts.apiKey}`, ...(lang ? { 'accept-language': lang } : {}), ...init.headers };
    /** Until when 409 IDEMPOTENCY_IN_PROGRESS is waited out (from the first one: our own earlier attempt may run that long). */
    let inProgressUntil: number | undefined;
    let inProgressWaits = 0;
    let timeouts = 0;
    for (let attempt = 1; ; attempt++) {
      // Already aborted (before the first attempt, or during the wait for the next): nothing is sent.
      if (init.signal?.aborted) throw abortReason(init.signal);
      const ctl = new AbortController();
      const expire = (ms: number) => () => ctl.abort(new Error(`no answer within ${ms} ms`));
      let timer = setTimeout(expire(firstMs), firstMs);
      const touch = () => {
        clearTimeout(timer);
        timer = setTimeout(expire(timeoutMs), timeoutMs);
      };
      const onAbort = () => ctl.abort(abortReason(init.signal!));
      init.signal?.addEventListener('abort', onAbort);
      let res: Response | undefined;
      let failure: unknown;
      try {
        res = await this.f(`${this.baseUrl}${path}`, { method, body: init.body as BodyInit | undefined, signal: ctl.signal, headers });
        if (res.ok) return await read(res, touch);
        throw await apiError(res);
      } catch (err) {
        failure = err;
      } finally {
        clearTimeout(timer);
        init.signal?.removeEventListener('abort', onAbort);
        // A body left unread (a failed read) frees its connection.
        await res?.body?.cancel?.().catch(() => undefined);
      }
      if (init.signal?.aborted) throw abortReason(init.signal);
      if (failure instanceof CallbackFailure) throw failure.error;
      const api = failure instanceof FaceReconApiError ? failure : undefined;
      // 409 only as IDEMPOTENCY_IN_PROGRESS says it (with Retry-After): a replayed CANCELED is final.
      const inProgress = init.retry !== false && api !== undefined && res?.status === 409 && res.headers.has('retry-after');
      // The header as sent (it may be a date); an in-band error on a stream has only its own.
      const retryAfter = res && !res.ok ? res.headers.get('retry-after') : api?.retryAfterS !== undefined ? String(api.retryAfterS) : null;
      // 504 is the service's own deadline: a photo that timed out twice will time out again, so one retry, not `attempts`.
      if (api?.status === 504) timeouts++;
      // An attempt that dropped while the edge kept working answers 409 to the retry until it ends (up to
      // the edge's 45 s deadline): that wait is not a failed attempt, and counting it against `attempts`
      // gave up after a few seconds on a call that was about to succeed.
      // Each wait for it longer than the last (0.5, 1, 2 ... s, never under Retry-After): every retry sends the
      // photo again and takes a token of the key's rate, so a minute of 2 s waits would cost 30 uploads.
      let delay: number | undefined;
      if (inProgress) {
        inProgressUntil ??= Date.now() + timeoutMs;
        if (Date.now() < inProgressUntil) delay = retryDelayMs(this.policy, ++inProgressWaits, retryAfter);
        if (delay !== undefined) attempt--; // not a failed attempt
      } else if ((!api || transientStatus(api.status)) && attempt < attempts && timeouts < 2) delay = retryDelayMs(this.policy, attempt, retryAfter);
      if (delay === undefined) throw api ?? new FaceReconNetworkError(failure);
      await sleep(delay, init.signal);
    }
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

  private static photoHeaders(key: string): Record<string, string> {
    return { 'content-type': 'application/octet-stream', 'idempotency-key': key };
  }

  /**
   * Reconstructs and returns the result. With `onStage`, stages are reported from the event stream
   * where the platform can read one, and otherwise from an async job it polls (React Native).
   */
  async reconstruct(o: ReconstructOptions): Promise<Reconstruction> {
    const key = o.idempotencyKey ?? newIdempotencyKey();
    const lang = o.lang ?? this.opts.lang;
    // React Native's fetch hands over no streaming body even where ReadableStream is polyfilled, so the
    // stream's stages would all arrive with the result: there, progress comes from polling a job.
    const reactNative = typeof navigator !== 'undefined' && (navigator as { product?: string }).product === 'ReactNative';
    const streaming = typeof ReadableStream !== 'undefined' && typeof TextDecoder !== 'undefined' && !reactNative;
    const onStage = o.onStage;
    // The client's language goes as Accept-Language only, a call's own also in the query: the edge counts
    // a query `lang` as part of the request, so a default put there would make a retry after the app's
    // language changed a different request under the same key (422 IDEMPOTENCY_KEY_REUSED).
    if (onStage && !streaming) return this.polled({ ...o, idempotencyKey: key }, onStage);
    try {
      return await this.call('POST', `/v1/reconstructions${onStage ? '/stream' : ''}${FaceReconClient.query(o)}`, {
        body: o.photo,
        signal: o.signal,
        lang,
        headers: FaceReconClient.photoHeaders(key),
        read: async (res, touch) => {
          // A retry's stored answer (Idempotent-Replayed) comes back as JSON even from /stream.
          if (onStage && (res.headers.get('content-type') ?? '').includes('text/event-stream')) return this.readStream(res, onStage, touch);
          return FaceReconClient.resultOf(JSON.parse(await res.text()) as Reconstruction | ReconstructionJob);
        },
      });
    } catch (err) {
      throw keyed(err, o.signal, key);
    }
  }

  /**
   * reconstruct() where no stream can be read: an async job, polled. A call that stops waiting (an
   * abort, the wait's time-out, onStage throwing) cancels the job, as the stream's cancelled read
   * releases its charge: left running, it would be billed for a result nobody reads.
   */
  private async polled(o: ReconstructOptions & { idempotencyKey: string }, onStage: NonNullable<ReconstructOptions['onStage']>): Promise<Reconstruction> {
    const job = await this.create(o);
    let threw = false;
    const report = (stage: Stage, ms: number) => {
      try {
        onStage(stage, ms);
      } catch (err) {
        threw = true;
        throw err;
      }
    };
    try {
      return FaceReconClient.resultOf(await this.wait(job.id, { onStage: report, signal: o.signal, lang: o.lang ?? this.opts.lang }));
    } catch (err) {
      const stopped = threw || o.signal?.aborted || (err instanceof FaceReconAbortError && err.name === 'TimeoutError');
      // Not under the caller's signal, which has fired; not awaited: the DELETE is on its way and the
      // caller who gave up is not kept waiting for its answer.
      if (stopped) this.cancel(job.id, { lang: o.lang ?? this.opts.lang }).catch(() => undefined);
      throw threw ? err : keyed(err, o.signal, o.idempotencyKey, job.id);
    }
  }

  /**
   * The reconstruction a 200 holds. A retry whose key's result was erased (DELETE of its job) is answered
   * with that job, not a reconstruction: thrown as 404 NOT_FOUND rather than returned as a result without
   * assets. A new Idempotency-Key reconstructs the photo again.
   */
  private static resultOf(body: Reconstruction | ReconstructionJob): Reconstruction {
    if (!('object' in body) || body.object !== 'reconstruction') return body as Reconstruction;
    if (body.result) return body.result;
    throw new FaceReconApiError(404, { error: { code: 'NOT_FOUND', message: 'The result of this call was erased (DELETE); send the photo with a new Idempotency-Key to reconstruct it again', message_zh: '此调用的结果已被删除（DELETE）；如需重新重建，请使用新的 Idempotency-Key 再次发送照片', request_id: body.id } });
  }

  /**
   * The progress stream read to its result (an `error` event throws), each chunk restarting the
   * attempt's time-out. An exception from onStage is the caller's: it ends the call, never a retry.
   */
  private async readStream(res: Response, onStage: NonNullable<ReconstructOptions['onStage']>, touch: () => void): Promise<Reconstruction> {
    const parser = new SseParser((stage, ms) => {
      try {
        onStage(stage, ms);
      } catch (err) {
        throw new CallbackFailure(err);
      }
    });
    // A fetch that hands over no stream (React Native's, even with ReadableStream polyfilled): the events, whole.
    if (!res.body) return parser.end(await res.text());
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        touch();
        if (done) return parser.end(decoder.decode());
        const result = parser.push(decoder.decode(value, { stream: true }));
        if (result) return result;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  /** Creates an async job: 202 with the job at once (or the finished job with `waitSeconds`). */
  async create(o: CreateOptions): Promise<ReconstructionJob> {
    const key = o.idempotencyKey ?? newIdempotencyKey();
    const lang = o.lang ?? this.opts.lang;
    // The edge takes whole seconds only (wait=2.5 was ignored): up to its 60.
    const waitS = Math.min(60, Math.max(0, Math.floor(o.waitSeconds ?? 0) || 0));
    const prefer = waitS ? `respond-async, wait=${waitS}` : 'respond-async';
    // The server may hold the answer for the whole wait: the attempt's time-out must outlast it (a 60 s
    // wait under the default 60 s time-out was cut off, and its retry got the stored 202 instead).
    const timeoutMs = (this.opts.timeoutMs ?? 60_000) + waitS * 1000;
    try {
      return await this.call<ReconstructionJob>('POST', `/v1/reconstructions${FaceReconClient.query(o)}`, { body: o.photo, signal: o.signal, timeoutMs, lang, headers: { ...FaceReconClient.photoHeaders(key), prefer } });
    } catch (err) {
      throw keyed(err, o.signal, key);
    }
  }

  async get(id: string, opts: JobCallOptions = {}): Promise<ReconstructionJob> {
    return this.call<ReconstructionJob>('GET', jobPath(id), opts);
  }

  /**
   * Polls until the job ends, as often as its Retry-After asks (1-60 s), reporting new stage events.
   * Resolves with the succeeded job; a failed or canceled one throws its FaceReconApiError, and one
   * still running at `timeoutMs` a FaceReconAbortError named 'TimeoutError'.
   */
  async wait(id: string, opts: WaitOptions = {}): Promise<ReconstructionJob> {
    const until = Date.now() + (opts.timeoutMs ?? 180_000);
    let seen = 0;
    for (;;) {
      const { job, retryAfter } = await this.call('GET', jobPath(id), {
        signal: opts.signal,
        lang: opts.lang,
        read: async (res) => ({ job: JSON.parse(await res.text()) as ReconstructionJob, retryAfter: res.headers.get('retry-after') }),
      });
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
        throw new FaceReconApiError(e.status, { error: { code: e.code, message: e.message, message_zh: e.message_zh, request_id: job.id, ...('hint' in e && e.hint ? { hint: e.hint } : {}) } });
      }
      const left = until - Date.now();
      if (left <= 0) throw new FaceReconAbortError('TimeoutError', new Error(`job ${id} is still ${job.status}`), { jobId: id });
      // Retry-After as the edge asks, up to a minute (more is a broken header, not advice), never past the time-out.
      await sleep(Math.min(left, Math.min(60_000, Math.max(1000, retryAfterMs(retryAfter) ?? 1000))), opts.signal);
    }
  }

  /** Cancels a queued or running job (not billed), or erases a finished one's assets and result. */
  async cancel(id: string, opts: JobCallOptions = {}): Promise<ReconstructionJob> {
    return this.call<ReconstructionJob>('DELETE', jobPath(id), opts);
  }

  /** The same as cancel(): DELETE cancels what runs and erases what ended. */
  delete(id: string, opts: JobCallOptions = {}): Promise<ReconstructionJob> {
    return this.cancel(id, opts);
  }

  async list(opts: { limit?: number; cursor?: string } & JobCallOptions = {}): Promise<ReconstructionJobList> {
    return this.call<ReconstructionJobList>('GET', `/v1/reconstructions${queryString([['limit', opts.limit], ['cursor', opts.cursor]])}`, { signal: opts.signal, lang: opts.lang });
  }

  async usage(): Promise<Usage> {
    return this.call<Usage>('GET', '/v1/usage');
  }

  /** The key's webhook signing secret (whsec_...), for verifyWebhook(). */
  async webhookSecret(): Promise<string> {
    return (await this.call<{ secret: string }>('GET', '/v1/webhook-secret')).secret;
  }
}

/** Statuses worth another attempt with the same key: a time-out, the rate limit, the server's own failures but 501. */
const transientStatus = (status: number) => status === 408 || status === 429 || (status >= 500 && status !== 501);


