/**
 * A job's life as a mobile app lives it, where it touches money: a call canceled while the GPU works,
 * a retry with the same Idempotency-Key after the app was killed or its language changed, a key
 * revoked with work still queued. Each case was reproduced as a defect first (a retry billed twice, a
 * canceled call answered 500 and re-run, a revoked key's queued work run, billed and reported). msw
 * stands in for the gpu-function in this tier only (e2e/test runs the real one).
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bindings } from '../src/env';
import { app } from '../src/index';
import { claimIdempotencyKey, commitResult, commitUnit, purgeExpired, releaseUnit, reserveUnit } from '../src/lib/billing';
import { cancelJob, getJobById, insertJob, jobEvents, settleUndelivered } from '../src/lib/jobs';
import { runJob, sendWebhook } from '../src/queue';
import { createKey, makePng, usageRows } from './helpers';

const E = env as unknown as Bindings;
const FOLDER = '2026-11-30/0123456789abcdef0123456789abcdef';
const RESULT = { request_id: 'x', assets: { glb: { url: `https://gpu.test/assets/${FOLDER}/face.glb?sig=1` } } };
let gate: Promise<void> = Promise.resolve();
let gpuCalls: string[] = [];
let erased: string[] = [];
let mode: 'json' | 'sse' = 'json';
const server = setupServer(
  http.post('https://gpu.test/v1/reconstruct', async ({ request }) => {
    gpuCalls.push(request.headers.get('x-request-id')!);
    await gate;
    if (mode === 'sse') return new Response(`event: stage\ndata: {"stage":"preprocess","elapsed_ms":1}\n\nevent: result\ndata: ${JSON.stringify(RESULT)}\n\n`, { headers: { 'content-type': 'text/event-stream' } });
    return HttpResponse.json(RESULT);
  }),
  http.delete('https://gpu.test/v1/assets/:day/:folder', ({ params }) => {
    erased.push(`${params.day}/${params.folder}`);
    return new HttpResponse(null, { status: 204 });
  }),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());

async function call(path: string, init: RequestInit & { key: string }, bindings: Bindings = E) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${init.key}`);
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`https://edge.test${path}`, { ...init, headers }), bindings, ctx);
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, text, headers: res.headers };
}
/** `db` whose statements matching `sql` are handed to `onBound` once bound (to mark or wrap them). */
function onBoundStatements(db: D1Database, sql: RegExp, onBound: (bound: D1PreparedStatement) => void): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop !== 'prepare') return Reflect.get(target, prop, target);
      return (text: string) => {
        const stmt = target.prepare(text);
        if (!sql.test(text)) return stmt;
        const bind = stmt.bind.bind(stmt);
        stmt.bind = (...values: unknown[]) => {
          const bound = bind(...values);
          onBound(bound);
          return bound;
        };
        return stmt;
      };
    },
  });
}

/**
 * `db` with another request's write landing right before or after each statement matching `sql` that
 * runs on its own (`.run()`): the interleavings D1's serial execution allows between two round trips
 * of one request. Statements inside a `db.batch` (one transaction) cannot be interleaved, and are not.
 */
function interleaved(db: D1Database, sql: RegExp, hooks: { before?: () => Promise<void>; after?: () => Promise<void> }): D1Database {
  return onBoundStatements(db, sql, (bound) => {
    const run = bound.run.bind(bound);
    bound.run = (async () => {
      await hooks.before?.();
      const r = await run();
      await hooks.after?.();
      return r;
    }) as typeof bound.run;
  });
}

/**
 * `db` whose batches holding a statement matching `sql` throw: after they landed (`landed`: the reply
 * lost), or without running.
 */
function failingBatches(db: D1Database, sql: RegExp, opts: { landed: boolean }): D1Database {
  const marked = new WeakSet<object>();
  const marking = onBoundStatements(db, sql, (bound) => marked.add(bound));
  return new Proxy(marking, {
    get(target, prop) {
      if (prop !== 'batch') return Reflect.get(target, prop, target);
      return async (stmts: D1PreparedStatement[]) => {
        const hit = stmts.some((x) => marked.has(x));
        if (hit && !opts.landed) throw new Error('D1_ERROR: network connection lost');
        const r = await target.batch(stmts);
        if (hit) throw new Error('D1_ERROR: network connection lost');
        return r;
      };
    },
  });
}

const errorCodeOf = (text: string) => (text.includes('event: error') ? JSON.parse(text.split('event: error\ndata: ')[1].split('\n')[0]).error.code : JSON.parse(text).error?.code);

describe('a synchronous call canceled while the GPU works', () => {
  for (const m of ['json', 'sse'] as const) {
    it(`${m}: the caller gets CANCELED, the late result's assets are erased, and a retry with the key replays the cancellation unbilled`, async () => {
      mode = m;
      gpuCalls = [];
      erased = [];
      const k = await createKey();
      const png = await makePng(200, 200);
      let open!: () => void;
      gate = new Promise((r) => (open = r));
      const idem = `cancel-${crypto.randomUUID()}`;
      const path = m === 'sse' ? '/v1/reconstructions/stream' : '/v1/reconstructions';
      const post = call(path, { key: k.key, method: 'POST', body: png, headers: { 'idempotency-key': idem, 'content-type': 'image/png' } });
      while (!gpuCalls.length) await new Promise((r) => setTimeout(r, 10));
      const id = gpuCalls[0];
      const del = await call(`/v1/reconstructions/${id}`, { key: k.key, method: 'DELETE' });
      expect(del.status).toBe(200);
      expect(JSON.parse(del.text).status).toBe('canceled');
      open();
      const r = await post;
      expect(errorCodeOf(r.text)).toBe('CANCELED');
      if (m === 'json') expect(r.status).toBe(409);
      expect(erased).toEqual([FOLDER]);
      expect(await getJobById(E.DB, id)).toMatchObject({ status: 'canceled', result: null });
      expect(await usageRows(k.id)).toEqual([{ outcome: 'CANCELED', billed: 0 }]);
      // The SDK retries what failed with the same key: the cancellation is replayed, nothing runs again.
      gate = Promise.resolve();
      const retry = await call(path, { key: k.key, method: 'POST', body: png, headers: { 'idempotency-key': idem, 'content-type': 'image/png' } });
      expect(retry.status).toBe(409);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(gpuCalls).toHaveLength(1);
      expect((await usageRows(k.id)).filter((u) => u.billed)).toEqual([]);
    });
  }
});

describe('a DELETE while the GPU works stops the work (cancel-watch.ts)', () => {
  for (const m of ['json', 'sse'] as const) {
    it(`${m}: the call's upstream is aborted once the cancel is read, and the caller gets CANCELED without waiting for the GPU`, async () => {
      mode = m;
      gpuCalls = [];
      erased = [];
      const k = await createKey();
      const png = await makePng(200, 200);
      gate = new Promise(() => undefined); // the GPU never answers: only the watch can end the call
      const env = { ...E, CANCEL_POLL_MS: '25', UPSTREAM_TIMEOUT_MS: '600000' } as unknown as Bindings;
      const path = m === 'sse' ? '/v1/reconstructions/stream' : '/v1/reconstructions';
      const post = call(path, { key: k.key, method: 'POST', body: png, headers: { 'content-type': 'image/png' } }, env);
      while (!gpuCalls.length) await new Promise((r) => setTimeout(r, 10));
      const id = gpuCalls[0];
      const del = await call(`/v1/reconstructions/${id}`, { key: k.key, method: 'DELETE' }, env);
      expect(JSON.parse(del.text).status).toBe('canceled');
      const r = await post;
      expect(errorCodeOf(r.text)).toBe('CANCELED');
      expect(erased).toEqual([]); // no result came, so nothing was written to erase
      expect(await getJobById(E.DB, id)).toMatchObject({ status: 'canceled', result: null });
      expect(await usageRows(k.id)).toEqual([{ outcome: 'CANCELED', billed: 0 }]);
    });
  }

  it('a DELETE whose release failed after its cancel: the stopped call releases the unit itself', async () => {
    mode = 'json';
    gpuCalls = [];
    const k = await createKey();
    const png = await makePng(200, 200);
    gate = new Promise(() => undefined);
    const env = { ...E, CANCEL_POLL_MS: '25', UPSTREAM_TIMEOUT_MS: '600000' } as unknown as Bindings;
    const post = call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers: { 'content-type': 'image/png' } }, env);
    while (!gpuCalls.length) await new Promise((r) => setTimeout(r, 10));
    // The DELETE's first write (the cancel) landed; its release never ran.
    expect(await cancelJob(E.DB, k.id, gpuCalls[0])).toBe(true);
    expect(await usageRows(k.id)).toEqual([{ outcome: 'reserved', billed: 0 }]);
    expect(errorCodeOf((await post).text)).toBe('CANCELED');
    expect(await usageRows(k.id)).toEqual([{ outcome: 'CANCELED', billed: 0 }]);
  });

  it("a queued job's delivery is stopped the same way, and says so in the job's events", async () => {
    mode = 'sse';
    gpuCalls = [];
    gate = new Promise(() => undefined);
    const k = await createKey();
    const png = await makePng(200, 200);
    const env = { ...E, CANCEL_POLL_MS: '25', UPSTREAM_TIMEOUT_MS: '600000' } as unknown as Bindings;
    const sent: string[] = [];
    const created = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers: { prefer: 'respond-async', 'content-type': 'image/png' } }, { ...env, JOBS: { send: async (msg: { jobId: string }) => void sent.push(msg.jobId) } } as unknown as Bindings);
    expect(created.status).toBe(202);
    const id = JSON.parse(created.text).id as string;
    const delivery = runJob(env, id);
    while (!gpuCalls.length) await new Promise((r) => setTimeout(r, 10));
    const del = await call(`/v1/reconstructions/${id}`, { key: k.key, method: 'DELETE' }, env);
    expect(JSON.parse(del.text).status).toBe('canceled');
    expect(await delivery).toEqual({ ack: true });
    expect((await jobEvents(E.DB, id)).map((e) => e.type)).toContain('delivery.stopped');
    expect(await usageRows(k.id)).toEqual([{ outcome: 'CANCELED', billed: 0 }]);
  });
});

describe('idempotent retries', () => {
  it("an app killed between the job's insert and the queue send: its retry after the key went stale gets the same job, billed once", async () => {
    mode = 'sse';
    gate = Promise.resolve();
    const k = await createKey();
    const png = await makePng(200, 200);
    const idem = `stale-${crypto.randomUUID()}`;
    const headers = { 'idempotency-key': idem, prefer: 'respond-async', 'content-type': 'image/png' };
    // The first attempt's isolate never comes back from the queue send.
    const stuck = { ...E, JOBS: { send: () => new Promise(() => undefined) } } as unknown as Bindings;
    const h = new Headers(headers);
    h.set('authorization', `Bearer ${k.key}`);
    void app.fetch(new Request('https://edge.test/v1/reconstructions', { method: 'POST', body: png, headers: h }), stuck, createExecutionContext());
    let first: { id: string } | null = null;
    for (let i = 0; i < 300 && !first; i++) {
      first = await E.DB.prepare('SELECT id FROM jobs WHERE key_id = ?').bind(k.id).first<{ id: string }>();
      if (!first) await new Promise((r) => setTimeout(r, 10));
    }
    expect(first).not.toBeNull();
    // Two minutes later (past staleAfterMs) the app retries with the same key.
    await E.DB.prepare('UPDATE idempotency SET created_at = ? WHERE idempotency_key = ?').bind(new Date(Date.now() - 120_000).toISOString(), idem).run();
    const sent: string[] = [];
    const ok = { ...E, JOBS: { send: async (m: { jobId: string }) => void sent.push(m.jobId) } } as unknown as Bindings;
    const retry = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers }, ok);
    expect(retry.status).toBe(202);
    expect(JSON.parse(retry.text).id).toBe(first!.id);
    expect(retry.headers.get('location')).toBe(`/v1/reconstructions/${first!.id}`);
    // The scheduled repair resends the job's lost message; it runs once and is billed once.
    expect(await runJob(E, first!.id)).toEqual({ ack: true });
    expect(await usageRows(k.id)).toEqual([{ outcome: 'ok', billed: 1 }, { outcome: 'IDEMPOTENT_REPLAY', billed: 0 }]);
  });

  it("a retry racing the first attempt's 5xx release never runs without owning the key (it would run, and bill, the same key twice)", async () => {
    const k = await createKey();
    const idem = `race-${crypto.randomUUID()}`;
    // The first attempt holds the key while its GPU call runs.
    expect(await claimIdempotencyKey(E.DB, { keyId: k.id, idemKey: idem, bodySha256: 'body-sha', staleAfterMs: 60_000, owner: crypto.randomUUID() })).toEqual({ kind: 'new' });
    // The first attempt fails on our side (503): its release deletes the key's record. It lands right after
    // the retry's INSERT OR IGNORE found the record, if that runs as a statement of its own, or else once
    // the retry's claim is over: either way the retry saw the first attempt in progress.
    const release = () => E.DB.prepare("DELETE FROM idempotency WHERE key_id = ? AND idempotency_key = ? AND state = 'in_progress'").bind(k.id, idem).run();
    let released = false;
    const db = interleaved(E.DB, /^INSERT OR IGNORE INTO idempotency/, {
      after: async () => {
        await release();
        released = true;
      },
    });
    const retry = await claimIdempotencyKey(db, { keyId: k.id, idemKey: idem, bodySha256: 'body-sha', staleAfterMs: 60_000, owner: crypto.randomUUID() });
    if (!released) await release();
    expect(retry).toEqual({ kind: 'in_progress' });
    // Once released, the next retry owns the key.
    expect(await claimIdempotencyKey(E.DB, { keyId: k.id, idemKey: idem, bodySha256: 'body-sha', staleAfterMs: 60_000, owner: crypto.randomUUID() })).toEqual({ kind: 'new' });
  });

  it('a stale claim taken over by a retry: the first request, waking late, neither frees nor overwrites the retry\'s record', async () => {
    const k = await createKey();
    const idem = `takeover-${crypto.randomUUID()}`;
    const claim = (owner: string) => claimIdempotencyKey(E.DB, { keyId: k.id, idemKey: idem, bodySha256: 'body-sha', staleAfterMs: 60_000, owner });
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()];
    expect(await claim(a)).toEqual({ kind: 'new' });
    expect(await reserveUnit(E.DB, { requestId: a, keyId: k.id, idempotencyKey: idem }, 100)).toBe(true);
    // A stalls past the deadline; B takes the key over and runs.
    await E.DB.prepare('UPDATE idempotency SET created_at = ? WHERE key_id = ? AND idempotency_key = ?').bind(new Date(Date.now() - 120_000).toISOString(), k.id, idem).run();
    expect(await claim(b)).toEqual({ kind: 'new' });
    expect(await reserveUnit(E.DB, { requestId: b, keyId: k.id, idempotencyKey: idem }, 100)).toBe(true);
    // A wakes with a 5xx: its release must not free B's key (a third request would run, and bill, it again).
    await releaseUnit(E.DB, { requestId: a, keyId: k.id, idempotencyKey: idem }, 'OVERLOADED', { status: 503, body: 'a' });
    expect(await claim(crypto.randomUUID())).toEqual({ kind: 'in_progress' });
    // Nor may a late success of A's write its answer over B's record, or be billed: the key is B's, and
    // one key is one charge (A's result is not delivered: commitUnit says no).
    await E.DB.prepare("UPDATE usage SET outcome = 'reserved', units = 1 WHERE request_id = ?").bind(a).run();
    expect(await commitUnit(E.DB, { requestId: a, keyId: k.id, idempotencyKey: idem }, { status: 200, body: 'answer of a' })).toBe(false);
    expect(await claim(crypto.randomUUID())).toEqual({ kind: 'in_progress' });
    expect(await commitUnit(E.DB, { requestId: b, keyId: k.id, idempotencyKey: idem }, { status: 200, body: 'answer of b' })).toBe(true);
    expect(await claim(crypto.randomUUID())).toEqual({ kind: 'replay', status: 200, body: 'answer of b' });
    const billed = await E.DB.prepare('SELECT request_id FROM usage WHERE key_id = ? AND billed = 1').bind(k.id).all<{ request_id: string }>();
    expect(billed.results.map((r) => r.request_id)).toEqual([b]);
  });

  it("an async create whose job batch landed but whose reply was lost: the key is freed with the job, and the retry starts a job that exists", async () => {
    mode = 'sse';
    gate = Promise.resolve();
    const k = await createKey();
    const png = await makePng(200, 200);
    const idem = `lost-${crypto.randomUUID()}`;
    const headers = { 'idempotency-key': idem, prefer: 'respond-async', 'content-type': 'image/png' };
    // The batch that writes the job and binds the key to its 202 lands, and then throws.
    const lostReply = failingBatches(E.DB, /^INSERT INTO jobs/, { landed: true });
    const sent: string[] = [];
    const jobs = { send: async (m: { jobId: string }) => void sent.push(m.jobId) };
    const first = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers }, { ...E, DB: lostReply, JOBS: jobs } as unknown as Bindings);
    expect(first.status).toBe(503);
    expect(errorCodeOf(first.text)).toBe('STORAGE_UNAVAILABLE');
    const retry = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers }, { ...E, JOBS: jobs } as unknown as Bindings);
    expect(retry.status).toBe(202);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    const id = JSON.parse(retry.text).id as string;
    expect(sent).toEqual([id]);
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'queued' });

    // And when the job's delete fails too, the release ends the job (unbilled) and the key is freed all the same.
    const idem2 = `lost-${crypto.randomUUID()}`;
    const h2 = { ...headers, 'idempotency-key': idem2 };
    const stuck = interleaved(lostReply, /^DELETE FROM jobs/, {
      before: async () => {
        throw new Error('D1_ERROR: network connection lost');
      },
    });
    const failed = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers: h2 }, { ...E, DB: stuck, JOBS: jobs } as unknown as Bindings);
    expect(failed.status).toBe(503);
    const left = await E.DB.prepare('SELECT id, status FROM jobs WHERE key_id = ? AND id <> ?').bind(k.id, id).first<{ id: string; status: string }>();
    expect(left).toMatchObject({ status: 'failed' });
    const again = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers: h2 }, { ...E, JOBS: jobs } as unknown as Bindings);
    expect(again.status).toBe(202);
    expect(JSON.parse(again.text).id).not.toBe(left!.id);
    // Had the release failed as well, the job would still be queued (the repair resends it): its key then
    // keeps replaying it, so a retry cannot start, and bill, a second job.
    const meltdown = failingBatches(stuck, /^UPDATE usage SET outcome = \?, units = 0/, { landed: false });
    const idem3 = `lost-${crypto.randomUUID()}`;
    const h3 = { ...headers, 'idempotency-key': idem3 };
    const down = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers: h3 }, { ...E, DB: meltdown, JOBS: jobs } as unknown as Bindings);
    expect(down.status).toBeGreaterThanOrEqual(500);
    const live = await E.DB.prepare("SELECT id FROM jobs WHERE key_id = ? AND status = 'queued' AND id NOT IN (?, ?)").bind(k.id, id, JSON.parse(again.text).id).first<{ id: string }>();
    expect(live).not.toBeNull();
    const replay = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers: h3 }, { ...E, JOBS: jobs } as unknown as Bindings);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(JSON.parse(replay.text).id).toBe(live!.id);
  });

  it('a replay whose unbilled usage row cannot be written still answers the paid result, not 500', async () => {
    mode = 'json';
    gate = Promise.resolve();
    const k = await createKey();
    const png = await makePng(200, 200);
    const headers = { 'idempotency-key': `record-${crypto.randomUUID()}`, 'content-type': 'image/png' };
    const first = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers });
    expect(first.status).toBe(200);
    // D1 refuses the replay's usage row.
    const noUsageWrites = interleaved(E.DB, /^INSERT INTO usage/, {
      before: async () => {
        throw new Error('D1_ERROR: storage operation exceeded timeout');
      },
    });
    const retry = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers }, { ...E, DB: noUsageWrites } as Bindings);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(JSON.parse(retry.text)).toEqual(JSON.parse(first.text));
    expect((await usageRows(k.id)).filter((r) => r.billed)).toHaveLength(1);
  });

  it('a retry whose Accept-Language changed gets the stored result, not IDEMPOTENCY_KEY_REUSED', async () => {
    mode = 'json';
    gate = Promise.resolve();
    gpuCalls = [];
    const k = await createKey();
    const png = await makePng(200, 200);
    const idem = `lang-${crypto.randomUUID()}`;
    const a = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers: { 'idempotency-key': idem, 'content-type': 'image/png', 'accept-language': 'en-US' } });
    const b = await call('/v1/reconstructions', { key: k.key, method: 'POST', body: png, headers: { 'idempotency-key': idem, 'content-type': 'image/png', 'accept-language': 'zh-CN' } });
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(gpuCalls).toHaveLength(1);
    // An explicit lang is part of the request: another one is another request.
    const c = await call('/v1/reconstructions?lang=zh', { key: k.key, method: 'POST', body: png, headers: { 'idempotency-key': idem, 'content-type': 'image/png' } });
    expect(errorCodeOf(c.text)).toBe('IDEMPOTENCY_KEY_REUSED');
  });
});

describe('a key revoked with work still queued', () => {
  it('its queued job is not run or billed, and no webhook goes out', async () => {
    gpuCalls = [];
    const k = await createKey();
    const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
    await reserveUnit(E.DB, { requestId: id, keyId: k.id }, 100);
    await E.UPLOADS.put(`uploads/${id}`, new Uint8Array([1, 2, 3]));
    await insertJob(E.DB, { id, key_id: k.id, mode: 'async', status: 'queued', query: 'formats=glb', photo_key: `uploads/${id}`, photo_type: 'image/png', webhook_url: 'https://hooks.example.com/x' });
    await E.DB.prepare("UPDATE api_keys SET status = 'revoked' WHERE id = ?").bind(k.id).run();
    expect(await runJob(E, id)).toEqual({ ack: true });
    expect(gpuCalls).toEqual([]);
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'failed', error_code: 'KEY_REVOKED' });
    expect(await usageRows(k.id)).toEqual([{ outcome: 'KEY_REVOKED', billed: 0 }]);
    expect(await E.UPLOADS.get(`uploads/${id}`)).toBeNull();
    // The webhook the ending queued is refused for the revoked key (no delivery is attempted: msw would fail an unknown host).
    expect(await sendWebhook(E, id, 1)).toEqual({ ack: true });
    expect((await jobEvents(E.DB, id)).map((e) => e.type)).toContain('webhook.refused');
  });
});

describe('a synchronous call whose isolate died', () => {
  it('its job ends as TIMEOUT at the next purge past the deadline, not an hour later; a live one is left alone', async () => {
    const k = await createKey();
    const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
    const [dead, live] = [newId(), newId()];
    for (const id of [dead, live]) {
      await reserveUnit(E.DB, { requestId: id, keyId: k.id }, 100);
      await insertJob(E.DB, { id, key_id: k.id, mode: 'sync', status: 'running', query: 'formats=glb' });
    }
    const twoMinutesAgo = new Date(Date.now() - 120_000).toISOString();
    await E.DB.prepare('UPDATE jobs SET created_at = ? WHERE id = ?').bind(twoMinutesAgo, dead).run();
    await E.DB.prepare('UPDATE usage SET created_at = ? WHERE request_id = ?').bind(twoMinutesAgo, dead).run();
    await purgeExpired(E.DB, { staleAfterMs: 105_000, jobMaxAgeMs: 3600_000, jobTtlMs: 86_400_000 });
    expect(await getJobById(E.DB, dead)).toMatchObject({ status: 'failed', error_code: 'TIMEOUT' });
    expect(await getJobById(E.DB, live)).toMatchObject({ status: 'running' });
    const units = await E.DB.prepare('SELECT request_id, outcome, units FROM usage WHERE key_id = ?').bind(k.id).all<{ request_id: string; outcome: string; units: number }>();
    expect(units.results.find((u) => u.request_id === dead)).toMatchObject({ outcome: 'ABANDONED', units: 0 });
    expect(units.results.find((u) => u.request_id === live)).toMatchObject({ outcome: 'reserved', units: 1 });
  });
});

/** A synchronous call's job, running, with its unit reserved. */
async function runningSyncJob(keyId: string): Promise<string> {
  const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  await reserveUnit(E.DB, { requestId: id, keyId }, 100);
  await insertJob(E.DB, { id, key_id: keyId, mode: 'sync', status: 'running', query: 'formats=glb' });
  return id;
}

describe('a result that cannot be delivered', () => {
  it('is erased and answered CANCELED or INTERNAL, unless its commit landed after all (a lost reply): then it is billed, kept, and delivered', async () => {
    const k = await createKey();
    const job = () => runningSyncJob(k.id);
    const outcome = async (id: string) => {
      let erased = 0;
      const code = await settleUndelivered(E.DB, k.id, id, () => void erased++);
      return { code, erased };
    };
    const landed = await job();
    expect(await commitUnit(E.DB, { requestId: landed, keyId: k.id }, { status: 200, body: '{"assets":{}}' })).toBe(true);
    expect(await outcome(landed)).toEqual({ code: 'billed', erased: 0 });
    const canceled = await job();
    expect(await cancelJob(E.DB, k.id, canceled)).toBe(true);
    expect(await outcome(canceled)).toEqual({ code: 'CANCELED', erased: 1 });
    const unpaid = await job(); // its reservation released by the purge: the commit did not land
    expect(await outcome(unpaid)).toEqual({ code: 'INTERNAL', erased: 1 });
  });
});

describe('a commit whose reply is lost', () => {
  it('is read back, tried again while the read fails too, and the paid result delivered; an unpaid one is not', async () => {
    const k = await createKey();
    const job = () => runningSyncJob(k.id);
    // The commit lands and its reply is lost; the first two reads of the job fail as well.
    const flaky = (landed: boolean) => {
      let reads = 0;
      const lost = failingBatches(E.DB, /^UPDATE usage SET outcome = 'ok'/, { landed });
      return new Proxy(lost, {
        get(target, prop) {
          if (prop !== 'prepare') return Reflect.get(target, prop, target);
          return (text: string) => {
            if (/^SELECT \* FROM jobs WHERE id = \?/.test(text) && reads++ < 2) throw new Error('D1_ERROR: network connection lost');
            return target.prepare(text);
          };
        },
      });
    };
    const paid = await job();
    expect(await commitResult(flaky(true), { requestId: paid, keyId: k.id }, '{"assets":{}}', { readBackDelaysMs: [1, 1, 1] })).toBe(true);
    expect(await usageRows(k.id)).toEqual([{ outcome: 'ok', billed: 1 }]);
    const unpaid = await job();
    expect(await commitResult(flaky(false), { requestId: unpaid, keyId: k.id }, '{"assets":{}}', { readBackDelaysMs: [1, 1, 1] })).toBe(false);
    // A read that keeps failing: the commit's own error, as before (INTERNAL, the key's retry replays).
    const stuck = new Proxy(failingBatches(E.DB, /^UPDATE usage SET outcome = 'ok'/, { landed: true }), {
      get(target, prop) {
        if (prop !== 'prepare') return Reflect.get(target, prop, target);
        return (text: string) => {
          if (/^SELECT \* FROM jobs/.test(text)) throw new Error('D1_ERROR: still down');
          return target.prepare(text);
        };
      },
    });
    await expect(commitResult(stuck, { requestId: await job(), keyId: k.id }, '{"assets":{}}', { readBackDelaysMs: [1, 1] })).rejects.toThrow(/network connection lost/);
  });
});

describe('a commit that landed while its reply and every read-back were lost', () => {
  for (const m of ['json', 'sse'] as const) {
    it(`${m}: the paid result is delivered, not answered INTERNAL (a retry without a key would pay again)`, async () => {
      mode = m;
      gate = Promise.resolve();
      const k = await createKey();
      const png = await makePng(200, 200);
      // The commit lands and throws; commitResult's four reads of the job fail; the fifth (the settle) works.
      let reads = 0;
      const lost = failingBatches(E.DB, /^UPDATE usage SET outcome = 'ok'/, { landed: true });
      const db = new Proxy(lost, {
        get(target, prop) {
          if (prop !== 'prepare') return Reflect.get(target, prop, target);
          return (text: string) => {
            if (/^SELECT \* FROM jobs WHERE id = \?$/.test(text) && reads++ < 4) throw new Error('D1_ERROR: network connection lost');
            return target.prepare(text);
          };
        },
      });
      const path = m === 'sse' ? '/v1/reconstructions/stream' : '/v1/reconstructions';
      const res = await call(path, { key: k.key, method: 'POST', body: png, headers: { 'content-type': 'image/png' } }, { ...E, DB: db } as unknown as Bindings);
      expect(reads).toBe(4);
      expect(res.status).toBe(200);
      const result = m === 'sse' ? JSON.parse(res.text.split('event: result\ndata: ')[1].split('\n')[0]) : JSON.parse(res.text);
      expect(result.assets.glb.url).toBe(RESULT.assets.glb.url);
      expect(res.text).not.toMatch(/event: error/);
      expect(await usageRows(k.id)).toEqual([{ outcome: 'ok', billed: 1 }]);
    });
  }
});

describe('DELETE racing the commit', () => {
  it('a result committed between the DELETE\'s read and its cancel is erased, as asked, not kept with a 200', async () => {
    const k = await createKey();
    const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
    await reserveUnit(E.DB, { requestId: id, keyId: k.id }, 100);
    await insertJob(E.DB, { id, key_id: k.id, mode: 'async', status: 'running', query: 'formats=glb' });
    erased = [];
    // The job's delivery commits its result just before the DELETE's cancel runs.
    const db = interleaved(E.DB, /^UPDATE jobs SET status = 'canceled'/, {
      before: async () => void expect(await commitUnit(E.DB, { requestId: id, keyId: k.id }, { status: 200, body: JSON.stringify(RESULT) })).toBe(true),
    });
    const del = await call(`/v1/reconstructions/${id}`, { key: k.key, method: 'DELETE' }, { ...E, DB: db } as Bindings);
    expect(del.status).toBe(200);
    expect(erased).toEqual([FOLDER]);
    expect(JSON.parse(del.text)).toMatchObject({ id, status: 'succeeded' });
    expect(JSON.parse(del.text).result ?? null).toBeNull();
    expect((await getJobById(E.DB, id))?.result ?? null).toBeNull();
  });
});

