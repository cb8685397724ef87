/**
 * npm run demo: the embedded default end to end. Starts the local stack (edge on workerd with its
 * local D1, the gpu-function with the local store), sends a real portrait to the public API with a
 * development key, follows the progress stream, downloads every asset through its signed URL into
 * out/<photo>/, prints the usage, and stops everything.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { FaceReconClient } from '@facerecon/shared';
import { ROOT } from './local-env';
import { startLocalStack } from './local-stack';

const photo = process.argv[2] ?? join(ROOT, '.cache/fixtures/astronaut.png');
const outDir = join(ROOT, 'out', basename(photo, extname(photo)));
console.log('starting the local stack (edge on workerd + gpu-function + local storage) ...');
const stack = await startLocalStack();
try {
  console.log(`edge ${stack.edgeUrl}, gpu-function ${stack.gpuUrl}; development key ${stack.apiKey.slice(0, 14)}...`);
  // The same typed client web and mobile developers use (shared/src/client.ts), following the progress stream.
  const client = new FaceReconClient({ baseUrl: stack.edgeUrl, apiKey: stack.apiKey });
  const result = await client.reconstruct({
    photo: new Uint8Array(readFileSync(photo)),
    uvSize: 1024,
    idempotencyKey: `demo-${Date.now()}`,
    onStage: (stage, ms) => console.log(`  ${stage.padEnd(10)} done at ${ms.toFixed(0)} ms`),
  });
  mkdirSync(outDir, { recursive: true });
  for (const [kind, asset] of Object.entries(result.assets)) {
    const r = await fetch(asset.url);
    if (!r.ok) throw new Error(`${kind}: HTTP ${r.status}`);
    writeFileSync(join(outDir, new URL(asset.url).pathname.split('/').pop()!), new Uint8Array(await r.arrayBuffer()));
  }
  const usage = await client.usage();
  const p = result.pose;
  console.log(
    `${basename(photo)}: yaw ${p.yaw_deg}, pitch ${p.pitch_deg}, roll ${p.roll_deg} deg; ${result.uv_size}px texture` +
      `${result.conservative ? ` (conservative: ${result.conservative_reasons.join(', ')})` : ''}; ` +
      `${Object.keys(result.assets).length} assets downloaded through signed URLs -> ${outDir}/; billed ${usage.billable_calls}, ${usage.remaining} left this month`,
  );
} finally {
  await stack.stop();
}
