/**
 * Closed-loop load through the edge and the gpu-function on loopback with real photos: `clients`
 * callers each sending back to back for `seconds`. Reports throughput, latency percentiles and
 * outcomes; bounded in time, no external tool.
 */
import { quantile } from '../bench/stats';

export interface LoadLevel {
  label: string;
  clients: number;
  seconds: number;
  requests: number;
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  byStatus: Record<string, number>;
  errorRate: number;
}

export async function runLoad(opts: { edgeUrl: string; apiKey: string; photos: Uint8Array[]; clients: number; seconds: number; label: string }): Promise<LoadLevel> {
  const until = performance.now() + opts.seconds * 1000;
  const lat: number[] = [];
  const byStatus: Record<string, number> = {};
  let n = 0;
  const client = async (k: number) => {
    while (performance.now() < until) {
      const body = opts.photos[(n + k) % opts.photos.length];
      n++;
      const t = performance.now();
      let status = 'network';
      try {
        const res = await fetch(`${opts.edgeUrl}/v1/reconstructions?formats=glb`, { method: 'POST', body: body as BodyInit, headers: { authorization: `Bearer ${opts.apiKey}`, 'content-type': 'application/octet-stream' } });
        await res.arrayBuffer();
        status = String(res.status);
        if (res.status === 503 || res.status === 429) {
          // A shed caller backs off as the Retry-After asks (capped), like a well-behaved client.
          const after = Number(res.headers.get('retry-after') ?? 1);
          await new Promise((r) => setTimeout(r, Math.min(2000, after * 1000)));
        }
      } catch {
        // counted as 'network'
      }
      lat.push(performance.now() - t);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: opts.clients }, (_, k) => client(k)));
  const elapsed = (performance.now() - t0) / 1000;
  const ok = byStatus['200'] ?? 0;
  return {
    label: opts.label,
    clients: opts.clients,
    seconds: opts.seconds,
    requests: lat.length,
    throughput: ok / elapsed,
    p50: quantile(lat, 0.5),
    p95: quantile(lat, 0.95),
    p99: quantile(lat, 0.99),
    byStatus,
    errorRate: 1 - ok / Math.max(1, lat.length),
  };
}
