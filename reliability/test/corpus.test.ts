/**
 * The bad-input corpus (>= 300 generated cases) through the real local stack: every case ends in a
 * success or a documented error with status < 500, both processes stay up, memory stays bounded,
 * and only the successes are billed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES_DIR } from '../../gpu-function/test/fixtures';
import { startLocalStack, type LocalStack } from '../../scripts/local-stack';
import { buildCorpus } from '../corpus';
import { runCorpus } from '../run-corpus';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ keyRate: 100_000, keyQuota: 100_000, persistTo: mkdtempSync(join(tmpdir(), 'facerecon-corpus-')) });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('bad-input corpus through the real stack', () => {
  it('every case ends in a success or a documented error < 500 (or 503 back-pressure), never a time-out; nothing crashes; only successes are billed', async () => {
    const cases = await buildCorpus(FIXTURES_DIR);
    expect(cases.length).toBeGreaterThanOrEqual(300);
    const rssBefore = process.memoryUsage().rss;
    const report = await runCorpus(cases, { edgeUrl: stack.edgeUrl, apiKey: stack.apiKey });
    const rssAfter = process.memoryUsage().rss;
    console.log(`corpus: ${report.cases} cases; outcomes ${JSON.stringify(report.byCode)}; RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssAfter / 2 ** 20).toFixed(0)} MB`);
    expect(report.serverErrors, JSON.stringify(report.serverErrors.slice(0, 5))).toEqual([]);
    expect(report.undocumented, JSON.stringify(report.undocumented.slice(0, 5))).toEqual([]);
    expect(report.unexpected, JSON.stringify(report.unexpected.slice(0, 5))).toEqual([]);
    expect(report.successes).toBeGreaterThan(3);
    // Both processes are still serving.
    expect((await fetch(`${stack.edgeUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.gpuUrl}/healthz`)).status).toBe(200);
    expect(rssAfter - rssBefore).toBeLessThan(400 * 2 ** 20);
    // Billing: exactly the successes.
    const usage = (await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { billable_calls: number; requests: number };
    expect(usage.billable_calls).toBe(report.successes);
  }, 600_000);
});
