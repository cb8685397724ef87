/**
 * Peak memory of the workerd processes that run the Worker (wrangler dev's runtime and its proxy), per request, read from Linux's own
 * accounting: the peak resident set (VmHWM) is reset by writing 5 to /proc/<pid>/clear_refs, the
 * request runs, and the new peak minus the resident set before it is what the request cost: the
 * isolate's JS heap, every wasm memory it grew, and workerd's buffers for the body, together. This
 * is an upper bound on the isolate's share (workerd's own allocations count too), taken from outside
 * the isolate because workerd exposes no heap statistics to the Worker.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

export interface MemorySample {
  /** Resident set before the request, MB. */
  beforeMb: number;
  /** Peak resident set during it, MB. */
  peakMb: number;
  /** peak - before, MB. */
  deltaMb: number;
}

export interface MemoryProbe {
  pids: number[];
  measure<T>(run: () => Promise<T>): Promise<{ result: T; sample: MemorySample }>;
}

const statusKb = (pid: number, field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

/** The workerd processes under `rootPid` (wrangler dev starts the runtime and its proxy as grandchildren). */
export function findWorkerd(rootPid: number): number[] {
  const parent = new Map<number, number>();
  const names = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      names.set(Number(d), stat.slice(stat.indexOf('(') + 1, close));
      parent.set(Number(d), Number(stat.slice(close + 2).split(' ')[1]));
    } catch {
      // gone
    }
  }
  const found: number[] = [];
  for (const [pid, name] of names) {
    if (name !== 'workerd') continue;
    for (let p = parent.get(pid); p && p > 1; p = parent.get(p)) if (p === rootPid) found.push(pid);
  }
  return found;
}

/** undefined where the kernel does not let this user reset the peak (then no honest number exists). */
export function createMemoryProbe(rootPid: number): MemoryProbe | undefined {
  let pids = findWorkerd(rootPid);
  if (!pids.length) return undefined;
  // wrangler dev restarts workerd when the Worker's sources change: follow the new processes.
  const reset = () => {
    pids = findWorkerd(rootPid);
    pids.forEach((pid) => writeFileSync(`/proc/${pid}/clear_refs`, '5'));
  };
  try {
    reset();
  } catch {
    return undefined;
  }
  const sum = (field: 'VmRSS' | 'VmHWM') => pids.map((pid) => statusKb(pid, field));
  return {
    get pids() {
      return pids;
    },
    async measure(run) {
      reset();
      const before = sum('VmRSS');
      const result = await run();
      const peak = sum('VmHWM');
      const total = (a: number[]) => a.reduce((x, y) => x + y, 0) / 1024;
      // Each process's own growth, added: the request's cost wherever wrangler dev placed it.
      return { result, sample: { beforeMb: total(before), peakMb: total(peak), deltaMb: total(peak.map((p, i) => Math.max(0, p - before[i]))) } };
    },
  };
}
