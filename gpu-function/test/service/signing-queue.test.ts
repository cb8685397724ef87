/** Request signing (shared with the edge) and the bounded work queue. */
import { describe, expect, it } from 'vitest';
import { FaceReconError, canonicalRequest, hmacSha256Hex, sha256Hex, signRequest, timingSafeEqualString, verifyRequestSignature } from '@facerecon/shared';
import { WorkQueue } from '../../src/service/queue';

const SECRET = 'x'.repeat(40);
const body = new TextEncoder().encode('photo bytes');
const path = '/v1/reconstruct?uv_size=1024';

async function verify(headers: Partial<Record<string, string>>, over: Partial<{ body: Uint8Array; path: string; now: number; method: string }> = {}) {
  return verifyRequestSignature({
    secret: SECRET,
    method: over.method ?? 'POST',
    pathWithQuery: over.path ?? path,
    body: over.body ?? body,
    timestamp: headers['x-facerecon-timestamp'],
    nonce: headers['x-facerecon-nonce'],
    signature: headers['x-facerecon-signature'],
    now: over.now,
  });
}

describe('request signatures', () => {
  it('signs method, path with query, timestamp and body hash with HMAC-SHA256', async () => {
    const h = await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: path, body, now: 1_700_000_000_000, nonce: '0123456789abcdef' });
    // Independent computation with node:crypto.
    const { createHash, createHmac } = await import('node:crypto');
    const bodyHash = createHash('sha256').update(body).digest('hex');
    expect(await sha256Hex(body)).toBe(bodyHash);
    const expected = createHmac('sha256', SECRET).update(`POST\n${path}\n1700000000\n0123456789abcdef\n${bodyHash}`).digest('hex');
    expect(h['x-facerecon-signature']).toBe(expected);
    expect(await hmacSha256Hex(SECRET, canonicalRequest('post', path, 1700000000, '0123456789abcdef', bodyHash))).toBe(expected);
    expect((await verify(h, { now: 1_700_000_000_000 })).ok).toBe(true);
  });

  it('rejects missing, malformed, wrong, stale and re-targeted signatures', async () => {
    const now = Date.now();
    const h = await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: path, body, now });
    expect(await verify({})).toEqual({ ok: false, reason: 'missing' });
    expect(await verify({ ...h, 'x-facerecon-signature': 'zz' })).toEqual({ ok: false, reason: 'malformed' });
    const wrong = await signRequest({ secret: 'y'.repeat(40), method: 'POST', pathWithQuery: path, body, now });
    expect(await verify(wrong)).toEqual({ ok: false, reason: 'mismatch' });
    expect(await verify(h, { now: now + 301_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(await verify(h, { now: now - 301_000 })).toEqual({ ok: false, reason: 'stale' });
    expect((await verify(h, { now: now + 299_000 })).ok).toBe(true);
    expect(await verify({ ...h, 'x-facerecon-nonce': 'f'.repeat(32) })).toEqual({ ok: false, reason: 'mismatch' });
    // The same headers with another body, another query or another method.
    expect(await verify(h, { body: new TextEncoder().encode('other photo') })).toEqual({ ok: false, reason: 'mismatch' });
    expect(await verify(h, { path: '/v1/reconstruct?uv_size=512' })).toEqual({ ok: false, reason: 'mismatch' });
    expect(await verify(h, { method: 'PUT' })).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('timingSafeEqualString: true only for the same string (a difference in the last character, in length, or none)', () => {
    expect(timingSafeEqualString('abc', 'abc')).toBe(true);
    expect(timingSafeEqualString('abc', 'abd')).toBe(false);
    expect(timingSafeEqualString('abc', 'abcd')).toBe(false);
    expect(timingSafeEqualString('', '')).toBe(true);
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('runs at most `concurrency` jobs and refuses beyond the queue with OVERLOADED', async () => {
    const q = new WorkQueue({ concurrency: 2, maxQueue: 1 });
    let running = 0;
    let peak = 0;
    const job = async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(30);
      running--;
      return 'done';
    };
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => q.run(job, 5000)));
    expect(peak).toBe(2);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(2);
    expect(refused.every((r) => r.reason instanceof FaceReconError && r.reason.code === 'OVERLOADED')).toBe(true);
    expect(q.retryAfterSeconds()).toBeGreaterThanOrEqual(1);
  });

  it('times out a queued job and aborts a running one at its deadline', async () => {
    const q = new WorkQueue({ concurrency: 1, maxQueue: 5 });
    let sawAbort = false;
    const slow = q.run(async (signal) => {
      await sleep(120);
      sawAbort = signal.aborted;
      return 1;
    }, 40);
    const queued = q.run(async () => 2, 60);
    await expect(slow).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(queued).rejects.toMatchObject({ code: 'TIMEOUT' });
    await q.drain();
    expect(sawAbort).toBe(true);
    expect(q.running).toBe(0);
    expect(q.depth).toBe(0);
  });

  it('a waiting job whose caller hangs up leaves the queue at once: a live caller takes its place', async () => {
    const q = new WorkQueue({ concurrency: 1, maxQueue: 1 });
    let release!: () => void;
    const running = q.run(() => new Promise<string>((r) => (release = () => r('first'))), 5000);
    const caller = new AbortController();
    let abandonedStarted = false;
    const abandoned = q.run(async () => {
      abandonedStarted = true;
    }, 5000, caller.signal);
    await expect(q.run(async () => 'refused', 5000)).rejects.toMatchObject({ code: 'OVERLOADED' });
    caller.abort();
    await expect(abandoned).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(q.depth).toBe(0);
    const live = q.run(async () => 'live', 5000);
    release();
    expect(await running).toBe('first');
    expect(await live).toBe('live');
    expect(abandonedStarted).toBe(false);
  });

  it('a running job whose caller hangs up sees its signal fire; its slot is free once the work stops', async () => {
    const q = new WorkQueue({ concurrency: 1, maxQueue: 1 });
    const caller = new AbortController();
    let sawAbort = false;
    const job = q.run(
      (signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            sawAbort = true;
            setTimeout(resolve, 20); // stops at its next stage boundary
          });
        }),
      5000,
      caller.signal,
    );
    caller.abort();
    await expect(job).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(sawAbort).toBe(true);
    await q.drain();
    expect(q.running).toBe(0);
  });

  it('shutdown refuses the waiting at once and gives the running a grace, then aborts them, all with OVERLOADED; later work is refused', async () => {
    const q = new WorkQueue({ concurrency: 2, maxQueue: 4 });
    let quickSawAbort = false;
    const quick = q.run(async (signal) => {
      await sleep(30);
      quickSawAbort = signal.aborted;
      return 'finished within the grace';
    }, 5000);
    let stuckSawAbort = false;
    const stuck = q.run(
      (signal) =>
        new Promise<string>((resolve) => {
          signal.addEventListener('abort', () => {
            stuckSawAbort = true;
            resolve('stopped');
          });
        }),
      5000,
    );
    const waiting = q.run(async () => 'never', 5000);
    const stopped = q.shutdown({ graceMs: 150, settleMs: 500 });
    await expect(waiting).rejects.toMatchObject({ code: 'OVERLOADED' });
    expect(await quick).toBe('finished within the grace');
    expect(quickSawAbort).toBe(false);
    await expect(stuck).rejects.toMatchObject({ code: 'OVERLOADED' });
    expect(stuckSawAbort).toBe(true);
    expect(await stopped).toBe(true);
    await expect(q.run(async () => 'late', 5000)).rejects.toMatchObject({ code: 'OVERLOADED' });
  });

  it('drain waits for running work', async () => {
    const q = new WorkQueue({ concurrency: 1, maxQueue: 1 });
    let finished = false;
    void q.run(async () => {
      await sleep(50);
      finished = true;
    }, 1000);
    await q.drain();
    expect(finished).toBe(true);
  });
});
