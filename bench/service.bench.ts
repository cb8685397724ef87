/**
 * npm run bench:service [-- --n 20 --soak 500 --write]
 * The gpu-function over HTTP on loopback with the local store: N sequential and N concurrent signed
 * requests with real photos (p50/p95 latency, throughput), the same photos through the bare pipeline
 * in-process (the service overhead as a ratio), and RSS over a soak of --soak requests.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { signRequest } from '@facerecon/shared';
import { decodeImage } from '../gpu-function/src/adapters/image-io';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { exportAssets } from '../gpu-function/src/core/export';
import { reconstructFace } from '../gpu-function/src/core/reconstruct';
import { ModelRegistry } from '../gpu-function/src/core/registry';
import { reconstructionResultJson } from '../gpu-function/src/core/result-json';
import { createMediaPipeFaceModel } from '../gpu-function/src/face-models/mediapipe';
import { loadConfig } from '../gpu-function/src/service/config';
import { createLogger } from '../gpu-function/src/service/logger';
import { startService } from '../gpu-function/src/service/service';
import { fmt, machineLine, median, p95 } from './stats';
import { writeResultsSection } from './results-file';

const { values } = parseArgs({ options: { n: { type: 'string', default: '20' }, soak: { type: 'string', default: '500' }, write: { type: 'boolean', default: false } } });
const N = Number(values.n);
const SOAK = Number(values.soak);
const ROOT = resolve(import.meta.dirname, '..');
const photos = [join(ROOT, '.cache/fixtures/astronaut.png'), ...['deep3d/015309.jpg', '3ddfa/JianzhuGuo.jpg'].map((p) => resolve(ROOT, '../shared/photos', p)).filter(existsSync)].map((p) => new Uint8Array(readFileSync(p)));
const SECRET = 'b'.repeat(48);

const landmarker = await createFaceLandmarker({ threads: 1 });
const face = createMediaPipeFaceModel();
const installed = new ModelRegistry([face]).get('mediapipe');

const config = loadConfig({ FACERECON_SIGNING_SECRET: SECRET, PORT: '0', FACERECON_LOCAL_STORE_DIR: mkdtempSync(join(tmpdir(), 'facerecon-bench-')), FACERECON_CONCURRENCY: '2', FACERECON_QUEUE_MAX: '64', FACERECON_LOG_LEVEL: 'silent' });
const svc = await startService(config, { landmarker, face, head: null, logger: createLogger('silent') });
// Bare pipeline, in-process: decode -> landmarks -> reconstruct -> export (no HTTP, signing, storage).
async function bareRun(body: Uint8Array): Promise<number> {
  const t = performance.now();
  const { image } = await decodeImage(body);
  const lm = await landmarker.landmarks(image);
  if (!lm.ok) throw new Error(lm.code);
  const recon = reconstructFace(installed, image, lm.face, { uvSize: 1024 });
  await exportAssets(installed.model, recon.head, recon.textures, { result: reconstructionResultJson({ model: installed.model, face: lm.face, head: recon.head, textures: recon.textures, timings: {} }) });
  return performance.now() - t;
}

async function call(body: Uint8Array): Promise<number> {
  const path = '/v1/reconstruct';
  const t = performance.now();
  const res = await fetch(`${svc.url}${path}`, { method: 'POST', body: body as BodyInit, headers: await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: path, body }) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return performance.now() - t;
}
for (let i = 0; i < 2; i++) {
  await call(photos[0]);
  await bareRun(photos[0]);
}
// Interleaved, photo by photo: the same photo through the bare pipeline and through the service, so
// machine drift and photo cost affect both sides alike.
const seq: number[] = [];
const bare: number[] = [];
let seqTime = 0;
for (let i = 0; i < N; i++) {
  bare.push(await bareRun(photos[i % photos.length]));
  const ms = await call(photos[i % photos.length]);
  seq.push(ms);
  seqTime += ms;
}
const seqThroughput = N / (seqTime / 1000);
const t0 = performance.now();
const conc = await Promise.all(Array.from({ length: N }, (_, i) => call(photos[i % photos.length])));
const concThroughput = N / ((performance.now() - t0) / 1000);

const rss: number[] = [];
let peak = 0;
for (let i = 0; i < SOAK; i++) {
  await call(photos[i % photos.length]);
  const r = process.memoryUsage().rss;
  peak = Math.max(peak, r);
  if (i % Math.max(1, Math.floor(SOAK / 10)) === 0) rss.push(r);
}
await svc.stop();
await landmarker.close();

const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
const lines = [
  '| run | requests | p50 ms | p95 ms | throughput /s |',
  '|---|---|---|---|---|',
  `| bare pipeline, in-process | ${N} | ${fmt(median(bare))} | ${fmt(p95(bare))} | ${(1000 / median(bare)).toFixed(2)} |`,
  `| service, sequential | ${N} | ${fmt(median(seq))} | ${fmt(p95(seq))} | ${seqThroughput.toFixed(2)} |`,
  `| service, ${N} concurrent (2 workers) | ${N} | ${fmt(median(conc))} | ${fmt(p95(conc))} | ${concThroughput.toFixed(2)} |`,
  '',
  `Service overhead (HTTP + signing + storage + signed URLs) over the bare pipeline: ${((median(seq) / median(bare) - 1) * 100).toFixed(1)}% at the median (target <= 10%).`,
  `RSS over ${SOAK} requests, sampled every ${Math.max(1, Math.floor(SOAK / 10))}: ${rss.map(mb).join(', ')}; peak ${mb(peak)}; first-to-last sample ${rss.length > 1 ? mb(rss.at(-1)! - rss[0]) : 'n/a'}.`,
  `Photos: ${photos.length} real portraits (astronaut${photos.length > 1 ? ' + shared deep3d/3ddfa' : ''}), 1024 bake unless conservative; local store on loopback. Machine: ${await machineLine()}.`,
];
for (const l of lines) console.log(l);
if (values.write) writeResultsSection('service', 'gpu-function service (`npm run bench:service`)', lines);
