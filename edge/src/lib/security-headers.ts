/**
 * Security headers for every page the edge serves: the static page (written into edge/public/_headers
 * by `npm run web:build`, which Workers static assets apply) and the worker's own HTML (/docs).
 * The page bundles all of its code (no CDN, no inline script or style), so scripts and styles are
 * 'self' only. Asset downloads (GLB, PNG) come from signed URLs on another origin (the gpu-function's
 * local store or the object store), so images and fetches may go to any http(s) origin; what they
 * fetch is data, never code (the GLB loader reads its embedded textures through blob: URLs).
 * frame-ancestors 'none' (and X-Frame-Options for old browsers) stops click-jacking of the key field.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: http: https:",
  "connect-src 'self' blob: data: http: https:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': PAGE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
};

/** The `_headers` file of Workers static assets: these headers on every path of the page. */
export function staticHeadersFile(): string {
  return `/*\n${Object.entries(PAGE_SECURITY_HEADERS).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`;
}
