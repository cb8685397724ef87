/**
 * POST /v1/reconstructions: validate the photo from its header (it is forwarded as sent, lib/forward.ts), resolve the idempotency key, reserve a
 * unit of the quota, forward to the gpu-function, and relay JSON or the SSE progress stream. Billing
 * is atomic with delivery (lib/billing.ts): a result leaves the edge only after its unit is committed;
 * every failure, time-out and hang-up releases it.
 */
import { Hono, type Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { assetFolderOf, ERROR_SPECS, FaceReconError, IMAGE_TOO_LARGE_PIXELS_HINT, UPLOAD_LIMITS, ReconstructOptionsSchema, readBodyWithLimit, reconstructQuery, sha256Hex, toErrorBody, type ErrorCode } from '@facerecon/shared';
import type { AppEnv } from '../env';
import { claimIdempotencyKey, commitResult, looksLikeResult, recordUsage, releaseIdempotencyKey, releaseUnit, reserveUnit, staleAfterMs, storeIdempotentResponse, type Settlement } from '../lib/billing';
import { forwardedPhoto, type ForwardedPhoto } from '../lib/forward';
import { getJob, insertJob, insertJobStatement, jobView, newJobRow, settleUndelivered, TERMINAL } from '../lib/jobs';
import { webhookUrlProblem } from '../lib/webhooks';
import { errorResponse, pickLang, type LocalizedHint } from '../lib/respond';
import { relayWithBilling } from '../lib/sse-relay';
import { forwardToGpu, upstreamErrorCode, upstreamFailureCode } from '../lib/upstream';
import { cancelPollMs, watchForCancel } from '../lib/cancel-watch';
import { eraseAssets } from '../lib/erasures';
import { validateUpload } from '../lib/validate';
import { requireApiKey } from '../middleware/auth';
import { rateLimit } from '../middleware/rate-limit';

export const reconstructions = new Hono<AppEnv>();

// The rate limit meters reconstructions; polling a job (routes/jobs.ts) is not charged against it.
reconstructions.post('/', requireApiKey, rateLimit);

interface Upload {
  bytes: Uint8Array;
  fields: Record<string, string>;
}

/** Multipart framing on top of the largest photo. */
const MULTIPART_OVERHEAD = 64 * 1024;
/** A form's text fields are options and a URL (webhook_url is at most 2048 characters), and there are a dozen of them. */
const MAX_FIELD_CHARS = 4096;
const MAX_FORM_PARTS = 32;
/** The form fields read beside `image`: every option the query takes (from its schema, so none is forgotten), and webhook_url. */
const MULTIPART_FIELDS = [...Object.keys(ReconstructOptionsSchema.shape), 'webhook_url'];

async function readUpload(c: Context<AppEnv>): Promise<Upload> {
  // Capped before and while reading: Content-Length first, then the streamed byte count.
  const raw = await readBodyWithLimit(c.req.raw, UPLOAD_LIMITS.maxBytes + MULTIPART_OVERHEAD);
  const type = c.req.header('content-type') ?? '';
  if (!type.startsWith('multipart/form-data')) {
    if (raw.byteLength > UPLOAD_LIMITS.maxBytes) throw new FaceReconError('IMAGE_TOO_LARGE', { detail: `${raw.byteLength} bytes` });
    return { bytes: raw, fields: {} };
  }
  let form: FormData;
  try {
    form = await new Response(raw, { headers: { 'content-type': type } }).formData();
  } catch {
    throw new FaceReconError('INVALID_REQUEST', { detail: 'malformed multipart body' });
  }
  // Every other part is a short text field: one of 10 MB (a `formats` of ten million commas) cost the
  // option schema a second of CPU and ~100 MB, past the isolate's memory, before the image was looked at.
  let parts = 0;
  for (const [name, value] of form.entries()) {
    if (++parts > MAX_FORM_PARTS) throw new FaceReconError('INVALID_REQUEST', { detail: `more than ${MAX_FORM_PARTS} form parts` });
    if (typeof value === 'string' && value.length > MAX_FIELD_CHARS) throw new FaceReconError('INVALID_REQUEST', { detail: `field ${name.slice(0, 40)} longer than ${MAX_FIELD_CHARS} characters` });
  }
  const images = form.getAll('image');
  if (images.length !== 1 || typeof images[0] === 'string') throw new FaceReconError('INVALID_REQUEST', { detail: `expected one file field "image", got ${images.length}` });
  // The file itself within the limit, as a raw body is: found later, its refusal read as a photo of too
  // many pixels and got the hint to resize it rather than to compress it.
  if ((images[0] as File).size > UPLOAD_LIMITS.maxBytes) throw new FaceReconError('IMAGE_TOO_LARGE', { detail: `${(images[0] as File).size} bytes` });
  const fields: Record<string, string> = {};
  for (const k of MULTIPART_FIELDS) {
    const v = form.getAll(k);
    if (v.length > 1) throw new FaceReconError('INVALID_REQUEST', { detail: `field ${k} given ${v.length} times` });
    if (typeof v[0] === 'string') fields[k] = v[0];
  }
  return { bytes: new Uint8Array(await (images[0] as File).arrayBuffer()), fields };
}

function waitUntil(c: Context<AppEnv>, p: Promise<unknown>): void {
  // Background work's failure is logged, never an unhandled rejection (which ends a Node dev server).
  const logged = p.catch((err: unknown) => console.error(JSON.stringify({ event: 'background-failed', requestId: c.get('requestId'), error: String(err) })));
  try {
    c.executionCtx.waitUntil(logged);
  } catch {
    void logged; // no execution context (a direct app.fetch): the promise still runs
  }
}

/** POST / (JSON, or SSE with Accept: text/event-stream) and POST /stream (always SSE, its own OpenAPI operation). */
async function create(c: Context<AppEnv>, stream: boolean): Promise<Response> {
  const key = c.get('apiKey');
  const requestId = c.get('requestId');
  const db = c.env.DB;
  const idemKey = c.req.header('idempotency-key');
  if (idemKey !== undefined && !/^[\x21-\x7e]{8,128}$/.test(idemKey)) return errorResponse(c, 'INVALID_REQUEST', { hint: { en: 'Idempotency-Key: 8-128 printable ASCII characters.', zh: 'Idempotency-Key：8 到 128 个可打印 ASCII 字符。' } });
  const timeoutMs = Number(c.env.UPSTREAM_TIMEOUT_MS ?? 45_000);
  const usage = { requestId, keyId: key.id, clientRequestId: c.get('clientRequestId'), idempotencyKey: idemKey, bytesIn: 0 };
  // A refusal before a unit was reserved: one unbilled usage row.
  const refuse = async (code: ErrorCode, extra: { headers?: Record<string, string>; hint?: LocalizedHint } = {}) => {
    // The unbilled row is bookkeeping: D1 failing to write it must not turn NO_FACE into INTERNAL.
    await recordUsage(db, { ...usage, outcome: code, billed: false }).catch((err: unknown) => console.error(JSON.stringify({ event: 'usage-write-failed', requestId, outcome: code, error: String(err) })));
    return errorResponse(c, code, extra);
  };

  let upload: Upload;
  try {
    upload = await readUpload(c);
  } catch (err) {
    const code = err instanceof FaceReconError ? err.code : 'INVALID_REQUEST';
    return refuse(code); // IMAGE_TOO_LARGE's own hint (compress) comes with the error body
  }
  usage.bytesIn = upload.bytes.byteLength;
  // Language: an explicit `lang` (field or query) wins, else Accept-Language; set before validating the
  // options so that their refusals come in it too.
  c.set('lang', pickLang(upload.fields.lang ?? c.req.query('lang'), c.req.header('accept-language')));
  const search = new URL(c.req.url).searchParams;
  // One value per option: with two, one would be validated (the last) and another used (the first).
  const repeated = [...new Set(search.keys())].find((k) => search.getAll(k).length > 1);
  if (repeated !== undefined) return refuse('INVALID_REQUEST', { hint: { en: `query parameter ${repeated.slice(0, 40)} given more than once`, zh: `查询参数 ${repeated.slice(0, 40)} 重复出现，每个参数只能给一次` } });
  const parsed = ReconstructOptionsSchema.safeParse({ ...Object.fromEntries(search), ...upload.fields });
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    return refuse('INVALID_REQUEST', { hint: { en: detail, zh: `请求参数有误（${detail}）` } });
  }
  const lang = c.get('lang');
  const options = { ...parsed.data, lang };
  // Async jobs (RFC 7240 Prefer: respond-async, wait=N); a webhook_url asks for one too.
  const prefer = parsePrefer(c.req.header('prefer'));
  const webhookUrl = upload.fields.webhook_url ?? c.req.query('webhook_url');
  const asyncJob = prefer.respondAsync || prefer.waitS !== undefined || webhookUrl !== undefined;
  // /stream always streams: an async job or a webhook asked of it would be billed and then ignored.
  if (stream && asyncJob) return refuse('INVALID_REQUEST', { hint: { en: 'POST /v1/reconstructions/stream streams the result: send webhook_url or Prefer: respond-async to POST /v1/reconstructions.', zh: 'POST /v1/reconstructions/stream 以流式返回结果：webhook_url 或 Prefer: respond-async 请发送到 POST /v1/reconstructions。' } });
  if (webhookUrl !== undefined) {
    const problem = webhookUrlProblem(webhookUrl, { allowLoopback: c.env.WEBHOOK_ALLOW_LOOPBACK === 'true' });
    if (problem) return refuse('INVALID_REQUEST', { hint: { en: `webhook_url: ${problem}`, zh: `webhook_url 不可用（${problem}）` } });
  }

  let header;
  try {
    header = validateUpload(upload.bytes);
  } catch (err) {
    const code = err instanceof FaceReconError ? err.code : 'INVALID_IMAGE';
    // The bytes were within the limit (readUpload refuses more), so this is the picture's size: compressing
    // would not help, resizing does.
    return refuse(code, code === 'IMAGE_TOO_LARGE' ? { hint: IMAGE_TOO_LARGE_PIXELS_HINT } : {});
  }

  const query = reconstructQuery(options);
  if (idemKey) {
    // The language a retry's Accept-Language picks only words the messages: it is no new request, and
    // a phone that changed its language between two attempts must get its paid result, not a 422.
    const asked = new URLSearchParams(query);
    if ((upload.fields.lang ?? c.req.query('lang')) === undefined) asked.delete('lang');
    const bodyHash = await sha256Hex(`${await sha256Hex(upload.bytes)}\n${asked}\n${asyncJob ? `async ${webhookUrl ?? ''}` : 'sync'}`);
    const state = await claimIdempotencyKey(db, { keyId: key.id, idemKey, bodySha256: bodyHash, staleAfterMs: staleAfterMs(timeoutMs), owner: requestId });
    if (state.kind === 'conflict') return refuse('IDEMPOTENCY_KEY_REUSED');
    if (state.kind === 'in_progress') return refuse('IDEMPOTENCY_IN_PROGRESS', { headers: { 'retry-after': '2' } });
    if (state.kind === 'replay') {
      // A row of record only (unbilled): a failed write must not turn a paid result's replay into a 500.
      await recordUsage(db, { ...usage, outcome: 'IDEMPOTENT_REPLAY', billed: false }).catch(() => undefined);
      const replayed: Record<string, string> = { 'content-type': 'application/json', 'idempotent-replayed': 'true', 'x-request-id': requestId };
      if (state.status === 202) {
        replayed.location = `/v1/reconstructions/${(JSON.parse(state.body) as { id: string }).id}`;
        replayed['retry-after'] = '2'; // as the first 202 said: poll the job, not the POST
      } else {
        // The replay is a request of its own (its x-request-id names no job); Location names the job
        // whose answer it replays, for a GET or DELETE.
        const original = await db
          .prepare('SELECT u.request_id AS id FROM usage u JOIN jobs j ON j.id = u.request_id WHERE u.key_id = ? AND u.idempotency_key = ? ORDER BY u.created_at DESC LIMIT 1')
          .bind(key.id, idemKey)
          .first<{ id: string }>()
          .catch(() => null);
        if (original) replayed.location = `/v1/reconstructions/${original.id}`;
      }
      // Through the context, so the headers set before (X-RateLimit-Remaining) go out with it.
      return c.body(state.body, state.status as ContentfulStatusCode, replayed);
    }
  }
  // The unit is reserved before any work: concurrent calls cannot pass the quota.
  if (!(await reserveUnit(db, usage, key.monthly_quota))) {
    if (idemKey) await releaseIdempotencyKey(db, key.id, idemKey, { owner: requestId });
    return refuse('QUOTA_EXCEEDED');
  }
  const settlement: Settlement = { requestId, keyId: key.id, idempotencyKey: idemKey };
  const errorBody = (code: ErrorCode) => JSON.stringify(toErrorBody(code, { requestId, lang }));
  // A result that cannot be delivered (its job was canceled while the GPU worked, or its reservation
  // is gone) is not paid for: its assets belong to nobody and are erased, and the caller learns why.
  const discard = (result: string): Promise<ErrorCode | 'billed'> =>
    settleUndelivered(db, key.id, requestId, () => {
      const folder = assetFolderOf(result);
      if (folder) waitUntil(c, eraseAssets(c.env, folder, requestId));
    });
  const fail = async (code: ErrorCode, extra: { headers?: Record<string, string> } = {}) => {
    await releaseUnit(db, settlement, code, { status: ERROR_SPECS[code].status, body: errorBody(code) });
    return errorResponse(c, code, extra);
  };

  const started = Date.now();
  const forwarded = forwardedPhoto(upload.bytes, header);
  settlement.bytesForwarded = forwarded.bytes.byteLength;
  c.header('x-edge-forward', `as-sent; ${forwarded.contentType}; ${forwarded.width}x${forwarded.height}; bytes=${forwarded.bytes.byteLength}`);
  if (asyncJob && !stream) return acceptJob(c, { requestId, settlement, fail, forwarded, query, webhookUrl, idemKey, waitS: prefer.waitS, respondAsync: prefer.respondAsync });
  try {
    await insertJob(db, { id: requestId, key_id: key.id, mode: 'sync', status: 'running', query: query.toString() });
  } catch {
    return fail('INTERNAL');
  }
  const wantsStream = stream || (c.req.header('accept') ?? '').includes('text/event-stream');

  // The caller's own connection (workerd's request.signal, compatibility flag enable_request_signal).
  // A JSON caller that hangs up (a phone's client time-out, an app sent to the background) stops the
  // GPU work and pays nothing, as a stream's caller does (sse-relay.ts): the unit stayed reserved until
  // the purge, the key in progress, and the sync job running. Settled from the listener itself: on the
  // platform a hang-up ends the invocation, so code after an await may never run, while waitUntil
  // keeps the release going. releaseUnit changes only what is still reserved and in progress, so a
  // hang-up after the commit (the result on its way) leaves the paid result as it is.
  const callerGone = c.req.raw.signal;
  const hangUp = new AbortController();
  const onCallerGone = () => {
    hangUp.abort();
    waitUntil(c, releaseUnit(db, settlement, 'CANCELED')); // no response kept: the key's retry runs at once
  };
  callerGone.addEventListener('abort', onCallerGone, { once: true });
  const hungUp = (result?: string) => {
    const folder = result ? assetFolderOf(result) : undefined;
    if (folder) waitUntil(c, eraseAssets(c.env, folder, requestId));
    return errorResponse(c, 'CANCELED'); // read by nobody
  };
  if (callerGone.aborted) {
    onCallerGone();
    return hungUp();
  }
  // A DELETE of this call's job from another request (cancel-watch.ts) stops the GPU work as a hang-up
  // does. The DELETE released the unit and rebound the key; the caller's CANCELED releases them again
  // (releaseUnit changes only what is still reserved), for a DELETE whose release failed after its cancel.
  const watch = watchForCancel(db, requestId, { everyMs: cancelPollMs(c.env), onCancel: () => hangUp.abort() });
  let relaying = false;
  try {
    let res: Response;
    try {
      res = await forwardToGpu({
        baseUrl: c.env.GPU_FUNCTION_URL,
        secret: c.env.GPU_SIGNING_SECRET,
        body: forwarded.bytes,
        contentType: forwarded.contentType,
        query,
        requestId,
        timeoutMs,
        accept: wantsStream ? 'text/event-stream' : 'application/json',
        signal: hangUp.signal,
      });
    } catch (err) {
      if (callerGone.aborted) return hungUp();
      if (watch.canceled) return fail('CANCELED'); // the DELETE released it; again, in case its release failed
      return fail(err instanceof FaceReconError ? err.code : 'UPSTREAM_UNAVAILABLE');
    }

    if (res.ok && wantsStream && (res.headers.get('content-type') ?? '').includes('text/event-stream') && res.body) {
      callerGone.removeEventListener('abort', onCallerGone); // the relay settles a hang-up from here
      const body = relayWithBilling(res.body, {
        requestId,
        lang,
        abortUpstream: () => hangUp.abort(),
        waitUntil: (p) => waitUntil(c, p),
        readErrorCode: (err) => (watch.canceled ? 'CANCELED' : upstreamFailureCode(err)),
        callerGone,
        done: () => watch.stop(),
        hooks: {
          commit: async (data) => looksLikeResult(data) && (await commitResult(db, settlement, data)),
          discard,
          release: async (code, response) => void (await releaseUnit(db, settlement, code, response)),
        },
      });
      relaying = true; // the watch goes on while the relay reads, and stops when it is done
      return c.body(body, 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': requestId });
    }

    if (res.ok) {
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        if (watch.canceled) return fail('CANCELED'); // the DELETE released it; again, in case its release failed
        return callerGone.aborted ? hungUp() : fail(upstreamFailureCode(err));
      }
      if (!looksLikeResult(text)) return fail('UPSTREAM_UNAVAILABLE'); // a proxy's page in front of the gpu-function, not a result
      if (callerGone.aborted) return hungUp(text); // nobody to deliver to: not committed, its assets erased
      // A commit that threw (its reply lost, and the read-back failing as long as it was tried) is
      // settled by one more read, as one that said no: deliver it if it was billed after all.
      if (!(await commitResult(db, settlement, text).catch(() => false))) {
        const after = await discard(text);
        if (after !== 'billed') return fail(after);
      }
      c.header('x-edge-ms', String(Date.now() - started));
      return c.body(text, 200, { 'content-type': 'application/json' });
    }
    const code = await upstreamErrorCode(res);
    if (callerGone.aborted) return hungUp();
    if (watch.canceled) return fail('CANCELED'); // the DELETE released it; again, in case its release failed
    const retryAfter = res.headers.get('retry-after');
    return fail(code, retryAfter ? { headers: { 'retry-after': retryAfter } } : {});
  } finally {
    if (!relaying) watch.stop();
  }
}

reconstructions.post('/', (c) => create(c, false));
reconstructions.post('/stream', requireApiKey, rateLimit, (c) => create(c, true));

/** RFC 7240 preferences this API honours: respond-async and wait (seconds, at most 60). */
export function parsePrefer(header: string | undefined): { respondAsync: boolean; waitS?: number } {
  const out: { respondAsync: boolean; waitS?: number } = { respondAsync: false };
  for (const part of (header ?? '').split(/[,;]/)) {
    const [k, v] = part.trim().toLowerCase().split('=').map((x) => x?.trim().replace(/^"|"$/g, ''));
    if (k === 'respond-async') out.respondAsync = true;
    else if (k === 'wait' && /^\d+$/.test(v ?? '')) out.waitS = Math.min(60, Number(v));
  }
  return out;
}

/**
 * The async path: the photo goes to the uploads bucket (never into the message), the job record and
 * its reserved unit are written, and one message names the job. 202 with the job and its Location,
 * or, with Prefer: wait=N, the finished job when it ends within N seconds.
 */
async function acceptJob(
  c: Context<AppEnv>,
  a: { requestId: string; settlement: Settlement; fail: (code: ErrorCode) => Promise<Response>; forwarded: ForwardedPhoto; query: URLSearchParams; webhookUrl?: string; idemKey?: string; waitS?: number; respondAsync?: boolean },
): Promise<Response> {
  const db = c.env.DB;
  const key = c.get('apiKey');
  const photoKey = `uploads/${a.requestId}`;
  const lang = c.get('lang');
  const row = newJobRow({ id: a.requestId, key_id: key.id, mode: 'async', status: 'queued', query: a.query.toString(), photo_key: photoKey, photo_type: a.forwarded.contentType, webhook_url: a.webhookUrl });
  try {
    await c.env.UPLOADS.put(photoKey, a.forwarded.bytes, { httpMetadata: { contentType: a.forwarded.contentType } });
    // The job and the Idempotency-Key's 202 in one transaction: an isolate that dies between the two
    // would leave a job the key does not know, and a retry after the key went stale would start (and
    // bill) a second. The message may still be lost; the scheduled repair resends it (queue.ts).
    const stmts = [insertJobStatement(db, row)];
    if (a.idemKey) stmts.push(storeIdempotentResponse(db, key.id, a.idemKey, { status: 202, body: JSON.stringify(jobView(row, { lang })) }, a.requestId));
    await db.batch(stmts);
    await c.env.JOBS.send({ jobId: a.requestId });
  } catch {
    await c.env.UPLOADS.delete(photoKey).catch(() => undefined);
    await db.prepare("DELETE FROM jobs WHERE id = ? AND status = 'queued'").bind(a.requestId).run().catch(() => undefined);
    const refused = await a.fail('STORAGE_UNAVAILABLE');
    // Whether or not the batch reported success: one that landed while its reply was lost bound the
    // key to a 202 naming this job, and retries would replay it for a day. After the release above,
    // which ends the job if its delete failed (the key then stays only with a job still live).
    if (a.idemKey) await releaseIdempotencyKey(db, key.id, a.idemKey, { owner: a.requestId, boundToJob: a.requestId }).catch(() => undefined);
    return refused;
  }
  const location = `/v1/reconstructions/${a.requestId}`;
  // The job is committed and queued: from here a failed read must not answer 500 for a job that runs
  // (and is billed), so the first view is the row just written and the wait's reads end on an error.
  let view = jobView(row, { lang });
  if (a.waitS) {
    // Backing off: a wait of 60 s polled every 250 ms cost 240 reads per request.
    const until = Date.now() + a.waitS * 1000;
    for (let pause = 250; !TERMINAL.includes(view.status) && Date.now() < until; pause = Math.min(2000, pause * 2)) {
      await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(0, until - Date.now()))));
      const now = await getJob(db, key.id, a.requestId).catch(() => undefined);
      if (!now) break;
      view = jobView(now, { lang });
    }
  }
  const done = TERMINAL.includes(view.status);
  // RFC 7240: the preferences the client sent that were honoured, and only those (a webhook_url alone
  // makes a job without any Prefer; wait=0 is no wait).
  const applied = [...(a.respondAsync ? ['respond-async'] : []), ...(a.waitS ? [`wait=${a.waitS}`] : [])].join(', ');
  return c.json(view, done ? 200 : 202, { location, ...(done ? {} : { 'retry-after': '2' }), ...(applied ? { 'preference-applied': applied } : {}) });
}
