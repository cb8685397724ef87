/**
 * Reading a request body with a hard cap, for both services (WebStreams only: workerd and Node).
 * `Content-Length` is checked first, so a declared oversize body is refused without reading a byte;
 * a chunked body (no length) is counted while it streams and the read is cancelled the moment it
 * passes the cap, so memory stays bounded by the cap whatever the client sends.
 */
import { FaceReconError } from './errors';

export async function readBodyWithLimit(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    await req.body?.cancel().catch(() => undefined);
    throw new FaceReconError('IMAGE_TOO_LARGE', { detail: `content-length ${declared} > ${maxBytes}` });
  }
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new FaceReconError('IMAGE_TOO_LARGE', { detail: `body passed ${maxBytes} bytes while streaming` });
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
