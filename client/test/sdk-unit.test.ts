/**
 * The SDK's own logic against a scripted fetch (the local-stack tests in sdk.test.ts drive the real
 * API): an abort mid-stream ends the call and cancels the read (which is what releases the charge at
 * the edge), an already-aborted signal sends nothing, a replayed JSON answer to /stream is the result,
 * a fetch without a streaming body still gets its events, an error that is not the API's JSON keeps its
 * status, the event parser's line ends, Retry-After beyond the backoff cap, a body that drops after a
 * 200 read again, the key on every error, the polled job canceled when its caller gives up, the
 * language on job calls, onStage's exceptions, the base URL's slash, 504's one retry, wait()'s
 * Retry-After, whole wait seconds, webhook header names in any case and the upload's time allowance.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { FaceReconAbortError, FaceReconApiError, FaceReconClient, FaceReconNetworkError, SseParser, verifyWebhook, type ErrorCode, type Reconstruction } from '../src/index';
import { MAX_RETRY_AFTER_MS, retryDelayMs } from '../src/retry';

const RESULT = { request_id: 'r', landmarks: { count: 478 } } as unknown as Reconstruction;
const enc = new TextEncoder();
const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
type Call = { url: string; init: RequestInit };

function client(respond: (call: Call) => Response | Promise<Response>, opts: { attempts?: number; timeoutMs?: number; lang?: 'en' | 'zh'; baseUrl?: string } = {}) {
  const calls: Call[] = [];
  const c = new FaceReconClient({
    baseUrl: opts.baseUrl ?? 'https://api.test',
    apiKey: 'fr_test_key',
    timeoutMs: opts.timeoutMs,
    lang: opts.lang,
    retry: { attempts: opts.attempts ?? 1, baseDelayMs: 1, maxDelayMs: 1 },
    fetch: (async (url: string, init: RequestInit) => {
      const call = { url, init };
      calls.push(call);
      return respond(call);
    }) as unknown as typeof fetch,
  });
  return { c, calls };
}

describe('@facerecon/client against a scripted fetch', () => {
  it('an abort after the first stage event rejects the call and aborts the fetch (the read is cancelled)', async () => {
    const { c, calls } = client(({ init }) => {
      const body = new ReadableStream<Uint8Array>({
        start(ctl) {
          ctl.enqueue(enc.encode(sse('stage', { stage: 'preprocess', elapsed_ms: 5 })));
          // then silence, as a stalled stream; fetch errors its body when its signal aborts
          init.signal?.addEventListener('abort', () => ctl.error(init.signal?.reason ?? new Error('aborted')));
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });
    const ctl = new AbortController();
    const stages: string[] = [];
    const call = c.reconstruct({ photo: new Uint8Array([1]), signal: ctl.signal, onStage: (s) => (stages.push(s), ctl.abort(new Error('user left'))) });
    await expect(call).rejects.toThrow('user left');
    expect(stages).toEqual(['preprocess']);
    expect(calls[0].init.signal?.aborted).toBe(true);
  });

  it('a stream that goes silent ends at the time-out, which restarts with every chunk', async () => {
    // Eight chunks 100 ms apart (800 ms in all, twice the 400 ms time-out): a time-out for the whole
    // call would end it mid-stream; one that restarts with each chunk lets all eight through and ends
    // the call only once the stream goes silent.
    const CHUNKS = 8;
    const { c, calls } = client(({ init }) => {
      let timer: ReturnType<typeof setInterval> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(ctl) {
          let sent = 0;
          timer = setInterval(() => {
            ctl.enqueue(enc.encode(sse('stage', { stage: 'preprocess', elapsed_ms: ++sent })));
            if (sent === CHUNKS) clearInterval(timer);
          }, 100);
          init.signal?.addEventListener('abort', () => (clearInterval(timer), ctl.error(init.signal?.reason)));
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    }, { timeoutMs: 400 });
    const seen: number[] = [];
    await expect(c.reconstruct({ photo: new Uint8Array([1]), onStage: (_s, elapsed) => void seen.push(elapsed) })).rejects.toThrow('no answer within 400 ms');
    expect(seen).toEqual(Array.from({ length: CHUNKS }, (_, i) => i + 1));
    expect(calls[0].init.signal?.aborted).toBe(true);
  });

  it('a signal aborted before the call sends nothing', async () => {
    const { c, calls } = client(() => new Response(JSON.stringify(RESULT)));
    await expect(c.reconstruct({ photo: new Uint8Array([1]), signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone');
    expect(calls).toHaveLength(0);
  });

  it('/stream answered with the stored JSON (an idempotent replay) is the result, not a broken stream', async () => {
    const { c, calls } = client(() => new Response(JSON.stringify(RESULT), { headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' } }));
    const stages: string[] = [];
    expect(await c.reconstruct({ photo: new Uint8Array([1]), onStage: (s) => stages.push(s) })).toEqual(RESULT);
    expect(calls[0].url).toContain('/v1/reconstructions/stream');
    expect(stages).toEqual([]);
  });

  it('a fetch that returns no streaming body (React Native with polyfills) still gets the stages and the result', async () => {
    const text = sse('stage', { stage: 'preprocess', elapsed_ms: 1 }) + sse('stage', { stage: 'geometry', elapsed_ms: 2 }) + sse('result', RESULT);
    const { c } = client(() => ({ ok: true, status: 200, headers: new Headers({ 'content-type': 'text/event-stream' }), body: null, text: async () => text, json: async () => JSON.parse(text) }) as unknown as Response);
    const stages: string[] = [];
    expect(await c.reconstruct({ photo: new Uint8Array([1]), onStage: (s) => stages.push(s) })).toEqual(RESULT);
    expect(stages).toEqual(['preprocess', 'geometry']);
  });

  it('an error that is not the API\'s JSON (a gateway\'s HTML 502) keeps its status and gets the code that status means', async () => {
    const { c } = client(() => new Response('<html><body>Bad Gateway</body></html>', { status: 502, headers: { 'content-type': 'text/html', server: 'lb' } }));
    const err = await c.usage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaceReconApiError);
    expect(err).toMatchObject({ status: 502, code: 'UPSTREAM_UNAVAILABLE' });
    const { c: c2 } = client(() => new Response(JSON.stringify({ message: 'nope' }), { status: 404, headers: { 'content-type': 'application/json' } }));
    expect(await c2.usage().catch((e: unknown) => e)).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('the event parser: CRLF split between chunks, CR-only lines, comments, multi-line data, a last event without its blank line', () => {
    const stages: string[] = [];
    const p = new SseParser((s) => stages.push(s));
    expect(p.push(': keep-alive\r\nevent: stage\r\ndata: {"stage":"preprocess","elapsed_ms":1}\r')).toBeUndefined();
    expect(p.push('\n\r\nevent: stage\rdata: {"stage":')).toBeUndefined();
    expect(p.push('"geometry","elapsed_ms":2}\r\r')).toBeUndefined();
    // The chunk's last CR may be half of a CRLF: the event completes when the next chunk shows it was not.
    expect(stages).toEqual(['preprocess']);
    expect(p.end('event: result\ndata: {"request_id":\ndata: "r"}')).toEqual({ request_id: 'r' });
    expect(stages).toEqual(['preprocess', 'geometry']);
    expect(() => new SseParser(() => undefined).end(sse('stage', { stage: 'upload', elapsed_ms: 1 }))).toThrow('ended without a result');
    expect(() => new SseParser(() => undefined).push(sse('error', { status: 422, error: { code: 'NO_FACE', message: 'm', message_zh: 'z', request_id: 'r' } }))).toThrow(FaceReconApiError);
  });

  it('Retry-After is waited out even past the backoff cap, up to a limit; beyond it the answer is returned, not waited for', async () => {
    const policy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 20_000 };
    expect(retryDelayMs(policy, 1, '30', () => 0)).toBe(30_000);
    expect(retryDelayMs(policy, 10, null, () => 1)).toBe(20_000);
    expect(retryDelayMs(policy, 1, String(MAX_RETRY_AFTER_MS / 1000 + 1))).toBeUndefined();
    const { c, calls } = client(() => new Response(JSON.stringify({ error: { code: 'OVERLOADED', message: 'busy', message_zh: '繁忙', request_id: 'x' } }), { status: 503, headers: { 'retry-after': '3600' } }), { attempts: 4 });
    expect(await c.usage().catch((e: unknown) => e)).toMatchObject({ status: 503, code: 'OVERLOADED', retryAfterS: 3600 });
    expect(calls).toHaveLength(1);
  });

  it('a stream that fails after it started (an in-band 503, a dropped connection) is retried with the same Idempotency-Key; a final in-band error is not', async () => {
    const err = (status: number, code: string) => sse('error', { status, error: { code, message: code, message_zh: code, request_id: 'r' } });
    const stream = (parts: string[], drop?: boolean) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(ctl) {
            for (const p of parts) ctl.enqueue(enc.encode(p));
          },
          // Once what was sent has been read: the end, or the connection dropping.
          pull(ctl) {
            if (drop) ctl.error(new TypeError('terminated'));
            else ctl.close();
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    const script = [stream([sse('stage', { stage: 'preprocess', elapsed_ms: 5 }), err(503, 'OVERLOADED')]), stream([sse('stage', { stage: 'preprocess', elapsed_ms: 4 })], true), stream([sse('stage', { stage: 'preprocess', elapsed_ms: 6 }), sse('result', RESULT)])];
    const { c, calls } = client(() => script.shift()!, { attempts: 3 });
    const stages: number[] = [];
    expect(await c.reconstruct({ photo: new Uint8Array([1]), onStage: (_s, ms) => stages.push(ms) })).toEqual(RESULT);
    expect(calls).toHaveLength(3);
    const keys = calls.map((k) => (k.init.headers as Record<string, string>)['idempotency-key']);
    expect(new Set(keys).size).toBe(1);
    expect(stages).toEqual([5, 4, 6]);
    // A final error (422, 409 CANCELED) ends the call at once.
    for (const [status, code] of [[422, 'NO_FACE'], [409, 'CANCELED']] as const) {
      const once = client(() => stream([err(status, code)]), { attempts: 3 });
      expect(await once.c.reconstruct({ photo: new Uint8Array([1]), onStage: () => undefined }).catch((e: unknown) => e)).toMatchObject({ status, code });
      expect(once.calls).toHaveLength(1);
    }
    // A replayed 409 CANCELED (JSON, no Retry-After) is not retried either; IDEMPOTENCY_IN_PROGRESS (Retry-After) is.
    const json = (status: number, code: string, headers: Record<string, string> = {}) => new Response(JSON.stringify({ error: { code, message: code, message_zh: code, request_id: 'r' } }), { status, headers: { 'content-type': 'application/json', ...headers } });
    const canceled = client(() => json(409, 'CANCELED'), { attempts: 3 });
    expect(await canceled.c.reconstruct({ photo: new Uint8Array([1]) }).catch((e: unknown) => e)).toMatchObject({ code: 'CANCELED' });
    expect(canceled.calls).toHaveLength(1);
    const busy = [json(409, 'IDEMPOTENCY_IN_PROGRESS', { 'retry-after': '0' }), new Response(JSON.stringify(RESULT), { headers: { 'content-type': 'application/json' } })];
    const inProgress = client(() => busy.shift()!, { attempts: 3 });
    expect(await inProgress.c.reconstruct({ photo: new Uint8Array([1]) })).toEqual(RESULT);
    expect(inProgress.calls).toHaveLength(2);
  });

  it('409 IDEMPOTENCY_IN_PROGRESS is waited out for as long as the earlier attempt may run (the time-out), not for `attempts` tries; a 503 still counts', async () => {
    const json = (status: number, code: string, headers: Record<string, string> = {}) => new Response(JSON.stringify({ error: { code, message: code, message_zh: code, request_id: 'r' } }), { status, headers: { 'content-type': 'application/json', ...headers } });
    // A dropped first attempt still running at the edge: eight 409s, then its stored result; 2 attempts allowed.
    const answers = [json(503, 'UPSTREAM_UNAVAILABLE'), ...Array.from({ length: 8 }, () => json(409, 'IDEMPOTENCY_IN_PROGRESS', { 'retry-after': '0' })), new Response(JSON.stringify(RESULT), { headers: { 'content-type': 'application/json' } })];
    const waits = client(() => answers.shift()!, { attempts: 2, timeoutMs: 5_000 });
    expect(await waits.c.reconstruct({ photo: new Uint8Array([1]) })).toEqual(RESULT);
    expect(waits.calls).toHaveLength(10);
    const keys = new Set(waits.calls.map((c) => (c.init.headers as Record<string, string>)['idempotency-key']));
    expect(keys.size).toBe(1);
    // The waits between them grow (each retry re-sends the photo and takes a token of the key's rate).
    const growing = [json(503, 'UPSTREAM_UNAVAILABLE'), ...Array.from({ length: 5 }, () => json(409, 'IDEMPOTENCY_IN_PROGRESS', { 'retry-after': '0' })), new Response(JSON.stringify(RESULT), { headers: { 'content-type': 'application/json' } })];
    const sleeps: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      if (ms !== undefined && ms < 5_000) sleeps.push(ms); // the waits, not the 5 s per-attempt time-out
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout);
    const random = vi.spyOn(Math, 'random').mockReturnValue(1);
    try {
      const c = new FaceReconClient({ baseUrl: 'https://api.test', apiKey: 'k', timeoutMs: 5_000, retry: { attempts: 2, baseDelayMs: 8, maxDelayMs: 1000 }, fetch: (async () => growing.shift()!) as unknown as typeof fetch });
      expect(await c.reconstruct({ photo: new Uint8Array([1]) })).toEqual(RESULT);
    } finally {
      spy.mockRestore();
      random.mockRestore();
    }
    expect(sleeps).toEqual([8, 8, 16, 32, 64, 128]);
    // Past the time-out it gives up with the 409 (the caller may come back with the same key later).
    const forever = client(() => json(409, 'IDEMPOTENCY_IN_PROGRESS', { 'retry-after': '0' }), { attempts: 2, timeoutMs: 30 });
    expect(await forever.c.reconstruct({ photo: new Uint8Array([1]) }).catch((e: unknown) => e)).toMatchObject({ code: 'IDEMPOTENCY_IN_PROGRESS', status: 409 });
    expect(forever.calls.length).toBeGreaterThan(2);
  });

  it('on React Native (navigator.product), onStage polls an async job even with ReadableStream polyfilled: its fetch has no streaming body', async () => {
    const job = (status: string, events: unknown[] = [], result?: unknown) => new Response(JSON.stringify({ id: 'j1', object: 'reconstruction', mode: 'async', status, events, ...(result ? { result } : {}) }), { status: status === 'queued' ? 202 : 200, headers: { 'content-type': 'application/json', 'retry-after': '0' } });
    const answers = [job('queued'), job('running', [{ type: 'stage', detail: { stage: 'preprocess', elapsed_ms: 5 } }]), job('succeeded', [{ type: 'stage', detail: { stage: 'preprocess', elapsed_ms: 5 } }, { type: 'stage', detail: { stage: 'geometry', elapsed_ms: 50 } }], RESULT)];
    const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { product: 'ReactNative' }, configurable: true });
    try {
      const { c, calls } = client(() => answers.shift()!);
      const stages: string[] = [];
      expect(await c.reconstruct({ photo: new Uint8Array([1]), onStage: (s) => stages.push(s) })).toEqual(RESULT);
      expect(calls[0].url).toBe('https://api.test/v1/reconstructions');
      expect((calls[0].init.headers as Record<string, string>).prefer).toBe('respond-async');
      expect(calls.slice(1).map((x) => x.url)).toEqual(['https://api.test/v1/reconstructions/j1', 'https://api.test/v1/reconstructions/j1']);
      expect(stages).toEqual(['preprocess', 'geometry']);
    } finally {
      if (had) Object.defineProperty(globalThis, 'navigator', had);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  }, 15_000);

  it('a retry whose result was erased (its key replays the erased job) throws 404 NOT_FOUND (the status the code has), not a result without assets', async () => {
    const erased = { id: 'a'.repeat(32), object: 'reconstruction', mode: 'sync', status: 'succeeded', erased_at: '2026-12-02T10:00:00.000Z' };
    const { c } = client(() => new Response(JSON.stringify(erased), { headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' } }));
    const err = await c.reconstruct({ photo: new Uint8Array([1]), idempotencyKey: 'photo-0001-erased' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaceReconApiError);
    expect(err).toMatchObject({ status: 404, code: 'NOT_FOUND', requestId: 'a'.repeat(32), idempotencyKey: 'photo-0001-erased' });
    // A finished job that still holds its result (Prefer: wait answered with the job) gives the result.
    const waited = client(() => new Response(JSON.stringify({ ...erased, erased_at: undefined, result: RESULT }), { headers: { 'content-type': 'application/json' } }));
    expect(await waited.c.reconstruct({ photo: new Uint8Array([1]) })).toEqual(RESULT);
  });

  it('texture=albedo and the other options go into the query string', async () => {
    const { c, calls } = client(() => new Response(JSON.stringify(RESULT), { headers: { 'content-type': 'application/json' } }));
    await c.reconstruct({ photo: new Uint8Array([1]), texture: 'albedo', formats: ['glb', 'albedo'], uvSize: 512 });
    const q = new URL(calls[0].url).searchParams;
    expect(Object.fromEntries(q)).toEqual({ texture: 'albedo', formats: 'glb,albedo', uv_size: '512' });
  });

  it('create() with waitSeconds gives the server the wait on top of the attempt time-out', async () => {
    const job = { id: 'j', object: 'reconstruction', status: 'succeeded', mode: 'async' };
    const { c, calls } = client(
      ({ init }) =>
        new Promise<Response>((resolve, reject) => {
          // The edge holds the answer while the job runs (Prefer: wait), longer than the time-out alone.
          const t = setTimeout(() => resolve(new Response(JSON.stringify(job), { headers: { 'content-type': 'application/json' } })), 400);
          init.signal?.addEventListener('abort', () => (clearTimeout(t), reject(init.signal?.reason)));
        }),
      { timeoutMs: 100 },
    );
    expect(await c.create({ photo: new Uint8Array([1]), waitSeconds: 1 })).toMatchObject({ id: 'j', status: 'succeeded' });
    expect((calls[0].init.headers as Record<string, string>).prefer).toBe('respond-async, wait=1');
  });
  it('a body that drops or stalls after a 200 or 202 is read again under the same key (the retry gets the stored answer, unbilled)', async () => {
    // The headers came, then the connection dropped partway through the body.
    const dropped = (status = 200) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(ctl) {
            ctl.enqueue(enc.encode('{"request_id":'));
          },
          pull(ctl) {
            ctl.error(new TypeError('terminated'));
          },
        }),
        { status, headers: { 'content-type': 'application/json' } },
      );
    const ok = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
    const job = { id: 'j1', object: 'reconstruction', mode: 'async', status: 'queued' };
    const keyOf = (x: Call) => (x.init.headers as Record<string, string>)['idempotency-key'];
    const sync = [dropped(), ok(RESULT)];
    const r = client(() => sync.shift()!, { attempts: 3 });
    expect(await r.c.reconstruct({ photo: new Uint8Array([1]) })).toEqual(RESULT);
    expect(r.calls).toHaveLength(2);
    expect(keyOf(r.calls[1])).toBe(keyOf(r.calls[0]));
    const created = [dropped(202), ok(job, 202)];
    const a = client(() => created.shift()!, { attempts: 3 });
    expect(await a.c.create({ photo: new Uint8Array([1]) })).toMatchObject({ id: 'j1' });
    expect(a.calls).toHaveLength(2);
    expect(keyOf(a.calls[1])).toBe(keyOf(a.calls[0]));
    const polled = [dropped(), ok(job)];
    const g = client(() => polled.shift()!, { attempts: 3 });
    expect(await g.c.get('j1')).toMatchObject({ id: 'j1' });
    expect(g.calls).toHaveLength(2);
    // A body that stalls is cut off at the attempt's time-out and read again.
    const stalls = [
      ({ init }: Call) =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(ctl) {
              ctl.enqueue(enc.encode('{'));
              init.signal?.addEventListener('abort', () => ctl.error(init.signal?.reason));
            },
          }),
          { headers: { 'content-type': 'application/json' } },
        ),
      () => ok(RESULT),
    ];
    const s = client((x) => stalls.shift()!(x), { attempts: 3, timeoutMs: 100 });
    expect(await s.c.reconstruct({ photo: new Uint8Array([1]) })).toEqual(RESULT);
    expect(s.calls).toHaveLength(2);
  });

  it('every error from reconstruct() and create() carries the Idempotency-Key it used: the API\'s, a network failure after the last attempt, an abort', async () => {
    const keyOf = (x: Call) => (x.init.headers as Record<string, string>)['idempotency-key'];
    const noFace = () => new Response(JSON.stringify({ error: { code: 'NO_FACE', message: 'no face', message_zh: '未检测到人脸', request_id: 'r' } }), { status: 422, headers: { 'content-type': 'application/json' } });
    const api = client(noFace);
    const e1 = await api.c.reconstruct({ photo: new Uint8Array([1]) }).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(FaceReconApiError);
    expect(e1).toMatchObject({ code: 'NO_FACE', idempotencyKey: keyOf(api.calls[0]) });
    expect(keyOf(api.calls[0])).toMatch(/^fr-[0-9a-f]{32}$/);
    const api2 = client(noFace);
    expect(await api2.c.create({ photo: new Uint8Array([1]), idempotencyKey: 'mine-1' }).catch((e: unknown) => e)).toMatchObject({ code: 'NO_FACE', idempotencyKey: 'mine-1' });
    // The network fails on every attempt: a FaceReconNetworkError with the key and the failure as its cause.
    const down = new TypeError('fetch failed');
    const net = client(() => Promise.reject(down), { attempts: 2 });
    const e2 = await net.c.reconstruct({ photo: new Uint8Array([1]) }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(FaceReconNetworkError);
    expect(e2).toMatchObject({ message: 'fetch failed', cause: down, idempotencyKey: keyOf(net.calls[0]) });
    expect(net.calls).toHaveLength(2);
    const net2 = client(() => Promise.reject(down));
    expect(await net2.c.create({ photo: new Uint8Array([1]), idempotencyKey: 'mine-2' }).catch((e: unknown) => e)).toMatchObject({ name: 'FaceReconNetworkError', idempotencyKey: 'mine-2' });
    // An abort: the caller's reason, shared by every call on its signal, is wrapped (its message kept), not written to.
    const reason = new Error('user left');
    const gone = client(() => new Response(JSON.stringify(RESULT)));
    const e3 = await gone.c.reconstruct({ photo: new Uint8Array([1]), idempotencyKey: 'mine-3', signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(FaceReconAbortError);
    expect(e3).toMatchObject({ name: 'AbortError', message: 'user left', cause: reason, idempotencyKey: 'mine-3' });
    expect(reason).not.toHaveProperty('idempotencyKey');
  });

  it('on React Native, an abort or the wait\'s time-out cancels the polled job (a DELETE not under the aborted signal) and throws with the job and the key', async () => {
    const job = (status: string, events: unknown[] = []) => new Response(JSON.stringify({ id: 'j1', object: 'reconstruction', mode: 'async', status, events }), { status: status === 'queued' ? 202 : 200, headers: { 'content-type': 'application/json', 'retry-after': '1' } });
    const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { product: 'ReactNative' }, configurable: true });
    const now = vi.spyOn(Date, 'now');
    try {
      const answer = ({ init }: Call) => (init.method === 'POST' ? job('queued') : init.method === 'DELETE' ? job('canceled') : job('running', [{ type: 'stage', detail: { stage: 'preprocess', elapsed_ms: 5 } }]));
      // The caller aborts while the job runs.
      const aborted = client(answer);
      const ctl = new AbortController();
      const reason = new Error('user left');
      const err = await aborted.c.reconstruct({ photo: new Uint8Array([1]), idempotencyKey: 'photo-7', signal: ctl.signal, onStage: () => ctl.abort(reason) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FaceReconAbortError);
      expect(err).toMatchObject({ name: 'AbortError', message: 'user left', cause: reason, jobId: 'j1', idempotencyKey: 'photo-7' });
      await vi.waitFor(() => expect(aborted.calls.map((x) => x.init.method)).toEqual(['POST', 'GET', 'DELETE']));
      expect(aborted.calls[2].url).toBe('https://api.test/v1/reconstructions/j1');
      expect(aborted.calls[2].init.signal?.aborted).toBe(false);
      // The job still runs when the wait gives up (3 min by default; the clock jumps past it).
      let t = 1_000_000;
      now.mockImplementation(() => t);
      const late = client((x) => {
        if (x.init.method === 'GET') t += 200_000;
        return answer(x);
      });
      const err2 = await late.c.reconstruct({ photo: new Uint8Array([1]), idempotencyKey: 'photo-8', onStage: () => undefined }).catch((e: unknown) => e);
      expect(err2).toBeInstanceOf(FaceReconAbortError);
      expect(err2).toMatchObject({ name: 'TimeoutError', message: 'job j1 is still running', jobId: 'j1', idempotencyKey: 'photo-8' });
      await vi.waitFor(() => expect(late.calls.map((x) => x.init.method)).toEqual(['POST', 'GET', 'DELETE']));
      now.mockRestore();
      // onStage throwing ends the call with its exception as it is, and the job is canceled too.
      const boom = new Error('boom');
      const threw = client(answer);
      expect(await threw.c.reconstruct({ photo: new Uint8Array([1]), onStage: () => { throw boom; } }).catch((e: unknown) => e)).toBe(boom);
      await vi.waitFor(() => expect(threw.calls.map((x) => x.init.method)).toEqual(['POST', 'GET', 'DELETE']));
    } finally {
      now.mockRestore();
      if (had) Object.defineProperty(globalThis, 'navigator', had);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  });

  it('job calls send the language (the client\'s, or the call\'s own), so a failed job\'s error comes back in it; reconstruct() passes its own to the polling', async () => {
    // An edge that words a job's error in the GET's Accept-Language.
    const edge = ({ init }: Call) => {
      const zh = (init.headers as Record<string, string>)['accept-language'] === 'zh';
      const failed = { id: 'j1', object: 'reconstruction', mode: 'async', status: init.method === 'POST' ? 'queued' : 'failed', error: { code: 'NO_FACE', status: 422, message: 'No face found', message_zh: '未检测到人脸' } };
      if (zh && init.method !== 'POST') Object.assign(failed.error, { message: '未检测到人脸' });
      return new Response(JSON.stringify(failed), { status: init.method === 'POST' ? 202 : 200, headers: { 'content-type': 'application/json' } });
    };
    const langOf = (x: Call) => (x.init.headers as Record<string, string>)['accept-language'];
    const { c, calls } = client(edge, { lang: 'zh' });
    expect(await c.wait('j1').catch((e: unknown) => e)).toMatchObject({ code: 'NO_FACE', message: '未检测到人脸' });
    await c.get('j1');
    await c.list({ limit: 5 });
    await c.cancel('j1');
    await c.usage();
    expect(calls.map(langOf)).toEqual(['zh', 'zh', 'zh', 'zh', 'zh']);
    await c.get('j1', { lang: 'en' });
    expect(langOf(calls[5])).toBe('en');
    const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
    Object.defineProperty(globalThis, 'navigator', { value: { product: 'ReactNative' }, configurable: true });
    try {
      const rn = client(edge);
      expect(await rn.c.reconstruct({ photo: new Uint8Array([1]), lang: 'zh', onStage: () => undefined }).catch((e: unknown) => e)).toMatchObject({ code: 'NO_FACE', message: '未检测到人脸', jobId: 'j1' });
      expect(rn.calls.map((x) => [x.init.method, langOf(x)])).toEqual([['POST', 'zh'], ['GET', 'zh']]);
    } finally {
      if (had) Object.defineProperty(globalThis, 'navigator', had);
      else delete (globalThis as { navigator?: unknown }).navigator;
    }
  });

  it("the client's language goes to a POST as Accept-Language only (the edge counts a query lang as part of the request), a call's own into the query too", async () => {
    const { c, calls } = client(() => new Response(JSON.stringify({ id: 'j', object: 'reconstruction', status: 'queued' }), { status: 202 }), { lang: 'zh' });
    await c.create({ photo: new Uint8Array([1]), idempotencyKey: 'k-0001' });
    await c.create({ photo: new Uint8Array([1]), idempotencyKey: 'k-0002', lang: 'en' });
    expect(calls.map((x) => [new URL(x.url).searchParams.get('lang'), (x.init.headers as Record<string, string>)['accept-language']])).toEqual([
      [null, 'zh'],
      ['en', 'en'],
    ]);
  });

  it('FaceReconApiError.code is the API\'s code union (ErrorCode), not any string', async () => {
    const { c } = client(() => new Response(JSON.stringify({ error: { code: 'NO_FACE', message: 'm', message_zh: 'z', request_id: 'r' } }), { status: 422 }));
    const err = (await c.usage().catch((e: unknown) => e)) as FaceReconApiError;
    expectTypeOf(err.code).toEqualTypeOf<ErrorCode>();
    // @ts-expect-error: no such code, which the compiler now knows
    expect(err.code === 'NO_SUCH_CODE').toBe(false);
    expect(err.code).toBe('NO_FACE');
  });

  it('an exception from onStage ends the call at once, as it is, with the stream\'s read cancelled: no re-upload', async () => {
    let cancelled = 0;
    const { c, calls } = client(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(ctl) {
              ctl.enqueue(enc.encode(sse('stage', { stage: 'preprocess', elapsed_ms: 5 })));
            },
            cancel() {
              cancelled++;
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
      { attempts: 4 },
    );
    const boom = new Error('boom');
    const err = await c.reconstruct({ photo: new Uint8Array([1]), onStage: () => { throw boom; } }).catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(calls).toHaveLength(1);
    expect(cancelled).toBe(1);
  });

  it('a base URL with trailing slashes calls /v1/..., not //v1/...', async () => {
    const { c, calls } = client(() => new Response(JSON.stringify({ object: 'usage' })), { baseUrl: 'https://api.test//' });
    await c.usage();
    await c.get('j1');
    expect(calls.map((x) => x.url)).toEqual(['https://api.test/v1/usage', 'https://api.test/v1/reconstructions/j1']);
  });

  it('a 504 TIMEOUT is retried once, not `attempts` times (a photo that timed out twice will again); a 503 still gets every attempt', async () => {
    const json = (status: number, code: string) => new Response(JSON.stringify({ error: { code, message: code, message_zh: code, request_id: 'r' } }), { status, headers: { 'content-type': 'application/json' } });
    const timeout = client(() => json(504, 'TIMEOUT'), { attempts: 4 });
    expect(await timeout.c.reconstruct({ photo: new Uint8Array([1]) }).catch((e: unknown) => e)).toMatchObject({ status: 504, code: 'TIMEOUT' });
    expect(timeout.calls).toHaveLength(2);
    // The same in-band, on a progress stream.
    const stream = client(() => new Response(sse('error', { status: 504, error: { code: 'TIMEOUT', message: 't', message_zh: 't', request_id: 'r' } }), { headers: { 'content-type': 'text/event-stream' } }), { attempts: 4 });
    expect(await stream.c.reconstruct({ photo: new Uint8Array([1]), onStage: () => undefined }).catch((e: unknown) => e)).toMatchObject({ status: 504, code: 'TIMEOUT' });
    expect(stream.calls).toHaveLength(2);
    const busy = client(() => json(503, 'OVERLOADED'), { attempts: 4 });
    expect(await busy.c.reconstruct({ photo: new Uint8Array([1]) }).catch((e: unknown) => e)).toMatchObject({ status: 503 });
    expect(busy.calls).toHaveLength(4);
  });

  it('wait() polls as the job\'s Retry-After says, beyond 5 s, up to 60 s', async () => {
    const answers = [7, 600].map((after) => new Response(JSON.stringify({ id: 'j1', object: 'reconstruction', mode: 'async', status: 'running', events: [] }), { headers: { 'content-type': 'application/json', 'retry-after': String(after) } }));
    answers.push(new Response(JSON.stringify({ id: 'j1', object: 'reconstruction', mode: 'async', status: 'succeeded', events: [] }), { headers: { 'content-type': 'application/json' } }));
    const sleeps: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      if (ms !== 30_000) sleeps.push(ms!); // the waits, not the per-attempt time-out
      return realSetTimeout(fn, ms === 30_000 ? ms : 0);
    }) as typeof setTimeout);
    try {
      const { c } = client(() => answers.shift()!, { timeoutMs: 30_000 });
      expect(await c.wait('j1')).toMatchObject({ status: 'succeeded' });
    } finally {
      spy.mockRestore();
    }
    expect(sleeps).toEqual([7_000, 60_000]);
  });

  it('create() sends waitSeconds as whole seconds from 0 to 60 (the edge ignores wait=2.5)', async () => {
    const job = { id: 'j', object: 'reconstruction', status: 'queued', mode: 'async' };
    const { c, calls } = client(() => new Response(JSON.stringify(job), { status: 202, headers: { 'content-type': 'application/json' } }));
    for (const waitSeconds of [2.5, 90, -3, 0.4]) await c.create({ photo: new Uint8Array([1]), waitSeconds });
    expect(calls.map((x) => (x.init.headers as Record<string, string>).prefer)).toEqual(['respond-async, wait=2', 'respond-async, wait=60', 'respond-async', 'respond-async']);
  });

  it('verifyWebhook finds the headers of a plain object in any case (Webhook-Id as a framework kept it)', async () => {
    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const body = JSON.stringify({ type: 'reconstruction.succeeded', timestamp: '2026-01-01T00:00:00Z', data: { id: 'j1' } });
    const ts = '1767225600';
    const sig = createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`msg_1.${ts}.${body}`).digest('base64');
    const headers = { 'Webhook-Id': 'msg_1', 'Webhook-Timestamp': ts, 'WEBHOOK-SIGNATURE': `v1,${sig}` };
    expect(await verifyWebhook({ secret, body, headers, now: Number(ts) * 1000 })).toMatchObject({ type: 'reconstruction.succeeded' });
    await expect(verifyWebhook({ secret, body: `${body} `, headers, now: Number(ts) * 1000 })).rejects.toThrow('does not match');
  });

  it('an upload gets time on top of the per-attempt time-out, at a floor of 64 kB/s: a slow uplink is not cut off', async () => {
    const photo = new Uint8Array(64_000); // 1 s at 64 kB/s
    // The edge answers once the photo is up: 500 ms, past the 100 ms time-out but within its allowance.
    const slow = client(
      ({ init }) =>
        new Promise<Response>((resolve, reject) => {
          const t = setTimeout(() => resolve(new Response(JSON.stringify(RESULT), { headers: { 'content-type': 'application/json' } })), 500);
          init.signal?.addEventListener('abort', () => (clearTimeout(t), reject(init.signal?.reason)));
        }),
      { timeoutMs: 100 },
    );
    expect(await slow.c.reconstruct({ photo })).toEqual(RESULT);
    // Never an answer: cut off at timeoutMs + bytes / 64 kB/s.
    const never = client(({ init }) => new Promise<Response>((_, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason))), { timeoutMs: 100 });
    await expect(never.c.create({ photo: photo.buffer })).rejects.toThrow('no answer within 1100 ms');
  });
});
