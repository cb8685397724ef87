/**
 * The HEIC decoder pool's threads must not keep a process alive once the service is done with them
 * (a warmed, idle pool in a child process that has nothing else to do lets it exit on its own), and
 * must while they have work (a script awaiting a decode gets its answer, not an early exit). A batch
 * fails as a whole and at once (a bad tile or the caller's abort takes its queued tiles off the queue),
 * and a thread refuses a file whose declared size is not the expected one before decoding it.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createHeicPool } from '../src/adapters/heic-pool';
import { readHeif, writeHeif } from '../src/image/heif-container';

const ROOT = resolve(import.meta.dirname, '../..');

/** Runs an ES module script in a child node (with tsx) from the repository root; it must exit on its own, status 0, before `timeout`. */
function runsToExit(lines: string[], timeout: number): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', lines.join('\n')], { cwd: ROOT, encoding: 'utf8', timeout });
  expect(r.signal, r.stderr).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('HEIC decoder pool', () => {
  it('warm() resolves once every thread can decode, and rejects when a thread cannot start (start-up fails there, not on the first photo)', async () => {
    const pool = createHeicPool(2);
    await expect(pool.warm()).resolves.toBeUndefined();
    await pool.close();
    const dir = mkdtempSync(join(tmpdir(), 'heic-broken-'));
    const broken = join(dir, 'broken-worker.mjs');
    writeFileSync(broken, "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ ready: false, error: 'wasm failed to compile' });\n");
    await expect(createHeicPool(2, pathToFileURL(broken)).warm()).rejects.toThrow(/could not start: wasm failed to compile/);
    const throws = join(dir, 'throwing-worker.mjs');
    writeFileSync(throws, "throw new Error('libheif-js missing');\n");
    await expect(createHeicPool(1, pathToFileURL(throws)).warm()).rejects.toThrow(/libheif-js missing/);
  });

  it('a script that awaits warm() and nothing else gets its answer (the starting threads keep it up), then exits', () => {
    const out = runsToExit(["import { createHeicPool } from './gpu-function/src/adapters/heic-pool.ts';", 'await createHeicPool(2).warm();', "console.log('ready');"], 20_000);
    expect(out).toContain('ready');
  });

  it('an idle, warmed pool lets the process exit', () => {
    // Killed after 20 s if it hangs: exiting on its own is what is checked.
    const out = runsToExit(["import { createHeicPool } from './gpu-function/src/adapters/heic-pool.ts';", 'const pool = createHeicPool(2);', 'pool.warm();', "setTimeout(() => console.log('idle'), 500);"], 20_000);
    expect(out).toContain('idle');
  });

  const heic = resolve(ROOT, '.cache/fixtures/astronaut.heic');
  it('a busy pool keeps the process up until the decode is answered (astronaut.heic, from npm run fixtures)', () => {
    // scripts/test.sh (npm test, .ci/run) always makes the fixtures first: a missing one is an error, not a skip.
    if (!existsSync(heic)) throw new Error(`${heic} is missing: run \`npm run fixtures\` (npm test does)`);
    const out = runsToExit(
      [
        "import { readFileSync } from 'node:fs';",
        "import { createHeicPool } from './gpu-function/src/adapters/heic-pool.ts';",
        'const pool = createHeicPool(1);',
        `const [tile] = await pool.decode([new Uint8Array(readFileSync(${JSON.stringify(heic)}))]);`,
        'console.log(`decoded ${tile.width}x${tile.height}`);',
      ],
      60_000,
    );
    expect(out).toContain('decoded 512x512');
  });

  const grid = resolve(ROOT, '.cache/fixtures/astronaut-grid.heic');
  /** One 512x512 tile of the fixture's grid as a standalone HEIF file. */
  const oneTile = () => {
    if (!existsSync(grid)) throw new Error(`${grid} is missing: run \`npm run fixtures\` (npm test does)`);
    const f = readHeif(new Uint8Array(readFileSync(grid)));
    const t = f.items.get(f.refs[0].to[0])!;
    return writeHeif({ brands: f.brands, primary: 1, items: [{ id: 1, type: t.type, data: t.data, props: t.props.map((p) => ({ box: p.property.box, essential: p.essential })) }] });
  };

  /** A one-thread pool for `fn`, closed after it whatever happens. */
  const withPool = async (fn: (pool: ReturnType<typeof createHeicPool>) => Promise<void>) => {
    const pool = createHeicPool(1);
    try {
      await fn(pool);
    } finally {
      await pool.close();
    }
  };

  it('a failing tile drops the rest of its batch from the queue at once; the next batch decodes', async () => {
    await withPool(async (pool) => {
      const tile = oneTile();
      const garbage = Uint8Array.from(tile.subarray(0, 400)); // a HEIF header with its picture cut off
      const batch = pool.decode([garbage, tile, tile, tile, tile]);
      expect(pool.queued).toBe(4); // one on the thread, four waiting
      const err = await batch.catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      // Without the batch rule the freed thread would already have taken the next tile, three still waiting.
      expect(pool.queued).toBe(0);
      const [ok] = await pool.decode([tile]);
      expect([ok.width, ok.height]).toEqual([512, 512]);
    });
  });

  it('the caller\'s abort (its deadline) drops the batch\'s queued tiles and rejects with its reason', async () => {
    await withPool(async (pool) => {
      const tile = oneTile();
      const controller = new AbortController();
      const batch = pool.decode(Array.from({ length: 6 }, () => tile), { signal: controller.signal });
      expect(pool.queued).toBe(5);
      controller.abort(new Error('deadline 30000 ms'));
      expect(pool.queued).toBe(0);
      await expect(batch).rejects.toThrow('deadline 30000 ms');
      // Already aborted: nothing is queued at all.
      await expect(pool.decode([tile], { signal: controller.signal })).rejects.toThrow('deadline 30000 ms');
      expect(pool.queued).toBe(0);
    });
  });

  it('a thread refuses a file whose declared size is not the expected one, or over the pixel bound, before decoding it', async () => {
    await withPool(async (pool) => {
      const tile = oneTile();
      await expect(pool.decode([tile], { expect: { width: 256, height: 256 } })).rejects.toThrow('not the 256x256');
      await expect(pool.decode([tile], { expect: { maxPixels: 512 * 511 } })).rejects.toThrow('over 261632 pixels');
      const [ok] = await pool.decode([tile], { expect: { width: 512, height: 512, maxPixels: 512 * 512 } });
      expect(ok.data.byteLength).toBe(512 * 512 * 4);
    });
  });
});
