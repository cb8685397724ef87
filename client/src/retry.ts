/** Backoff for retried calls: exponential with full jitter, never shorter than the server's Retry-After. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 4). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const t = Date.parse(header);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/** The longest Retry-After a call waits out; a server asking for more gets its answer returned instead. */
export const MAX_RETRY_AFTER_MS = 120_000;

/**
 * The wait before the next attempt: the backoff (capped at maxDelayMs), or the server's Retry-After if
 * that is longer (waiting less would only be refused again); undefined when the server asks for more
 * than MAX_RETRY_AFTER_MS, which is no longer a retry but a refusal.
 */
export function retryDelayMs(p: RetryPolicy, attempt: number, retryAfter: string | null | undefined, random = Math.random): number | undefined {
  const backoff = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + random() / 2);
  const asked = retryAfterMs(retryAfter) ?? 0;
  if (asked > MAX_RETRY_AFTER_MS) return undefined;
  return Math.max(backoff, asked);
}

const reasons = new WeakMap<AbortSignal, unknown>();

/**
 * What an aborted signal ends a call with: its reason, or where the platform's AbortSignal has none
 * (React Native's) one Error per signal, the same wherever it is thrown, so that an abort can be told
 * from any other failure by identity.
 */
export function abortReason(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  if (!reasons.has(signal)) reasons.set(signal, new Error('aborted'));
  return reasons.get(signal);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(t);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/** 128 random bits as hex: from WebCrypto where there is one, which every supported platform has. */
export function newIdempotencyKey(): string {
  const bytes = new Uint8Array(16);
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256); // a key, not a secret
  let s = 'fr-';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}
