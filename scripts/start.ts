/** npm start: the gpu-function on 127.0.0.1:8788 with the local store (values in the environment win). */
import { localEnv } from './local-env';

for (const [k, v] of Object.entries(localEnv())) process.env[k] ??= v;
console.log(`gpu-function: signing secret in .cache/dev-secret, assets in ${process.env.FACERECON_LOCAL_STORE_DIR}`);
await import('../gpu-function/src/service/main');
