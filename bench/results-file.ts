/** Replaces one marked section of bench/RESULTS.md, keeping the others. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function writeResultsSection(id: string, title: string, lines: string[]): void {
  const file = join(resolve(import.meta.dirname), 'RESULTS.md');
  const begin = `<!-- ${id}:begin -->`;
  const end = `<!-- ${id}:end -->`;
  const section = `${begin}\n## ${title}, ${new Date().toISOString().slice(0, 10)}\n\n${lines.join('\n')}\n${end}`;
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\nEach section is written by its benchmark with `--write`; numbers are only comparable on the same machine.\n';
  const next = old.includes(begin) ? old.replace(new RegExp(`${begin}[\\s\\S]*${end}`), section) : `${old.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
  console.log(`wrote ${file} (${id})`);
}

/** Lines printed as they come and kept for writeResultsSection. */
export function resultsLog(): { lines: string[]; log: (s: string) => void } {
  const lines: string[] = [];
  return {
    lines,
    log: (s) => {
      console.log(s);
      lines.push(s);
    },
  };
}
