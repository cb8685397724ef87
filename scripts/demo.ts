/**
 * npm run demo [-- photo] [--model ict]: the embedded default end to end. Starts the local stack (edge on workerd with its
 * local D1, the gpu-function with the local store), sends a real portrait to the public API with a
 * development key, follows the progress stream, downloads every asset through its signed URL into
 * out/<photo>/, prints the usage, and stops everything. `--model ict` asks for the full head with
 * ARKit weights (needs the ICT pack: npm run models:ict; otherwise the API says MODEL_NOT_INSTALLED).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { FaceReconApiError as ApiError, FaceReconClient } from '@facerecon/client';
import { ROOT } from './local-env';
import { startLocalStack } from './local-stack';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { model: { type: 'string', default: 'mediapipe' } } });
if (values.model !== 'mediapipe' && values.model !== 'ict') throw new Error(`--model ${values.model}: use mediapipe or ict`);
const model = values.model;
const photo = positionals[0] ?? join(ROOT, '.cache/fixtures/astronaut.png');
const outDir = join(ROOT, 'out', basename(photo, extname(photo)));
console.log('starting the local stack (edge on workerd + gpu-function + local storage) ...');
const stack = await startLocalStack();
try {
  console.log(`edge ${stack.edgeUrl}, gpu-function ${stack.gpuUrl}; development key ${stack.apiKey.slice(0, 14)}...`);
  // The same SDK app developers install (@facerecon/client, its built package), following the progress stream.
  const client = new FaceReconClient({ baseUrl: stack.edgeUrl, apiKey: stack.apiKey });
  const result = await client
    .reconstruct({
      photo: new Uint8Array(readFileSync(photo)),
      uvSize: 1024,
      model,
      idempotencyKey: `demo-${Date.now()}`,
      onStage: (stage, ms) => console.log(`  ${stage.padEnd(10)} done at ${ms.toFixed(0)} ms`),
    })
    .catch((err: unknown) => {
      if (err instanceof ApiError) console.error(`${basename(photo)}: ${err.status} ${err.code}: ${err.message}`);
      throw err;
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
  if (result.morph) {
    const top = Object.entries(result.morph.expressions).filter(([, v]) => v >= 0.1).sort((a, b) => b[1] - a[1]);
    console.log(`  full head (${result.morph.model}): ${top.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || 'neutral expression'}; ${result.morph.identity.length} identity coefficients`);
  }
} finally {
  await stack.stop();
}
