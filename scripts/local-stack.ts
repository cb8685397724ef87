/**
 * The embedded default, all of it on loopback with no cloud account: the gpu-function (real models,
 * local store), the edge worker on workerd (`wrangler dev`) with its local D1 migrated, and a
 * development API key. Used by `npm start`, `npm run demo` and the end-to-end tests.
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../gpu-function/src/service/config';
import { startService, type ServiceParts } from '../gpu-function/src/service/service';
import { createApiKey, migrateD1 } from './keys-lib';
import { ROOT, localEnv } from './local-env';
import { wranglerSpawn } from './wrangler';

export interface LocalStack {
  edgeUrl: string;
  gpuUrl: string;
  apiKey: string;
  apiKeyId: string;
  /** The keys made with `extraKeys`. */
  extraKeys: Array<{ id: string; key: string }>;
  /** The wrangler dev process; the workerd that runs the Worker is its descendant (memory probes). */
  edgePid: number;
  /** Stops the gpu-function (in-flight work finishes) and starts a fresh one on the same port. */
  restartGpu(): Promise<void>;
  /** Stops only the gpu-function (the edge keeps running). */
  stopGpu(): Promise<void>;
  stop(): Promise<void>;
}

/** How many ports a stack tries for the edge when the one freePort() gave was taken before wrangler bound it. */
const PORT_ATTEMPTS = 3;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string, ms: number, alive: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive()) throw new Error('wrangler dev exited during start-up');
    try {
      // A short timeout per try: whatever holds a port it does not serve must not stall the start.
      if ((await fetch(url, { signal: AbortSignal.timeout(2000) })).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up within ${ms} ms`);
}

/**
 * `persistTo`: where wrangler keeps the local D1 and Durable Object state (default .wrangler/state, as
 * `wrangler dev` and `npm run keys` use); tests pass their own folder so parallel stacks never share it.
 */
export interface LocalStackOptions {
  edgePort?: number;
  gpuPort?: number;
  logLevel?: string;
  keyQuota?: number;
  keyRate?: number;
  parts?: ServiceParts;
  persistTo?: string;
  /** Local store directory (default .cache/assets). */
  storeDir?: string;
  /** The URL the edge uses for the gpu-function (fault tests put a proxy in between). */
  edgeUpstream?: (gpuUrl: string) => string;
  /** Extra edge variables (e.g. UPSTREAM_TIMEOUT_MS). */
  edgeVars?: Record<string, string>;
  /** Extra gpu-function variables (e.g. FACERECON_ICT_PACK). */
  gpuEnv?: Record<string, string>;
  /**
   * The production profile: the edge runs `wrangler dev --env <name>` (that environment's vars and
   * bindings: ALLOWED_ORIGINS, CLIENT_IP_HEADER, ...) and both services get `signingSecret` from their
   * environment only (the gpu-function's process env, the edge's `--var`), never from .cache/dev-secret
   * or .dev.vars.
   */
  wranglerEnv?: string;
  signingSecret?: string;
  /** More API keys (same quota and rate), for tests of what one key may see of another's. */
  extraKeys?: number;
  /** Tests only: wrangler dev's `--test-scheduled`, so GET /__scheduled runs the cron handler (the purge). */
  testScheduled?: boolean;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const env = localEnv();
  // The gpu-function binds an ephemeral port itself (no gap between picking a port and binding it);
  // a restart takes the same port again, since the edge was started with its URL.
  const gpuConfigAt = (port: number) =>
    loadConfig({
      ...process.env,
      ...env,
      PORT: String(port),
      FACERECON_LOG_LEVEL: opts.logLevel ?? 'warn',
      ...(opts.storeDir ? { FACERECON_LOCAL_STORE_DIR: opts.storeDir } : {}),
      ...(opts.signingSecret ? { FACERECON_SIGNING_SECRET: opts.signingSecret } : {}),
      ...opts.gpuEnv,
    });
  let gpu: Awaited<ReturnType<typeof startService>> | undefined = await startService(gpuConfigAt(opts.gpuPort ?? 0), opts.parts);
  const gpuUrl = gpu.url;
  const gpuConfig = gpuConfigAt(gpu.port);

  // The edge reads its secret from .dev.vars in local development (git-ignored); the production
  // profile passes its own secret as a variable instead and leaves .dev.vars to the development stacks.
  if (!opts.signingSecret) writeFileSync(join(ROOT, '.dev.vars'), `GPU_SIGNING_SECRET="${env.FACERECON_SIGNING_SECRET}"\n`, { mode: 0o600 });
  const where = ['--local', ...(opts.persistTo ? ['--persist-to', opts.persistTo] : []), ...(opts.wranglerEnv ? ['--env', opts.wranglerEnv] : [])];
  migrateD1(where);
  const { id, key } = createApiKey(where, { name: 'local development', plan: 'dev', quota: opts.keyQuota ?? 10_000, rate: opts.keyRate ?? 600 });
  const extraKeys = Array.from({ length: opts.extraKeys ?? 0 }, (_, i) => createApiKey(where, { name: `local extra ${i + 1}`, plan: 'dev', quota: opts.keyQuota ?? 10_000, rate: opts.keyRate ?? 600 }));

  // freePort() hands out a port that is free now; another stack starting in parallel (or workerd's own
  // sockets) can take it before wrangler binds it. Such a start is retried on a fresh port, not failed.
  const spawnEdge = (port: number) =>
    wranglerSpawn([
      'dev', '--port', String(port), '--ip', '127.0.0.1', '--var', `GPU_FUNCTION_URL:${opts.edgeUpstream ? opts.edgeUpstream(gpuUrl) : gpuUrl}`, '--log-level', 'warn', '--show-interactive-dev-session=false',
      ...Object.entries({ ...opts.edgeVars, ...(opts.signingSecret ? { GPU_SIGNING_SECRET: opts.signingSecret } : {}) }).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
      ...(opts.persistTo ? ['--persist-to', opts.persistTo] : []),
      ...(opts.testScheduled ? ['--test-scheduled'] : []),
      // An environment with routes makes wrangler dev present requests as for the route's host; keep the
      // loopback origin the caller really used (the HTTPS rule is relaxed for loopback only).
      ...(opts.wranglerEnv ? ['--env', opts.wranglerEnv, '--local-upstream', `127.0.0.1:${port}`] : []),
    ]);
  let edgePort = opts.edgePort ?? (await freePort());
  let wrangler: ReturnType<typeof wranglerSpawn>;
  for (let attempt = 1; ; attempt++) {
    wrangler = spawnEdge(edgePort);
    let output = '';
    wrangler.stdout?.on('data', (d) => (output = (output + d).slice(-20_000)));
    wrangler.stderr?.on('data', (d) => (output = (output + d).slice(-20_000)));
    const w = wrangler;
    try {
      await waitFor(`http://127.0.0.1:${edgePort}/healthz`, 90_000, () => w.exitCode === null);
      // The answer must have been this wrangler's, not another stack's that won the port.
      await new Promise((r) => setTimeout(r, 300));
      if (w.exitCode !== null) throw new Error('wrangler dev exited during start-up');
      break;
    } catch (err) {
      w.kill('SIGTERM');
      if (opts.edgePort === undefined && attempt < PORT_ATTEMPTS && /address already in use/i.test(output)) {
        edgePort = await freePort();
        continue;
      }
      await gpu.stop();
      throw new Error(`${(err as Error).message}\n${output}`);
    }
  }
  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  const stopGpu = async () => {
    const g = gpu;
    gpu = undefined;
    await g?.stop();
  };
  return {
    edgeUrl,
    gpuUrl,
    apiKey: key,
    apiKeyId: id,
    edgePid: wrangler.pid!,
    extraKeys,
    stopGpu,
    async restartGpu() {
      await stopGpu();
      gpu = await startService(gpuConfig, opts.parts);
    },
    async stop() {
      const exited = new Promise((r) => wrangler.once('exit', r));
      wrangler.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (wrangler.exitCode === null) wrangler.kill('SIGKILL');
      await stopGpu();
    },
  };
}
