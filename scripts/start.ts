/**
 * npm start: the whole local stack in the foreground (Ctrl-C stops it): the edge on :8787 (wrangler dev,
 * workerd, local D1), the gpu-function on :8788 with the local store, and a fresh development API key.
 * `npm start -- --gpu-only` runs just the gpu-function (what the container runs).
 */
import { localEnv } from './local-env';

if (process.argv.includes('--gpu-only')) {
  for (const [k, v] of Object.entries(localEnv())) process.env[k] ??= v;
  await import('../gpu-function/src/service/main');
} else {
  const { startLocalStack } = await import('./local-stack');
  const stack = await startLocalStack({ edgePort: 8787, gpuPort: 8788, logLevel: 'info' });
  console.log(`
facerecon local stack
  edge (public API)   ${stack.edgeUrl}      docs: ${stack.edgeUrl}/docs
  gpu-function        ${stack.gpuUrl}
  development API key ${stack.apiKey}

  curl -s ${stack.edgeUrl}/v1/reconstructions -H "Authorization: Bearer ${stack.apiKey}" \\
       -H 'content-type: image/png' --data-binary @.cache/fixtures/astronaut.png
`);
  const stop = () => stack.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
