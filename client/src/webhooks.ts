/**
 * Verifying facerecon's webhooks (Standard Webhooks, standardwebhooks.com): the signature is
 * base64(HMAC-SHA256(key, `${webhook-id}.${webhook-timestamp}.${raw body}`)) where key is the base64
 * part of the `whsec_...` secret; `webhook-signature` may list several space-separated `v1,<sig>`
 * (during a secret rotation). The timestamp must be within `toleranceS` of now (replays).
 * Uses WebCrypto (`crypto.subtle`): browsers, Node 19+, workers; on Node 18 (no global WebCrypto without a flag) and React Native pass `hmacSha256`.
 */
import type { components } from './generated/api';

/** A webhook's body, as the OpenAPI document's `webhooks` section describes it (generated, not hand-written). */
export type WebhookEvent = components['schemas']['WebhookEvent'];

type Hmac = (key: Uint8Array, message: Uint8Array) => Promise<Uint8Array>;

const fromB64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const toB64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));

async function subtleHmac(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (!subtle) throw new Error('verifyWebhook needs WebCrypto, or an hmacSha256 function');
  const k = await subtle.importKey('raw', key as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', k, message as BufferSource));
}

/**
 * Returns the parsed event when the delivery is genuine and fresh; throws otherwise. Pass the raw
 * body exactly as received (before any JSON parsing) and the headers as Headers or a plain object (any
 * spelling of the names).
 */
export async function verifyWebhook(opts: { secret: string; body: string; headers: Record<string, string | undefined> | Headers; toleranceS?: number; now?: number; hmacSha256?: Hmac }): Promise<WebhookEvent> {
  const get = (name: string): string | undefined => {
    const h = opts.headers;
    if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
    // Header names are case-insensitive, and frameworks hand plain objects over in their own spelling
    // (Node's lower case, others' Webhook-Id as sent).
    const key = Object.keys(h).find((k) => k.toLowerCase() === name);
    return key === undefined ? undefined : (h as Record<string, string | undefined>)[key];
  };
  const id = get('webhook-id');
  const ts = get('webhook-timestamp');
  const sigs = get('webhook-signature');
  if (!id || !ts || !sigs) throw new Error('not a facerecon webhook: webhook-id, -timestamp or -signature missing');
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  if (!/^\d+$/.test(ts) || Math.abs(now - Number(ts)) > (opts.toleranceS ?? 300)) throw new Error('webhook timestamp outside the tolerance');
  const mac = toB64(await (opts.hmacSha256 ?? subtleHmac)(fromB64(opts.secret.replace(/^whsec_/, '')), new TextEncoder().encode(`${id}.${ts}.${opts.body}`)));
  // Constant-time over equal-length strings.
  const ok = sigs.split(' ').some((s) => {
    const [v, sig] = s.split(',');
    if (v !== 'v1' || !sig || sig.length !== mac.length) return false;
    let d = 0;
    for (let i = 0; i < sig.length; i++) d |= sig.charCodeAt(i) ^ mac.charCodeAt(i);
    return d === 0;
  });
  if (!ok) throw new Error('webhook signature does not match');
  return JSON.parse(opts.body) as WebhookEvent;
}
