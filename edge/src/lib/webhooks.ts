/**
 * Webhooks signed as Standard Webhooks (standardwebhooks.com, the scheme Svix, OpenAI and others use):
 * headers `webhook-id` (stable across retries of one event, so receivers can deduplicate),
 * `webhook-timestamp` (Unix seconds) and `webhook-signature` = `v1,` + base64(HMAC-SHA256(key,
 * `${id}.${timestamp}.${body}`)), where key is the base64 part of the key's `whsec_...` secret.
 *
 * SSRF: the URL is checked when the job is created and again before each delivery: https only
 * (http to loopback only where WEBHOOK_ALLOW_LOOPBACK is set, i.e. local development), no userinfo,
 * no IP literal in private, loopback, link-local (cloud metadata: 169.254.169.254), CGNAT,
 * special-purpose (192.0.0.0/24, 198.18.0.0/15) or unique-local ranges, no `localhost`/`.internal`/`.local` names. A Worker's fetch leaves from
 * Cloudflare's network, never from ours, so a public name that resolves to a private address reaches
 * nothing of ours. Redirects are not followed, the response body is read to at most 1 KiB, and each
 * attempt has a 10 s deadline.
 */

const B64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));

export function newWebhookSecret(): string {
  return `whsec_${B64(crypto.getRandomValues(new Uint8Array(24)))}`;
}

export async function signWebhook(secret: string, id: string, timestamp: number, body: string): Promise<string> {
  const raw = Uint8Array.from(atob(secret.replace(/^whsec_/, '')), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestamp}.${body}`)));
  return `v1,${B64(mac)}`;
}

/** The key's signing secret, made on first use (one statement: concurrent first uses agree). */
export async function webhookSecretFor(db: D1Database, keyId: string): Promise<string> {
  await db.prepare('UPDATE api_keys SET webhook_secret = ? WHERE id = ? AND webhook_secret IS NULL').bind(newWebhookSecret(), keyId).run();
  const row = await db.prepare('SELECT webhook_secret FROM api_keys WHERE id = ?').bind(keyId).first<{ webhook_secret: string }>();
  return row!.webhook_secret;
}

function ipv4Private(host: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  const c = Number(m[3]);
  // Also the special-purpose ranges no public receiver uses (RFC 6890): IETF protocol assignments
  // 192.0.0.0/24 and the benchmarking 198.18.0.0/15, which some networks route internally.
  return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 192 && b === 0 && c === 0) || (a === 198 && (b === 18 || b === 19)) || a >= 224;
}

function ipv6Private(host: string): boolean {
  if (!host.startsWith('[')) return false;
  const h = host.slice(1, -1).toLowerCase();
  return h === '::' || h === '::1' || /^f[cd]/.test(h) || /^fe[89ab]/.test(h) || h.startsWith('::ffff:') || h.startsWith('64:ff9b:');
}

const isLoopback = (host: string) => host === 'localhost' || host === '[::1]' || /^127\./.test(host);

/** Why this URL may not receive webhooks, or undefined when it may. */
export function webhookUrlProblem(raw: string, opts: { allowLoopback: boolean }): string | undefined {
  if (raw.length > 2048) return 'longer than 2048 characters';
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'not a URL';
  }
  if (u.username || u.password) return 'credentials in the URL';
  // A trailing dot names the same host (localhost. is localhost): the rules below see it without.
  const host = u.hostname.toLowerCase().replace(/\.+$/, '');
  if (opts.allowLoopback && isLoopback(host) && (u.protocol === 'http:' || u.protocol === 'https:')) return undefined;
  if (u.protocol !== 'https:') return 'https only';
  if (isLoopback(host) || ipv4Private(host) || ipv6Private(host)) return 'a private, loopback or link-local address';
  if (host.endsWith('.internal') || host.endsWith('.local') || host.endsWith('.localhost') || !host.includes('.')) return 'an internal host name';
  return undefined;
}

export interface Delivery {
  ok: boolean;
  status?: number;
  error?: string;
  ms: number;
}

export async function deliverWebhook(opts: { url: string; secret: string; id: string; body: string; timeoutMs?: number }): Promise<Delivery> {
  const t0 = Date.now();
  const ts = Math.floor(t0 / 1000);
  try {
    const res = await fetch(opts.url, {
      method: 'POST',
      body: opts.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
      headers: { 'content-type': 'application/json', 'user-agent': 'facerecon-webhooks/1', 'webhook-id': opts.id, 'webhook-timestamp': String(ts), 'webhook-signature': await signWebhook(opts.secret, opts.id, ts, opts.body) },
    });
    // Read at most 1 KiB of whatever the receiver says, then let go.
    const reader = res.body?.getReader();
    let read = 0;
    while (reader && read < 1024) {
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
    }
    await reader?.cancel().catch(() => undefined);
    return { ok: res.status >= 200 && res.status < 300, status: res.status, ms: Date.now() - t0 };
  } catch (err) {
    return { ok: false, error: (err as Error).name === 'TimeoutError' ? 'timeout' : 'connection failed', ms: Date.now() - t0 };
  }
}
