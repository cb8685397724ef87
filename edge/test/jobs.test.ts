/**
 * Jobs inside workerd with D1 and R2: the exactly-once rules under redelivery and cancellation, the
 * consumer's retry and failure paths, the purge's care for queued jobs, and the webhook signing and
 * URL rules. msw stands in for the gpu-function in this tier only (e2e/test/jobs.test.ts runs the
 * real one through wrangler's local Queues).
 */
import { env } from 'cloudflare:workers';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Bindings } from '../src/env';
import { claimIdempotencyKey, commitUnit, purgeExpired, releaseUnit, reserveUnit, storeIdempotentResponse } from '../src/lib/billing';
import { cancelJob, claimJob, getJobById, insertJob, jobEvents, requeueJob } from '../src/lib/jobs';
import { signWebhook, webhookUrlProblem } from '../src/lib/webhooks';
import { deadLetter, MAX_ATTEMPTS, MAX_TIMEOUT_ATTEMPTS, repairJobs, runJob, sendWebhook, WEBHOOK_RETRY_DELAYS_S } from '../src/queue';
import { sweepOrphanUploads } from '../src/lib/retention';
import { ERASURE_GIVE_UP_MS, retryAssetErasures } from '../src/lib/erasures';
import { parsePrefer } from '../src/routes/reconstructions';
import { createKey, usageRows } from './helpers';

const E = env as unknown as Bindings;
let gpu: () => Response = () => new Response(null, { status: 500 });
const server = setupServer(http.post('https://gpu.test/v1/reconstruct', () => gpu()));
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => server.close());
afterEach(() => server.resetHandlers());

const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
/** A queued async job as POST with Prefer: respond-async leaves it; with `idemKey`, that key bound to its 202. */
async function queuedJob(keyId: string, opts: { photo?: boolean; idemKey?: string } = {}) {
  const id = newId();
  if (opts.idemKey) expect(await claimIdempotencyKey(E.DB, { keyId, idemKey: opts.idemKey, bodySha256: 'body-sha', staleAfterMs: 60_000, owner: id })).toEqual({ kind: 'new' });
  expect(await reserveUnit(E.DB, { requestId: id, keyId, idempotencyKey: opts.idemKey }, 100)).toBe(true);
  const photoKey = `uploads/${id}`;
  if (opts.photo !== false) await E.UPLOADS.put(photoKey, new Uint8Array([1, 2, 3]));
  await insertJob(E.DB, { id, key_id: keyId, mode: 'async', status: 'queued', query: 'formats=glb', photo_key: photoKey, photo_type: 'image/png' });
  if (opts.idemKey) await storeIdempotentResponse(E.DB, keyId, opts.idemKey, { status: 202, body: JSON.stringify({ id }) }, id).run();
  return id;
}
const sse = (...events: Array<[string, unknown]>) => new Response(events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join(''), { headers: { 'content-type': 'text/event-stream' } });
const RESULT = { request_id: 'x', assets: { glb: { url: 'https://gpu.test/assets/2026-11-30/0123456789abcdef0123456789abcdef/face.glb?sig=1' } } };

describe('exactly once, whatever Queues redeliver', () => {
  it('one claim per lease; a lapsed lease is taken over; the commit bills once and a second commit is refused', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    const [a, b] = await Promise.all([claimJob(E.DB, id, 60_000), claimJob(E.DB, id, 60_000)]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(await claimJob(E.DB, id, 60_000)).toBeNull(); // redelivered while the lease runs
    await E.DB.prepare('UPDATE jobs SET lease_until = ? WHERE id = ?').bind(new Date(Date.now() - 1000).toISOString(), id).run();
    expect((await claimJob(E.DB, id, 60_000))?.attempts).toBe(2); // the consumer died: taken over
    expect(await commitUnit(E.DB, { requestId: id, keyId: k.id }, { status: 200, body: '{"ok":1}' })).toBe(true);
    expect(await commitUnit(E.DB, { requestId: id, keyId: k.id }, { status: 200, body: '{"ok":2}' })).toBe(false);
    expect(await usageRows(k.id)).toEqual([{ outcome: 'ok', billed: 1 }]);
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'succeeded', result: '{"ok":1}' });
  });

  it('a job canceled while the GPU works is not billed, and the late result does not resurrect it', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    await claimJob(E.DB, id, 60_000);
    expect(await cancelJob(E.DB, k.id, id)).toBe(true);
    await releaseUnit(E.DB, { requestId: id, keyId: k.id }, 'CANCELED');
    expect(await commitUnit(E.DB, { requestId: id, keyId: k.id }, { status: 200, body: '{}' })).toBe(false);
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'canceled', result: null });
    expect(await usageRows(k.id)).toEqual([{ outcome: 'CANCELED', billed: 0 }]);
    expect(await cancelJob(E.DB, k.id, id)).toBe(false); // already ended
  });

  it("a late result's erase that fails (the gpu-function down a moment) is recorded and retried by the purge until the assets are gone", async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    const erases: number[] = [];
    let eraseStatus = 503;
    server.use(http.delete('https://gpu.test/v1/assets/:day/:folder', () => (erases.push(eraseStatus), new HttpResponse(null, { status: eraseStatus }))));
    // Canceled while the GPU works: its result belongs to nobody.
    gpu = (async () => {
      expect(await cancelJob(E.DB, k.id, id)).toBe(true);
      await releaseUnit(E.DB, { requestId: id, keyId: k.id }, 'CANCELED');
      return sse(['result', RESULT]);
    }) as unknown as () => Response;
    expect(await runJob(E, id)).toEqual({ ack: true });
    expect(erases).toEqual([503]);
    const pending = () => E.DB.prepare('SELECT folder, attempts FROM asset_erasures WHERE request_id = ?').bind(id).all<{ folder: string; attempts: number }>().then((r) => r.results);
    expect(await pending()).toEqual([{ folder: '2026-11-30/0123456789abcdef0123456789abcdef', attempts: 1 }]);
    // Still down at the next purge: kept, counted.
    expect(await retryAssetErasures(E)).toMatchObject({ erased: 0 });
    expect(await pending()).toEqual([{ folder: '2026-11-30/0123456789abcdef0123456789abcdef', attempts: 2 }]);
    // Back: erased, and the row goes.
    eraseStatus = 204;
    expect(await retryAssetErasures(E)).toMatchObject({ erased: 1 });
    expect(await pending()).toEqual([]);
    expect(erases).toEqual([503, 503, 204]);
    // A row older than the assets' own lifetime is dropped without a call (the lifecycle rule took them).
    await E.DB.prepare('INSERT INTO asset_erasures (folder, request_id, created_at) VALUES (?, ?, ?)').bind('2026-01-01/ffffffffffffffffffffffffffffffff', id, new Date(Date.now() - ERASURE_GIVE_UP_MS - 1000).toISOString()).run();
    expect(await retryAssetErasures(E)).toMatchObject({ erased: 0, dropped: 1 });
    expect(erases).toHaveLength(3);
    expect(await usageRows(k.id)).toEqual([{ outcome: 'CANCELED', billed: 0 }]);
  });

  it('a result that lands between the cancel and its release is not billed either (DELETE takes two round trips)', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    await claimJob(E.DB, id, 60_000);
    expect(await cancelJob(E.DB, k.id, id)).toBe(true);
    // The consumer's commit comes in here, before DELETE's releaseUnit.
    expect(await commitUnit(E.DB, { requestId: id, keyId: k.id }, { status: 200, body: '{}' })).toBe(false);
    await releaseUnit(E.DB, { requestId: id, keyId: k.id }, 'CANCELED');
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'canceled', result: null });
    expect(await usageRows(k.id)).toEqual([{ outcome: 'CANCELED', billed: 0 }]);
  });

  it('the purge releases a dead isolate\'s reservation but keeps a queued job\'s; a job that never ran in time fails', async () => {
    const k = await createKey();
    const queued = await queuedJob(k.id);
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    const syncId = newId();
    await reserveUnit(E.DB, { requestId: syncId, keyId: k.id }, 100);
    await E.DB.batch([E.DB.prepare('UPDATE usage SET created_at = ? WHERE key_id = ?').bind(old, k.id), E.DB.prepare('UPDATE jobs SET created_at = ? WHERE id = ?').bind(old, queued)]);
    await purgeExpired(E.DB, { staleAfterMs: 60_000, jobMaxAgeMs: 3600_000, jobTtlMs: 86_400_000 });
    const rows = await E.DB.prepare('SELECT request_id, outcome FROM usage WHERE key_id = ?').bind(k.id).all<{ request_id: string; outcome: string }>();
    expect(Object.fromEntries(rows.results.map((r) => [r.request_id, r.outcome]))).toEqual({ [queued]: 'reserved', [syncId]: 'ABANDONED' });
    await purgeExpired(E.DB, { staleAfterMs: 60_000, jobMaxAgeMs: 60_000, jobTtlMs: 86_400_000 });
    expect(await getJobById(E.DB, queued)).toMatchObject({ status: 'failed', error_code: 'TIMEOUT' });
    expect((await usageRows(k.id)).every((r) => r.billed === 0)).toBe(true);
  });
});

describe('the jobs consumer', () => {
  it('records the stages, commits the result, deletes the photo', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    gpu = () => sse(['stage', { stage: 'preprocess', elapsed_ms: 12 }], ['stage', { stage: 'geometry', elapsed_ms: 30 }], ['result', RESULT]);
    expect(await runJob(E, id)).toEqual({ ack: true });
    const job = await getJobById(E.DB, id);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1, photo_key: null });
    expect(JSON.parse(job!.result!)).toEqual(RESULT);
    expect((await jobEvents(E.DB, id)).filter((e) => e.type === 'stage').map((e) => JSON.parse(e.detail!).stage)).toEqual(['preprocess', 'geometry']);
    expect(await E.UPLOADS.get(`uploads/${id}`)).toBeNull();
    expect(await usageRows(k.id)).toEqual([{ outcome: 'ok', billed: 1 }]);
  });

  it('503 and broken streams go back to the queue with a growing delay; after the last attempt the job fails, unbilled', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    gpu = () => new Response(JSON.stringify({ error: { code: 'OVERLOADED' } }), { status: 503, headers: { 'retry-after': '1' } });
    const delays: number[] = [];
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      const out = await runJob(E, id);
      expect(out).toHaveProperty('retryAfterS');
      delays.push((out as { retryAfterS: number }).retryAfterS);
      expect(await getJobById(E.DB, id)).toMatchObject({ status: 'queued', attempts: attempt });
      if (attempt === 2) gpu = () => sse(['stage', { stage: 'preprocess', elapsed_ms: 1 }]); // the stream breaks off
      if (attempt === 3) gpu = () => new Response(JSON.stringify({ error: { code: 'OVERLOADED' } }), { status: 503 });
    }
    // Strictly growing, and the documented schedule (queue.ts: 2, 4, 8 ... capped at 60 s; a Retry-After of 1 s is shorter).
    delays.slice(1).forEach((d, i) => expect(d).toBeGreaterThan(delays[i]));
    expect(delays).toEqual(Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => Math.min(60, 2 ** (i + 1))));
    expect(delays.slice(0, 5)).toEqual([2, 4, 8, 16, 32]);
    expect(await runJob(E, id)).toEqual({ ack: true });
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'failed', error_code: 'OVERLOADED', attempts: MAX_ATTEMPTS, photo_key: null });
    expect(await usageRows(k.id)).toEqual([{ outcome: 'OVERLOADED', billed: 0 }]);
  });

  it('a job that failed on our side (5xx, or the purge\'s TIMEOUT) frees its Idempotency-Key for the client\'s retry; a final failure (422) keeps replaying its 202', async () => {
    const k = await createKey();
    const claim = (key: string) => claimIdempotencyKey(E.DB, { keyId: k.id, idemKey: key, bodySha256: 'body-sha', staleAfterMs: 60_000, owner: newId() });
    const busy = await queuedJob(k.id, { idemKey: 'photo-0001-busy' });
    gpu = () => new Response(JSON.stringify({ error: { code: 'OVERLOADED' } }), { status: 503 });
    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) await runJob(E, busy);
    // Retries in between replay the job's 202: it is still being worked on.
    expect(await claim('photo-0001-busy')).toMatchObject({ kind: 'replay', status: 202 });
    expect(await runJob(E, busy)).toEqual({ ack: true });
    expect(await getJobById(E.DB, busy)).toMatchObject({ status: 'failed', error_code: 'OVERLOADED' });
    expect(await claim('photo-0001-busy')).toEqual({ kind: 'new' });
    const noFace = await queuedJob(k.id, { idemKey: 'photo-0002-noface' });
    gpu = () => sse(['error', { status: 422, error: { code: 'NO_FACE' } }]);
    await runJob(E, noFace);
    expect(await getJobById(E.DB, noFace)).toMatchObject({ status: 'failed', error_code: 'NO_FACE' });
    expect(await claim('photo-0002-noface')).toMatchObject({ kind: 'replay', status: 202, body: JSON.stringify({ id: noFace }) });
    // Never run within the hour: the purge fails it with TIMEOUT and frees its key; another job's key stays.
    const stuck = await queuedJob(k.id, { idemKey: 'photo-0003-stuck' });
    await queuedJob(k.id, { idemKey: 'photo-0004-fresh' });
    await E.DB.prepare('UPDATE jobs SET created_at = ? WHERE id = ?').bind(new Date(Date.now() - 2 * 3600_000).toISOString(), stuck).run();
    await purgeExpired(E.DB, { staleAfterMs: 60_000, jobMaxAgeMs: 3600_000, jobTtlMs: 86_400_000 });
    expect(await getJobById(E.DB, stuck)).toMatchObject({ status: 'failed', error_code: 'TIMEOUT' });
    expect(await claim('photo-0003-stuck')).toEqual({ kind: 'new' });
    expect(await claim('photo-0004-fresh')).toMatchObject({ kind: 'replay', status: 202 });
    // A dead-lettered job (INTERNAL) frees its key too.
    const dead = await queuedJob(k.id, { idemKey: 'photo-0005-dead' });
    await deadLetter(E, dead);
    expect(await getJobById(E.DB, dead)).toMatchObject({ status: 'failed', error_code: 'INTERNAL' });
    expect(await claim('photo-0005-dead')).toEqual({ kind: 'new' });
    expect((await usageRows(k.id)).every((r) => r.billed === 0)).toBe(true);
  });

  it('a stale delivery (its lease taken over) frees no key: not one another delivery left bound to a final failure, nor one a retry bound to a new job', async () => {
    const k = await createKey();
    const claim = (key: string) => claimIdempotencyKey(E.DB, { keyId: k.id, idemKey: key, bodySha256: 'body-sha', staleAfterMs: 60_000, owner: newId() });
    const stale = (id: string) => releaseUnit(E.DB, { requestId: id, keyId: k.id, claimedAttempt: 99 }, 'OVERLOADED', undefined, { unbindJobKey: true });
    // Ended by another delivery with a final NO_FACE: the stale delivery's OVERLOADED changes nothing.
    const final = await queuedJob(k.id, { idemKey: 'photo-0006-final' });
    await claimJob(E.DB, final, 60_000);
    await releaseUnit(E.DB, { requestId: final, keyId: k.id, claimedAttempt: 1 }, 'NO_FACE');
    expect((await stale(final)).jobEnded).toBe(false);
    expect(await claim('photo-0006-final')).toMatchObject({ kind: 'replay', status: 202, body: JSON.stringify({ id: final }) });
    // Failed on our side, its key freed, and bound by the client's retry to a second job: the first job's stale delivery leaves that binding alone.
    const first = await queuedJob(k.id, { idemKey: 'photo-0007-retried' });
    await claimJob(E.DB, first, 60_000);
    await releaseUnit(E.DB, { requestId: first, keyId: k.id, claimedAttempt: 1 }, 'TIMEOUT', undefined, { unbindJobKey: true });
    const second = await queuedJob(k.id, { idemKey: 'photo-0007-retried' });
    await stale(first);
    expect(await claim('photo-0007-retried')).toMatchObject({ kind: 'replay', status: 202, body: JSON.stringify({ id: second }) });
  });

  it('a photo that hits the gpu-function\'s deadline is tried MAX_TIMEOUT_ATTEMPTS times, not MAX_ATTEMPTS (each try holds a GPU slot for the whole deadline, unbilled)', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    // A full queue first (not a timeout), then the deadline: the timeouts are counted on their own.
    gpu = () => new Response(JSON.stringify({ error: { code: 'OVERLOADED' } }), { status: 503 });
    expect(await runJob(E, id)).toHaveProperty('retryAfterS');
    gpu = () => sse(['stage', { stage: 'preprocess', elapsed_ms: 1 }], ['error', { status: 504, error: { code: 'TIMEOUT' } }]);
    for (let attempt = 1; attempt < MAX_TIMEOUT_ATTEMPTS; attempt++) expect(await runJob(E, id)).toHaveProperty('retryAfterS');
    expect(await runJob(E, id)).toEqual({ ack: true });
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'failed', error_code: 'TIMEOUT', attempts: MAX_TIMEOUT_ATTEMPTS + 1 });
    expect(MAX_TIMEOUT_ATTEMPTS).toBeLessThan(MAX_ATTEMPTS);
    expect(await usageRows(k.id)).toEqual([{ outcome: 'TIMEOUT', billed: 0 }]);
  });

  it('a gpu-function that does not answer within the edge\'s wait (a cold start) is retried as unavailable, beyond MAX_TIMEOUT_ATTEMPTS', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    const slow = { ...E, UPSTREAM_TIMEOUT_MS: '150' } as unknown as Bindings;
    gpu = (async () => {
      await new Promise((r) => setTimeout(r, 1000));
      return sse(['result', RESULT]);
    }) as unknown as () => Response;
    for (let attempt = 1; attempt <= MAX_TIMEOUT_ATTEMPTS; attempt++) expect(await runJob(slow, id)).toHaveProperty('retryAfterS');
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'queued' });
    const retries = await E.DB.prepare("SELECT detail FROM job_events WHERE job_id = ? AND type = 'retry'").bind(id).all<{ detail: string }>();
    expect(retries.results.map((r) => JSON.parse(r.detail).code)).toEqual(Array(MAX_TIMEOUT_ATTEMPTS).fill('UPSTREAM_UNAVAILABLE'));
    // Warm now: the next delivery runs the photo and bills it once.
    gpu = () => sse(['result', RESULT]);
    expect(await runJob(E, id)).toEqual({ ack: true });
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'succeeded' });
    expect(await usageRows(k.id)).toEqual([{ outcome: 'ok', billed: 1 }]);
  });

  it('a final failure (no face) ends the job at once with its code; a lost photo is INTERNAL, never a stuck job', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    gpu = () => sse(['error', { status: 422, error: { code: 'NO_FACE' } }]);
    expect(await runJob(E, id)).toEqual({ ack: true });
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'failed', error_code: 'NO_FACE', attempts: 1 });
    const lost = await queuedJob(k.id, { photo: false });
    expect(await runJob(E, lost)).toEqual({ ack: true });
    expect(await getJobById(E.DB, lost)).toMatchObject({ status: 'failed', error_code: 'INTERNAL' });
    expect((await usageRows(k.id)).map((r) => r.billed)).toEqual([0, 0]);
  });
});

describe('no job depends on one message', () => {
  it('a delivery that finds the job running under a live lease comes back when it lapses, and then runs it (acking lost the job)', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    // The first delivery claimed the job and died (a throw after its claim): the lease still runs.
    await claimJob(E.DB, id, 60_000);
    const out = await runJob(E, id);
    expect(out).toHaveProperty('retryAfterS');
    expect((out as { retryAfterS: number }).retryAfterS).toBeGreaterThan(55);
    expect((out as { retryAfterS: number }).retryAfterS).toBeLessThanOrEqual(62);
    // The dead-letter consumer leaves such a job to the delivery that holds it.
    await deadLetter(E, id);
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'running' });
    // The lease lapses; the message's return runs the job.
    await E.DB.prepare('UPDATE jobs SET lease_until = ? WHERE id = ?').bind(new Date(Date.now() - 1000).toISOString(), id).run();
    gpu = () => sse(['result', RESULT]);
    expect(await runJob(E, id)).toEqual({ ack: true });
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await usageRows(k.id)).toEqual([{ outcome: 'ok', billed: 1 }]);
    // Ended: a late duplicate is acked.
    expect(await runJob(E, id)).toEqual({ ack: true });
  });

  it('a delivery whose lease was taken over cannot fail, release or requeue the run that took it', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    const first = (await claimJob(E.DB, id, 60_000))!;
    await E.DB.prepare('UPDATE jobs SET lease_until = ? WHERE id = ?').bind(new Date(Date.now() - 1000).toISOString(), id).run();
    const second = (await claimJob(E.DB, id, 60_000))!;
    expect([first.attempts, second.attempts]).toEqual([1, 2]);
    // The first delivery comes back late with a final failure, then a transient one.
    expect((await releaseUnit(E.DB, { requestId: id, keyId: k.id, claimedAttempt: first.attempts }, 'NO_FACE')).jobEnded).toBe(false);
    await requeueJob(E.DB, id, first.attempts);
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'running', attempts: 2 });
    expect(await usageRows(k.id)).toEqual([{ outcome: 'reserved', billed: 0 }]);
    // The run that holds it settles it.
    expect(await commitUnit(E.DB, { requestId: id, keyId: k.id }, { status: 200, body: '{}' })).toBe(true);
    expect(await usageRows(k.id)).toEqual([{ outcome: 'ok', billed: 1 }]);
  });

  it('the purge leaves a job running under a live lease to its delivery (its commit still lands), and fails it once the lease lapsed', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    await claimJob(E.DB, id, 60_000);
    const old = new Date(Date.now() - 2 * 3600_000).toISOString();
    await E.DB.batch([E.DB.prepare('UPDATE jobs SET created_at = ? WHERE id = ?').bind(old, id), E.DB.prepare('UPDATE usage SET created_at = ? WHERE request_id = ?').bind(old, id)]);
    await purgeExpired(E.DB, { staleAfterMs: 60_000, jobMaxAgeMs: 3600_000, jobTtlMs: 86_400_000 });
    expect(await getJobById(E.DB, id)).toMatchObject({ status: 'running' });
    expect(await commitUnit(E.DB, { requestId: id, keyId: k.id }, { status: 200, body: '{}' })).toBe(true);
    const other = await queuedJob(k.id);
    await claimJob(E.DB, other, 60_000);
    await E.DB.batch([E.DB.prepare('UPDATE jobs SET created_at = ?, lease_until = ? WHERE id = ?').bind(old, new Date(Date.now() - 1000).toISOString(), other), E.DB.prepare('UPDATE usage SET created_at = ? WHERE request_id = ?').bind(old, other)]);
    await purgeExpired(E.DB, { staleAfterMs: 60_000, jobMaxAgeMs: 3600_000, jobTtlMs: 86_400_000 });
    expect(await getJobById(E.DB, other)).toMatchObject({ status: 'failed', error_code: 'TIMEOUT' });
  });

  it('the purge sends again what lost its message, and queues the webhook an ended job never got, once', async () => {
    const k = await createKey();
    const sent: { jobs: string[]; hooks: string[] } = { jobs: [], hooks: [] };
    const env = { ...E, JOBS: { send: async (m: { jobId: string }) => void sent.jobs.push(m.jobId) }, WEBHOOKS: { send: async (m: { jobId: string }) => void sent.hooks.push(m.jobId) } } as unknown as Bindings;
    const stale = await queuedJob(k.id); // its message was never sent (the client hung up between insert and send)
    const fresh = await queuedJob(k.id);
    const lapsed = await queuedJob(k.id);
    await claimJob(E.DB, lapsed, 60_000);
    const tenMinAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    await E.DB.batch([
      E.DB.prepare('UPDATE jobs SET created_at = ? WHERE id IN (?, ?)').bind(tenMinAgo, stale, lapsed),
      E.DB.prepare('UPDATE jobs SET lease_until = ? WHERE id = ?').bind(new Date(Date.now() - 2 * 60_000).toISOString(), lapsed),
    ]);
    // A job the purge timed out, with a webhook_url and no webhook on record.
    const ended = await queuedJob(k.id);
    await E.DB.prepare("UPDATE jobs SET status = 'failed', error_code = 'TIMEOUT', finished_at = ?, webhook_url = 'https://hooks.example.com/x' WHERE id = ?").bind(tenMinAgo, ended).run();
    const r = await repairJobs(env, { jobMaxAgeMs: 3600_000 });
    expect(sent.jobs.sort()).toEqual([stale, lapsed].sort());
    expect(sent.jobs).not.toContain(fresh);
    expect(sent.hooks).toEqual([ended]);
    expect(r.webhooksOwed).toBe(1);
    await repairJobs(env, { jobMaxAgeMs: 3600_000 });
    expect(sent.hooks).toEqual([ended]); // recorded as queued: not again
  });

  it('a webhook receiver that answers 410 Gone is not retried; others are, for hours, on the stated schedule', async () => {
    expect(WEBHOOK_RETRY_DELAYS_S.reduce((a, b) => a + b, 0)).toBeGreaterThan(12 * 3600);
    const k = await createKey();
    const id = await queuedJob(k.id);
    await E.DB.prepare("UPDATE jobs SET status = 'succeeded', finished_at = ?, webhook_url = 'https://hooks.example.com/gone' WHERE id = ?").bind(new Date().toISOString(), id).run();
    server.use(http.post('https://hooks.example.com/gone', () => new HttpResponse(null, { status: 410 })));
    expect(await sendWebhook(E, id, 1)).toEqual({ ack: true });
    server.use(http.post('https://hooks.example.com/gone', () => new HttpResponse(null, { status: 503 })));
    expect(await sendWebhook(E, id, 3)).toEqual({ retryAfterS: WEBHOOK_RETRY_DELAYS_S[2] });
    expect(await sendWebhook(E, id, WEBHOOK_RETRY_DELAYS_S.length + 1)).toEqual({ ack: true });
  });
});

describe('webhooks and preferences', () => {
  it('a failed job\'s webhook carries its error in the job\'s language (the call\'s lang), not always English', async () => {
    const k = await createKey();
    const id = await queuedJob(k.id);
    await E.DB.prepare("UPDATE jobs SET status = 'failed', error_code = 'NO_FACE', finished_at = ?, query = 'formats=glb&lang=zh', webhook_url = 'https://hooks.example.com/zh' WHERE id = ?").bind(new Date().toISOString(), id).run();
    const bodies: Array<{ data: { error: { code: string; message: string } } }> = [];
    server.use(http.post('https://hooks.example.com/zh', async ({ request }) => (bodies.push((await request.json()) as (typeof bodies)[number]), new HttpResponse(null, { status: 204 }))));
    expect(await sendWebhook(E, id, 1)).toEqual({ ack: true });
    expect(bodies[0].data.error).toMatchObject({ code: 'NO_FACE', message: '未检测到人脸，请上传一张清晰可见人脸的照片' });
  });

  it('signs as Standard Webhooks: the specification\'s published example', async () => {
    expect(await signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('webhook URLs: https to public hosts only; loopback http only where allowed', () => {
    const prod = (u: string) => webhookUrlProblem(u, { allowLoopback: false });
    expect(prod('https://hooks.example.com/facerecon')).toBeUndefined();
    // Public neighbours of the special-purpose ranges stay allowed.
    for (const ok of ['https://192.0.1.1/', 'https://198.17.255.1/', 'https://198.20.0.1/', 'https://93.184.216.34/']) expect(prod(ok), ok).toBeUndefined();
    for (const bad of ['http://hooks.example.com/x', 'https://127.0.0.1/x', 'https://localhost/x', 'https://169.254.169.254/latest/meta-data', 'https://10.1.2.3/', 'https://172.20.0.1/', 'https://192.168.1.1/', 'https://100.64.0.1/', 'https://192.0.0.8/', 'https://198.18.0.1/', 'https://198.19.255.254/', 'https://[::1]/', 'https://[fd00::1]/', 'https://[fe80::1]/', 'https://[::ffff:10.0.0.1]/', 'https://metadata.google.internal/', 'https://printer.local/', 'https://intranet/', 'https://localhost./x', 'https://metadata.google.internal./', 'https://printer.local./', 'https://u:p@hooks.example.com/', 'ftp://hooks.example.com/', 'not a url', `https://a.example/${'x'.repeat(2100)}`]) {
      expect(prod(bad), bad).toBeDefined();
    }
    expect(webhookUrlProblem('http://127.0.0.1:9999/hook', { allowLoopback: true })).toBeUndefined();
    expect(webhookUrlProblem('http://10.0.0.1/hook', { allowLoopback: true })).toBeDefined();
  });

  it('Prefer (RFC 7240): respond-async and wait, in any order and case; wait capped at 60 s', () => {
    expect(parsePrefer('respond-async')).toEqual({ respondAsync: true });
    expect(parsePrefer('wait=10, respond-async')).toEqual({ respondAsync: true, waitS: 10 });
    expect(parsePrefer('Respond-Async; wait=600')).toEqual({ respondAsync: true, waitS: 60 });
    expect(parsePrefer('return=minimal, wait=abc')).toEqual({ respondAsync: false });
    expect(parsePrefer(undefined)).toEqual({ respondAsync: false });
  });
});

describe('retention', () => {
  it('the orphan sweep pages through the whole bucket: orphans behind pages of live photos go, live and recent ones stay', async () => {
    const k = await createKey();
    const live: string[] = [];
    for (let i = 0; i < 5; i++) live.push(`uploads/${await queuedJob(k.id)}`);
    // Keys that sort after every hex request id, so they sit behind the live photos' pages.
    const orphans = ['uploads/~orphan-1', 'uploads/~orphan-2', 'uploads/~orphan-3'];
    for (const o of orphans) await E.UPLOADS.put(o, new Uint8Array([9]));
    const hourLater = Date.now() + 3600_000 + 60_000;

    const recent = await sweepOrphanUploads(E.DB, E.UPLOADS, { olderThanMs: 3600_000, pageSize: 2 });
    expect(recent.orphans).toBe(0);
    for (const o of orphans) expect(await E.UPLOADS.head(o), o).not.toBeNull();

    const firstPage = await sweepOrphanUploads(E.DB, E.UPLOADS, { olderThanMs: 3600_000, now: hourLater, pageSize: 2, maxPages: 1 });
    expect(firstPage.truncated).toBe(true);

    const swept = await sweepOrphanUploads(E.DB, E.UPLOADS, { olderThanMs: 3600_000, now: hourLater, pageSize: 2 });
    expect(swept.truncated).toBe(false);
    expect(swept.listed).toBeGreaterThanOrEqual(live.length);
    for (const o of orphans) expect(await E.UPLOADS.head(o), o).toBeNull();
    for (const l of live) expect(await E.UPLOADS.head(l), l).not.toBeNull();
  });
});
