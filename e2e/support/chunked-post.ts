/**
 * An attacker's upload for the body-limit tests: a chunked POST (no Content-Length) of up to `offer`
 * bytes, written until the server answers. Returns the status and how much had been written then, so
 * a test can show the server answered long before the body ended.
 *
 * One chunk per turn of the event loop, as a real uploader's socket writes go: written in a tight
 * loop, the answer could not be read until the loop yielded, and a server in the same process
 * (the tests', the reliability report's) drains an unread body only for a while (@hono/node-server:
 * 500 ms or 64 MB) before it closes the socket, so the caller saw a reset instead of the answer.
 * A reset before any answer resolves with status 0 rather than throwing, for the caller to judge.
 */
import { request } from 'node:http';

export function chunkedPost(url: string, headers: Record<string, string>, offer: number, chunkBytes = 256 * 1024): Promise<{ status: number; sent: number }> {
  return new Promise((resolve) => {
    let sent = 0;
    let answered = false;
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      res.resume();
      resolve({ status: res.statusCode!, sent });
      req.destroy();
    });
    req.on('error', () => {
      if (answered) return;
      answered = true;
      resolve({ status: 0, sent });
    });
    const chunk = Buffer.alloc(chunkBytes, 7);
    const pump = () => {
      if (answered) return;
      if (sent >= offer) return void req.end();
      sent += chunk.byteLength;
      if (req.write(chunk)) setImmediate(pump);
      else req.once('drain', pump);
    };
    pump();
  });
}
