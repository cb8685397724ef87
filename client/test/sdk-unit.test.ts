/**
 * The SDK's own logic against a scripted fetch (the local-stack tests in sdk.test.ts drive the real
 * API): an abort mid-stream ends the call and cancels the read (which is what releases the charge at
 * the edge), an already-aborted signal sends nothing, a replayed JSON answer to /stream is the result,
 * a fetch without a streaming body still gets its events, an error that is not the API's JSON keeps its
 * status, the event parser's line ends, and Retry-After beyond the backoff cap.
 */
import { describe, expect, it, vi } from 'vitest';
import { FaceReconApiError, FaceReconClient, SseParser, type Reconstruction } from '../src/index';
import { MAX_RETRY_AFTER_MS, retryDelayMs } from '../src/retry';

const RESULT = { request_id: 'r', landmarks: { count: 478 } } as unknown as Reconstruction;
const enc = new TextEncoder();
const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
type Call = { url: string; init: RequestInit };

function client(respond: (call: Call) => Response | Promise<Response>, opts: { attempts?: number; timeoutMs?: number } = {}) {
  const calls: Call[] = [];
  const c = new FaceReconClient({
    baseUrl: 'https://api.test',
    apiKey: 'fr_test_key',
    timeoutMs: opts.timeoutMs,
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
    const { c, calls } = client(({ init }) => {
      const body = new ReadableStream<Uint8Array>({
        start(ctl) {
          ctl.enqueue(enc.encode(sse('stage', { stage: 'preprocess', elapsed_ms: 5 })));
          init.signal?.addEventListener('abort', () => ctl.error(init.signal?.reason));
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    }, { timeoutMs: 200 });
    await expect(c.reconstruct({ photo: new Uint8Array([1]), onStage: () => undefined })).rejects.toThrow('no answer within 200 ms');
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

  it('a retry whose result was erased (its key replays the erased job) throws 410 NOT_FOUND, not a result without assets', async () => {
    const erased = { id: 'a'.repeat(32), object: 'reconstruction', mode: 'sync', status: 'succeeded', erased_at: '2026-12-02T10:00:00.000Z' };
    const { c } = client(() => new Response(JSON.stringify(erased), { headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' } }));
    const err = await c.reconstruct({ photo: new Uint8Array([1]), idempotencyKey: 'photo-0001-erased' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FaceReconApiError);
    expect(err).toMatchObject({ status: 410, code: 'NOT_FOUND', requestId: 'a'.repeat(32) });
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
});
