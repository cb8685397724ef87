/**
 * npm run bench [-- --write] / npm run bench:quality [-- --write]: runs the named benchmarks one after
 * another (bench/<name>.bench.ts), each in its own process, and gives `--write` to every one of them.
 * (Chained in package.json with &&, npm appended the arguments after `--` to the last command only, so
 * `npm run bench -- --write` recorded one section of seven.) A flag that only one bench knows goes to
 * that bench directly: `npx tsx bench/quality.bench.ts --no-flip`.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));
const unknown = flags.filter((f) => f !== '--write');
if (unknown.length) {
  console.error(`bench/run.ts passes only --write to every bench; run one bench for ${unknown.join(' ')} (npx tsx bench/<name>.bench.ts ${unknown.join(' ')})`);
  process.exit(2);
}
for (const name of names) {
  const file = resolve(import.meta.dirname, `${name}.bench.ts`);
  console.log(`\n== bench/${name}.bench.ts ${flags.join(' ')}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', file, ...flags], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
