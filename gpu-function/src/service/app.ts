/**
 * The gpu-function's HTTP API (internal: only the edge calls it).
 *   GET  /healthz            alive (no auth)
 *   GET  /readyz             models loaded and storage writable (no auth; the storage probe is cached)
 *   GET  /metrics            Prometheus text (bearer token when configured; see AppDeps.metricsAccess)
 *   POST /v1/reconstruct     HMAC-signed; raw image body; options in the query; JSON or SSE
 *   DELETE /v1/assets/<day>/<folder>  HMAC-signed; erases one asset set (a deleted job); 204
 *   GET  /assets/<key>       local store only: HMAC-signed, expiring URLs
 */
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import {
  ASSET_FILES,
  ERROR_SPECS,
  FaceReconError,
  ReconstructOptionsSchema,
  BODY_SHA256_HEADER,
  NONCE_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  readBodyWithLimit,
  sha256Hex,
  timingSafeEqualString,
  toErrorBody,
  verifySignedHash,
  type ErrorCode,
  type Lang,
} from '@facerecon/shared';
import type { ModelRuntimeHealth } from '../adapters/onnx';
import type { Logger } from './logger';
import type { ServiceMetrics } from './metrics';
import { runReconstruction, type PipelineDeps } from './pipeline';
import type { WorkQueue } from './queue';
import { LocalAssetStore } from './store/local';

export interface AppDeps extends PipelineDeps {
  queue: WorkQueue;
  /** The loaded models' providers and the ones failing run after run (adapters/onnx.ts modelRuntimeHealth). */
  modelHealth: () => ModelRuntimeHealth;
  metrics: ServiceMetrics;
  logger: Logger;
  /** Accepted signing secrets: the current one, and the previous one during a rotation. */
  signingSecrets: readonly string[];
  deadlineMs: number;
  maxBodyBytes: number;
  /** True once SIGTERM arrived: refuse new work, finish what runs. */
  isDraining: () => boolean;
  /**
   * Who may read /metrics: holders of a bearer token, anyone (development), or no one (production
   * without a token: the route is then simply not there).
   */
  metricsAccess: { token: string } | 'open' | 'closed';
}

/**
 * How long a successful storage probe answers /readyz. Each probe is a PUT and a DELETE on the bucket
 * (billed operations), and /readyz needs no credentials: uncached, any caller could make the service
 * write to its bucket as fast as it can send GETs. Failures are not cached, so recovery shows at once.
 */
export const READY_PROBE_TTL_MS = 10_000;

type Env = { Variables: { requestId: string; lang: Lang } };

const ID_RE = /^[A-Za-z0-9_-]{8,64}$/;

export function createApp(deps: AppDeps): Hono<Env> {
  const app = new Hono<Env>();
  app.use('*', async (c, next) => {
    const given = c.req.header('x-request-id');
    c.set('requestId', given && ID_RE.test(given) ? given : crypto.randomUUID().replace(/-/g, ''));
    c.set('lang', c.req.query('lang') === 'zh' ? 'zh' : 'en');
    await next();
    c.header('x-request-id', c.get('requestId'));
  });

  const fail = (c: Context<Env>, code: ErrorCode, extra: Record<string, string> = {}) => {
    for (const [k, v] of Object.entries(extra)) c.header(k, v);
    return c.json(toErrorBody(code, { requestId: c.get('requestId'), lang: c.get('lang') }), ERROR_SPECS[code].status as 400);
  };

  // Alive unless the face models keep failing to run (a lost CUDA context does not heal in this process):
  // then a liveness probe (Cloud Run's) replaces the instance rather than routing requests to it.
  const modelsFailing = () => {
    const failing = deps.modelHealth().failing;
    return failing.length ? `face models failing: ${failing.map((f) => `${f.model} (${f.provider}) ${f.failuresInARow} runs in a row`).join(', ')}` : undefined;
  };
  app.get('/healthz', (c) => {
    const failing = modelsFailing();
    return failing ? c.json({ ok: false, reason: failing }, 503) : c.json({ ok: true });
  });

  // One probe at a time, its success reused for READY_PROBE_TTL_MS.
  let probe: { at: number; pending?: Promise<void> } | undefined;
  const probeStore = async (): Promise<void> => {
    if (probe && !probe.pending && performance.now() - probe.at < READY_PROBE_TTL_MS) return;
    if (probe?.pending) return probe.pending;
    const pending = deps.store.probe();
    probe = { at: performance.now(), pending };
    try {
      await pending;
      probe = { at: performance.now() };
    } catch (err) {
      probe = undefined;
      throw err;
    }
  };

  app.get('/readyz', async (c) => {
    if (deps.isDraining()) return c.json({ ready: false, reason: 'shutting down' }, 503);
    const failing = modelsFailing();
    if (failing) return c.json({ ready: false, reason: failing }, 503);
    try {
      await probeStore();
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'storage probe failed');
      return c.json({ ready: false, reason: 'storage not writable' }, 503);
    }
    // provider: the detector's (kept for probes that read it); providers: every loaded model's.
    const health = deps.modelHealth();
    return c.json({ ready: true, provider: deps.landmarker.provider, providers: health.providers, ...(health.fallbacks ? { provider_fallbacks: health.fallbacks } : {}), store: deps.store.kind, queue: { running: deps.queue.running, waiting: deps.queue.depth } });
  });

  app.get('/metrics', async (c) => {
    const access = deps.metricsAccess;
    if (access === 'closed') return fail(c, 'NOT_FOUND');
    if (access !== 'open') {
      const given = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
      if (!timingSafeEqualString(given, access.token)) return c.text('metrics need the bearer token (FACERECON_METRICS_TOKEN)', 401, { 'www-authenticate': 'Bearer' });
    }
    return c.text(await deps.metrics.registry.metrics(), 200, { 'content-type': deps.metrics.registry.contentType });
  });

  app.get('/assets/*', async (c) => {
    if (!(deps.store instanceof LocalAssetStore)) return fail(c, 'NOT_FOUND');
    let key: string;
    try {
      key = decodeURIComponent(c.req.path.slice('/assets/'.length));
    } catch {
      return fail(c, 'NOT_FOUND'); // a malformed %-escape names no asset
    }
    const check = await deps.store.check(key, c.req.query('expires'), c.req.query('sig'));
    if (!check.ok) return fail(c, check.code);
    // The one table of asset types (shared's ASSET_FILES), as the S3 store sets them on upload.
    const known = Object.values(ASSET_FILES).find((a) => a.file === key.split('/').pop())?.contentType;
    const type = known === 'text/plain' ? 'text/plain; charset=utf-8' : (known ?? 'application/octet-stream');
    let body: Uint8Array;
    try {
      body = await deps.store.read(check.path);
    } catch (err) {
      // Swept (expired or erased) between the check and the read: gone, not an internal fault.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fail(c, 'NOT_FOUND');
      throw err;
    }
    // The signed URL is the credential, so any origin may read it (the web page loads the GLB with fetch).
    return c.body(new Uint8Array(body), 200, {
      'content-type': type,
      'cache-control': 'private, max-age=3600',
      'content-disposition': `attachment; filename="${key.split('/').pop()}"`,
      'x-content-type-options': 'nosniff',
      'access-control-allow-origin': '*',
    });
  });

  /**
   * The edge's signed request, checked in the order that costs an attacker most and us least: the
   * headers and the HMAC over the declared body hash before one body byte is read (the service is
   * reachable from the internet on Cloud Run and Modal: a 15 MB body held for 30 s per forged request
   * would be memory for the taking), then the nonce, single-use across restarts and replicas (the
   * store is shared, keyed by the signed timestamp's day so a replay just after midnight still finds
   * it), and last the capped body, which must hash to what was signed. Returns the body, or the
   * response that refuses the request.
   */
  const verifySigned = async (c: Context<Env>, method: 'POST' | 'DELETE'): Promise<{ body: Uint8Array } | { refused: Response }> => {
    const reject = (reason: string) => {
      deps.logger.child({ requestId: c.get('requestId') }).warn({ outcome: 'BAD_SIGNATURE', reason }, 'rejected request signature');
      deps.metrics.requests.inc({ outcome: 'BAD_SIGNATURE' });
      return { refused: fail(c, 'BAD_SIGNATURE') };
    };
    const url = new URL(c.req.url);
    const declared = c.req.header(BODY_SHA256_HEADER);
    const verdict = await verifySignedHash({
      secret: deps.signingSecrets,
      method,
      pathWithQuery: url.pathname + url.search,
      bodySha256: declared,
      timestamp: c.req.header(TIMESTAMP_HEADER),
      nonce: c.req.header(NONCE_HEADER),
      signature: c.req.header(SIGNATURE_HEADER),
    });
    if (!verdict.ok) {
      await c.req.raw.body?.cancel().catch(() => undefined);
      return reject(verdict.reason);
    }
    let fresh: boolean;
    try {
      fresh = await deps.store.claimOnce(`nonces/${new Date(verdict.timestamp * 1000).toISOString().slice(0, 10)}/${verdict.nonce}`);
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'nonce ledger unavailable');
      return { refused: fail(c, 'STORAGE_UNAVAILABLE') };
    }
    if (!fresh) {
      await c.req.raw.body?.cancel().catch(() => undefined);
      return reject('replayed');
    }
    let body: Uint8Array;
    try {
      body = await readBodyWithLimit(c.req.raw, deps.maxBodyBytes);
    } catch (err) {
      if (err instanceof FaceReconError) return { refused: fail(c, err.code) };
      throw err;
    }
    if (!timingSafeEqualString(await sha256Hex(body), declared!)) return reject('body');
    return { body };
  };

  // Erasure of one asset set (a job deleted at the edge): every file a reconstruction can write under
  // the folder, whether or not it exists, so the call is idempotent. 204 either way.
  app.delete('/v1/assets/:day/:folder', async (c) => {
    const { day, folder } = c.req.param();
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || !/^[0-9a-f]{32}$/.test(folder)) return fail(c, 'NOT_FOUND');
    const checked = await verifySigned(c, 'DELETE');
    if ('refused' in checked) return checked.refused;
    try {
      await deps.store.deleteKeys(Object.values(ASSET_FILES).map((a) => `${day}/${folder}/${a.file}`));
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'asset erase failed');
      return fail(c, 'STORAGE_UNAVAILABLE');
    }
    deps.logger.child({ requestId: c.get('requestId') }).info({ outcome: 'erased', folder: `${day}/${folder}` }, 'assets erased');
    return c.body(null, 204);
  });

  app.post('/v1/reconstruct', async (c) => {
    const requestId = c.get('requestId');
    const started = performance.now();
    const log = deps.logger.child({ requestId });
    const checked = await verifySigned(c, 'POST');
    if ('refused' in checked) return checked.refused;
    const { body } = checked;
    const url = new URL(c.req.url);

    const parsed = ReconstructOptionsSchema.safeParse(Object.fromEntries(url.searchParams));
    if (!parsed.success) {
      deps.metrics.requests.inc({ outcome: 'INVALID_REQUEST' });
      const res = toErrorBody('INVALID_REQUEST', { requestId, lang: c.get('lang') });
      return c.json({ error: { ...res.error, hint: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') } }, 400);
    }
    const options = parsed.data;
    c.set('lang', options.lang);
    if (deps.isDraining()) return fail(c, 'OVERLOADED', { 'retry-after': '5' });
    if (body.byteLength === 0) return fail(c, 'INVALID_IMAGE');

    const finish = (outcome: string, extra: object = {}) => {
      deps.metrics.requests.inc({ outcome });
      log.info({ outcome, ms: Math.round(performance.now() - started), ...extra }, 'reconstruct');
    };
    // A caller that hangs up (the edge's deadline passed) leaves the queue, or stops the work at the
    // next stage boundary, so no orphaned asset set is stored for a request nobody will see.
    const gone = c.req.raw.signal;
    const job = (onStage?: (stage: string, ms: number) => void) => deps.queue.run((signal) => runReconstruction(body, options, deps, { requestId, signal, onStage }), deps.deadlineMs, gone);
    const errorCode = (err: unknown): ErrorCode => {
      if (err instanceof FaceReconError) return err.code;
      log.error({ err: (err as Error)?.message, stack: (err as Error)?.stack }, 'unexpected failure');
      return 'INTERNAL';
    };
    const observe = (r: { timings_ms: Record<string, number> }) => {
      for (const [stage, ms] of Object.entries(r.timings_ms)) if (stage !== 'total') deps.metrics.stageSeconds.observe({ stage }, ms / 1000);
    };

    if ((c.req.header('accept') ?? '').includes('text/event-stream')) {
      // Refuse before opening the stream, so an overloaded caller gets a plain 503 it can retry.
      if (deps.queue.full) {
        finish('OVERLOADED');
        return fail(c, 'OVERLOADED', { 'retry-after': String(deps.queue.retryAfterSeconds()) });
      }
      return streamSSE(c, async (stream) => {
        try {
          const result = await job((stage, ms) => {
            void stream.writeSSE({ event: 'stage', data: JSON.stringify({ stage, elapsed_ms: Math.round(ms * 100) / 100 }) });
          });
          observe(result);
          finish('ok', { timings: result.timings_ms, conservative: result.conservative });
          await stream.writeSSE({ event: 'result', data: JSON.stringify(result) });
        } catch (err) {
          const code = errorCode(err);
          finish(code, { detail: err instanceof FaceReconError ? err.detail : undefined });
          await stream.writeSSE({ event: 'error', data: JSON.stringify({ status: ERROR_SPECS[code].status, ...toErrorBody(code, { requestId, lang: options.lang }) }) });
        }
      });
    }

    try {
      const result = await job();
      observe(result);
      finish('ok', { timings: result.timings_ms, conservative: result.conservative });
      return c.json(result);
    } catch (err) {
      const code = errorCode(err);
      finish(code, { detail: err instanceof FaceReconError ? err.detail : undefined });
      return fail(c, code, code === 'OVERLOADED' ? { 'retry-after': String(deps.queue.retryAfterSeconds()) } : code === 'MODEL_UNAVAILABLE' ? { 'retry-after': '1' } : {});
    }
  });

  app.notFound((c) => fail(c, 'NOT_FOUND'));
  app.onError((err, c) => {
    deps.logger.error({ requestId: c.get('requestId'), err: err.message }, 'unhandled error');
    return fail(c, err instanceof FaceReconError ? err.code : 'INTERNAL');
  });
  return app;
}
