/**
 * The HEIC decoder pool's threads must not keep a process alive once the service is done with them
 * (a warmed, idle pool in a child process that has nothing else to do lets it exit on its own), and
 * must while they have work (a script awaiting a decode gets its answer, not an early exit).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** Runs an ES module script in a child node (with tsx) from the repository root; it must exit on its own, status 0, before `timeout`. */
function runsToExit(lines: string[], timeout: number): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', lines.join('\n')], { cwd: ROOT, encoding: 'utf8', timeout });
  expect(r.signal, r.stderr).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('HEIC decoder pool', () => {
  it('an idle, warmed pool lets the process exit', () => {
    // Killed after 20 s if it hangs: exiting on its own is what is checked.
    const out = runsToExit(["import { createHeicPool } from './gpu-function/src/adapters/heic-pool.ts';", 'const pool = createHeicPool(2);', 'pool.warm();', "setTimeout(() => console.log('idle'), 500);"], 20_000);
    expect(out).toContain('idle');
  });

  const heic = resolve(ROOT, '.cache/fixtures/astronaut.heic');
  it.skipIf(!existsSync(heic))('a busy pool keeps the process up until the decode is answered (astronaut.heic, from npm run fixtures)', () => {
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
});
