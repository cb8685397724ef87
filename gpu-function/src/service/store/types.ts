/**
 * Where result assets live and how callers reach them: one interface, a local-directory store with
 * HMAC-signed URLs served by this service (the embedded default) and an S3-compatible store with
 * presigned GET URLs (R2, S3, GCS interop).
 */
export interface AssetStore {
  readonly kind: 'local' | 's3';
  /** Writes the object; `signal` (the request's deadline) abandons a write the store does not answer. */
  put(key: string, body: Uint8Array, contentType: string, signal?: AbortSignal): Promise<void>;
  /** A URL that lets anyone holding it GET the asset until `ttlSeconds` from now, and not after. */
  signedUrl(key: string, ttlSeconds: number): Promise<string>;
  /**
   * Removes exactly these objects (the clean-up of a failed request deletes what that request wrote,
   * never a prefix, so it cannot reach another request's files). Throws unless every one is gone: an
   * erasure the caller was told succeeded must have.
   */
  deleteKeys(keys: readonly string[]): Promise<void>;
  /**
   * Creates `key` only if it does not exist yet; false when it already did. This is the service's
   * shared, durable single-use ledger (signature nonces): it survives restarts and is seen by every
   * replica using the same store. Local: an exclusive create (O_EXCL); S3/R2: a conditional PUT
   * (If-None-Match: *, answered 412 when the object exists).
   */
  claimOnce(key: string): Promise<boolean>;
  /** Throws unless the store accepts a write and a delete right now (readiness). */
  probe(): Promise<void>;
}

/** Keys are `YYYY-MM-DD/<request id>/<file>`: only these characters, no empty or dot segments. */
export function assertSafeKey(key: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/.test(key) || key.split('/').some((s) => s === '.' || s === '..') || key.length > 512) {
    throw new RangeError(`unsafe asset key "${key}"`);
  }
}
