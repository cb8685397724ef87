/** Runs wrangler from node_modules offline (no telemetry, no account lookups), config under .cache/. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './local-env';

export const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');

export function wranglerEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: 'false',
    WRANGLER_SEND_ERROR_REPORTS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    XDG_CONFIG_HOME: join(ROOT, '.cache/xdg'),
    CI: 'true', // no interactive prompts
  };
}

export interface WranglerRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** SQLite's "another connection is writing" (SQLITE_BUSY), as workerd reports it through wrangler. */
export const isD1Busy = (r: WranglerRun) => /SQLITE_BUSY|database is locked/.test(`${r.stdout}\n${r.stderr}`);

/**
 * Runs wrangler once, and again after a pause while it failed only because the local D1 was busy.
 * `wrangler d1 execute --local` opens the same SQLite file as a running `wrangler dev`, whose own
 * writes (a request's metering, a job's commit, the cron's purge) hold the write lock for moments:
 * an operator's `keys revoke` landing in one of them failed as "internal error" (the CI run of
 * stop 43). Only what we run through here is retried, and all of it is safe to run twice: single
 * statements, or statement lists whose every statement is idempotent (keys-lib.ts).
 */
export function runWithBusyRetry(run: () => WranglerRun, opts: { delaysMs?: readonly number[]; sleep?: (ms: number) => void } = {}): WranglerRun {
  const delays = opts.delaysMs ?? [200, 400, 800, 1600, 3200];
  const sleep = opts.sleep ?? ((ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms));
  for (let attempt = 0; ; attempt++) {
    const r = run();
    if (r.status === 0 || attempt >= delays.length || !isD1Busy(r)) return r;
    sleep(delays[attempt]);
  }
}

export function wranglerSync(args: string[]): string {
  const r = runWithBusyRetry(() => spawnSync(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: wranglerEnv(), encoding: 'utf8' }));
  if (r.status !== 0) throw new Error(`wrangler ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export function wranglerSpawn(args: string[]): ChildProcess {
  return spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: wranglerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
}
