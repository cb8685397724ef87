/**
 * A fault-injecting HTTP proxy between the edge and the real gpu-function: it passes requests through,
 * or delays them, answers 500, or drops the connection mid-request, as a test switches it. The
 * gpu-function behind it is the real one; only the network between them misbehaves.
 */
import { createServer, request, type Server } from 'node:http';

export type FaultMode = { kind: 'pass' } | { kind: 'delay'; ms: number } | { kind: 'error500' } | { kind: 'drop' } | { kind: 'dropWhileWorking'; afterMs: number };

export interface FaultProxy {
  url: string;
  mode: FaultMode;
  /** Requests that reached the proxy, by mode at the time. */
  seen: string[];
  /**
   * dropWhileWorking: how each drop went, in order: 'working' when the gpu-function had the request
   * and had not answered yet (the fault as meant), 'answered' when its answer came first, 'not sent'
   * when its body had not been sent to it yet.
   */
  drops: Array<'working' | 'answered' | 'not sent'>;
  /** Points the proxy at another gpu-function (e.g. once the stack has bound its port). */
  retarget(target: string): void;
  close(): Promise<void>;
}

/** A proxy to `target`, or to nothing yet (502) until `retarget` names the gpu-function. */
export async function startFaultProxy(target?: string): Promise<FaultProxy> {
  let t = target === undefined ? undefined : new URL(target);
  const state: FaultProxy = { url: '', mode: { kind: 'pass' }, seen: [], drops: [], retarget: (next) => void (t = new URL(next)), close: async () => undefined };
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
      let dropTimer: ReturnType<typeof setTimeout> | undefined;
      const up = request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers: req.headers }, (upRes) => {
        if (mode.kind === 'dropWhileWorking') {
          // Answered before the drop: the fault did not happen as meant; the caller still loses the answer.
          clearTimeout(dropTimer);
          state.drops.push('answered');
          upRes.destroy();
          req.socket.destroy();
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      if (mode.kind === 'dropWhileWorking') {
        // The gpu-function has the request (its body sent) and is working on it; the connection dies
        // both ways, as when the host between them fails: the gpu-function sees its caller gone, the
        // edge its upstream. A request that never got through is said so, not counted as the fault.
        let sent = false;
        up.once('finish', () => (sent = true));
        dropTimer = setTimeout(() => {
          state.drops.push(sent ? 'working' : 'not sent');
          up.destroy();
          req.socket.destroy();
        }, mode.afterMs);
      }
      up.on('error', () => {
        if (dropTimer) clearTimeout(dropTimer);
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
