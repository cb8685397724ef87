/**
 * The edge Worker as `wrangler deploy --env production` would upload it, measured without a network or
 * an account (`--dry-run --outdir`): the modules wrangler writes (the bundled JavaScript and the wasm it
 * imports) gzipped together, which is how Cloudflare counts a Worker's size.
 *
 * Limit: 3 MiB gzip, the Workers Free plan's (and wrangler's own warning threshold). Production runs on
 * the Paid plan, whose limit is 10 MB, but holding the Free limit keeps the headroom visible: the Worker
 * carries no image codec (photos are forwarded as sent), and an image codec or a careless import
 * (three.js belongs to the web page, not the Worker) would show here long before the paid limit.
 * The static assets of the web page (edge/public) are uploaded separately and do not count.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const LIMIT_GZIP_BYTES = 3 * 1024 * 1024;

function canUnshareNet(): boolean {
  try {
    execFileSync('unshare', ['-n', 'true'], { stdio: 'pipe', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

describe('edge Worker bundle (wrangler deploy --dry-run --env production)', () => {
  let work = '';
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it(`bundles offline and stays under ${LIMIT_GZIP_BYTES / 1024 / 1024} MiB gzip`, () => {
    expect(existsSync(join(ROOT, 'edge/public/index.html')), 'edge/public is built by the postinstall (npm run web:build)').toBe(true);
    work = mkdtempSync(join(tmpdir(), 'worker-size-'));
    const outdir = join(work, 'out');
    const config = join(work, 'config');
    mkdirSync(config);
    // No metrics, no error reports, no Cloudflare request metadata fetch, no update check, a private
    // config dir (no login, no account): the dry run bundles without one outbound connection.
    const env: Record<string, string> = {
      PATH: process.env.PATH!,
      HOME: work,
      XDG_CONFIG_HOME: config,
      WRANGLER_SEND_METRICS: 'false',
      WRANGLER_SEND_ERROR_REPORTS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      // The banner's npm update check is the one request the three settings above leave.
      WRANGLER_HIDE_BANNER: 'true',
      CI: 'true',
    };
    if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
    // Where the machine allows it (root, util-linux), in a network namespace with no interfaces but
    // loopback, so "offline" is a fact rather than a promise.
    const wrangler = [process.execPath, join(ROOT, 'node_modules/wrangler/bin/wrangler.js'), 'deploy', '--dry-run', '--env', 'production', '--outdir', outdir];
    const isolated = canUnshareNet();
    const [file, ...args] = isolated ? ['unshare', '-n', ...wrangler] : wrangler;
    const log = execFileSync(file, args, {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      stdio: 'pipe',
      timeout: 120_000,
    });
    expect(log).toMatch(/--dry-run: exiting now/);

    // What is uploaded: the modules. wrangler also writes a README and a source map (not uploaded
    // unless upload_source_maps is set, which production does not).
    const files = readdirSync(outdir).filter((f) => f !== 'README.md' && !f.endsWith('.map'));
    expect(files).toContain('index.js');
    const contents = files.map((f) => readFileSync(join(outdir, f)));
    const raw = contents.reduce((n, b) => n + b.length, 0);
    // One gzip stream over all modules, as wrangler and Cloudflare measure it.
    const gzip = gzipSync(Buffer.concat(contents)).length;
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    console.log(
      `worker bundle${isolated ? ' (built with no network)' : ''}: ${files.map((f, i) => `${f} ${kib(contents[i].length)}`).join(', ')}; total ${kib(raw)}, gzip ${kib(gzip)} ` +
        `(${((gzip / LIMIT_GZIP_BYTES) * 100).toFixed(0)}% of the ${LIMIT_GZIP_BYTES / 1024 / 1024} MiB limit)`,
    );

    // wrangler's own figure agrees.
    const reported = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(log);
    expect(reported, log).not.toBeNull();
    expect(Math.abs(Number(reported![2]) * 1024 - gzip) / gzip).toBeLessThan(0.02);
    expect(Math.abs(Number(reported![1]) * 1024 - raw) / raw).toBeLessThan(0.01);

    expect(gzip).toBeLessThan(LIMIT_GZIP_BYTES);
    // The production config is the one that was bundled.
    expect(log).toMatch(/facerecon-production/);
    expect(log).toMatch(/env\.GPU_FUNCTION_URL \("https:\/\//);
  }, 180_000);
});
