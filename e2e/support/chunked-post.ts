/**
 * An attacker's upload for the body-limit tests: a chunked POST (no Content-Length) of up to `offer`
 * bytes, written until the server answers. Returns the status and how much had been written then, so
 * a test can show the server answered long before the body ended.
 */
import { request } from 'node:http';

export function chunkedPost(url: string, headers: Record<string, string>, offer: number, chunkBytes = 256 * 1024): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode!, sent });
      req.destroy();
    });
    req.on('error', (err) => (answered ? undefined : reject(err)));
    const chunk = Buffer.alloc(chunkBytes, 7);
    const pump = () => {
      while (!answered && sent < offer) {
        sent += chunk.byteLength;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}
