/**
 * npm run demo: the embedded default end to end. Starts the gpu-function with the local store on
 * loopback, sends it a real portrait as a signed request, follows the progress stream, downloads
 * every asset through its signed URL into out/<photo>/, and stops the service.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { signRequest, type ReconstructResponse } from '@facerecon/shared';
import { loadConfig } from '../gpu-function/src/service/config';
import { startService } from '../gpu-function/src/service/service';
import { ROOT, localEnv } from './local-env';

const photo = process.argv[2] ?? join(ROOT, '.cache/fixtures/astronaut.png');
const outDir = join(ROOT, 'out', basename(photo, extname(photo)));
const env: Record<string, string> = { ...localEnv(), PORT: '0', FACERECON_LOG_LEVEL: 'warn' };
const service = await startService(loadConfig({ ...process.env, ...env }));
try {
  const body = new Uint8Array(readFileSync(photo));
  const path = '/v1/reconstruct?uv_size=1024';
  const headers = await signRequest({ secret: env.FACERECON_SIGNING_SECRET, method: 'POST', pathWithQuery: path, body });
  const res = await fetch(`${service.url}${path}`, { method: 'POST', body, headers: { ...headers, accept: 'text/event-stream', 'content-type': 'application/octet-stream' } });
  let result: ReconstructResponse | undefined;
  const text = await res.text();
  for (const block of text.split('\n\n')) {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (!event || !data) continue;
    if (event === 'stage') {
      const s = JSON.parse(data) as { stage: string; elapsed_ms: number };
      console.log(`  ${s.stage.padEnd(10)} done at ${s.elapsed_ms.toFixed(0)} ms`);
    } else if (event === 'result') result = JSON.parse(data);
    else if (event === 'error') throw new Error(`reconstruction failed: ${data}`);
  }
  if (!result) throw new Error(`no result (HTTP ${res.status}): ${text.slice(0, 300)}`);
  mkdirSync(outDir, { recursive: true });
  for (const [kind, asset] of Object.entries(result.assets)) {
    const r = await fetch(asset.url);
    if (!r.ok) throw new Error(`${kind}: HTTP ${r.status}`);
    const file = new URL(asset.url).pathname.split('/').pop()!;
    writeFileSync(join(outDir, file), new Uint8Array(await r.arrayBuffer()));
  }
  const p = result.pose;
  console.log(
    `${basename(photo)}: yaw ${p.yaw_deg}, pitch ${p.pitch_deg}, roll ${p.roll_deg} deg; ${result.uv_size}px texture` +
      `${result.conservative ? ` (conservative: ${result.conservative_reasons.join(', ')})` : ''}; ${result.timings_ms.total.toFixed(0)} ms in the service; ` +
      `${Object.keys(result.assets).length} assets downloaded through signed URLs -> ${outDir}/`,
  );
} finally {
  await service.stop();
}
