/** Prometheus metrics: requests by outcome, stage latency histograms, queue depth and in-flight work. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { STAGES } from '@facerecon/shared';

export interface ServiceMetrics {
  registry: Registry;
  requests: Counter<'outcome'>;
  stageSeconds: Histogram<'stage'>;
  queueDepth: Gauge;
  inFlight: Gauge;
}

export function createMetrics(): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: 'facerecon_requests_total', help: 'Reconstruction requests by outcome (ok or error code)', labelNames: ['outcome'], registers: [registry] });
  const stageSeconds = new Histogram({
    name: 'facerecon_stage_seconds',
    help: 'Pipeline stage latency',
    labelNames: ['stage'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  for (const s of STAGES) stageSeconds.zero({ stage: s });
  const queueDepth = new Gauge({ name: 'facerecon_queue_depth', help: 'Requests waiting for a worker slot', registers: [registry] });
  const inFlight = new Gauge({ name: 'facerecon_in_flight', help: 'Requests being processed', registers: [registry] });
  return { registry, requests, stageSeconds, queueDepth, inFlight };
}
