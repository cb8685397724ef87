/**
 * An S3 endpoint that checks AWS Signature Version 4, for the production-profile tests: a gateway in
 * front of s3rver (which stores objects but verifies no signature, only that the key id is its own). Every request must carry a valid
 * SigV4 signature, in the Authorization header or as a presigned query, made with a known access key;
 * a wrong key, a tampered path, query or signed header, a payload that does not match its declared
 * hash, or an expired URL is refused with 403 before anything reaches the store. It also enforces
 * `If-None-Match: *` on PUT (412 when the object exists), as S3 and R2 do, because the gpu-function's
 * replay ledger relies on it.
 *
 * The signature is recomputed here from the AWS specification, independently of the AWS SDK that signs
 * (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html); the unit test checks
 * this verifier against the examples published there.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';

export interface Credentials {
  [accessKeyId: string]: string;
}

const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const hmac = (k: string | Buffer, s: string) => createHmac('sha256', k).update(s).digest();
/** RFC 3986 encoding as SigV4 wants it (unreserved characters kept, everything else %XX upper-case). */
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export interface SignedRequest {
  method: string;
  /** The path as sent (already URI-encoded by the client). */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  payloadSha256: string;
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

export function canonicalRequest(r: SignedRequest, signedHeaders: string[], excludeQuery: string[] = []): string {
  const query = [...r.query.entries()]
    .filter(([k]) => !excludeQuery.includes(k))
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = signedHeaders.map((h) => `${h}:${(r.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  return [r.method, r.path, query, headers, signedHeaders.join(';'), r.payloadSha256].join('\n');
}

export function signature(secret: string, amzDate: string, scope: string, canonical: string): string {
  const [date, region, service] = scope.split('/');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  return createHmac('sha256', signingKey(secret, date, region, service)).update(toSign).digest('hex');
}

const amzTime = (d: string) => Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15));

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Verifies one request (header or presigned query signature) against the known credentials. */
export function verifySigV4(r: SignedRequest, creds: Credentials, now = Date.now()): Verdict {
  const auth = r.headers.authorization;
  if (auth) {
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8}\/[^/]+\/s3\/aws4_request), ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return { ok: false, reason: 'malformed Authorization' };
    const [, key, scope, signed, sig] = m;
    if (!(key in creds)) return { ok: false, reason: 'unknown access key' };
    const amzDate = r.headers['x-amz-date'];
    if (!amzDate || Math.abs(now - amzTime(amzDate)) > 15 * 60_000) return { ok: false, reason: 'request time outside 15 minutes' };
    if (!signed.split(';').includes('host')) return { ok: false, reason: 'host not signed' };
    const declared = r.headers['x-amz-content-sha256'];
    if (!declared) return { ok: false, reason: 'no x-amz-content-sha256' };
    if (declared !== 'UNSIGNED-PAYLOAD' && !declared.startsWith('STREAMING-') && declared !== r.payloadSha256) return { ok: false, reason: 'payload does not match its hash' };
    const expected = signature(creds[key], amzDate, scope, canonicalRequest({ ...r, payloadSha256: declared }, signed.split(';')));
    return expected === sig ? { ok: true } : { ok: false, reason: 'signature mismatch' };
  }
  const q = r.query;
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return { ok: false, reason: 'unsigned' };
  const cred = q.get('X-Amz-Credential') ?? '';
  const [key, ...scopeParts] = cred.split('/');
  const scope = scopeParts.join('/');
  if (!(key in creds)) return { ok: false, reason: 'unknown access key' };
  const amzDate = q.get('X-Amz-Date') ?? '';
  const expires = Number(q.get('X-Amz-Expires'));
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || !Number.isInteger(expires) || expires < 1 || expires > 604_800) return { ok: false, reason: 'malformed presigned query' };
  if (now > amzTime(amzDate) + expires * 1000) return { ok: false, reason: 'expired' };
  const signed = (q.get('X-Amz-SignedHeaders') ?? '').split(';');
  const expected = signature(creds[key], amzDate, scope, canonicalRequest({ ...r, payloadSha256: 'UNSIGNED-PAYLOAD' }, signed, ['X-Amz-Signature']));
  return expected === q.get('X-Amz-Signature') ? { ok: true } : { ok: false, reason: 'signature mismatch' };
}

export interface Sigv4Gateway {
  url: string;
  /** Requests refused, with the reason (for test diagnostics). */
  refused: string[];
  close(): Promise<void>;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const s3Error = (code: string, message: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;

export async function startSigv4Gateway(opts: { target: string; credentials: Credentials }): Promise<Sigv4Gateway> {
  const target = new URL(opts.target);
  const refused: string[] = [];
  const forward = (method: string, path: string, headers: Record<string, string>, body?: Buffer) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
      const up = request({ hostname: target.hostname, port: target.port, method, path, headers: { ...headers, host: target.host } }, async (res) => resolve({ status: res.statusCode!, headers: res.headers, body: await readAll(res) }));
      up.on('error', reject);
      up.end(body);
    });
  const server: Server = createServer(async (req, res) => {
    try {
      const body = await readAll(req);
      const url = new URL(req.url!, 'http://gateway');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
      const verdict = verifySigV4({ method: req.method!, path: url.pathname, query: url.searchParams, headers, payloadSha256: sha256(body) }, opts.credentials);
      if (!verdict.ok) {
        refused.push(`${req.method} ${url.pathname}: ${verdict.reason}`);
        res.writeHead(403, { 'content-type': 'application/xml' }).end(s3Error('SignatureDoesNotMatch', verdict.reason));
        return;
      }
      if (req.method === 'PUT' && headers['if-none-match'] === '*') {
        const head = await forward('HEAD', url.pathname, {});
        if (head.status === 200) {
          res.writeHead(412, { 'content-type': 'application/xml' }).end(s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'));
          return;
        }
      }
      // s3rver checks only that the access key is its own (S3RVER) and no signature: the request,
      // verified above, goes on under that key.
      const fwdHeaders = { ...headers, ...(headers.authorization ? { authorization: headers.authorization.replace(/Credential=[^/]+\//, 'Credential=S3RVER/') } : {}) };
      if (url.searchParams.has('X-Amz-Credential')) url.searchParams.set('X-Amz-Credential', url.searchParams.get('X-Amz-Credential')!.replace(/^[^/]+\//, 'S3RVER/'));
      const up = await forward(req.method!, `${url.pathname}${url.search}`, fwdHeaders, body);
      res.writeHead(up.status, up.headers as Record<string, string>).end(up.body);
    } catch (err) {
      res.writeHead(502).end(String(err));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    refused,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
