/**
 * The SDK's errors: the API's own answers (FaceReconApiError, with its stable code), no answer after
 * the last attempt (FaceReconNetworkError), and a call stopped on this side (FaceReconAbortError).
 * reconstruct() and create() put their Idempotency-Key on each, so an app can retry later unbilled.
 */
import type { components } from './generated/api';
import { abortReason } from './retry';

export type ErrorBody = components['schemas']['Error'];
/** The API's stable error codes (the OpenAPI document's enum). */
export type ErrorCode = ErrorBody['error']['code'];

/**
 * An error the API answered with: its stable code, HTTP status, both messages and the request id; from
 * reconstruct() and create() also the call's Idempotency-Key (and the job, where one was polled).
 */
export class FaceReconApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly requestId?: string;
  readonly messageZh: string;
  readonly hint?: string;
  readonly retryAfterS?: number;
  readonly idempotencyKey?: string;
  readonly jobId?: string;
  constructor(status: number, body: ErrorBody, retryAfterS?: number) {
    super(body.error.message);
    this.name = 'FaceReconApiError';
    this.status = status;
    this.code = body.error.code;
    this.requestId = body.error.request_id;
    this.messageZh = body.error.message_zh;
    this.hint = body.error.hint;
    this.retryAfterS = retryAfterS;
  }
}

/**
 * No answer from the API after the last attempt: the network failed or an attempt timed out (`cause`).
 * A reconstruction may have run and been billed all the same: a retry with `idempotencyKey` gets its
 * answer without billing it again.
 */
export class FaceReconNetworkError extends Error {
  readonly idempotencyKey?: string;
  readonly jobId?: string;
  constructor(cause: unknown, idempotencyKey?: string) {
    super(messageOf(cause, 'no answer'));
    this.name = 'FaceReconNetworkError';
    // Assigned, not ES2022's constructor option, which the older engines this package targets ignore.
    (this as { cause?: unknown }).cause = cause;
    this.idempotencyKey = idempotencyKey;
  }
}
export interface FaceReconNetworkError {
  readonly cause: unknown;
}

/**
 * reconstruct() or create() stopped on this side before its answer: the caller's signal aborted it
 * (name 'AbortError', the signal's reason as `cause`, its message kept), or, where reconstruct() polls
 * a job, the wait timed out (name 'TimeoutError'; wait() throws that too). A job reconstruct() polled
 * is then canceled (DELETE, not billed), so its key answers 409 CANCELED from then on.
 */
export class FaceReconAbortError extends Error {
  readonly idempotencyKey?: string;
  readonly jobId?: string;
  constructor(name: 'AbortError' | 'TimeoutError', cause: unknown, ids: { idempotencyKey?: string; jobId?: string } = {}) {
    super(messageOf(cause, 'aborted'));
    this.name = name;
    (this as { cause?: unknown }).cause = cause;
    this.idempotencyKey = ids.idempotencyKey;
    this.jobId = ids.jobId;
  }
}
export interface FaceReconAbortError {
  readonly cause: unknown;
}

export function messageOf(err: unknown, fallback: string): string {
  const m = (err as { message?: unknown } | null | undefined)?.message;
  return typeof m === 'string' ? m : err === undefined ? fallback : String(err);
}

/**
 * The call's key (and job) on the SDK's own errors, so an app can retry later under it; an abort's
 * reason is the caller's object, shared by every call on that signal, so it is wrapped, not written to.
 */
export function keyed(err: unknown, signal: AbortSignal | undefined, key: string, jobId?: string): unknown {
  if (signal?.aborted && err === abortReason(signal)) return new FaceReconAbortError('AbortError', err, { idempotencyKey: key, jobId });
  if (err instanceof FaceReconApiError || err instanceof FaceReconNetworkError || err instanceof FaceReconAbortError) {
    const e = err as { idempotencyKey?: string; jobId?: string };
    e.idempotencyKey ??= key;
    e.jobId ??= jobId;
  }
  return err;
}

/** A caller's callback threw: the call ends with it as it is, never retried. */
export class CallbackFailure {
  constructor(readonly error: unknown) {}
}

/** The API's error answer as a FaceReconApiError (its body read under the attempt's time-out). */
export async function apiError(res: Response): Promise<FaceReconApiError> {
  const after = Number(res.headers.get('retry-after'));
  return new FaceReconApiError(res.status, errorBodyOf(res, await res.text()), Number.isFinite(after) && after > 0 ? after : undefined);
}

/** The codes a bare HTTP status stands for, when what answered was not the API (a gateway, a proxy). */
function codeForStatus(status: number): ErrorBody['error']['code'] {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 408 || status === 504) return 'TIMEOUT';
  if (status === 413) return 'IMAGE_TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 502) return 'UPSTREAM_UNAVAILABLE';
  if (status === 503) return 'OVERLOADED';
  return status >= 500 ? 'INTERNAL' : 'INVALID_REQUEST';
}

/** The API's error body, or one made from the status when the answer was not the API's JSON (an HTML 502). */
function errorBodyOf(res: Response, text: string): ErrorBody {
  try {
    const body = JSON.parse(text) as Partial<ErrorBody>;
    if (body?.error && typeof body.error.code === 'string' && typeof body.error.message === 'string') return body as ErrorBody;
  } catch {
    // not JSON
  }
  return { error: { code: codeForStatus(res.status), message: `HTTP ${res.status} from ${res.headers.get('server') ?? 'the network'}, not from the API`, message_zh: `网络返回 HTTP ${res.status}（非 API 应答）`, request_id: res.headers.get('x-request-id') ?? '' } };
}