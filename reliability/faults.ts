/**
 * Fault scenarios against a running local stack whose edge reaches the gpu-function through a
 * FaultProxy: each breaks something real, sends a request, repairs it, retries with the same
 * Idempotency-Key, and records what the caller saw and what was billed and stored.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { LocalStack } from '../scripts/local-stack';
import type { FaultProxy } from './fault-proxy';

export interface FaultResult {
  scenario: string;
  status: number;
  code: string;
  leaked: boolean;
  assetUrlsInFailure: boolean;
  billedForFailure: number;
  partialAssets: number;
  retryStatus: number;
  retryReplayed: boolean;
  billedAfterRetries: number;
  /** The drop scenario: how the drop fell (the proxy's record): 'working' is the fault as meant. */
  drop?: 'working' | 'answered' | 'not sent';
}

/** `count()` once it has not changed over four polls 250 ms apart (or after 15 s). */
async function settledCount(count: () => number): Promise<number> {
  let last = count(), same = 0;
  for (let t = 0; t < 60 && same < 4; t++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = count();
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

export async function runFaultScenarios(stack: LocalStack, proxy: FaultProxy, storeDir: string, photo: Uint8Array): Promise<FaultResult[]> {
  const send = (idem: string) =>
    fetch(`${stack.edgeUrl}/v1/reconstructions?formats=glb`, { method: 'POST', body: photo as BodyInit, headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'image/png', 'idempotency-key': idem } });
  const billed = async () => ((await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { billable_calls: number }).billable_calls;
  // Asset folders are named by the gpu-function (random), so a failure's partial set is counted as the
  // asset files that appeared during it; the nonce ledger (.ledger/) is bookkeeping, not assets.
  const assetFiles = () => {
    try {
      return readdirSync(storeDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith('.') && !e.parentPath.includes('.ledger')).length;
    } catch {
      return 0; // the store directory is gone (the storage fault)
    }
  };
  const scenarios: Array<[string, () => Promise<void> | void, () => Promise<void> | void]> = [
    ['gpu-function drops the connection mid-request', () => void (proxy.mode = { kind: 'dropWhileWorking', afterMs: 40 }), () => void (proxy.mode = { kind: 'pass' })],
    ['gpu-function slower than the edge deadline', () => void (proxy.mode = { kind: 'delay', ms: 6000 }), () => void (proxy.mode = { kind: 'pass' })],
    ['gpu-function answers 500', () => void (proxy.mode = { kind: 'error500' }), () => void (proxy.mode = { kind: 'pass' })],
    [
      'storage unavailable',
      () => {
        rmSync(storeDir, { recursive: true, force: true });
        writeFileSync(storeDir, 'not a directory');
      },
      () => {
        rmSync(storeDir, { force: true });
        mkdirSync(storeDir, { recursive: true });
      },
    ],
    ['gpu-function down, then restarted', () => stack.stopGpu(), () => stack.restartGpu()],
  ];
  const results: FaultResult[] = [];
  for (const [name, breakIt, repair] of scenarios) {
    const idem = `fault-${name.replace(/\W+/g, '-')}-${Date.now()}`;
    const b0 = await billed();
    const files0 = assetFiles();
    await breakIt();
    const res = await send(idem);
    const text = await res.text();
    let code = 'unparsable';
    try {
      code = (JSON.parse(text) as { error?: { code: string } }).error?.code ?? 'none';
    } catch {
      // not JSON
    }
    const billedForFailure = (await billed()) - b0;
    // What the failed request left in the store once the gpu-function is done with it: a request it
    // was working on when its caller vanished is stopped and its files deleted, so wait until the
    // count has not changed for a second (at most 15 s).
    const partialAssets = Math.max(0, (await settledCount(assetFiles)) - files0);
    await repair();
    const retry = await send(idem);
    await retry.arrayBuffer();
    const replay = await send(idem);
    await replay.arrayBuffer();
    results.push({
      scenario: name,
      status: res.status,
      code,
      leaked: /10\.1\.2\.3|stack|127\.0\.0\.1|Error:/.test(text),
      assetUrlsInFailure: /\/assets\/|\.glb/.test(text),
      billedForFailure,
      partialAssets,
      retryStatus: retry.status,
      retryReplayed: replay.headers.get('idempotent-replayed') === 'true',
      billedAfterRetries: (await billed()) - b0,
      ...(name.startsWith('gpu-function drops') ? { drop: proxy.drops.at(-1) } : {}),
    });
  }
  return results;
}
