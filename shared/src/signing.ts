/**
 * Request signing between the edge and the gpu-function: HMAC-SHA256 over
 *   METHOD \n PATH-WITH-QUERY \n UNIX-SECONDS \n NONCE \n hex(SHA-256(body))
 * sent as `x-facerecon-timestamp`, `x-facerecon-nonce` (16-64 hex chars, fresh per request),
 * `x-facerecon-body-sha256` (the body's hash, so the verifier checks the HMAC, and claims the nonce,
 * before it reads one byte of a body of up to 15 MB: an unauthenticated caller could otherwise make a
 * public gpu-function buffer that much per connection) and `x-facerecon-signature` (lowercase hex). Covering the query protects the options, the body hash
 * the photo; the timestamp bounds a replay to the allowed skew and the verifier claims each nonce
 * once in a store every replica shares (the gpu-function's asset store), so the same signed request is
 * accepted once, even after a restart, and two identical photos sent in the same second still differ.
 *
 * WebCrypto only, so the same code runs in workerd (edge) and Node (gpu-function).
 */

export const SIGNATURE_HEADER = 'x-facerecon-signature';
export const TIMESTAMP_HEADER = 'x-facerecon-timestamp';
export const NONCE_HEADER = 'x-facerecon-nonce';
export const BODY_SHA256_HEADER = 'x-facerecon-body-sha256';
export const MAX_SKEW_SECONDS = 300;

const enc = new TextEncoder();

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

export async function sha256Hex(body: Uint8Array | string): Promise<string> {
  const data = typeof body === 'string' ? enc.encode(body) : body;
  return toHex(await crypto.subtle.digest('SHA-256', data as BufferSource));
}

export async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return toHex(await crypto.subtle.sign('HMAC', key, enc.encode(message)));
}

/** Equal-length strings compared without an early exit, so timing does not reveal the first difference. */
export function timingSafeEqualString(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  return diff === 0;
}

export function canonicalRequest(method: string, pathWithQuery: string, timestamp: number | string, nonce: string, bodySha256: string): string {
  return `${method.toUpperCase()}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${bodySha256}`;
}

export type SignedHeaders = Record<typeof TIMESTAMP_HEADER | typeof NONCE_HEADER | typeof SIGNATURE_HEADER | typeof BODY_SHA256_HEADER, string> & Record<string, string>;

export async function signRequest(opts: { secret: string; method: string; pathWithQuery: string; body: Uint8Array | string; now?: number; nonce?: string }): Promise<SignedHeaders> {
  const ts = String(Math.floor((opts.now ?? Date.now()) / 1000));
  const nonce = opts.nonce ?? toHex(crypto.getRandomValues(new Uint8Array(16)));
  const bodySha256 = await sha256Hex(opts.body);
  const sig = await hmacSha256Hex(opts.secret, canonicalRequest(opts.method, opts.pathWithQuery, ts, nonce, bodySha256));
  return { [TIMESTAMP_HEADER]: ts, [NONCE_HEADER]: nonce, [BODY_SHA256_HEADER]: bodySha256, [SIGNATURE_HEADER]: sig };
}

export type VerifyResult = { ok: true; nonce: string; timestamp: number } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch' };
export type HeaderCheck = { ok: true; nonce: string; timestamp: number } | { ok: false; reason: 'missing' | 'malformed' | 'stale' };

/**
 * The checks that need no body: presence, format and the time window. A verifier runs this before it
 * reads a single byte of the body, so an unsigned or stale request costs it no memory.
 */
export function checkSignatureHeaders(opts: {
  timestamp: string | null | undefined;
  nonce: string | null | undefined;
  signature: string | null | undefined;
  now?: number;
  maxSkewSeconds?: number;
}): HeaderCheck {
  if (!opts.timestamp || !opts.signature || !opts.nonce) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(opts.timestamp) || !/^[0-9a-f]{64}$/.test(opts.signature) || !/^[0-9a-f]{16,64}$/.test(opts.nonce)) return { ok: false, reason: 'malformed' };
  const ts = Number(opts.timestamp);
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  if (Math.abs(now - ts) > (opts.maxSkewSeconds ?? MAX_SKEW_SECONDS)) return { ok: false, reason: 'stale' };
  return { ok: true, nonce: opts.nonce, timestamp: ts };
}

interface SignedFields {
  secret: string | readonly string[];
  method: string;
  pathWithQuery: string;
  timestamp: string | null | undefined;
  nonce: string | null | undefined;
  signature: string | null | undefined;
  now?: number;
  maxSkewSeconds?: number;
}

/**
 * Full verification (headers, then the HMAC over the body's hash). `secret` may list several secrets:
 * during a rotation the verifier accepts the new one and the previous one, the signer uses one.
 */
export async function verifyRequestSignature(opts: SignedFields & { body: Uint8Array }): Promise<VerifyResult> {
  return verifySignedHash({ ...opts, bodySha256: await sha256Hex(opts.body) });
}

/**
 * The HMAC checked against a body hash the request declares (BODY_SHA256_HEADER), before the body is
 * read; the caller then reads the body and refuses it unless it hashes to `bodySha256`.
 */
export async function verifySignedHash(opts: SignedFields & { bodySha256: string | null | undefined }): Promise<VerifyResult> {
  const head = checkSignatureHeaders(opts);
  if (!head.ok) return head;
  if (!opts.bodySha256) return { ok: false, reason: 'missing' };
  if (!/^[0-9a-f]{64}$/.test(opts.bodySha256)) return { ok: false, reason: 'malformed' };
  const canonical = canonicalRequest(opts.method, opts.pathWithQuery, opts.timestamp!, head.nonce, opts.bodySha256);
  const secrets = typeof opts.secret === 'string' ? [opts.secret] : opts.secret;
  let match = false;
  // Every secret is tried (no early exit), so timing does not tell which one matched.
  for (const secret of secrets) if (timingSafeEqualString(await hmacSha256Hex(secret, canonical), opts.signature!)) match = true;
  if (!match) return { ok: false, reason: 'mismatch' };
  return head;
}
