/**
 * The structure, checked on every run: no import cycles among the TypeScript sources of any
 * workspace, and the gpu-function's layers point one way. The pure math (recon/, morph/) depends on
 * no model and on nothing of the core; the core (core/) on no model; the models (face-models/) on the
 * core and the math; only the service, the command line and the tooling put them together.
 * Imports are read from the source text (static, type-only, dynamic and re-exports: a type-only
 * cycle still ties two modules together), resolved to files.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SOURCES = ['shared/src', 'models/src', 'models/scripts', 'gpu-function/src', 'edge/src', 'edge/web', 'scripts', 'bench', 'reliability', 'e2e/support'];
const WORKSPACES: Record<string, string> = { '@facerecon/shared': 'shared/src/index.ts', '@facerecon/models': 'models/src/index.ts' };

function walk(dir: string, out: string[]): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === 'node_modules' || e === 'test') continue;
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.ts$/.test(e) && !/\.d\.ts$/.test(e)) out.push(p);
  }
  return out;
}

function resolveImport(from: string, spec: string): string | undefined {
  if (spec in WORKSPACES) return join(ROOT, WORKSPACES[spec]);
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  for (const c of [base, `${base}.ts`, base.replace(/\.js$/, '.ts'), join(base, 'index.ts')]) if (existsSync(c) && statSync(c).isFile()) return c;
  return undefined;
}

function importGraph(): Map<string, string[]> {
  const files = SOURCES.flatMap((s) => walk(join(ROOT, s), []));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s+[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]);
    graph.set(f, [...new Set(specs.map((s) => resolveImport(f, s)).filter((x): x is string => !!x && x.endsWith('.ts')))]);
  }
  return graph;
}

/** Tarjan's strongly connected components of size > 1 (or a self-import): the cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.map((p) => relative(ROOT, p)));
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('architecture', () => {
  const graph = importGraph();

  it('has no import cycles', () => {
    expect(graph.size).toBeGreaterThan(80);
    // The reader sees imports (a known edge), so an empty graph cannot pass for a clean one.
    expect(graph.get(join(ROOT, 'gpu-function/src/core/export.ts'))).toContain(join(ROOT, 'gpu-function/src/recon/render.ts'));
    expect(cycles(graph)).toEqual([]);
  });

  it('the gpu-function layers point one way: math <- core <- models <- service', () => {
    const rules: Array<[string, string[]]> = [
      ['gpu-function/src/recon/', ['gpu-function/src/core/', 'gpu-function/src/face-models/', 'gpu-function/src/morph/', 'gpu-function/src/service/']],
      ['gpu-function/src/morph/', ['gpu-function/src/core/', 'gpu-function/src/face-models/', 'gpu-function/src/service/']],
      ['gpu-function/src/core/', ['gpu-function/src/face-models/', 'gpu-function/src/morph/', 'gpu-function/src/service/']],
      ['gpu-function/src/face-models/', ['gpu-function/src/service/']],
    ];
    const broken: string[] = [];
    for (const [file, deps] of graph) {
      const from = relative(ROOT, file);
      for (const [layer, forbidden] of rules) {
        if (!from.startsWith(layer)) continue;
        for (const d of deps) {
          const to = relative(ROOT, d);
          if (forbidden.some((f) => to.startsWith(f))) broken.push(`${from} -> ${to}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('finds a cycle when there is one (the checker itself)', () => {
    const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    expect(cycles(g).map((c) => c.length)).toEqual([3]);
  });
});
