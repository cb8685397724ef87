/**
 * The public API inside workerd, with D1 and the rate-limiter Durable Object; msw stands in for the
 * gpu-function in this tier only (the e2e tier runs the real one). For every rejected request the
 * tests assert that nothing reached the upstream and nothing was billed.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ERROR_CODES, ReconstructOptionsSchema, verifyRequestSignature } from '@facerecon/shared';
import { app } from '../src/index';
import { reserveUnit } from '../src/lib/billing';
import { READS_MIN_PER_MINUTE } from '../src/middleware/rate-limit';
import { GIF, HEIC, createKey, makeHeif, makeJpegHeader, makePng, usageRows } from './helpers';

const SECRET = 'edge-test-secret-0123456789abcdef0123456789';
const calls: Array<{ url: string; body: Uint8Array; headers: Headers; verified: boolean }> = [];
let reply: (n: number) => Response = () => HttpResponse.json(fakeResult());

function fakeResult() {
  return { request_id: 'r', assets: {}, pose: { yaw_deg: 1, pitch_deg: 2, roll_deg: 3, rotation: [1, 0, 0, 0, 1, 0, 0, 0, 1], translation_px: [1, 2] }, conservative: false, timings_ms: { total: 100 } };
}

const server = setupServer(
  http.post('https://gpu.test/v1/reconstruct', async ({ request }) => {
    const body = new Uint8Array(await request.arrayBuffer());
    const url = new URL(request.url);
    const v = await verifyRequestSignature({
      secret: SECRET,
      method: 'POST',
      pathWithQuery: url.pathname + url.search,
      body,
      timestamp: request.headers.get('x-facerecon-timestamp'),
      nonce: request.headers.get('x-facerecon-nonce'),
      signature: request.headers.get('x-facerecon-signature'),
    });
    calls.push({ url: request.url, body, headers: request.headers, verified: v.ok });
    return reply(calls.length);
  }),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());
beforeEach(() => {
  calls.length = 0;
  reply = () => HttpResponse.json(fakeResult());
});
afterEach(() => server.resetHandlers());

async function send(path: string, init: RequestInit & { key?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.key) headers.set('authorization', `Bearer ${init.key}`);
  return exports.default.fetch(new Request(`https://edge.test${path}`, { ...init, headers }));
}
async function sendWithEnv(overrides: Record<string, string>, path: string, init: RequestInit & { key?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.key) headers.set('authorization', `Bearer ${init.key}`);
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://edge.test${path}`, { ...init, headers }), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
const post = (key: string | undefined, body: BodyInit, headers: Record<string, string> = {}, query = '') =>
  send(`/v1/reconstructions${query}`, { method: 'POST', body, key, headers: { 'content-type': 'image/png', ...headers } });

describe('authentication', () => {
  it('missing, unknown and revoked keys are refused before any work', async () => {
    const png = await makePng(300, 300);
    const missing = await post(undefined, png);
    expect(missing.status).toBe(401);
    expect((await missing.json<{ error: { code: string } }>()).error.code).toBe('UNAUTHORIZED');
    expect((await post('fr_live_not-a-real-key-0000000000000000', png)).status).toBe(401);
    const revoked = await createKey({ status: 'revoked' });
    const r = await post(revoked.key, png);
    expect(r.status).toBe(403);
    expect((await r.json<{ error: { code: string } }>()).error.code).toBe('KEY_REVOKED');
    expect(calls).toHaveLength(0);
    expect(await usageRows(revoked.id)).toEqual([]);
    expect(missing.headers.get('x-request-id')).toMatch(/^[a-f0-9]{32}$/);
  });
});

describe('key guessing', () => {
  it('failed attempts are rate limited per platform-set client address; other addresses and valid keys are unaffected', async () => {
    const png = await makePng(300, 300);
    const statuses: number[] = [];
    // Production trusts cf-connecting-ip (Cloudflare sets and overwrites it); tests run with that setting.
    const send = (path: string, init: RequestInit & { key?: string }) => sendWithEnv({ CLIENT_IP_HEADER: 'cf-connecting-ip' }, path, init);
    for (let i = 0; i < 24; i++) {
      const r = await send('/v1/reconstructions', { method: 'POST', body: png, key: `fr_live_guess${i}`, headers: { 'cf-connecting-ip': '203.0.113.7', 'content-type': 'image/png' } });
      statuses.push(r.status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20)).toEqual([429, 429, 429, 429]);
    const elsewhere = await send('/v1/reconstructions', { method: 'POST', body: png, key: 'fr_live_guess', headers: { 'cf-connecting-ip': '198.51.100.9' } });
    expect(elsewhere.status).toBe(401);
    const valid = await createKey();
    const ok = await send('/v1/reconstructions', { method: 'POST', body: png, key: valid.key, headers: { 'cf-connecting-ip': '203.0.113.7', 'content-type': 'image/png' } });
    expect(ok.status).toBe(200);
  });
});

describe('validation before forwarding', () => {
  it.each([
    ['a GIF', () => GIF, 415, 'UNSUPPORTED_FORMAT'],
    ['an empty HEIC container', () => HEIC, 400, 'INVALID_IMAGE'],
    ['text sent as image/png', () => new TextEncoder().encode('definitely not a picture'), 400, 'INVALID_IMAGE'],
    ['a truncated PNG', async () => (await makePng(300, 300)).subarray(0, 60), 400, 'INVALID_IMAGE'],
    ['a 100 px image', () => makeJpegHeader(100, 100), 422, 'IMAGE_TOO_SMALL'],
    ['a 52 MP image', () => makeJpegHeader(8192, 6400), 413, 'IMAGE_TOO_LARGE'],
    ['11 MB', () => new Uint8Array(11 * 1024 * 1024), 413, 'IMAGE_TOO_LARGE'],
  ] as const)('%s: %i %s, not forwarded, not billed', async (_label, make, status, code) => {
    const k = await createKey();
    const res = await post(k.key, (await make()) as BodyInit);
    expect(res.status).toBe(status);
    const body = await res.json<{ error: { code: string; message: string; message_zh: string; request_id: string } }>();
    expect(body.error.code).toBe(code);
    expect(body.error.message_zh.length).toBeGreaterThan(0);
    expect(body.error.request_id).toBe(res.headers.get('x-request-id'));
    expect(calls).toHaveLength(0);
    expect(await usageRows(k.id)).toEqual([{ outcome: code, billed: 0 }]);
  });

  it('hints at compression for a large upload and names the supported types for a GIF', async () => {
    const k = await createKey();
    const big = await (await post(k.key, new Uint8Array(11 * 1024 * 1024))).json<{ error: { hint: string } }>();
    expect(big.error.hint).toMatch(/5 MB/);
    // The same file as a form's part: the same answer, not the pixels' hint.
    const form = new FormData();
    form.append('image', new File([new Uint8Array(10 * 1024 * 1024 + 5)], 'selfie.jpg', { type: 'image/jpeg' }));
    const part = await exports.default.fetch(new Request('https://edge.test/v1/reconstructions', { method: 'POST', body: form, headers: { authorization: `Bearer ${k.key}` } }));
    expect(part.status).toBe(413);
    const partHint = (await part.json<{ error: { code: string; hint: string } }>()).error;
    expect(partHint).toMatchObject({ code: 'IMAGE_TOO_LARGE', hint: expect.stringMatching(/5 MB/) });
    const gif = await (await post(k.key, GIF)).json<{ error: { hint: string; message: string } }>();
    expect(gif.error.message).toMatch(/JPEG, PNG, WebP, HEIC or AVIF/);
    // Small in bytes but over in pixels: compressing would not help, resizing does.
    const huge = await post(k.key, makeJpegHeader(9000, 9000), { 'accept-language': 'zh' });
    expect(huge.status).toBe(413);
    const hint = (await huge.json<{ error: { code: string; hint: string } }>()).error;
    expect(hint).toMatchObject({ code: 'IMAGE_TOO_LARGE', hint: expect.stringMatching(/长边不超过 8192 像素/) });
    expect(hint.hint).not.toMatch(/压缩/);
    expect(calls).toHaveLength(0);
  });

  it('a 12 MP phone JPEG is forwarded as sent, EXIF and all, never decoded in the isolate', async () => {
    const k = await createKey();
    const jpeg = makeJpegHeader(4032, 3024, 6); // a header-only file: any decode here would fail
    const res = await post(k.key, jpeg, { 'content-type': 'image/jpeg' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-edge-forward')).toMatch(/^as-sent/);
    expect(Array.from(calls[0].body)).toEqual(Array.from(jpeg));
    expect(calls[0].headers.get('content-type')).toBe('image/jpeg');
  });

  it('a phone\'s HEIC (12 MP, grid-tiled, turned by irot) and an AVIF are forwarded as sent: no decode at the edge', async () => {
    const k = await createKey();
    for (const [file, type] of [[makeHeif({ width: 4032, height: 3024, grid: true, irot: 3 }), 'image/heic'], [makeHeif({ width: 2000, height: 1500, brand: 'avif' }), 'image/avif']] as const) {
      calls.length = 0;
      const res = await post(k.key, file, { 'content-type': 'application/octet-stream' });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-edge-forward')).toMatch(/^as-sent/);
      expect(calls).toHaveLength(1);
      expect(calls[0].headers.get('content-type')).toBe(type);
      expect(Array.from(calls[0].body)).toEqual(Array.from(file));
    }
  });
});

describe('forwarding and billing', () => {
  it('forwards a small photo as is, signed, and bills one unit', async () => {
    const k = await createKey();
    const png = await makePng(320, 240);
    const res = await post(k.key, png, {}, '?uv_size=512&formats=glb,texture');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ pose: { yaw_deg: 1 } });
    expect(calls).toHaveLength(1);
    expect(calls[0].verified).toBe(true);
    expect(Array.from(calls[0].body)).toEqual(Array.from(png));
    expect(new URL(calls[0].url).searchParams.get('uv_size')).toBe('512');
    expect(new URL(calls[0].url).searchParams.get('formats')).toBe('glb,texture');
    expect(res.headers.get('x-edge-forward')).toMatch(/^as-sent/);
    expect(await usageRows(k.id)).toEqual([{ outcome: 'ok', billed: 1 }]);
  });

  it('accepts multipart uploads and rejects duplicated fields', async () => {
    const k = await createKey();
    const form = new FormData();
    form.append('image', new Blob([await makePng(300, 300)], { type: 'image/png' }), 'me.png');
    form.append('uv_size', '512');
    const res = await send('/v1/reconstructions', { method: 'POST', body: form, key: k.key });
    expect(res.status).toBe(200);
    expect(new URL(calls[0].url).searchParams.get('uv_size')).toBe('512');
    const dup = new FormData();
    dup.append('image', new Blob([await makePng(300, 300)]), 'a.png');
    dup.append('image', new Blob([await makePng(300, 300)]), 'b.png');
    const bad = await send('/v1/reconstructions', { method: 'POST', body: dup, key: k.key });
    expect(bad.status).toBe(400);
    expect(calls).toHaveLength(1);
  });

  it('the edge\'s own INVALID_REQUEST hints come in the caller\'s language (query, Accept-Language or the form\'s lang field), quoting the validator\'s detail', async () => {
    const k = await createKey();
    type E = { error: { code: string; message: string; hint: string } };
    const bad = await (await post(k.key, await makePng(300, 300), {}, '?lang=zh&uv_size=77')).json<E>();
    expect(bad.error).toMatchObject({ code: 'INVALID_REQUEST', message: '请求格式错误' });
    expect(bad.error.hint).toMatch(/^请求参数有误（uv_size: .+）$/);
    const badEn = await (await post(k.key, await makePng(300, 300), {}, '?uv_size=77')).json<E>();
    expect(badEn.error.hint).toMatch(/^uv_size: /);
    expect(badEn.error.hint).not.toMatch(/[\u4e00-\u9fff]/);
    const twice = await (await post(k.key, await makePng(300, 300), { 'accept-language': 'zh-CN' }, '?uv_size=512&uv_size=1024')).json<E>();
    expect(twice.error.hint).toMatch(/查询参数 uv_size 重复出现/);
    const form = new FormData();
    form.append('image', new Blob([await makePng(300, 300)], { type: 'image/png' }), 'me.png');
    form.append('lang', 'zh');
    form.append('formats', 'glb,stl');
    const formBad = await (await send('/v1/reconstructions', { method: 'POST', body: form, key: k.key })).json<E>();
    expect(formBad.error.message).toBe('请求格式错误');
    expect(formBad.error.hint).toMatch(/^请求参数有误（formats: .*stl/);
    const key = await (await post(k.key, await makePng(300, 300), { 'idempotency-key': 'short', 'accept-language': 'zh' })).json<E>();
    expect(key.error.hint).toMatch(/8 到 128 个可打印 ASCII 字符/);
    const limit = await (await send('/v1/reconstructions?limit=0&lang=zh', { key: k.key })).json<E>();
    expect(limit.error.hint).toMatch(/1 到 100 之间的整数/);
    expect(calls).toHaveLength(0);
    expect((await usageRows(k.id)).every((r) => r.billed === 0)).toBe(true);
  });

  it('a multipart text field of megabytes, or a form of many parts, is a 400 before any option is parsed; nothing is billed or forwarded', async () => {
    const k = await createKey();
    const huge = new FormData();
    huge.append('image', new Blob([await makePng(300, 300)], { type: 'image/png' }), 'me.png');
    huge.append('formats', ','.repeat(8_000_000));
    const r1 = await send('/v1/reconstructions', { method: 'POST', body: huge, key: k.key });
    expect(r1.status).toBe(400);
    expect((await r1.json<{ error: { code: string } }>()).error.code).toBe('INVALID_REQUEST');
    const many = new FormData();
    many.append('image', new Blob([await makePng(300, 300)], { type: 'image/png' }), 'me.png');
    for (let i = 0; i < 40; i++) many.append(`note${i}`, 'x');
    expect((await send('/v1/reconstructions', { method: 'POST', body: many, key: k.key })).status).toBe(400);
    expect(calls).toHaveLength(0);
    expect((await usageRows(k.id)).filter((r) => r.billed)).toHaveLength(0);
    // The schema bounds the list as well, for the gpu-function and the query.
    expect(ReconstructOptionsSchema.safeParse({ formats: 'obj,'.repeat(100) }).success).toBe(false);
  });

  it('a query option given twice is a 400 (one value would be validated, another used); /stream refuses async options it would ignore', async () => {
    const k = await createKey();
    const png = await makePng(300, 300);
    const twice = await post(k.key, png, {}, '?lang=xx&lang=zh');
    expect(twice.status).toBe(400);
    const stream = await send('/v1/reconstructions/stream', { method: 'POST', body: png, key: k.key, headers: { 'content-type': 'image/png', prefer: 'respond-async' } });
    expect(stream.status).toBe(400);
    expect((await stream.json<{ error: { code: string } }>()).error.code).toBe('INVALID_REQUEST');
    expect(calls).toHaveLength(0);
    expect((await usageRows(k.id)).filter((r) => r.billed)).toHaveLength(0);
  });

  it('the job list refuses a fractional or out-of-range limit and a cursor it did not write, with the standard error (not a 500)', async () => {
    const k = await createKey();
    for (const q of ['limit=1.5', 'limit=0', 'limit=101', 'limit=abc', 'cursor=!!!', 'cursor=WzFd']) {
      const res = await send(`/v1/reconstructions?${q}`, { key: k.key });
      expect(res.status, q).toBe(400);
      expect((await res.json<{ error: { code: string } }>()).error.code, q).toBe('INVALID_REQUEST');
    }
    expect((await send('/v1/reconstructions?limit=2', { key: k.key })).status).toBe(200);
  });

  it('forwards the on-request outputs: formats=detail and texture=albedo, as query or as multipart fields', async () => {
    const k = await createKey();
    const res = await post(k.key, await makePng(300, 300), {}, '?formats=glb,preview,detail&texture=albedo');
    expect(res.status).toBe(200);
    const form = new FormData();
    form.append('image', new Blob([await makePng(300, 300)], { type: 'image/png' }), 'me.png');
    form.append('formats', 'obj,albedo,detail');
    form.append('texture', 'albedo');
    expect((await send('/v1/reconstructions', { method: 'POST', body: form, key: k.key })).status).toBe(200);
    expect(calls.map((c) => [new URL(c.url).searchParams.get('formats'), new URL(c.url).searchParams.get('texture')])).toEqual([
      ['glb,preview,detail', 'albedo'],
      ['obj,albedo,detail', 'albedo'],
    ]);
  });

  it('maps a photo problem from the gpu-function to the public error, in Chinese when asked, unbilled', async () => {
    const k = await createKey();
    reply = () => HttpResponse.json({ error: { code: 'MULTIPLE_FACES', message: 'x', message_zh: 'y', request_id: 'internal-id' } }, { status: 422 });
    const res = await post(k.key, await makePng(300, 300), { 'accept-language': 'zh-CN,zh;q=0.9' });
    expect(res.status).toBe(422);
    const err = (await res.json<{ error: { code: string; message: string; hint: string } }>()).error;
    expect(err).toMatchObject({ code: 'MULTIPLE_FACES', message: '检测到多人，请上传单人照片' });
    expect(err.hint).toMatch(/裁剪/);
    expect(await usageRows(k.id)).toEqual([{ outcome: 'MULTIPLE_FACES', billed: 0 }]);
  });

  it('forwards model=ict; an unknown model is a 400 before any work; MODEL_NOT_INSTALLED is relayed, not retried, unbilled', async () => {
    const k = await createKey();
    const bogus = await post(k.key, await makePng(300, 300), {}, '?model=flame');
    expect(bogus.status).toBe(400);
    expect(calls).toHaveLength(0);
    reply = () => HttpResponse.json({ error: { code: 'MODEL_NOT_INSTALLED', message: 'x', request_id: 'internal-id' } }, { status: 501 });
    const res = await post(k.key, await makePng(300, 300), {}, '?model=ict');
    expect(res.status).toBe(501);
    expect((await res.json<{ error: { code: string; message: string; hint: string } }>()).error).toMatchObject({ code: 'MODEL_NOT_INSTALLED', message: 'The requested face model is not installed on this service' });
    expect(calls).toHaveLength(1);
    expect(new URL(calls[0].url).searchParams.get('model')).toBe('ict');
    expect(await usageRows(k.id)).toEqual([{ outcome: 'INVALID_REQUEST', billed: 0 }, { outcome: 'MODEL_NOT_INSTALLED', billed: 0 }]);
  });

  it('retries once after a 503 and never leaks upstream internals on a 500', async () => {
    const k = await createKey();
    reply = (n) => (n === 1 ? new HttpResponse(null, { status: 503, headers: { 'retry-after': '0' } }) : HttpResponse.json(fakeResult()));
    expect((await post(k.key, await makePng(300, 300))).status).toBe(200);
    expect(calls).toHaveLength(2);
    calls.length = 0;
    reply = () => new HttpResponse('Error: ECONNRESET at 10.0.3.7:8788 stack...', { status: 500 });
    const res = await post(k.key, await makePng(300, 300));
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).not.toMatch(/10\.0\.3\.7|ECONNRESET|stack/);
    expect(JSON.parse(text).error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect((await usageRows(k.id)).map((r) => r.billed)).toEqual([1, 0]);
  });

  it("codes that are not the gpu-function's to give (a misrouted URL's NOT_FOUND, the edge's own QUOTA_EXCEEDED) reach the caller as UPSTREAM_UNAVAILABLE, unbilled", async () => {
    const k = await createKey();
    for (const [status, code] of [[404, 'NOT_FOUND'], [402, 'QUOTA_EXCEEDED'], [403, 'FORBIDDEN']] as const) {
      reply = () => HttpResponse.json({ error: { code, message: 'x', message_zh: 'y', request_id: 'internal-id' } }, { status });
      const res = await post(k.key, await makePng(300, 300));
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UPSTREAM_UNAVAILABLE');
    }
    expect((await usageRows(k.id)).map((r) => r.billed)).toEqual([0, 0, 0]);
  });

  it("a 200 that is not a result (a proxy's page in front of the gpu-function) is a failed call, not a billed one, as JSON and as a stream", async () => {
    const k = await createKey();
    reply = () => new HttpResponse('<html><body>Service temporarily rerouted</body></html>', { status: 200, headers: { 'content-type': 'text/html' } });
    const res = await post(k.key, await makePng(300, 300));
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UPSTREAM_UNAVAILABLE');
    reply = () => new HttpResponse(`event: result\ndata: <html>rerouted</html>\n\n`, { headers: { 'content-type': 'text/event-stream' } });
    const streamed = await (await post(k.key, await makePng(300, 300), { accept: 'text/event-stream' })).text();
    expect(streamed).toMatch(/event: error/);
    expect(streamed).not.toMatch(/event: result/);
    expect((await usageRows(k.id)).map((r) => r.billed)).toEqual([0, 0]);
  });

  it('relays the progress stream and bills on the result event', async () => {
    const k = await createKey();
    reply = () =>
      new HttpResponse(
        ['preprocess', 'geometry', 'texture', 'export', 'upload'].map((s, i) => `event: stage\ndata: {"stage":"${s}","elapsed_ms":${i * 10}}\n\n`).join('') + `event: result\ndata: ${JSON.stringify(fakeResult())}\n\n`,
        { headers: { 'content-type': 'text/event-stream' } },
      );
    const res = await post(k.key, await makePng(300, 300), { accept: 'text/event-stream' });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await res.text();
    expect([...text.matchAll(/"stage":"(\w+)"/g)].map((m) => m[1])).toEqual(['preprocess', 'geometry', 'texture', 'export', 'upload']);
    expect(text).toMatch(/event: result/);
    expect(calls[0].headers.get('accept')).toBe('text/event-stream');
    expect(await usageRows(k.id)).toEqual([{ outcome: 'ok', billed: 1 }]);
  });
});

describe('Preference-Applied (RFC 7240)', () => {
  it('names the preferences the client sent and that were honoured, only those', async () => {
    const k = await createKey();
    const png = await makePng(300, 300);
    const created = (headers: Record<string, string>, query = '') => post(k.key, png, headers, query);
    const hookOnly = await created({}, `?webhook_url=${encodeURIComponent('http://127.0.0.1:9/hook')}`);
    expect(hookOnly.status).toBe(202); // a job, as a webhook asks, though no Prefer was sent
    expect(hookOnly.headers.has('preference-applied')).toBe(false);
    const noWait = await created({ prefer: 'respond-async, wait=0' });
    expect(noWait.headers.get('preference-applied')).toBe('respond-async');
    const both = await created({ prefer: 'wait=1, respond-async' });
    expect(both.headers.get('preference-applied')).toBe('respond-async, wait=1');
  });
});

describe('idempotency, quota and rate limits', () => {
  it('a retry with the same Idempotency-Key and body replays the first response: one GPU call, one charge', async () => {
    const k = await createKey();
    const png = await makePng(300, 300);
    const first = await post(k.key, png, { 'idempotency-key': 'retry-key-0001' });
    const again = await post(k.key, png, { 'idempotency-key': 'retry-key-0001' });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // Through the same middleware: the rate limit's remaining calls go out with a replay too.
    expect(again.headers.get('x-ratelimit-remaining')).toMatch(/^\d+$/);
    expect(await again.json()).toEqual(await first.json());
    // The replay is its own request; Location names the job that answered it, which GET finds.
    expect(again.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
    expect(again.headers.get('location')).toBe(`/v1/reconstructions/${first.headers.get('x-request-id')}`);
    expect((await send(again.headers.get('location')!, { key: k.key })).status).toBe(200);
    expect(calls).toHaveLength(1);
    const other = await post(k.key, await makePng(310, 300), { 'idempotency-key': 'retry-key-0001' });
    expect(other.status).toBe(422);
    expect((await other.json<{ error: { code: string } }>()).error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(calls).toHaveLength(1);
    expect((await usageRows(k.id)).filter((r) => r.billed)).toHaveLength(1);
  });

  it('after the result is erased (DELETE), a retry with the same Idempotency-Key replays the erasure, not the result', async () => {
    const k = await createKey();
    const png = await makePng(300, 300);
    const folder = '2026-12-02/0123456789abcdef0123456789abcdef';
    reply = () => HttpResponse.json({ ...fakeResult(), assets: { glb: { url: `https://gpu.test/assets/${folder}/face.glb?sig=1` } } });
    const erasedFolders: string[] = [];
    server.use(http.delete('https://gpu.test/v1/assets/*', ({ request }) => (erasedFolders.push(new URL(request.url).pathname), new HttpResponse(null, { status: 204 }))));
    const first = await post(k.key, png, { 'idempotency-key': 'erase-me-0003' });
    expect(first.status).toBe(200);
    const id = first.headers.get('x-request-id')!;
    expect(await first.json()).toHaveProperty('pose');
    const del = await send(`/v1/reconstructions/${id}`, { method: 'DELETE', key: k.key });
    expect(del.status).toBe(200);
    expect(erasedFolders).toEqual([`/v1/assets/${folder}`]);
    const again = await post(k.key, png, { 'idempotency-key': 'erase-me-0003' });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const body = await again.json<Record<string, unknown>>();
    expect(body).not.toHaveProperty('pose');
    expect(body).not.toHaveProperty('result');
    expect(body).toMatchObject({ id, status: 'succeeded' });
    expect(body).toHaveProperty('erased_at');
    // Still one GPU call and one charge.
    expect(calls).toHaveLength(1);
    expect((await usageRows(k.id)).filter((r) => r.billed)).toHaveLength(1);
  });

  it('a DELETE retried after its erase landed but its replay rebinding failed finishes the rebinding: no replay of the erased result', async () => {
    const k = await createKey();
    const png = await makePng(300, 300);
    server.use(http.delete('https://gpu.test/v1/assets/*', () => new HttpResponse(null, { status: 204 })));
    const first = await post(k.key, png, { 'idempotency-key': 'erase-me-0004' });
    expect(first.status).toBe(200);
    const id = first.headers.get('x-request-id')!;
    // What the first DELETE leaves when D1 fails between its two writes: the job erased, the key's
    // record still holding the result (the rebinding never ran).
    await env.DB.prepare('UPDATE jobs SET result = NULL, asset_id = NULL, erased_at = ? WHERE id = ?').bind(new Date().toISOString(), id).run();
    const stale = await post(k.key, png, { 'idempotency-key': 'erase-me-0004' });
    expect(await stale.json()).toHaveProperty('pose'); // the state the retry of DELETE must mend
    const del = await send(`/v1/reconstructions/${id}`, { method: 'DELETE', key: k.key });
    expect(del.status).toBe(200);
    const again = await post(k.key, png, { 'idempotency-key': 'erase-me-0004' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const body = await again.json<Record<string, unknown>>();
    expect(body).not.toHaveProperty('pose');
    expect(body).toMatchObject({ id, status: 'succeeded' });
    expect(body).toHaveProperty('erased_at');
    expect((await usageRows(k.id)).filter((r) => r.billed)).toHaveLength(1);
  });

  it('a failed upstream attempt does not pin the key: the retry after recovery runs and is billed once', async () => {
    const k = await createKey();
    const png = await makePng(300, 300);
    reply = () => new HttpResponse(null, { status: 500 });
    expect((await post(k.key, png, { 'idempotency-key': 'flaky-net-0002' })).status).toBe(502);
    reply = () => HttpResponse.json(fakeResult());
    expect((await post(k.key, png, { 'idempotency-key': 'flaky-net-0002' })).status).toBe(200);
    expect((await post(k.key, png, { 'idempotency-key': 'flaky-net-0002' })).headers.get('idempotent-replayed')).toBe('true');
    expect((await usageRows(k.id)).filter((r) => r.billed)).toHaveLength(1);
  });

  it('stops at the monthly quota with 402 QUOTA_EXCEEDED before forwarding', async () => {
    const k = await createKey({ quota: 1 });
    expect((await post(k.key, await makePng(300, 300))).status).toBe(200);
    const over = await post(k.key, await makePng(300, 300));
    expect(over.status).toBe(402);
    expect((await over.json<{ error: { code: string } }>()).error.code).toBe('QUOTA_EXCEEDED');
    expect(calls).toHaveLength(1);
    const usage = await send('/v1/usage', { key: k.key });
    expect(await usage.json()).toMatchObject({ billable_calls: 1, in_flight: 0, quota: 1, remaining: 0, requests: 2 });
  });

  it('usage counts the units running calls and jobs hold, as the quota does: remaining is what can start now', async () => {
    const k = await createKey({ quota: 2 });
    // A queued async job holds its unit until it is billed or released.
    expect(await reserveUnit(env.DB, { requestId: crypto.randomUUID().replaceAll('-', ''), keyId: k.id }, 2)).toBe(true);
    expect(await (await send('/v1/usage', { key: k.key })).json()).toMatchObject({ billable_calls: 0, in_flight: 1, remaining: 1 });
    expect((await post(k.key, await makePng(300, 300))).status).toBe(200);
    expect(await (await send('/v1/usage', { key: k.key })).json()).toMatchObject({ billable_calls: 1, in_flight: 1, remaining: 0 });
    // remaining 0 means what it says.
    expect((await post(k.key, await makePng(300, 300))).status).toBe(402);
  });

  it('rate-limits per key with 429 and Retry-After', async () => {
    const k = await createKey({ rate: 2 });
    const statuses = [];
    let last: Response | undefined;
    for (let i = 0; i < 3; i++) {
      last = await post(k.key, await makePng(300, 300));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(calls).toHaveLength(2);
    const other = await createKey({ rate: 2 });
    expect((await post(other.key, await makePng(300, 300))).status).toBe(200); // limits are per key
  });

  it('reads (jobs, the list, usage, the webhook secret) have a bucket of their own: polling never eats the calls, a loop of reads is stopped', async () => {
    const k = await createKey({ rate: 2 });
    const first = await post(k.key, await makePng(300, 300));
    const id = first.headers.get('x-request-id')!;
    // The key's calls and its reads are separate: READS_MIN_PER_MINUTE reads pass at least (the bucket also
    // refills while they run, 5 a second), then reads are refused, on every read route.
    const paths = [`/v1/reconstructions/${id}`, '/v1/reconstructions?limit=100', '/v1/usage', '/v1/webhook-secret'];
    let passed = 0;
    let limited: Response | undefined;
    for (let i = 0; i < 2 * READS_MIN_PER_MINUTE && !limited; i++) {
      const res = await send(`${paths[i % paths.length]}${i % paths.length === 1 ? '&' : '?'}lang=zh`, { key: k.key });
      if (res.status === 200) passed++;
      else if (res.status === 429) limited = res;
      else throw new Error(`read ${i}: ${res.status}`);
    }
    expect(passed).toBeGreaterThanOrEqual(READS_MIN_PER_MINUTE);
    expect(limited, `no 429 after ${passed} reads`).toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await limited!.json<{ error: { code: string; message: string } }>()).error).toMatchObject({ code: 'RATE_LIMITED', message: expect.stringMatching(/[\u4e00-\u9fff]/) });
    // The call bucket is untouched by the reads: its second call of the minute still passes.
    expect((await post(k.key, await makePng(300, 300))).status).toBe(200);
    // Another key reads on.
    const other = await createKey({ rate: 2 });
    expect((await send('/v1/usage', { key: other.key })).status).toBe(200);
  }, 60_000);
});

describe('documentation and the rest', () => {
  it('serves an OpenAPI 3.1 document generated from the zod schemas, and a docs page', async () => {
    const doc = await (await send('/v1/openapi.json')).json<{ openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/reconstructions', '/v1/usage']));
    expect(Object.keys(doc.components.schemas.Reconstruction.properties!)).toEqual(expect.arrayContaining(['assets', 'pose', 'timings_ms']));
    const codes = (doc.components.schemas.Error.properties!.error as { properties: { code: { enum: string[] } } }).properties.code.enum;
    expect(codes.sort()).toEqual([...ERROR_CODES].sort());
    const page = await send('/docs');
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toMatch(/POST \/v1\/reconstructions/);
  });

  it('CORS only for configured origins; unknown routes use the error shape', async () => {
    const ok = await send('/healthz', { headers: { origin: 'http://127.0.0.1:8787' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8787');
    const no = await send('/healthz', { headers: { origin: 'https://evil.example' } });
    expect(no.headers.get('access-control-allow-origin')).toBeNull();
    const nf = await send('/v2/nothing');
    expect(nf.status).toBe(404);
    expect((await nf.json<{ error: { code: string } }>()).error.code).toBe('NOT_FOUND');
  });

  it('a path the API has, under a method it lacks, is 405 METHOD_NOT_ALLOWED with Allow; a path it lacks stays 404', async () => {
    for (const [method, path, allow] of [
      ['PUT', '/v1/reconstructions/0123456789abcdef0123456789abcdef', 'GET, HEAD, DELETE'],
      ['PATCH', '/v1/reconstructions', 'GET, HEAD, POST'],
      ['DELETE', '/v1/usage', 'GET, HEAD'],
      ['POST', '/healthz', 'GET, HEAD'],
    ] as const) {
      const res = await send(path, { method });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      const body = await res.json<{ error: { code: string; message_zh: string } }>();
      expect(body.error.code).toBe('METHOD_NOT_ALLOWED');
      expect(body.error.message_zh).toMatch(/Allow/);
    }
    // HEAD is answered wherever GET is, by the GET handler (here its 401: no key).
    expect((await send('/v1/usage', { method: 'HEAD' })).status).toBe(401);
    expect((await send('/v2/nothing', { method: 'PUT' })).status).toBe(404);
    expect((await send('/v1/reconstructions/a/b', { method: 'GET' })).status).toBe(404);
  });

  it('CORS lets an allowed page do what the SDK does: POST with Prefer and Idempotency-Key, DELETE a job, read Location and Retry-After', async () => {
    const origin = 'http://127.0.0.1:8787';
    // The browser's preflight for each request the SDK makes (client/src/index.ts): the method and every
    // non-safelisted header it sends must be allowed.
    for (const [method, headers] of [
      ['POST', 'authorization, content-type, idempotency-key, prefer, accept-language'],
      ['DELETE', 'authorization'],
      ['GET', 'authorization, x-request-id'],
    ] as const) {
      const pre = await send('/v1/reconstructions', { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers } });
      expect(pre.status).toBe(204);
      const methods = (pre.headers.get('access-control-allow-methods') ?? '').split(/,\s*/);
      expect(methods, method).toContain(method);
      const allowed = (pre.headers.get('access-control-allow-headers') ?? '').split(/,\s*/);
      for (const h of headers.split(/,\s*/)) expect(allowed, `${method} ${h}`).toContain(h);
    }
    // Every answer to the page exposes what a caller acts on: a new job's Location and Retry-After among them.
    const res = await send('/v1/usage', { headers: { origin } });
    expect(res.status).toBe(401);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(/,\s*/);
    for (const h of ['location', 'retry-after', 'x-request-id', 'idempotent-replayed']) expect(exposed, h).toContain(h);
  });
});
