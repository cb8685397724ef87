import { describe, expect, it } from 'vitest';
import { isD1Busy, runWithBusyRetry, type WranglerRun } from '../wrangler';

// What `wrangler d1 execute --local` printed when `wrangler dev` held the write lock (CI, stop 43).
const busy: WranglerRun = {
  status: 1,
  stdout: '{"error":{"text":"internal error; reference = ctgen068e29d7a7v47m4g6ge"}}',
  stderr: 'workerd/util/sqlite.c++:842: failed: SENTRY_DO SQLite failed; NOSENTRY database is locked: SQLITE_BUSY',
};
const ok: WranglerRun = { status: 0, stdout: '[{"results":[]}]', stderr: '' };
const syntax: WranglerRun = { status: 1, stdout: '', stderr: 'near "SELEC": syntax error' };

function scripted(outcomes: WranglerRun[]) {
  const calls = { runs: 0, slept: [] as number[] };
  const run = () => outcomes[Math.min(calls.runs++, outcomes.length - 1)];
  return { calls, run, sleep: (ms: number) => void calls.slept.push(ms) };
}

describe('runWithBusyRetry (wrangler against a D1 that wrangler dev is writing)', () => {
  it('tells a locked database from other failures', () => {
    expect(isD1Busy(busy)).toBe(true);
    expect(isD1Busy(syntax)).toBe(false);
  });

  it('runs again after the pauses while the database is locked, and returns the first success', () => {
    const s = scripted([busy, busy, ok]);
    const r = runWithBusyRetry(s.run, { delaysMs: [5, 10, 20], sleep: s.sleep });
    expect(r).toBe(ok);
    expect(s.calls).toEqual({ runs: 3, slept: [5, 10] });
  });

  it('gives up after the last pause with the busy failure itself', () => {
    const s = scripted([busy]);
    const r = runWithBusyRetry(s.run, { delaysMs: [5, 10], sleep: s.sleep });
    expect(r).toBe(busy);
    expect(s.calls).toEqual({ runs: 3, slept: [5, 10] });
  });

  it('does not repeat a failure that is not a lock', () => {
    const s = scripted([syntax, ok]);
    expect(runWithBusyRetry(s.run, { sleep: s.sleep })).toBe(syntax);
    expect(s.calls.runs).toBe(1);
  });

  it('pauses for real by default (Atomics.wait on the main thread, which wrangler\'s callers block anyway)', () => {
    const s = scripted([busy, ok]);
    expect(runWithBusyRetry(s.run, { delaysMs: [1] })).toBe(ok);
    expect(s.calls.runs).toBe(2);
  });
});
