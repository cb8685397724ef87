/**
 * Faults with the real stack: the gpu-function dying mid-request, answering slower than the edge's
 * deadline, answering 500, storage disappearing, the gpu-function restarting. Each ends in a clear
 * error for the caller, no asset URL, no charge; a retry with the same Idempotency-Key after recovery
 * succeeds and is billed once.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../gpu-function/test/fixtures';
import { freePort, startLocalStack, type LocalStack } from '../../scripts/local-stack';
import { startFaultProxy, type FaultProxy } from '../fault-proxy';

let stack: LocalStack;
let proxy: FaultProxy;
let storeDir: string;
const photo = new Uint8Array(readFileSync(fixture('astronaut.png')));

beforeAll(async () => {
  storeDir = mkdtempSync(join(tmpdir(), 'facerecon-faults-store-'));
  const gpuPort = await freePort();
  proxy = await startFaultProxy(`http://127.0.0.1:${gpuPort}`);
  stack = await startLocalStack({
    gpuPort,
    keyRate: 10_000,
    storeDir,
    persistTo: mkdtempSync(join(tmpdir(), 'facerecon-faults-')),
    edgeVars: { UPSTREAM_TIMEOUT_MS: '4000' },
    edgeUpstream: () => proxy.url,
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
});

const send = (idem: string) =>
  fetch(`${stack.edgeUrl}/v1/reconstructions?formats=glb`, { method: 'POST', body: photo, headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'image/png', 'idempotency-key': idem } });
const billed = async () => ((await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { billable_calls: number }).billable_calls;
const storedFiles = () => {
  try {
    return readdirSync(storeDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith('.')).length;
  } catch {
    return 0; // the store directory is gone (the storage fault)
  }
};

async function expectFailureThenRecovery(label: string, idem: string, expectCode: string, recover: () => Promise<void> | void) {
  const b0 = await billed();
  const files0 = storedFiles();
  const res = await send(idem);
  const text = await res.text();
  expect(res.status, `${label}: ${text}`).toBeGreaterThanOrEqual(500);
  const body = JSON.parse(text) as { error: { code: string; message: string; message_zh: string } };
  expect(body.error.code, label).toBe(expectCode);
  expect(text).not.toMatch(/10\.1\.2\.3|stack|127\.0\.0\.1|Error:/); // nothing internal leaks
  expect(text).not.toMatch(/assets|\.glb/); // no asset URLs in a failure
  expect(await billed(), `${label}: not billed`).toBe(b0);
  expect(storedFiles(), `${label}: no partial assets`).toBe(files0);
  await recover();
  const retry = await send(idem);
  expect(retry.status, `${label}: retry after recovery`).toBe(200);
  expect(retry.headers.get('idempotent-replayed')).toBeNull(); // the failure did not pin the key
  expect(await billed(), `${label}: billed once`).toBe(b0 + 1);
  const again = await send(idem);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(await billed()).toBe(b0 + 1);
}

describe('faults between the edge and the gpu-function', () => {
  it('the gpu-function drops the connection mid-request', async () => {
    proxy.mode = { kind: 'drop' };
    await expectFailureThenRecovery('drop', 'fault-drop-0001', 'UPSTREAM_UNAVAILABLE', () => {
      proxy.mode = { kind: 'pass' };
    });
  });

  it('the gpu-function is slower than the edge deadline', async () => {
    proxy.mode = { kind: 'delay', ms: 6000 };
    await expectFailureThenRecovery('slow', 'fault-slow-0001', 'TIMEOUT', () => {
      proxy.mode = { kind: 'pass' };
    });
  });

  it('the gpu-function answers 500 (twice: the edge retries only 503)', async () => {
    proxy.mode = { kind: 'error500' };
    await expectFailureThenRecovery('500', 'fault-500-0001', 'UPSTREAM_UNAVAILABLE', () => {
      proxy.mode = { kind: 'pass' };
    });
  });

  it('storage becomes unavailable (the store directory is replaced by a file)', async () => {
    proxy.mode = { kind: 'pass' };
    rmSync(storeDir, { recursive: true, force: true });
    writeFileSync(storeDir, 'not a directory');
    await expectFailureThenRecovery('storage', 'fault-storage-0001', 'STORAGE_UNAVAILABLE', () => {
      rmSync(storeDir, { force: true });
      mkdirSync(storeDir, { recursive: true });
    });
  });

  it('the gpu-function is down, then restarts', async () => {
    await stack.stopGpu();
    await expectFailureThenRecovery('restart', 'fault-restart-0001', 'UPSTREAM_UNAVAILABLE', () => stack.restartGpu());
    expect((await fetch(`${stack.edgeUrl}/healthz`)).status).toBe(200);
  });
});
