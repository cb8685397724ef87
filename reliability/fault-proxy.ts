/**
 * A fault-injecting HTTP proxy between the edge and the real gpu-function: it passes requests through,
 * or delays them, answers 500, or drops the connection mid-request, as a test switches it. The
 * gpu-function behind it is the real one; only the network between them misbehaves.
 */
import { createServer, request, type Server } from 'node:http';

export type FaultMode = { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'error500' } | { kind: 'drop' };

export interface FaultProxy {
  url: string;
  mode: FaultMode;
  /** Requests that reached the proxy, by mode at the time. */
  seen: string[];
  /** Points the proxy at another gpu-function (e.g. once the stack has bound its port). */
  retarget(target: string): void;
  close(): Promise<void>;
}

/** A proxy to `target`, or to nothing yet (502) until `retarget` names the gpu-function. */
export async function startFaultProxy(target?: string): Promise<FaultProxy> {
  let t = target === undefined ? undefined : new URL(target);
  const state: FaultProxy = { url: '', mode: { kind: 'pass' }, seen: [], retarget: (next) => void (t = new URL(next)), close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const mode = state.mode;
    state.seen.push(mode.kind);
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) clientGone = true;
    });
    req.on('end', async () => {
      if (mode.kind === 'drop') {
        req.socket.destroy(); // the gpu-function "dies" with the request in flight
        return;
      }
      if (mode.kind === 'error500') {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('Error: out of memory at worker 10.1.2.3 (stack ...)');
        return;
      }
      if (mode.kind === 'delay') {
        await new Promise((r) => setTimeout(r, mode.ms));
        // The edge gave up during the delay: like a slow server whose caller hung up, the work never
        // starts. Forwarding it anyway would finish a reconstruction no one asked for any more, and its
        // late uploads would land in whichever scenario runs next.
        if (clientGone) return;
      }
      if (!t) {
        res.writeHead(502).end();
        return;
      }
      const up = request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      // A caller that hangs up mid-request hangs up on the gpu-function too (it stops and cleans up).
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  state.close = () => new Promise((r) => server.close(() => r()));
  return state;
}
