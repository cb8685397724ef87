/**
 * npm run demo: the embedded default end to end. Starts the local stack (edge on workerd with its
 * local D1, the gpu-function with the local store), sends a real portrait to the public API with a
 * development key, follows the progress stream, downloads every asset through its signed URL into
 * out/<photo>/, prints the usage, and stops everything.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import type { ReconstructResponse } from '@facerecon/shared';
import { ROOT } from './local-env';
import { startLocalStack } from './local-stack';

const photo = process.argv[2] ?? join(ROOT, '.cache/fixtures/astronaut.png');
const outDir = join(ROOT, 'out', basename(photo, extname(photo)));
console.log('starting the local stack (edge on workerd + gpu-function + local storage) ...');
const stack = await startLocalStack();
try {
  console.log(`edge ${stack.edgeUrl}, gpu-function ${stack.gpuUrl}; development key ${stack.apiKey.slice(0, 14)}...`);
  const body = new Uint8Array(readFileSync(photo));
  const res = await fetch(`${stack.edgeUrl}/v1/reconstructions?uv_size=1024`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/octet-stream', accept: 'text/event-stream', 'idempotency-key': `demo-${Date.now()}` },
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let result: ReconstructResponse | undefined;
  for (const block of (await res.text()).split('\n\n')) {
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (!event || !data) continue;
    if (event === 'stage') {
      const s = JSON.parse(data) as { stage: string; elapsed_ms: number };
      console.log(`  ${s.stage.padEnd(10)} done at ${s.elapsed_ms.toFixed(0)} ms`);
    } else if (event === 'result') result = JSON.parse(data);
    else if (event === 'error') throw new Error(`reconstruction failed: ${data}`);
  }
  if (!result) throw new Error('the stream ended without a result');
  mkdirSync(outDir, { recursive: true });
  for (const [kind, asset] of Object.entries(result.assets)) {
    const r = await fetch(asset.url);
    if (!r.ok) throw new Error(`${kind}: HTTP ${r.status}`);
    writeFileSync(join(outDir, new URL(asset.url).pathname.split('/').pop()!), new Uint8Array(await r.arrayBuffer()));
  }
  const usage = (await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { billable_calls: number; remaining: number };
  const p = result.pose;
  console.log(
    `${basename(photo)}: yaw ${p.yaw_deg}, pitch ${p.pitch_deg}, roll ${p.roll_deg} deg; ${result.uv_size}px texture` +
      `${result.conservative ? ` (conservative: ${result.conservative_reasons.join(', ')})` : ''}; ` +
      `${Object.keys(result.assets).length} assets downloaded through signed URLs -> ${outDir}/; billed ${usage.billable_calls}, ${usage.remaining} left this month`,
  );
} finally {
  await stack.stop();
}
