/**
 * The Queues consumers: jobs (one GPU call per message), their dead letters, and webhook deliveries.
 *
 * Billing stays exactly-once whatever Queues redeliver: a job is claimed under a lease (jobs.ts), its
 * unit is committed by a statement guarded on the reservation (billing.ts), and a job that was
 * canceled or already settled has nothing left to commit: its assets are erased instead.
 * Transient failures (503, time-outs, a gpu-function that is down or restarting) put the job back with
 * a growing delay (2, 4, 8 ... 60 s, or the gpu-function's Retry-After when longer); after
 * MAX_ATTEMPTS the job fails with the last code and its unit is released. A message the consumer
 * could not handle at all lands in the dead-letter queue, whose consumer fails and releases the job.
 */
import { assetFolderOf, ERROR_SPECS, FaceReconError, type ErrorCode } from '@facerecon/shared';
import type { Bindings } from './env';
import { commitUnit, looksLikeResult, releaseUnit, type Settlement } from './lib/billing';
import { parseSseBlock } from './lib/sse-relay';
import { addJobEvent, claimJob, clearPhoto, getJobById, jobEvents, jobView, leaseLeftMs, requeueJob, retriesWith, type JobRow } from './lib/jobs';
import { keyIsActive } from './lib/keys';
import { watchForCancel, cancelPollMs } from './lib/cancel-watch';
import { forwardToGpu, passableErrorCode, upstreamErrorCode, upstreamFailureCode } from './lib/upstream';
import { eraseAssets } from './lib/erasures';
import { deliverWebhook, webhookSecretFor, webhookUrlProblem } from './lib/webhooks';

export interface JobMessage {
  jobId: string;
}

export const MAX_ATTEMPTS = 6;
/**
 * Timeouts a job may meet (the gpu-function's own deadline, queue time included): a busy instance may
 * cause one, but a photo that times out twice will time out again, and each try holds a GPU slot for the
 * whole deadline, unbilled. Other failures (a full queue's OVERLOADED) keep MAX_ATTEMPTS.
 */
export const MAX_TIMEOUT_ATTEMPTS = 2;
const TRANSIENT = new Set<ErrorCode>(['OVERLOADED', 'TIMEOUT', 'UPSTREAM_UNAVAILABLE', 'STORAGE_UNAVAILABLE', 'MODEL_UNAVAILABLE']);
export const backoffSeconds = (attempt: number) => Math.min(60, 2 ** attempt);

type Outcome = { ack: true } | { retryAfterS: number };

/**
 * Webhook queued, photo gone: what every ending of a job does, whoever ended it. The webhook first: a
 * photo left behind is removed by the scheduled purge, a webhook not sent was never sent again (the
 * purge also queues one for an ended job that has none on record: webhooksOwed).
 */
export async function afterJobEnded(env: Bindings, job: Pick<JobRow, 'id' | 'photo_key' | 'webhook_url'>): Promise<void> {
  if (job.webhook_url) await queueWebhook(env, job.id, null);
  if (job.photo_key) {
    await env.UPLOADS.delete(job.photo_key);
    await clearPhoto(env.DB, job.id);
  }
}

/** Queues a job's webhook and records that it did: the purge queues one for any ended job without such a record. */
async function queueWebhook(env: Bindings, jobId: string, detail: unknown): Promise<void> {
  await env.WEBHOOKS.send({ jobId } satisfies JobMessage);
  await addJobEvent(env.DB, jobId, 'webhook.queued', detail);
}

export async function runJob(env: Bindings, jobId: string): Promise<Outcome> {
  const db = env.DB;
  const timeoutMs = Number(env.UPSTREAM_TIMEOUT_MS ?? 45_000);
  const job = await claimJob(db, jobId, timeoutMs + 30_000);
  if (!job) {
    // Running under another delivery's lease: come back when it lapses, in case that delivery died
    // (a throw after its claim, a lost isolate). Acking here lost the job's only message, and the job
    // sat "running" until the purge failed it an hour later.
    const current = await getJobById(db, jobId);
    const left = current ? leaseLeftMs(current) : 0;
    if (left > 0) return { retryAfterS: Math.ceil(left / 1000) + 1 };
    // Ended or canceled: nothing to run. Said in the job's events, so that a delivery arriving after a
    // cancel (the queue's retry once the gpu-function is back) is seen to have done nothing.
    if (current) await addJobEvent(db, jobId, 'delivery.skipped', { status: current.status }).catch(() => undefined);
    return { ack: true };
  }
  // Tied to this claim: if the lease lapsed and another delivery took the job over, this one's failure
  // must not fail (or requeue) that run.
  const settlement: Settlement = { requestId: job.id, keyId: job.key_id, claimedAttempt: job.attempts };
  const fail = async (code: ErrorCode) => {
    // Only the delivery that ended the job (not one that found it canceled) deletes and notifies.
    // A failure on our side (5xx) frees the job's Idempotency-Key: the client's retry with it runs again.
    if ((await releaseUnit(db, settlement, code, undefined, { unbindJobKey: ERROR_SPECS[code].status >= 500 })).jobEnded) await afterJobEnded(env, job);
    return { ack: true } as const;
  };
  const transientOr = async (code: ErrorCode, retryAfter?: string | null): Promise<Outcome> => {
    if (!TRANSIENT.has(code) || job.attempts >= MAX_ATTEMPTS) return fail(code);
    // Timeouts are counted apart: a job that timed out once after being OVERLOADED still gets its second.
    if (code === 'TIMEOUT' && (await retriesWith(db, job.id, 'TIMEOUT')) + 1 >= MAX_TIMEOUT_ATTEMPTS) return fail(code);
    await requeueJob(db, job.id, job.attempts);
    const delay = Math.max(backoffSeconds(job.attempts), Math.min(60, Number(retryAfter) || 0));
    await addJobEvent(db, job.id, 'retry', { attempt: job.attempts, code, delay_s: delay });
    return { retryAfterS: delay };
  };

  // Revoked since the job was queued (a leaked key): its work is not run, billed or reported.
  if (!(await keyIsActive(db, job.key_id))) return fail('KEY_REVOKED');
  const photo = job.photo_key ? await env.UPLOADS.get(job.photo_key) : null;
  if (!photo) return fail('INTERNAL');
  const body = new Uint8Array(await photo.arrayBuffer());
  settlement.bytesForwarded = body.byteLength;
  await addJobEvent(db, job.id, 'attempt', { attempt: job.attempts });
  // A DELETE while the gpu-function works stops the work (cancel-watch.ts): the cancel released the
  // unit and sent the webhook; this delivery only says that it stopped.
  const stop = new AbortController();
  const watch = watchForCancel(db, job.id, { everyMs: cancelPollMs(env), onCancel: () => stop.abort() });
  let outcome: Exchange;
  try {
    outcome = await exchangeWithGpu(env, job, body, { timeoutMs, signal: stop.signal });
  } finally {
    watch.stop();
  }
  // (A result that came in before the abort goes on: its commit refuses a canceled job, and its assets are erased.)
  if (watch.canceled && 'code' in outcome) {
    // The DELETE released the unit; again here (a no-op then), for a DELETE whose release failed after its cancel.
    await releaseUnit(db, settlement, 'CANCELED').catch(() => undefined);
    await addJobEvent(db, job.id, 'delivery.stopped', { reason: 'canceled' }).catch(() => undefined);
    return { ack: true };
  }
  if ('code' in outcome) return transientOr(outcome.code, outcome.retryAfter);
  const text = outcome.result;
  // A result event that is not a result (billed, it would break every read of the job): a failed delivery.
  if (!looksLikeResult(text)) return transientOr('UPSTREAM_UNAVAILABLE');
  if (!(await commitUnit(db, settlement, { status: 200, body: text }))) {
    // Canceled (or settled by another delivery) while the GPU worked: not billed again, and the
    // assets of this run belong to nobody.
    const folder = assetFolderOf(text);
    if (folder) await eraseAssets(env, folder, job.id);
    await addJobEvent(db, job.id, 'discarded', { reason: 'job ended before the result arrived' });
    return { ack: true };
  }
  await afterJobEnded(env, job);
  return { ack: true };
}

type Exchange = { result: string } | { code: ErrorCode; retryAfter?: string | null };

/** One attempt: the photo to the gpu-function, and its progress stream read to the result or the error. */
async function exchangeWithGpu(env: Bindings, job: JobRow, body: Uint8Array, opts: { timeoutMs: number; signal: AbortSignal }): Promise<Exchange> {
  let res: Response;
  try {
    res = await forwardToGpu({ baseUrl: env.GPU_FUNCTION_URL, secret: env.GPU_SIGNING_SECRET, body, contentType: job.photo_type ?? 'application/octet-stream', query: new URLSearchParams(job.query), requestId: job.id, timeoutMs: opts.timeoutMs, accept: 'text/event-stream', signal: opts.signal });
  } catch (err) {
    const code = err instanceof FaceReconError ? err.code : 'UPSTREAM_UNAVAILABLE';
    // No answer at all within the edge's wait: the gpu-function never took the photo (its own deadline,
    // shorter, answers 504 itself), most often a cold start of a fleet scaled to zero, whose start-up
    // alone may outlast the wait. That is not the photo's timeout: it is retried as an unavailable
    // service (MAX_ATTEMPTS), not counted against MAX_TIMEOUT_ATTEMPTS, which failed a burst of jobs
    // queued while the fleet slept.
    return { code: code === 'TIMEOUT' ? 'UPSTREAM_UNAVAILABLE' : code };
  }
  if (!res.ok || !res.body) return { code: await upstreamErrorCode(res), retryAfter: res.headers.get('retry-after') };
  // The progress stream: each stage becomes a job event, so a polling client can show it.
  try {
    return await readProgress(res.body, (stage) => addJobEvent(env.DB, job.id, 'stage', stage));
  } catch (err) {
    return { code: upstreamFailureCode(err) };
  }
}

/** Reads the gpu-function's SSE stream to its `result` or `error` event. */
async function readProgress(stream: ReadableStream<Uint8Array>, onStage: (data: unknown) => Promise<void>): Promise<{ result: string } | { code: ErrorCode }> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buf += value.replace(/\r\n/g, '\n');
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const { event, data } = parseSseBlock(buf.slice(0, cut));
      buf = buf.slice(cut + 2);
      if (event === 'stage') await onStage(JSON.parse(data));
      else if (event === 'result') {
        await reader.cancel().catch(() => undefined);
        return { result: data };
      } else if (event === 'error') {
        await reader.cancel().catch(() => undefined);
        return { code: passableErrorCode(data) ?? 'UPSTREAM_UNAVAILABLE' };
      }
    }
    if (done) return { code: 'UPSTREAM_UNAVAILABLE' }; // the stream broke off before its end
  }
}

/** A job message Queues gave up on: the job fails and its unit is released, never left reserved. */
export async function deadLetter(env: Bindings, jobId: string): Promise<void> {
  const job = await getJobById(env.DB, jobId);
  if (!job || (job.status !== 'queued' && job.status !== 'running')) return;
  // A duplicate message may die while another delivery still runs the job: that one settles it.
  if (leaseLeftMs(job) > 0) return;
  // INTERNAL is ours: the job's Idempotency-Key is freed for the client's retry, as for any 5xx.
  const { jobEnded } = await releaseUnit(env.DB, { requestId: job.id, keyId: job.key_id }, 'INTERNAL', undefined, { unbindJobKey: true });
  await addJobEvent(env.DB, job.id, 'dead_letter', null);
  if (jobEnded) await afterJobEnded(env, job);
}

export async function sendWebhook(env: Bindings, jobId: string, attempt: number): Promise<Outcome> {
  const job = await getJobById(env.DB, jobId);
  if (!job?.webhook_url) return { ack: true };
  if (!(await keyIsActive(env.DB, job.key_id))) {
    await addJobEvent(env.DB, job.id, 'webhook.refused', { reason: 'the API key was revoked' });
    return { ack: true };
  }
  const problem = webhookUrlProblem(job.webhook_url, { allowLoopback: env.WEBHOOK_ALLOW_LOOPBACK === 'true' });
  if (problem) {
    await addJobEvent(env.DB, job.id, 'webhook.refused', { reason: problem });
    return { ack: true };
  }
  // The job's own language (its call's lang or Accept-Language, kept in its query): the receiver shows the error to that user.
  const lang = new URLSearchParams(job.query).get('lang') === 'zh' ? 'zh' : 'en';
  const body = JSON.stringify({ type: `reconstruction.${job.status}`, timestamp: new Date().toISOString(), data: jobView(job, { lang, events: await jobEvents(env.DB, job.id) }) });
  const d = await deliverWebhook({ url: job.webhook_url, secret: await webhookSecretFor(env.DB, job.key_id), id: `evt_${job.id}_${job.status}`, body });
  await addJobEvent(env.DB, job.id, d.ok ? 'webhook.delivered' : 'webhook.failed', { attempt, status: d.status ?? null, error: d.error ?? null, ms: d.ms });
  // 410 Gone: the receiver says the endpoint is no more; retrying would only be refused again.
  if (d.ok || d.status === 410 || attempt > WEBHOOK_RETRY_DELAYS_S.length) return { ack: true };
  return { retryAfterS: WEBHOOK_RETRY_DELAYS_S[attempt - 1] };
}

/**
 * Waits between webhook attempts: a receiver down for a deploy or a night still gets its event
 * (about 13 hours in all, in the spirit of Standard Webhooks' schedule); the consumer's max_retries
 * in wrangler.toml is their count.
 */
export const WEBHOOK_RETRY_DELAYS_S = [5, 30, 120, 600, 1800, 3600, 3 * 3600, 8 * 3600];

export async function queue(batch: MessageBatch<JobMessage>, env: Bindings): Promise<void> {
  for (const msg of batch.messages) {
    const { jobId } = msg.body;
    let out: Outcome;
    try {
      if (batch.queue.startsWith('facerecon-jobs-dlq')) {
        await deadLetter(env, jobId);
        out = { ack: true };
      } else if (batch.queue.startsWith('facerecon-webhooks')) out = await sendWebhook(env, jobId, msg.attempts);
      else out = await runJob(env, jobId);
    } catch (err) {
      // One message's failure (D1 or R2 unavailable a moment) is retried on its own, after a pause,
      // not with the whole batch at once.
      console.error(JSON.stringify({ event: 'queue_message_failed', queue: batch.queue, jobId, error: (err as Error).message }));
      out = { retryAfterS: backoffSeconds(msg.attempts) };
    }
    if ('ack' in out) msg.ack();
    else msg.retry({ delaySeconds: out.retryAfterS });
  }
}

/**
 * What the scheduled purge repairs, so that no job depends on one message: a job queued for more than
 * 5 minutes, or running under a lease that lapsed a minute ago, gets its message again (a client that
 * hung up between the job's insert and its send, a delivery that died), and an ended job with a
 * webhook_url and no webhook on record gets one (the purge's own TIMEOUTs, an ending whose send failed).
 * Duplicates are harmless: the claim is atomic, and a webhook's id is the same on every delivery.
 */
export async function repairJobs(env: Bindings, opts: { jobMaxAgeMs: number; now?: number }): Promise<{ resent: number; webhooksOwed: number }> {
  const now = opts.now ?? Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const lost = await env.DB.prepare(
    "SELECT id FROM jobs WHERE mode = 'async' AND created_at > ? AND ((status = 'queued' AND created_at < ?) OR (status = 'running' AND lease_until < ?)) LIMIT 100",
  )
    .bind(iso(now - opts.jobMaxAgeMs), iso(now - 5 * 60_000), iso(now - 60_000))
    .all<{ id: string }>();
  for (const j of lost.results) await env.JOBS.send({ jobId: j.id } satisfies JobMessage);
  const owed = await env.DB.prepare(
    "SELECT id FROM jobs WHERE webhook_url IS NOT NULL AND status IN ('succeeded', 'failed', 'canceled') AND finished_at < ? AND finished_at > ? AND NOT EXISTS (SELECT 1 FROM job_events WHERE job_id = jobs.id AND type LIKE 'webhook.%') LIMIT 100",
  )
    .bind(iso(now - 2 * 60_000), iso(now - 24 * 3600_000))
    .all<{ id: string }>();
  for (const j of owed.results) await queueWebhook(env, j.id, { by: 'purge' });
  return { resent: lost.results.length, webhooksOwed: owed.results.length };
}
