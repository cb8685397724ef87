/**
 * Async jobs through the real local stack (issue 15): wrangler dev runs the edge with its local D1,
 * R2 and Queues; the queue consumer calls the real gpu-function; a webhook receiver on loopback
 * checks the Standard Webhooks signature with node:crypto, independently of the edge's code.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../gpu-function/test/fixtures';
import { startLocalStack, type LocalStack } from '../../scripts/local-stack';
import { startWebhookReceiver } from '../support/webhook-receiver';
import { unknownKeys } from '../support/schema-keys';
import { buildOpenApi } from '../../edge/src/openapi';

const openApi = buildOpenApi('http://127.0.0.1') as unknown as Record<string, unknown>;

interface Hook {
  headers: Record<string, string>;
  body: string;
}
interface JobView {
  id: string;
  status: string;
  mode: string;
  attempts: number;
  error?: { code: string; message: string; message_zh: string };
  result?: { assets: Record<string, { url: string }>; landmarks: { count: number } };
  erased_at?: string;
  webhook?: { url: string; deliveries: Array<{ type: string; detail: { status: number } }> };
  events?: Array<{ type: string }>;
}

let stack: LocalStack;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let hookUrl = '';
let hooks: Hook[] = [];
const persistTo = mkdtempSync(join(tmpdir(), 'facerecon-jobs-'));

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  hookUrl = receiver.url;
  hooks = receiver.deliveries;
  stack = await startLocalStack({ keyRate: 600, persistTo, extraKeys: 1 });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  receiver?.close();
});

const auth = (key = stack.apiKey) => ({ authorization: `Bearer ${key}` });
const photo = (name: 'astronaut.png' | 'coffee.png') => new Uint8Array(readFileSync(fixture(name)));
async function create(body: Uint8Array, headers: Record<string, string>, query = '') {
  return fetch(`${stack.edgeUrl}/v1/reconstructions${query}`, { method: 'POST', body: body as BodyInit, headers: { ...auth(), 'content-type': 'application/octet-stream', ...headers } });
}
const getJob = async (id: string, key?: string) => fetch(`${stack.edgeUrl}/v1/reconstructions/${id}`, { headers: auth(key) });
async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
const billed = async () => ((await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: auth() })).json()) as { billable_calls: number }).billable_calls;
/** Files wrangler's local R2 keeps for the uploads bucket (photos waiting for their job). */
function uploadBlobs(): number {
  const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
  const root = join(persistTo, 'v3/r2');
  return existsSync(root) ? walk(root).filter((f) => f.includes('blobs')).length : 0;
}

describe('async reconstruction jobs (Queues, R2, D1, webhooks)', () => {
  it('create -> signed webhook -> GET shows the result -> DELETE erases assets and stored result; billed once', async () => {
    const secret = ((await (await fetch(`${stack.edgeUrl}/v1/webhook-secret`, { headers: auth() })).json()) as { secret: string }).secret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const before = await billed();
    const res = await create(photo('astronaut.png'), { prefer: 'respond-async', 'idempotency-key': 'job-e2e-0001' }, `?formats=glb,texture&webhook_url=${encodeURIComponent(hookUrl)}`);
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as JobView;
    expect(accepted.status).toBe('queued');
    expect(accepted.id).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get('location')).toBe(`/v1/reconstructions/${accepted.id}`);
    expect(res.headers.get('preference-applied')).toBe('respond-async');

    // The same request again (a retry with the key): the same job, no second one.
    const again = await create(photo('astronaut.png'), { prefer: 'respond-async', 'idempotency-key': 'job-e2e-0001' }, `?formats=glb,texture&webhook_url=${encodeURIComponent(hookUrl)}`);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as JobView).id).toBe(accepted.id);

    const hook = await until('the webhook', async () => hooks.find((h) => h.body.includes(accepted.id)));
    // Standard Webhooks: HMAC-SHA256 over "id.timestamp.body" with the secret's base64 key.
    const id = hook.headers['webhook-id'];
    const ts = hook.headers['webhook-timestamp'];
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(300);
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(`${id}.${ts}.${hook.body}`).digest();
    const given = Buffer.from(hook.headers['webhook-signature'].replace(/^v1,/, ''), 'base64');
    expect(timingSafeEqual(expected, given)).toBe(true);
    const event = JSON.parse(hook.body) as { type: string; data: JobView };
    expect(event.type).toBe('reconstruction.succeeded');
    expect(event.data.result?.landmarks.count).toBe(478);

    const job = (await (await getJob(accepted.id)).json()) as JobView;
    expect(job).toMatchObject({ id: accepted.id, status: 'succeeded', mode: 'async', attempts: 1 });
    // The job and the webhook's event as the OpenAPI document types them (strict: no key it lacks).
    expect(unknownKeys(job, { $ref: '#/components/schemas/ReconstructionJob' }, openApi)).toEqual([]);
    expect(unknownKeys(event.data, { $ref: '#/components/schemas/ReconstructionJob' }, openApi)).toEqual([]);
    expect(job.events?.map((e) => e.type)).toContain('attempt');
    const glb = job.result!.assets.glb.url;
    expect((await fetch(glb)).status).toBe(200);
    expect(await billed()).toBe(before + 1);
    // The photo left the uploads bucket when the job ended.
    await until('the photo to be deleted', async () => (uploadBlobs() === 0 ? true : undefined), 10_000);
    // The delivery is on the job.
    const delivered = await until('the delivery record', async () => {
      const j = (await (await getJob(accepted.id)).json()) as JobView;
      return j.webhook?.deliveries.find((d) => d.type === 'webhook.delivered');
    });
    expect(delivered.detail.status).toBe(204);

    // Another key sees nothing of it.
    const other = stack.extraKeys[0].key;
    expect((await getJob(accepted.id, other)).status).toBe(404);
    expect((await fetch(`${stack.edgeUrl}/v1/reconstructions/${accepted.id}`, { method: 'DELETE', headers: auth(other) })).status).toBe(404);
    expect((await (await fetch(`${stack.edgeUrl}/v1/reconstructions`, { headers: auth(other) })).json()) as { data: unknown[] }).toMatchObject({ data: [] });

    const del = await fetch(`${stack.edgeUrl}/v1/reconstructions/${accepted.id}`, { method: 'DELETE', headers: auth() });
    expect(del.status).toBe(200);
    const erased = (await del.json()) as JobView;
    expect(erased.status).toBe('succeeded');
    expect(erased.result).toBeUndefined();
    expect(erased.erased_at).toBeTruthy();
    expect((await fetch(glb)).status).toBe(404);
    for (const a of Object.values(job.result!.assets)) expect((await fetch(a.url)).status).toBe(404);
    expect((await fetch(`${stack.edgeUrl}/v1/reconstructions/${accepted.id}`, { method: 'DELETE', headers: auth() })).status).toBe(200); // idempotent
    expect(((await (await getJob(accepted.id)).json()) as JobView).result).toBeUndefined();
    expect(await billed()).toBe(before + 1);
  });

  it('Prefer: wait=N answers with the finished job; a photo without a face fails with its code, unbilled', async () => {
    const before = await billed();
    const ok = await create(photo('astronaut.png'), { prefer: 'wait=60' }, '?formats=glb');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as JobView).status).toBe('succeeded');
    const noFace = await create(photo('coffee.png'), { prefer: 'wait=60', 'accept-language': 'zh' });
    expect(noFace.status).toBe(200);
    const failed = (await noFace.json()) as JobView;
    expect(failed.status).toBe('failed');
    expect(failed.error?.code).toBe('NO_FACE');
    expect(failed.error?.message_zh).toBeTruthy();
    expect(await billed()).toBe(before + 1);
  });

  it('DELETE of a queued job cancels it: not billed, and the delivery that comes once the gpu-function is back does nothing', async () => {
    const before = await billed();
    // The gpu-function down, so the job cannot finish before the DELETE (the path under test always runs).
    await stack.stopGpu();
    let id = '';
    try {
      const res = await create(photo('astronaut.png'), { prefer: 'respond-async' });
      expect(res.status).toBe(202);
      id = ((await res.json()) as JobView).id;
      const del = await fetch(`${stack.edgeUrl}/v1/reconstructions/${id}`, { method: 'DELETE', headers: auth() });
      expect(del.status).toBe(200);
      expect(((await del.json()) as JobView).status).toBe('canceled');
    } finally {
      await stack.restartGpu();
    }
    // The queue's delivery (its first, or its retry once the gpu-function is back) comes and finds the
    // job canceled: waited for by its record in the job's events, not by a fixed sleep.
    let later = (await (await getJob(id)).json()) as JobView;
    for (let i = 0; i < 100 && !later.events?.some((e) => e.type === 'delivery.skipped'); i++) {
      await new Promise((r) => setTimeout(r, 500));
      later = (await (await getJob(id)).json()) as JobView;
    }
    expect((later.events?.find((e) => e.type === 'delivery.skipped') as { detail?: unknown } | undefined)?.detail).toEqual({ status: 'canceled' });
    expect(later.status).toBe('canceled');
    expect(later.result).toBeUndefined();
    expect(await billed()).toBe(before);
  }, 60_000);

  it('the synchronous path writes the same job record: GET by its x-request-id; the list pages newest first', async () => {
    const res = await create(photo('astronaut.png'), {}, '?formats=glb');
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id')!;
    const job = (await (await getJob(id)).json()) as JobView;
    expect(job).toMatchObject({ id, status: 'succeeded', mode: 'sync' });
    const page1 = (await (await fetch(`${stack.edgeUrl}/v1/reconstructions?limit=2`, { headers: auth() })).json()) as { data: JobView[]; next_cursor: string };
    expect(page1.data.map((j) => j.id)[0]).toBe(id);
    expect(page1.data).toHaveLength(2);
    const page2 = (await (await fetch(`${stack.edgeUrl}/v1/reconstructions?limit=2&cursor=${page1.next_cursor}`, { headers: auth() })).json()) as { data: JobView[] };
    expect(page2.data.length).toBeGreaterThan(0);
    expect(page2.data.map((j) => j.id)).not.toContain(id);
  });

  it('a burst with the gpu-function stopped and restarted mid-way: every job ends, none lost, none billed twice, no 503 to callers', async () => {
    const { runJobsBurst } = await import('../../reliability/jobs-burst');
    const r = await runJobsBurst(stack, { photos: [photo('astronaut.png')], jobs: 16, producers: 4, downAfter: 4, downMs: 3000, deadlineMs: 180_000 });
    expect(r.createStatus).toEqual({ 202: 16 });
    expect(r.lost).toBe(0);
    expect(r.undocumented).toBe(0);
    expect(r.final).toEqual({ succeeded: 16 });
    expect(r.billed).toBe(r.succeeded);
  }, 240_000);

  it('webhook_url beyond loopback must be https and public: private, metadata and credentialed URLs are refused unbilled', async () => {
    for (const url of ['http://example.com/hook', 'https://169.254.169.254/latest', 'https://10.0.0.7/x', 'https://user:pw@example.com/x', 'https://metadata.google.internal/']) {
      const res = await create(photo('astronaut.png'), { prefer: 'respond-async' }, `?webhook_url=${encodeURIComponent(url)}`);
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: { code: string; hint: string } }).error).toMatchObject({ code: 'INVALID_REQUEST', hint: expect.stringMatching(/^webhook_url: /) });
    }
  });
});
