/**
 * A Dockerfile replayer for machines without a Docker engine (CI, this repository's test machines).
 *
 * `planDockerfile` parses the instructions a Node image build uses (ARG, FROM ... AS, ENV, WORKDIR,
 * COPY [--from], RUN, USER, EXPOSE, HEALTHCHECK, CMD) into stages and decides, with the caller's rule,
 * which steps are skipped. `replayPlan` then carries the build out on the host: every stage gets an
 * empty folder standing for the container's root file system, COPY copies exactly what it names from
 * the build context (filtered by the Dockerfile's .dockerignore) or from another stage's folder, RUN
 * runs under `sh -c` in the stage's WORKDIR with the stage's ARG and ENV values, and the final stage's
 * ENV, WORKDIR, CMD and HEALTHCHECK come back with container paths mapped into the replay folder.
 *
 * What it does not do: the base image (the host's Node stands in for it), users and file ownership,
 * and wildcards or `!` exceptions (refused, so nothing is silently copied differently).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, posix, relative } from 'node:path';

export interface Instruction {
  /** Upper-case keyword: RUN, COPY, ... */
  op: string;
  /** The arguments, continuation lines joined, comments removed. */
  args: string;
  /** 1-based line of the instruction in the Dockerfile. */
  line: number;
}

export interface Step extends Instruction {
  stage: string;
  /** Why the step is not replayed, as `short label — explanation`; undefined when it is. */
  skip?: string;
}

export interface Stage {
  name: string;
  /** The FROM image after ARG substitution, or the name of an earlier stage. */
  from: string;
  /** True when `from` is an image from a registry rather than an earlier stage. */
  external: boolean;
  steps: Step[];
}

export interface Plan {
  globalArgs: Record<string, string>;
  stages: Stage[];
  /** Stage names the final stage needs (itself, its FROM chain, the stages it copies from), in file order. */
  needed: string[];
}

export type SkipRule = (stage: Stage, step: Instruction) => string | undefined;

/** Splits a Dockerfile into instructions: `\` continuations joined, comment and blank lines dropped. */
export function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  let start = 0;
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (/^\s*#/.test(raw)) continue; // comments, also inside continued instructions (Docker drops them)
    if (buf === '' && raw.trim() === '') continue;
    if (buf === '') start = i + 1;
    const cont = /\\\s*$/.test(raw);
    buf += cont ? raw.replace(/\\\s*$/, '') : raw;
    if (cont) continue;
    const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(buf);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse "${buf.trim()}"`);
    out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start });
    buf = '';
  }
  if (buf.trim() !== '') throw new Error('Dockerfile ends inside a continued instruction');
  return out;
}

/** `${NAME}`, `${NAME:-default}` and `$NAME`, as Docker substitutes them in non-RUN instructions. */
export function substitute(s: string, vars: Record<string, string | undefined>): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a: string, def: string | undefined, b: string) => {
    const v = vars[a ?? b];
    return v !== undefined && v !== '' ? v : (def ?? '');
  });
}

/** `K=V K2="V 2"` (and the legacy `K V`) into pairs. */
export function parseKeyValues(args: string): [string, string][] {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const m = /^(\S+)\s+(.*)$/s.exec(args);
    if (!m) throw new Error(`cannot parse "${args}"`);
    return [[m[1], m[2].trim()]];
  }
  const pairs: [string, string][] = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)\s*/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < args.length && (m = re.exec(args))) {
    let v = m[2];
    if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (v.startsWith("'")) v = v.slice(1, -1);
    pairs.push([m[1], v]);
  }
  if (re.lastIndex !== args.length) throw new Error(`cannot parse "${args}"`);
  return pairs;
}

/** Parses the Dockerfile into stages and marks the steps the rule skips (and every RUN of a stage built on an external image). */
export function planDockerfile(text: string, skip: SkipRule, buildArgs: Record<string, string> = {}): Plan {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of parseInstructions(text)) {
    if (ins.op === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot parse FROM ${ins.args}`);
      const from = substitute(m[1], globalArgs);
      const external = !stages.some((s) => s.name === from);
      stages.push({ name: m[2] ?? String(stages.length), from, external, steps: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (ins.op !== 'ARG') throw new Error(`Dockerfile line ${ins.line}: ${ins.op} before the first FROM`);
      for (const [k, v] of parseArgDecl(ins.args)) globalArgs[k] = buildArgs[k] ?? v ?? '';
      continue;
    }
    const base: Step = { ...ins, stage: stage.name };
    const why = stage.external && ins.op === 'RUN' ? `base image (${stage.from} + Node) — this machine's Node stands in for it` : skip(stage, ins);
    stage.steps.push(why ? { ...base, skip: why } : base);
  }
  if (stages.length === 0) throw new Error('Dockerfile has no FROM');
  // The stages the final one needs, following FROM chains and COPY --from.
  const byName = new Map(stages.map((s) => [s.name, s]));
  const needed = new Set<string>();
  const visit = (s: Stage) => {
    if (needed.has(s.name)) return;
    needed.add(s.name);
    if (!s.external) visit(byName.get(s.from)!);
    for (const st of s.steps) {
      const from = st.op === 'COPY' ? /--from=(\S+)/.exec(st.args)?.[1] : undefined;
      if (from) {
        const src = byName.get(from);
        if (!src) throw new Error(`Dockerfile line ${st.line}: COPY --from=${from} names no stage (images are not supported)`);
        visit(src);
      }
    }
  };
  visit(stages.at(-1)!);
  return { globalArgs, stages, needed: stages.filter((s) => needed.has(s.name)).map((s) => s.name) };
}

function parseArgDecl(args: string): [string, string | undefined][] {
  return args.split(/\s+/).map((a) => {
    const i = a.indexOf('=');
    return i < 0 ? [a, undefined] : [a.slice(0, i), a.slice(i + 1).replace(/^"(.*)"$/, '$1')];
  });
}

/** The steps the plan skips, in file order (only those of needed stages). */
export function skippedSteps(plan: Plan): Step[] {
  return plan.stages.filter((s) => plan.needed.includes(s.name)).flatMap((s) => s.steps.filter((st) => st.skip));
}

/** A .dockerignore as a predicate on context-relative paths (`*`, `?`, `**`; no `!` exceptions). */
export function dockerignoreMatcher(text: string): (rel: string) => boolean {
  const patterns = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (patterns.some((p) => p.startsWith('!'))) throw new Error('.dockerignore exceptions (!) are not supported by the replay');
  const res = patterns.map((p) => {
    const clean = posix.normalize(p.replace(/^\/+/, '')).replace(/\/+$/, '');
    let re = '';
    for (let i = 0; i < clean.length; i++) {
      const c = clean[i];
      if (c === '*' && clean[i + 1] === '*') {
        if (clean[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    return new RegExp(`^${re}$`);
  });
  return (rel: string) => {
    const parts = rel.split('/');
    // A path is ignored when it or any folder above it matches.
    for (let n = 1; n <= parts.length; n++) {
      const prefix = parts.slice(0, n).join('/');
      if (res.some((r) => r.test(prefix))) return true;
    }
    return false;
  };
}

export interface ReplayOptions {
  /** The build context (the repository root). */
  context: string;
  /** An empty folder; each stage gets `<root>/<stage>` as its container root. */
  root: string;
  /** Context paths to leave out (the Dockerfile's .dockerignore). */
  ignore?: (rel: string) => boolean;
  /** The environment RUN steps start from (PATH, HOME, ...); the stage's ARG and ENV values are added on top. */
  baseEnv: Record<string, string>;
  /** Per RUN step, in ms. */
  stepTimeoutMs?: number;
  /** Called as each step finishes, for progress output. */
  log?: (line: string) => void;
}

export interface StageState {
  name: string;
  /** The folder standing for the container's `/`. */
  rootfs: string;
  /** Container path. */
  workdir: string;
  env: Record<string, string>;
  args: Record<string, string>;
  user?: string;
  cmd?: string[];
  healthcheck?: string;
  expose: string[];
}

export interface ReplayResult {
  final: StageState;
  stages: Map<string, StageState>;
  /** Steps that ran, with their duration. */
  ran: { step: Step; ms: number }[];
}

/** A container path inside a stage's folder. */
export function hostPath(state: StageState, containerPath: string): string {
  return join(state.rootfs, posix.resolve(state.workdir, containerPath));
}

/**
 * ENV values as the process inside the replayed container would see its files: an absolute path whose
 * first folder exists in the stage's root (e.g. /app/models/build) is mapped into the replay folder.
 */
export function mappedEnv(state: StageState): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(state.env)) {
    const first = /^\/([^/\s:]+)/.exec(v)?.[1];
    out[k] = first && existsSync(join(state.rootfs, first)) ? join(state.rootfs, v) : v;
  }
  return out;
}

export function replayPlan(plan: Plan, opts: ReplayOptions): ReplayResult {
  const states = new Map<string, StageState>();
  const ran: ReplayResult['ran'] = [];
  const log = opts.log ?? (() => {});
  for (const stage of plan.stages) {
    if (!plan.needed.includes(stage.name)) continue;
    const rootfs = join(opts.root, stage.name.replace(/[^A-Za-z0-9_.-]/g, '_'));
    mkdirSync(rootfs, { recursive: true });
    const parent = stage.external ? undefined : states.get(stage.from)!;
    // A stage built on an earlier one starts from its files and settings.
    if (parent && readdirSync(parent.rootfs).length > 0) execFileSync('cp', ['-a', `${parent.rootfs}/.`, rootfs]);
    const st: StageState = parent
      ? { ...parent, name: stage.name, rootfs, env: { ...parent.env }, args: {}, expose: [...parent.expose] }
      : { name: stage.name, rootfs, workdir: '/', env: {}, args: {}, expose: [] };
    states.set(stage.name, st);
    for (const step of stage.steps) {
      if (step.skip) {
        log(`skip  [${stage.name}] ${step.op} ${oneLine(step.args)}  (${step.skip})`);
        continue;
      }
      const t0 = performance.now();
      const vars = { ...st.args, ...st.env };
      switch (step.op) {
        case 'ARG':
          for (const [k, v] of parseArgDecl(step.args)) st.args[k] = v ?? plan.globalArgs[k] ?? '';
          break;
        case 'ENV':
          for (const [k, v] of parseKeyValues(step.args)) st.env[k] = substitute(v, vars);
          break;
        case 'WORKDIR':
          st.workdir = posix.resolve(st.workdir, substitute(step.args, vars));
          mkdirSync(hostPath(st, st.workdir), { recursive: true });
          break;
        case 'COPY':
          copyStep(st, step, substitute(step.args, vars), states, opts);
          break;
        case 'RUN':
          runStep(st, step, opts);
          break;
        case 'USER':
          st.user = substitute(step.args, vars);
          break;
        case 'EXPOSE':
          st.expose.push(...step.args.split(/\s+/));
          break;
        case 'CMD':
          st.cmd = step.args.startsWith('[') ? (JSON.parse(step.args) as string[]) : ['/bin/sh', '-c', step.args];
          break;
        case 'HEALTHCHECK': {
          const m = /\bCMD\s+(.*)$/s.exec(step.args);
          st.healthcheck = m ? m[1].trim() : undefined;
          break;
        }
        case 'LABEL':
          break;
        default:
          throw new Error(`Dockerfile line ${step.line}: ${step.op} is not supported by the replay`);
      }
      const ms = performance.now() - t0;
      ran.push({ step, ms });
      if (step.op === 'RUN' || step.op === 'COPY') log(`ran   [${stage.name}] ${step.op} ${oneLine(step.args)}  (${(ms / 1000).toFixed(1)} s)`);
    }
  }
  const final = states.get(plan.stages.at(-1)!.name)!;
  return { final, stages: states, ran };
}

function copyStep(st: StageState, step: Step, args: string, states: Map<string, StageState>, opts: ReplayOptions): void {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  if (paths.length < 2) throw new Error(`Dockerfile line ${step.line}: COPY needs a source and a destination`);
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  const dest = paths.at(-1)!;
  const sources = paths.slice(0, -1);
  if (sources.some((s) => /[*?[]/.test(s))) throw new Error(`Dockerfile line ${step.line}: wildcards are not supported by the replay`);
  const destIsDir = dest.endsWith('/') || sources.length > 1;
  const destHost = hostPath(st, dest);
  for (const src of sources) {
    let srcHost: string;
    if (from) {
      const other = states.get(from);
      if (!other) throw new Error(`Dockerfile line ${step.line}: stage ${from} was not built`);
      srcHost = join(other.rootfs, posix.resolve('/', src));
    } else {
      const rel = posix.normalize(src).replace(/^\/+|\/+$/g, '');
      if (rel.startsWith('..')) throw new Error(`Dockerfile line ${step.line}: ${src} is outside the build context`);
      if (opts.ignore?.(rel)) throw new Error(`Dockerfile line ${step.line}: ${src} is excluded by .dockerignore`);
      srcHost = join(opts.context, rel);
    }
    if (!existsSync(srcHost)) throw new Error(`Dockerfile line ${step.line}: COPY source ${src} does not exist`);
    const isDir = statSync(srcHost).isDirectory();
    const target = isDir ? destHost : destIsDir ? join(destHost, basename(srcHost)) : destHost;
    mkdirSync(isDir ? target : dirname(target), { recursive: true });
    if (from) {
      // Between stages: everything, symlinks as they are (node_modules' workspace links are relative).
      execFileSync('cp', ['-a', isDir ? `${srcHost}/.` : srcHost, target]);
    } else {
      cpSync(srcHost, target, {
        recursive: true,
        verbatimSymlinks: true,
        filter: (p) => !opts.ignore?.(relative(opts.context, p).split('\\').join('/')),
      });
    }
  }
}

function runStep(st: StageState, step: Step, opts: ReplayOptions): void {
  const cwd = hostPath(st, st.workdir);
  mkdirSync(cwd, { recursive: true });
  const env = { ...opts.baseEnv, ...st.args, ...mappedEnv(st) };
  const r = spawnSync('sh', ['-c', step.args], { cwd, env, encoding: 'utf8', timeout: opts.stepTimeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.slice(-4000);
    throw new Error(`Dockerfile line ${step.line}: RUN ${oneLine(step.args)} failed (${r.error ? r.error.message : `exit ${r.status}${r.signal ? `, ${r.signal}` : ''}`}):\n${out}`);
  }
}

export function oneLine(s: string, max = 90): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 3)}...` : t;
}
