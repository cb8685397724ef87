/**
 * Faults with the real stack: the gpu-function dying mid-request, answering slower than the edge's
 * deadline, answering 500, storage disappearing, the gpu-function restarting. Each ends in a clear
 * error for the caller, no asset URL, no charge; a retry with the same Idempotency-Key after recovery
 * succeeds and is billed once.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fixture } from '../../gpu-function/test/fixtures';
import { startLocalStack, type LocalStack } from '../../scripts/local-stack';
import { startFaultProxy, type FaultProxy } from '../fault-proxy';
import { runFaultScenarios } from '../faults';

let stack: LocalStack;
let proxy: FaultProxy;
let storeDir: string;

beforeAll(async () => {
  storeDir = mkdtempSync(join(tmpdir(), 'facerecon-faults-store-'));
  // The proxy learns the gpu-function's address once the stack has bound it (no port picked in advance).
  proxy = await startFaultProxy();
  stack = await startLocalStack({
    keyRate: 10_000,
    storeDir,
    persistTo: mkdtempSync(join(tmpdir(), 'facerecon-faults-')),
    edgeVars: { UPSTREAM_TIMEOUT_MS: '4000' },
    edgeUpstream: (gpuUrl) => {
      proxy.retarget(gpuUrl);
      return proxy.url;
    },
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
});

it('every fault is a clear unbilled error without asset URLs, and the idempotent retry after recovery is billed once', async () => {
  const results = await runFaultScenarios(stack, proxy, storeDir, new Uint8Array(readFileSync(fixture('astronaut.png'))));
  const expected: Record<string, string> = {
    'gpu-function drops the connection mid-request': 'UPSTREAM_UNAVAILABLE',
    'gpu-function slower than the edge deadline': 'TIMEOUT',
    'gpu-function answers 500': 'UPSTREAM_UNAVAILABLE',
    'storage unavailable': 'STORAGE_UNAVAILABLE',
    'gpu-function down, then restarted': 'UPSTREAM_UNAVAILABLE',
  };
  for (const r of results) {
    const where = JSON.stringify(r);
    expect(r.code, where).toBe(expected[r.scenario]);
    expect(r.status, where).toBeGreaterThanOrEqual(500);
    expect(r.leaked, where).toBe(false);
    expect(r.assetUrlsInFailure, where).toBe(false);
    expect(r.billedForFailure, where).toBe(0);
    expect(r.partialAssets, where).toBe(0);
    expect(r.retryStatus, where).toBe(200);
    expect(r.retryReplayed, where).toBe(true);
    expect(r.billedAfterRetries, where).toBe(1);
  }
  expect(results).toHaveLength(5);
  // The drop hit a request the real gpu-function was working on (not one it had answered), so "no
  // partial assets" says it stopped and cleaned up.
  expect(proxy.drops[0]).toBe('working');
  expect((await fetch(`${stack.edgeUrl}/healthz`)).status).toBe(200);
}, 300_000);
