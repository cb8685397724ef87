/**
 * A burst of async jobs through the real local stack (issue 15): `jobs` creations from `producers`
 * concurrent callers, with the gpu-function stopped mid-burst and started again after `downMs`.
 * Every job must end succeeded or failed with a documented code: none lost, none billed twice, no
 * caller-visible 503 on the async path (the queue absorbs what the GPU cannot take).
 */
import { ERROR_CODES } from '@facerecon/shared';
import { quantile } from '../bench/stats';
import type { LocalStack } from '../scripts/local-stack';

export interface BurstResult {
  jobs: number;
  producers: number;
  createStatus: Record<string, number>;
  final: Record<string, number>;
  lost: number;
  undocumented: number;
  billed: number;
  succeeded: number;
  retried: number;
  queueWaitMs: { p50: number; p95: number };
  endToEndMs: { p50: number; p95: number };
  gpuDownMs: number;
  wallS: number;
  /** Plain-text answers from wrangler dev while it restarted the worker (not the API's). */
  devRestarts: number;
}

interface View {
  id: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  attempts: number;
  error?: { code: string };
}

export async function runJobsBurst(stack: LocalStack, opts: { photos: Uint8Array[]; jobs: number; producers: number; downAfter: number; downMs: number; deadlineMs?: number }): Promise<BurstResult> {
  const auth = { authorization: `Bearer ${stack.apiKey}` };
  const billedNow = async () => ((await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: auth })).json()) as { billable_calls: number }).billable_calls;
  const billedBefore = await billedNow();
  const t0 = Date.now();
  const ids: string[] = [];
  const createStatus: Record<string, number> = {};
  let next = 0;
  let outage: Promise<void> | undefined;
  let downMs = 0;
  let devRestarts = 0;
  const producer = async () => {
    while (next < opts.jobs) {
      const k = next++;
      if (k === opts.downAfter) {
        // The gpu-function goes away mid-burst (as a crashed or redeployed instance would) and returns.
        outage = (async () => {
          const t = Date.now();
          await stack.stopGpu();
          await new Promise((r) => setTimeout(r, opts.downMs));
          await stack.restartGpu();
          downMs = Date.now() - t;
        })();
      }
      // A well-behaved caller: the same Idempotency-Key on a retry. wrangler dev itself answers a
      // plain-text 503 when it restarts the worker (a local artefact, counted apart); that is retried.
      for (let tries = 0; tries < 5; tries++) {
        const res = await fetch(`${stack.edgeUrl}/v1/reconstructions?formats=glb`, { method: 'POST', body: opts.photos[k % opts.photos.length] as BodyInit, headers: { ...auth, prefer: 'respond-async', 'content-type': 'application/octet-stream', 'idempotency-key': `burst-${t0}-${k}` } });
        const text = await res.text();
        if (!(res.headers.get('content-type') ?? '').includes('application/json')) {
          devRestarts++;
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        createStatus[res.status] = (createStatus[res.status] ?? 0) + 1;
        if (res.status === 202) ids.push((JSON.parse(text) as View).id);
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.producers }, producer));
  await outage;

  const views = new Map<string, View>();
  const deadline = Date.now() + (opts.deadlineMs ?? 300_000);
  while (Date.now() < deadline && views.size < ids.length) {
    for (const id of ids) {
      if (views.has(id)) continue;
      const v = (await (await fetch(`${stack.edgeUrl}/v1/reconstructions/${id}`, { headers: auth })).json()) as View;
      if (['succeeded', 'failed', 'canceled'].includes(v.status)) views.set(id, v);
    }
    if (views.size < ids.length) await new Promise((r) => setTimeout(r, 1000));
  }
  const final: Record<string, number> = {};
  for (const v of views.values()) {
    const k = v.status === 'failed' ? `failed ${v.error?.code}` : v.status;
    final[k] = (final[k] ?? 0) + 1;
  }
  const done = [...views.values()];
  const ms = (a: string | null, b: string | null) => (a && b ? Date.parse(b) - Date.parse(a) : NaN);
  const waits = done.map((v) => ms(v.created_at, v.started_at)).filter(Number.isFinite);
  const e2e = done.map((v) => ms(v.created_at, v.finished_at)).filter(Number.isFinite);
  return {
    jobs: opts.jobs,
    producers: opts.producers,
    createStatus,
    final,
    lost: ids.length - views.size,
    undocumented: done.filter((v) => v.status === 'failed' && !(ERROR_CODES as string[]).includes(v.error?.code ?? '')).length,
    billed: (await billedNow()) - billedBefore,
    succeeded: done.filter((v) => v.status === 'succeeded').length,
    retried: done.filter((v) => v.attempts > 1).length,
    queueWaitMs: { p50: quantile(waits, 0.5), p95: quantile(waits, 0.95) },
    endToEndMs: { p50: quantile(e2e, 0.5), p95: quantile(e2e, 0.95) },
    gpuDownMs: downMs,
    devRestarts,
    wallS: (Date.now() - t0) / 1000,
  };
}
