/**
 * Security and billing regressions (issue 12), inside workerd with D1 and the Durable Objects: the
 * request id is the edge's own, billing is atomic with delivery, bodies are capped while they stream,
 * a hang-up or time-out releases what it held, and the scheduled purge enforces retention. msw stands
 * in for the gpu-function in this tier only (the e2e tier runs the real one).
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { app, scheduled } from '../src/index';
import { addressBucket } from '../src/middleware/auth';
import { createKey, makePng } from './helpers';

let calls = 0;
let reply: (request: Request) => Response | Promise<Response> = () => HttpResponse.json(fakeResult());

function fakeResult() {
  return { request_id: 'r', assets: { glb: { url: 'https://assets.test/x/face.glb?sig=1' } }, pose: { yaw_deg: 1 }, conservative: false, timings_ms: { total: 100 } };
}
const stage = (s: string) => `event: stage\ndata: {"stage":"${s}","elapsed_ms":1}\n\n`;
const sseResult = () => `event: result\ndata: ${JSON.stringify(fakeResult())}\n\n`;
const sse = (text: string) => new HttpResponse(text, { headers: { 'content-type': 'text/event-stream' } });

/** An upstream stream that sends one stage event and then stays open until the request is aborted. */
function hangingStream(request: Request): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(enc.encode(stage('preprocess')));
      request.signal.addEventListener('abort', () => ctl.error(new DOMException('aborted', 'AbortError')));
    },
  });
  return new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' } });
}

const server = setupServer(
  http.post('https://gpu.test/v1/reconstruct', async ({ request }) => {
    calls++;
    return reply(request as unknown as Request);
  }),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());
beforeEach(() => {
  calls = 0;
  reply = () => HttpResponse.json(fakeResult());
});
afterEach(() => server.resetHandlers());

const post = (key: string, body: BodyInit, headers: Record<string, string> = {}) =>
  exports.default.fetch(new Request('https://edge.test/v1/reconstructions', { method: 'POST', body, headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png', ...headers } }));

/** The app with some bindings changed (a production var, a short deadline). */
async function postWithEnv(overrides: Record<string, string>, key: string | undefined, body: BodyInit, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request('https://edge.test/v1/reconstructions', { method: 'POST', body, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'image/png', ...headers } }),
    { ...env, ...overrides },
    ctx,
  );
  return { res, done: () => waitOnExecutionContext(ctx) };
}

type Row = { request_id: string; client_request_id: string | null; outcome: string; billed: number; units: number };
const rows = async (keyId: string) => (await env.DB.prepare('SELECT request_id, client_request_id, outcome, billed, units FROM usage WHERE key_id = ? ORDER BY created_at').bind(keyId).all<Row>()).results;

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  let v = await f();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    v = await f();
  }
  return v;
}

describe('server-owned request ids', () => {
  it('a reused client x-request-id with SSE is billed every time, against the quota, and only echoed', async () => {
    const k = await createKey({ quota: 2 });
    const png = await makePng(300, 300);
    reply = () => sse(stage('preprocess') + sseResult());
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await post(k.key, png, { accept: 'text/event-stream', 'x-request-id': 'stolen-request-id-0001' });
      const text = await res.text();
      seen.push(res.headers.get('x-request-id')!);
      expect(res.headers.get('x-client-request-id')).toBe('stolen-request-id-0001');
      if (i < 2) expect(text).toMatch(/event: result/);
      else expect(res.status).toBe(402);
    }
    expect(new Set(seen).size).toBe(3);
    expect(seen).not.toContain('stolen-request-id-0001');
    const r = await rows(k.id);
    expect(r.map((x) => [x.outcome, x.billed])).toEqual([['ok', 1], ['ok', 1], ['QUOTA_EXCEEDED', 0]]);
    expect(r.every((x) => x.client_request_id === 'stolen-request-id-0001')).toBe(true);
    expect(calls).toBe(2);
  });
});

describe('billing is atomic with delivery', () => {
  it('concurrent requests cannot pass the quota: 6 at once with quota 2 give 2 results and 4 x 402', async () => {
    const k = await createKey({ quota: 2 });
    const png = await makePng(300, 300);
    reply = async () => {
      await new Promise((r) => setTimeout(r, 50));
      return HttpResponse.json(fakeResult());
    };
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => post(k.key, png)))).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 402, 402, 402, 402]);
    expect((await rows(k.id)).filter((x) => x.billed)).toHaveLength(2);
    expect(calls).toBe(2);
  });

  it.each([['SSE', true], ['JSON', false]])('no result leaves the edge when its charge cannot be committed (%s)', async (_label, stream) => {
    const k = await createKey();
    // What the purge does to a reservation it believes abandoned, done while the GPU works.
    reply = async () => {
      await env.DB.prepare("UPDATE usage SET outcome = 'ABANDONED', units = 0 WHERE key_id = ? AND outcome = 'reserved'").bind(k.id).run();
      return stream ? sse(stage('preprocess') + sseResult()) : HttpResponse.json(fakeResult());
    };
    const res = await post(k.key, await makePng(300, 300), stream ? { accept: 'text/event-stream' } : {});
    const text = await res.text();
    expect(text).not.toMatch(/assets\.test/);
    if (stream) expect(text).toMatch(/event: error[\s\S]*"code":"INTERNAL"/);
    else expect(res.status).toBe(500);
    expect((await rows(k.id)).filter((x) => x.billed)).toHaveLength(0);
  });

  it('an upstream error event releases the unit; the result of a later call is billed once', async () => {
    const k = await createKey({ quota: 1 });
    reply = () => sse(stage('preprocess') + `event: error\ndata: {"status":422,"error":{"code":"NO_FACE","message":"x"}}\n\n`);
    const bad = await (await post(k.key, await makePng(300, 300), { accept: 'text/event-stream' })).text();
    expect(bad).toMatch(/"code":"NO_FACE"/);
    reply = () => sse(sseResult());
    expect(await (await post(k.key, await makePng(300, 300), { accept: 'text/event-stream' })).text()).toMatch(/event: result/);
    expect((await rows(k.id)).map((x) => [x.outcome, x.units])).toEqual([['NO_FACE', 0], ['ok', 1]]);
  });
});

describe('hang-ups and time-outs release what they hold', () => {
  it('a caller who hangs up mid-stream: unit released, upstream aborted, the Idempotency-Key retry runs at once', async () => {
    const k = await createKey();
    const png = await makePng(300, 300);
    let aborted = false;
    reply = (request) => {
      request.signal.addEventListener('abort', () => (aborted = true));
      return hangingStream(request);
    };
    // The app's own response stream, cancelled as workerd cancels it when the client's connection drops.
    const { res, done } = await postWithEnv({}, k.key, png, { accept: 'text/event-stream', 'idempotency-key': 'hang-up-key-0001' });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/preprocess/);
    await reader.cancel();
    await done();
    const released = await until(() => rows(k.id), (r) => r[0]?.outcome === 'CANCELED');
    expect(released.map((x) => [x.outcome, x.units, x.billed])).toEqual([['CANCELED', 0, 0]]);
    expect(aborted).toBe(true);
    reply = () => sse(sseResult());
    const retry = await post(k.key, png, { accept: 'text/event-stream', 'idempotency-key': 'hang-up-key-0001' });
    expect(retry.status).toBe(200);
    expect(await retry.text()).toMatch(/event: result/);
  });

  it.each([
    ['while the GPU works', 'working'],
    ['while the result is on its way', 'answering'],
  ])('a JSON caller who hangs up %s: upstream aborted, nothing billed, the Idempotency-Key retry runs at once', async (_label, when) => {
    const k = await createKey();
    const png = await makePng(300, 300);
    const caller = new AbortController();
    let upstreamAborted = false;
    reply = (request) => {
      request.signal.addEventListener('abort', () => (upstreamAborted = true));
      if (when === 'working') {
        setTimeout(() => caller.abort(), 50);
        return new Promise<Response>(() => undefined); // still working when the caller goes
      }
      // Half the result, then the caller goes; the rest would follow.
      const enc = new TextEncoder();
      const text = JSON.stringify(fakeResult());
      const body = new ReadableStream<Uint8Array>({
        start(ctl) {
          ctl.enqueue(enc.encode(text.slice(0, 20)));
          setTimeout(() => caller.abort(), 50);
          request.signal.addEventListener('abort', () => ctl.error(new DOMException('aborted', 'AbortError')));
        },
      });
      return new HttpResponse(body, { headers: { 'content-type': 'application/json' } });
    };
    const ctx = createExecutionContext();
    // The request's signal is what workerd aborts when the client's connection drops (enable_request_signal).
    const req = new Request('https://edge.test/v1/reconstructions', { method: 'POST', body: png, signal: caller.signal, headers: { authorization: `Bearer ${k.key}`, 'content-type': 'image/png', 'idempotency-key': `json-hang-up-${when}` } });
    const res = await app.fetch(req, env, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(409); // CANCELED, which nobody reads
    expect(upstreamAborted).toBe(true);
    expect((await rows(k.id)).map((x) => [x.outcome, x.units, x.billed])).toEqual([['CANCELED', 0, 0]]);
    const job = await env.DB.prepare('SELECT status FROM jobs WHERE key_id = ?').bind(k.id).first<{ status: string }>();
    expect(job?.status).toBe('canceled');
    reply = () => HttpResponse.json(fakeResult());
    const retry = await post(k.key, png, { 'idempotency-key': `json-hang-up-${when}` });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect((await rows(k.id)).map((x) => [x.outcome, x.billed])).toEqual([['CANCELED', 0], ['ok', 1]]);
  });

  it('a caller who vanishes without the platform noticing: the stream still settles, and the retry replays the paid result', async () => {
    const k = await createKey();
    const png = await makePng(300, 300);
    reply = () => sse(stage('preprocess') + stage('geometry') + sseResult());
    const gone = await post(k.key, png, { accept: 'text/event-stream', 'idempotency-key': 'vanished-key-0001' });
    expect(gone.status).toBe(200); // its body is never read nor cancelled
    const settled = await until(() => rows(k.id), (r) => r[0]?.outcome === 'ok');
    expect(settled.map((x) => [x.outcome, x.billed])).toEqual([['ok', 1]]);
    const retry = await post(k.key, png, { accept: 'text/event-stream', 'idempotency-key': 'vanished-key-0001' });
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.text()).toMatch(/assets\.test/);
    expect(calls).toBe(1);
    expect((await rows(k.id)).filter((x) => x.billed)).toHaveLength(1);
  });

  it('an upstream time-out mid-stream ends the stream with TIMEOUT and releases the unit and the key', async () => {
    const k = await createKey();
    const png = await makePng(300, 300);
    reply = (request) => hangingStream(request);
    const { res, done } = await postWithEnv({ UPSTREAM_TIMEOUT_MS: '300' }, k.key, png, { accept: 'text/event-stream', 'idempotency-key': 'timeout-key-0001' });
    const text = await res.text();
    await done();
    expect(text).toMatch(/event: error[\s\S]*"code":"TIMEOUT"/);
    expect((await rows(k.id)).map((x) => [x.outcome, x.units])).toEqual([['TIMEOUT', 0]]);
    reply = () => HttpResponse.json(fakeResult());
    expect((await post(k.key, png, { accept: 'application/json', 'idempotency-key': 'timeout-key-0001' })).status).toBe(200);
  });

  it('a key left in progress by a dead isolate is taken over after the deadline, not pinned for a day', async () => {
    const k = await createKey();
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    await env.DB.prepare("INSERT INTO idempotency (key_id, idempotency_key, body_sha256, state, created_at) VALUES (?, 'dead-isolate-0001', 'x', 'in_progress', ?)").bind(k.id, old).run();
    const res = await post(k.key, await makePng(300, 300), { 'idempotency-key': 'dead-isolate-0001' });
    expect(res.status).toBe(200);
  });
});

describe('bounded bodies', () => {
  it('a chunked upload with no length is cut off at the cap while streaming: 413, not read to the end', async () => {
    const k = await createKey();
    let produced = 0;
    const chunk = new Uint8Array(256 * 1024);
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (produced >= 256 * 1024 * 1024) return ctl.close();
        produced += chunk.byteLength;
        ctl.enqueue(chunk);
      },
    });
    const res = await post(k.key, body, {});
    expect(res.status).toBe(413);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('IMAGE_TOO_LARGE');
    expect(produced).toBeLessThan(16 * 1024 * 1024); // of 256 MB offered
    expect(calls).toBe(0);
    expect((await rows(k.id)).map((x) => [x.outcome, x.billed])).toEqual([['IMAGE_TOO_LARGE', 0]]);
  });
});

describe('retention (the cron trigger)', () => {
  it('purges idempotency records (and the face data they hold) after 24 h, and releases stuck reservations', async () => {
    const k = await createKey();
    const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
    await env.DB.batch([
      env.DB.prepare("INSERT INTO idempotency (key_id, idempotency_key, body_sha256, state, status, response, created_at) VALUES (?, 'old-done-0001', 'x', 'done', 200, '{\"landmarks\":[]}', ?)").bind(k.id, ago(25 * 3600_000)),
      env.DB.prepare("INSERT INTO idempotency (key_id, idempotency_key, body_sha256, state, status, response, created_at) VALUES (?, 'fresh-done-0001', 'x', 'done', 200, '{}', ?)").bind(k.id, ago(3600_000)),
      env.DB.prepare("INSERT INTO usage (request_id, key_id, outcome, billed, units, created_at) VALUES ('stuck-1', ?, 'reserved', 0, 1, ?)").bind(k.id, ago(10 * 60_000)),
      env.DB.prepare("INSERT INTO usage (request_id, key_id, outcome, billed, units, created_at) VALUES ('live-1', ?, 'reserved', 0, 1, ?)").bind(k.id, ago(1000)),
    ]);
    const ctx = createExecutionContext();
    await scheduled({ cron: '*/5 * * * *', scheduledTime: Date.now(), noRetry() {} } as ScheduledController, env as never, ctx);
    const keys = (await env.DB.prepare('SELECT idempotency_key FROM idempotency WHERE key_id = ?').bind(k.id).all<{ idempotency_key: string }>()).results.map((r) => r.idempotency_key);
    expect(keys).toEqual(['fresh-done-0001']);
    const r = Object.fromEntries((await rows(k.id)).map((x) => [x.request_id, [x.outcome, x.units]]));
    expect(r).toEqual({ 'stuck-1': ['ABANDONED', 0], 'live-1': ['reserved', 1] });
  });
});

describe('the low items', () => {
  it('a wrong API key is answered about API keys, never with the internal signature message', async () => {
    const res = await post('fr_live_wrong-key-000000000000000000000000', await makePng(300, 300));
    expect(res.status).toBe(401);
    const err = (await res.json<{ error: { code: string; message: string } }>()).error;
    expect(err.code).toBe('UNAUTHORIZED');
    expect(err.message).toMatch(/API key/);
    expect(err.message).not.toMatch(/sign/i);
  });

  it('an upstream signature refusal is our fault: INTERNAL, released, never shown as the caller’s auth problem', async () => {
    const k = await createKey();
    reply = () => HttpResponse.json({ error: { code: 'BAD_SIGNATURE', message: 'x' } }, { status: 401 });
    const res = await post(k.key, await makePng(300, 300));
    expect(res.status).toBe(500);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('INTERNAL');
    expect((await rows(k.id)).map((x) => x.units)).toEqual([0]);
  });

  it('without a platform address header configured, rotating a client-sent address does not escape the failed-key limiter', async () => {
    const png = await makePng(300, 300);
    const statuses: number[] = [];
    for (let i = 0; i < 24; i++) {
      const { res } = await postWithEnv({ CLIENT_IP_HEADER: '' }, `fr_live_spoof${i}`, png, { 'cf-connecting-ip': `198.51.100.${i}`, 'x-forwarded-for': `203.0.113.${i}` });
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
  });

  it('failed attempts from IPv6 are counted per /64: rotating the interface part does not get a fresh bucket', () => {
    expect(addressBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(addressBucket('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(addressBucket('2001:db8::5')).toBe('2001:db8:0:0::/64');
    expect(addressBucket('2001:db8:1:3::1')).not.toBe(addressBucket('2001:db8:1:2::1'));
  });

  it('the worker’s own page (/docs) and API responses carry the security headers', async () => {
    const page = await exports.default.fetch(new Request('https://edge.test/docs'));
    expect(page.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'(;|$)/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const api = await exports.default.fetch(new Request('https://edge.test/healthz'));
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('HTTPS only, loopback excepted', () => {
  it('an API call over plain http to a public host is refused before the key is even looked at', async () => {
    const k = await createKey();
    const res = await exports.default.fetch(new Request('http://api.facerecon.example/v1/usage', { headers: { authorization: `Bearer ${k.key}` } }));
    expect(res.status).toBe(403);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('HTTPS_REQUIRED');
    const local = await exports.default.fetch(new Request('http://127.0.0.1:8787/v1/usage', { headers: { authorization: `Bearer ${k.key}` } }));
    expect(local.status).toBe(200);
  });

  it('a plain-http gpu-function URL beyond loopback is a configuration fault: nothing is sent, nothing billed', async () => {
    const k = await createKey();
    const { res, done } = await postWithEnv({ GPU_FUNCTION_URL: 'http://gpu.internal.example' }, k.key, await makePng(300, 300));
    await done();
    expect(res.status).toBe(500);
    expect(calls).toBe(0);
    expect((await rows(k.id)).map((x) => [x.outcome, x.units])).toEqual([['INTERNAL', 0]]);
  });
});
