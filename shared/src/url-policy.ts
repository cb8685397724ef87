/**
 * HTTPS everywhere but loopback: API keys, signed requests and signed asset URLs must never cross a
 * network in clear text. Plain http is allowed only to a loopback host (the embedded local stack and
 * tests), never by a flag that could be left on in production.
 */

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Why `url` is not allowed (plain http to a non-loopback host, or not http(s) at all), or undefined. */
export function insecureUrlReason(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `${url} is not a URL`;
  }
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && isLoopbackHost(u.hostname)) return undefined;
  return `${u.origin} must use https (plain http is allowed only on loopback)`;
}
