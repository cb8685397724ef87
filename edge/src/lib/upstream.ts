/**
 * Forwarding to the gpu-function: the request signed as it requires (HMAC over method, path, time,
 * nonce and body hash), a deadline, one retry after a 503 with backoff, and upstream failures mapped
 * to public error codes. Nothing of the upstream's own error text, hosts or stacks reaches the caller.
 */
import { ERROR_CODES, FaceReconError, insecureUrlReason, signRequest, type ErrorCode } from '@facerecon/shared';

export interface ForwardOptions {
  baseUrl: string;
  secret: string;
  body: Uint8Array;
  contentType: string;
  query: URLSearchParams;
  requestId: string;
  timeoutMs: number;
  accept?: string;
  /** Backoff before the single retry on 503 (ms). */
  retryDelayMs?: number;
  /** Aborts the upstream request (the caller went away); the deadline applies either way. */
  signal?: AbortSignal;
}

export async function forwardToGpu(opts: ForwardOptions): Promise<Response> {
  // The photo and the signed request never go to the gpu-function in clear text beyond loopback.
  const insecure = insecureUrlReason(opts.baseUrl);
  if (insecure) throw new FaceReconError('INTERNAL', { detail: `GPU_FUNCTION_URL: ${insecure}` });
  const path = `/v1/reconstruct${opts.query.size ? `?${opts.query}` : ''}`;
  // One deadline for the whole exchange, the retry and the streamed body included.
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const attempt = async () => {
    const headers = await signRequest({ secret: opts.secret, method: 'POST', pathWithQuery: path, body: opts.body });
    return fetch(`${opts.baseUrl}${path}`, {
      method: 'POST',
      body: opts.body,
      headers: { ...headers, 'content-type': opts.contentType, 'x-request-id': opts.requestId, ...(opts.accept ? { accept: opts.accept } : {}) },
      signal: opts.signal ? AbortSignal.any([deadline, opts.signal]) : deadline,
    });
  };
  try {
    let res = await attempt();
    if (res.status === 503) {
      const after = Number(res.headers.get('retry-after'));
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, Math.min(5000, Number.isFinite(after) && after > 0 ? after * 1000 : (opts.retryDelayMs ?? 500))));
      res = await attempt();
    }
    return res;
  } catch (err) {
    throw new FaceReconError(upstreamFailureCode(err), { detail: (err as Error)?.message });
  }
}

/** A failed exchange with the gpu-function (connect or body read): the deadline's abort is TIMEOUT. */
export function upstreamFailureCode(err: unknown): ErrorCode {
  const name = (err as Error)?.name;
  return name === 'TimeoutError' || name === 'AbortError' ? 'TIMEOUT' : 'UPSTREAM_UNAVAILABLE';
}

/**
 * Codes that are never the gpu-function's to give a caller: its authentication (a signature it refused
 * is our fault), its asset links' (a misrouted GPU_FUNCTION_URL answering NOT_FOUND to a POST), and
 * the ones this edge owns (the caller's key, quota, rate and idempotency; a notice, not an error).
 */
const NOT_FROM_UPSTREAM = new Set<string>(['UNAUTHORIZED', 'BAD_SIGNATURE', 'HTTPS_REQUIRED', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'LINK_EXPIRED', 'FORBIDDEN', 'KEY_REVOKED', 'RATE_LIMITED', 'QUOTA_EXCEEDED', 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_IN_PROGRESS', 'LIGHTING_UNAVAILABLE']);

/**
 * The gpu-function's error code as the caller may see it: one of ours, but none of NOT_FROM_UPSTREAM.
 * Parses an error body (`{ error: { code } }`) given as JSON text or object; undefined for anything else.
 */
export function passableErrorCode(body: unknown): ErrorCode | undefined {
  try {
    const code = (typeof body === 'string' ? (JSON.parse(body) as { error?: { code?: string } }) : (body as { error?: { code?: string } }))?.error?.code;
    return code && (ERROR_CODES as string[]).includes(code) && !NOT_FROM_UPSTREAM.has(code) ? (code as ErrorCode) : undefined;
  } catch {
    return undefined;
  }
}

/** The public code for an upstream failure: its own code when it is one of ours, else by status. */
export async function upstreamErrorCode(res: Response): Promise<ErrorCode> {
  const code = passableErrorCode(await res.text().catch(() => ''));
  if (code) return code;
  if (res.status === 504) return 'TIMEOUT';
  if (res.status === 503) return 'OVERLOADED';
  if (res.status === 401) return 'INTERNAL'; // our own signing is wrong: an internal fault, not the caller's
  return 'UPSTREAM_UNAVAILABLE';
}

/**
 * Erases one asset set on the gpu-function (a deleted job): a signed DELETE of its folder, which the
 * gpu-function answers 204 whether or not the files were still there.
 */
export async function eraseAssetsOnGpu(opts: { baseUrl: string; secret: string; folder: string; requestId: string }): Promise<boolean> {
  if (insecureUrlReason(opts.baseUrl)) return false;
  const path = `/v1/assets/${opts.folder}`;
  try {
    const headers = await signRequest({ secret: opts.secret, method: 'DELETE', pathWithQuery: path, body: new Uint8Array(0) });
    const res = await fetch(`${opts.baseUrl}${path}`, { method: 'DELETE', headers: { ...headers, 'x-request-id': opts.requestId }, signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    return res.status === 204;
  } catch {
    return false;
  }
}
