/**
 * POST /v1/reconstructions: validate and pre-crop the photo, check quota and idempotency, forward to
 * the gpu-function, relay JSON or the SSE progress stream, and meter the outcome (billed only on success).
 */
import { Hono, type Context } from 'hono';
import { ERROR_SPECS, FaceReconError, ReconstructOptionsSchema, sha256Hex, toErrorBody, type ErrorCode } from '@facerecon/shared';
import type { AppEnv } from '../env';
import { billedThisMonth, claimIdempotencyKey, completeIdempotencyKey, recordUsage, releaseIdempotencyKey } from '../lib/billing';
import { precrop } from '../lib/precrop';
import { errorResponse, pickLang } from '../lib/respond';
import { forwardToGpu, upstreamErrorCode } from '../lib/upstream';
import { UPLOAD_LIMITS, validateUpload } from '../lib/validate';
import { requireApiKey } from '../middleware/auth';
import { rateLimit } from '../middleware/rate-limit';

export const reconstructions = new Hono<AppEnv>();

reconstructions.use('*', requireApiKey, rateLimit);

interface Upload {
  bytes: Uint8Array;
  fields: Record<string, string>;
}

async function readUpload(c: Context<AppEnv>): Promise<Upload> {
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > UPLOAD_LIMITS.maxBytes + 64 * 1024) throw new FaceReconError('IMAGE_TOO_LARGE', { detail: `content-length ${declared}` });
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('multipart/form-data')) {
    let form: FormData;
    try {
      form = await c.req.formData();
    } catch {
      throw new FaceReconError('INVALID_REQUEST', { detail: 'malformed multipart body' });
    }
    const images = form.getAll('image');
    if (images.length !== 1 || typeof images[0] === 'string') throw new FaceReconError('INVALID_REQUEST', { detail: `expected one file field "image", got ${images.length}` });
    const fields: Record<string, string> = {};
    for (const k of ['uv_size', 'formats', 'lang', 'model']) {
      const v = form.getAll(k);
      if (v.length > 1) throw new FaceReconError('INVALID_REQUEST', { detail: `field ${k} given ${v.length} times` });
      if (typeof v[0] === 'string') fields[k] = v[0];
    }
    return { bytes: new Uint8Array(await (images[0] as File).arrayBuffer()), fields };
  }
  return { bytes: new Uint8Array(await c.req.arrayBuffer()), fields: {} };
}

reconstructions.post('/', async (c) => {
  const key = c.get('apiKey');
  const requestId = c.get('requestId');
  const idemKey = c.req.header('idempotency-key');
  if (idemKey !== undefined && !/^[\x21-\x7e]{8,128}$/.test(idemKey)) return errorResponse(c, 'INVALID_REQUEST', { hint: 'Idempotency-Key: 8-128 printable ASCII characters.' });
  const usage = { requestId, keyId: key.id, idempotencyKey: idemKey, bytesIn: 0, bytesForwarded: 0 };
  const fail = async (code: ErrorCode, extra: { headers?: Record<string, string>; hint?: string } = {}) => {
    await recordUsage(c.env.DB, { ...usage, outcome: code, billed: false });
    return errorResponse(c, code, extra);
  };

  let upload: Upload;
  try {
    upload = await readUpload(c);
  } catch (err) {
    return fail(err instanceof FaceReconError ? err.code : 'INVALID_REQUEST');
  }
  usage.bytesIn = upload.bytes.byteLength;
  const parsed = ReconstructOptionsSchema.safeParse({ ...Object.fromEntries(new URL(c.req.url).searchParams), ...upload.fields });
  if (!parsed.success) return fail('INVALID_REQUEST', { hint: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
  // Language: an explicit `lang` (field or query) wins, else Accept-Language.
  c.set('lang', pickLang(upload.fields.lang ?? c.req.query('lang'), c.req.header('accept-language')));
  const options = { ...parsed.data, lang: c.get('lang') };

  let header;
  try {
    header = validateUpload(upload.bytes);
  } catch (err) {
    const code = err instanceof FaceReconError ? err.code : 'INVALID_IMAGE';
    return fail(code, code === 'IMAGE_TOO_LARGE' && upload.bytes.byteLength > 5 * 1024 * 1024 ? { hint: ERROR_SPECS.IMAGE_TOO_LARGE.hint[c.get('lang')] } : {});
  }

  if ((await billedThisMonth(c.env.DB, key.id)) >= key.monthly_quota) return fail('QUOTA_EXCEEDED');

  const query = new URLSearchParams({ uv_size: String(options.uv_size), formats: options.formats.join(','), lang: options.lang, model: options.model });
  let idem = false;
  if (idemKey) {
    const bodyHash = await sha256Hex(`${await sha256Hex(upload.bytes)}\n${query}`);
    const state = await claimIdempotencyKey(c.env.DB, key.id, idemKey, bodyHash);
    if (state.kind === 'conflict') return fail('IDEMPOTENCY_KEY_REUSED');
    if (state.kind === 'in_progress') return fail('IDEMPOTENCY_IN_PROGRESS', { headers: { 'retry-after': '2' } });
    if (state.kind === 'replay') {
      await recordUsage(c.env.DB, { ...usage, outcome: 'IDEMPOTENT_REPLAY', billed: false });
      return new Response(state.body, { status: state.status, headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true', 'x-request-id': requestId } });
    }
    idem = true;
  }
  // What happens to the idempotency record once the outcome is known: final outcomes are kept and
  // replayed; transient upstream failures release the key so a retry really retries.
  const settle = async (status: number, body: string, code: ErrorCode | 'ok') => {
    const billed = code === 'ok';
    await recordUsage(c.env.DB, { ...usage, outcome: code, billed });
    if (!idem) return;
    if (status >= 500) await releaseIdempotencyKey(c.env.DB, key.id, idemKey!);
    else await completeIdempotencyKey(c.env.DB, key.id, idemKey!, status, body);
  };

  const started = Date.now();
  let forwarded;
  try {
    forwarded = await precrop(upload.bytes, header, Number(c.env.PRECROP_LONG_SIDE ?? 1536));
  } catch {
    const body = JSON.stringify(toErrorBody('INVALID_IMAGE', { requestId, lang: c.get('lang') }));
    await settle(400, body, 'INVALID_IMAGE');
    return errorResponse(c, 'INVALID_IMAGE');
  }
  usage.bytesForwarded = forwarded.bytes.byteLength;
  c.header('x-edge-precrop', `${forwarded.resized ? 'resized' : 'as-is'}; bytes-in=${upload.bytes.byteLength}; bytes-out=${forwarded.bytes.byteLength}; ms=${forwarded.cpuMs}`);
  const wantsStream = (c.req.header('accept') ?? '').includes('text/event-stream');

  let res: Response;
  try {
    res = await forwardToGpu({
      baseUrl: c.env.GPU_FUNCTION_URL,
      secret: c.env.GPU_SIGNING_SECRET,
      body: forwarded.bytes,
      contentType: forwarded.contentType,
      query,
      requestId,
      timeoutMs: Number(c.env.UPSTREAM_TIMEOUT_MS ?? 45_000),
      accept: wantsStream ? 'text/event-stream' : 'application/json',
    });
  } catch (err) {
    const code = err instanceof FaceReconError ? err.code : 'UPSTREAM_UNAVAILABLE';
    await settle(ERROR_SPECS[code].status, '', code);
    return errorResponse(c, code);
  }

  if (res.ok && wantsStream && (res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    // Relay the events as they come; the last one (result or error) decides billing.
    let tail = '';
    const decoder = new TextDecoder();
    const relay = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        tail = (tail + decoder.decode(chunk, { stream: true })).slice(-1_000_000);
        ctl.enqueue(chunk);
      },
      async flush() {
        const last = tail.trim().split('\n\n').at(-1) ?? '';
        const event = /^event: (.*)$/m.exec(last)?.[1];
        const data = /^data: (.*)$/m.exec(last)?.[1] ?? '';
        if (event === 'result') await settle(200, data, 'ok');
        else {
          let code: ErrorCode = 'UPSTREAM_UNAVAILABLE';
          let status = 502;
          try {
            const e = JSON.parse(data) as { status: number; error: { code: ErrorCode } };
            code = e.error.code;
            status = e.status;
          } catch {
            // stream cut short
          }
          await settle(status, data, code);
        }
      },
    });
    return new Response(res.body!.pipeThrough(relay), { status: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-request-id': requestId } });
  }

  if (res.ok) {
    const text = await res.text();
    await settle(200, text, 'ok');
    c.header('x-edge-ms', String(Date.now() - started));
    return c.body(text, 200, { 'content-type': 'application/json' });
  }
  const code = await upstreamErrorCode(res);
  const body = JSON.stringify(toErrorBody(code, { requestId, lang: c.get('lang') }));
  await settle(ERROR_SPECS[code].status, body, code);
  const retryAfter = res.headers.get('retry-after');
  return errorResponse(c, code, retryAfter ? { headers: { 'retry-after': retryAfter } } : {});
});
