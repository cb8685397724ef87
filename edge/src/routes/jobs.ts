/**
 * The job side of /v1/reconstructions: GET one (status, error or result, events and webhook
 * deliveries), GET the list (newest first, cursor-paged), DELETE one (cancel a queued or running job,
 * or erase a finished one's assets and stored result; idempotent). A key sees only its own jobs:
 * another key's id is 404, the same as an id that never existed.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { assetFolderOf, ERROR_SPECS, toErrorBody } from '@facerecon/shared';
import { rebindIdempotentResponse, releaseUnit } from '../lib/billing';
import { cancelJob, eraseJobResult, getJob, jobEvents, jobView, listJobs, parseCursor, TERMINAL } from '../lib/jobs';
import { errorResponse, pickLang } from '../lib/respond';
import { eraseAssetsOnGpu } from '../lib/upstream';
import { webhookSecretFor } from '../lib/webhooks';
import { requireApiKey } from '../middleware/auth';
import { rateLimitReads } from '../middleware/rate-limit';
import { afterJobEnded } from '../queue';

export const jobs = new Hono<AppEnv>();
// Only on the job routes: POST (reconstructions.ts) authenticates for itself.
jobs.on(
  ['GET', 'DELETE'],
  ['/', '/:id'],
  requireApiKey,
  async (c, next) => {
    c.set('lang', pickLang(c.req.query('lang'), c.req.header('accept-language')));
    await next();
  },
  rateLimitReads,
);

const ID = /^[0-9a-f]{32}$/;

jobs.get('/', async (c) => {
  const rawLimit = c.req.query('limit');
  const limit = rawLimit === undefined ? 20 : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) return errorResponse(c, 'INVALID_REQUEST', { hint: { en: 'limit: a whole number from 1 to 100.', zh: 'limit：1 到 100 之间的整数。' } });
  const cursor = c.req.query('cursor');
  const after = cursor === undefined ? undefined : parseCursor(cursor);
  // A cursor we did not write would restart the list from the top, and a client could page forever.
  if (after === null) return errorResponse(c, 'INVALID_REQUEST', { hint: { en: 'cursor: pass next_cursor from the previous page as it is.', zh: 'cursor：请原样传入上一页返回的 next_cursor。' } });
  const { jobs: rows, next } = await listJobs(c.env.DB, c.get('apiKey').id, { limit, after });
  return c.json({ object: 'list', data: rows.map((j) => jobView(j, { lang: c.get('lang') })), next_cursor: next ?? null });
});

jobs.get('/:id', async (c) => {
  const id = c.req.param('id');
  const job = ID.test(id) ? await getJob(c.env.DB, c.get('apiKey').id, id) : null;
  if (!job) return errorResponse(c, 'NOT_FOUND');
  const view = jobView(job, { lang: c.get('lang'), events: await jobEvents(c.env.DB, id) });
  return c.json(view, 200, TERMINAL.includes(job.status) ? {} : { 'retry-after': '1' });
});

jobs.delete('/:id', async (c) => {
  const id = c.req.param('id');
  const key = c.get('apiKey');
  const db = c.env.DB;
  const job = ID.test(id) ? await getJob(db, key.id, id) : null;
  if (!job) return errorResponse(c, 'NOT_FOUND');
  if (await cancelJob(db, key.id, id)) {
    // Not billed; a result that arrives later is discarded and its assets erased (queue.ts, and
    // reconstructions.ts for a synchronous call), and a retry of the call replays the cancellation.
    await releaseUnit(db, { requestId: id, keyId: key.id }, 'CANCELED');
    await rebindIdempotentResponse(db, key.id, id, { status: ERROR_SPECS.CANCELED.status, body: JSON.stringify(toErrorBody('CANCELED', { requestId: id, lang: c.get('lang') })) }, 'in_progress');
    // The cancel happened: a failure here (the webhook's queue, the photo's delete) must not answer 500
    // for it. The purge queues a webhook an ended job lacks and deletes ended jobs' photos.
    await afterJobEnded(c.env, job).catch(() => undefined);
  } else {
    // Read again: a commit that landed between the first read and the cancel left a result, which the
    // caller asked to erase (the first read's copy had none).
    const ended = await getJob(db, key.id, id);
    if (!ended?.result) {
      // Erased already, by a DELETE whose last step (the replay's rebinding below) may have failed after
      // the erase: the retried DELETE finishes it, or a retry of the call would replay the erased result
      // (its landmarks, its pose) for the rest of the day. Idempotent.
      if (ended?.erased_at) await rebindIdempotentResponse(db, key.id, id, { status: 200, body: JSON.stringify(jobView(ended, { lang: c.get('lang') })) }, 'done');
      return c.json(jobView(ended ?? job, { lang: c.get('lang') }));
    }
    const folder = assetFolderOf(ended.result);
    if (folder && !(await eraseAssetsOnGpu({ baseUrl: c.env.GPU_FUNCTION_URL, secret: c.env.GPU_SIGNING_SECRET, folder, requestId: c.get('requestId') }))) {
      return errorResponse(c, 'STORAGE_UNAVAILABLE', { headers: { 'retry-after': '5' } });
    }
    await eraseJobResult(db, key.id, id);
    // A retry of the request with its Idempotency-Key now replays the erasure, not the result.
    const erased = jobView((await getJob(db, key.id, id))!, { lang: c.get('lang') });
    await rebindIdempotentResponse(db, key.id, id, { status: 200, body: JSON.stringify(erased) }, 'done');
  }
  return c.json(jobView((await getJob(db, key.id, id))!, { lang: c.get('lang') }));
});

/** GET /v1/webhook-secret: the key's Standard Webhooks secret (whsec_...), made on first use. */
export const webhookSecret = new Hono<AppEnv>();
webhookSecret.get('/', requireApiKey, rateLimitReads, async (c) => c.json({ secret: await webhookSecretFor(c.env.DB, c.get('apiKey').id), scheme: 'standard-webhooks v1' }));
