/**
 * npm run reliability [-- --seconds 20 --soak-minutes 10 --parts corpus,faults,load]
 * Runs the bad-input corpus, the fault scenarios and the load levels against the real local stack,
 * prints the figures, and (when all three parts ran) writes docs/RELIABILITY.md with them.
 * `npm run reliability:corpus`, `:faults`, `:load` run one part each.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { machineLine } from '../bench/stats';
import { startLocalStack } from '../scripts/local-stack';
import { buildCorpus } from './corpus';
import { startFaultProxy } from './fault-proxy';
import { runFaultScenarios } from './faults';
import { runLoad, type LoadLevel } from './load';
import { runSecurityAttacks } from './security';
import { runJobsBurst } from './jobs-burst';
import { runCorpus } from './run-corpus';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '20' }, 'soak-minutes': { type: 'string', default: '2' }, parts: { type: 'string', default: 'corpus,faults,load,security,jobs' } } });
const PARTS = new Set(values.parts!.split(','));
const ALL = ['corpus', 'faults', 'load', 'security', 'jobs'].every((p) => PARTS.has(p));
const SECONDS = Number(values.seconds);
const SOAK = Number(values['soak-minutes']);
const ROOT = resolve(import.meta.dirname, '..');
const FIX = join(ROOT, '.cache/fixtures');
const photos = [join(FIX, 'astronaut.png'), ...['deep3d/015309.jpg', 'deep3d/vd026.png', '3ddfa/JianzhuGuo.jpg'].map((p) => resolve(ROOT, '../shared/photos', p)).filter(existsSync)].map((p) => new Uint8Array(readFileSync(p)));

// Capacity: 1 job running and 1 waiting in the gpu-function; beyond that it sheds with 503.
process.env.FACERECON_CONCURRENCY = '1';
process.env.FACERECON_QUEUE_MAX = '1';
const storeDir = mkdtempSync(join(tmpdir(), 'facerecon-rel-store-'));
// The proxy learns the gpu-function's address once the stack has bound it (no port picked in advance).
const proxy = await startFaultProxy();
const persistTo = mkdtempSync(join(tmpdir(), 'facerecon-rel-'));
const stack = await startLocalStack({
  storeDir,
  keyRate: 1_000_000,
  keyQuota: 10_000_000,
  persistTo,
  edgeVars: { UPSTREAM_TIMEOUT_MS: '4000' },
  edgeUpstream: (gpuUrl) => {
    proxy.retarget(gpuUrl);
    return proxy.url;
  },
});
const lines: string[] = [];
try {
  console.log('corpus ...');
  const cases = PARTS.has('corpus') ? await buildCorpus(FIX) : [];
  const corpus = await runCorpus(cases, { edgeUrl: stack.edgeUrl, apiKey: stack.apiKey, concurrency: 2 });
  const usage1 = (await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { billable_calls: number };
  const edgeUp = (await fetch(`${stack.edgeUrl}/healthz`)).ok;
  const gpuUp = (await fetch(`${stack.gpuUrl}/healthz`)).ok;

  console.log('faults ...');
  const faults = PARTS.has('faults') ? await runFaultScenarios(stack, proxy, storeDir, photos[0]) : [];

  console.log('load ...');
  const levels: LoadLevel[] = [];
  for (const [label, clients] of PARTS.has('load') ? ([['1x capacity', 2], ['2x capacity', 4], ['4x capacity', 8], ['back to 1x (recovery)', 2]] as const) : []) {
    levels.push(await runLoad({ edgeUrl: stack.edgeUrl, apiKey: stack.apiKey, photos, clients, seconds: SECONDS, label }));
    console.log(JSON.stringify(levels.at(-1)));
  }
  console.log(`soak ${SOAK} min ...`);
  const rss: number[] = [];
  const soakUntil = Date.now() + (PARTS.has('load') ? SOAK : 0) * 60_000;
  let soakRequests = 0;
  while (Date.now() < soakUntil) {
    const l = await runLoad({ edgeUrl: stack.edgeUrl, apiKey: stack.apiKey, photos, clients: 2, seconds: Math.min(30, SOAK * 60), label: 'soak' });
    soakRequests += l.requests;
    rss.push(process.memoryUsage().rss);
  }

  console.log('security ...');
  const security = PARTS.has('security') ? await runSecurityAttacks({ stack, persistTo, photo: photos[0] }) : [];

  console.log('jobs ...');
  const burst = PARTS.has('jobs') ? await runJobsBurst(stack, { photos, jobs: 100, producers: 8, downAfter: 30, downMs: 5000 }) : undefined;
  if (burst) console.log(JSON.stringify(burst));

  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
  const lost = corpus.outcomes.filter((o) => o.status === 0).length;
  lines.push(
    '# Reliability',
    '',
    `Figures from the last \`npm run reliability\` (${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC) against the real local stack: the edge worker on workerd (wrangler dev, local D1), the real gpu-function and the local store, on loopback. Machine: ${await machineLine()}. The same corpus and fault scenarios run as tests in \`.ci/run\` (\`reliability/test/\`).`,
    '',
    '## Bad-input corpus',
    '',
    `${corpus.cases} generated cases (\`reliability/corpus.ts\`: truncated and corrupted JPEG/PNG/WebP/HEIC/AVIF at many offsets, zero bytes, 1x1, extreme aspect ratios, decompression bombs, absurd EXIF, polyglots, wrong Content-Type, malformed and hostile multipart, non-UTF-8 options, no face, two faces, a face cut by the frame, a cartoon face).`,
    '',
    '| outcome | cases |',
    '|---|---|',
    ...Object.entries(corpus.byCode).sort((a, b) => b[1] - a[1]).map(([k, v]) => `| ${k === 'ok' ? 'reconstructed (200)' : `\`${k}\``} | ${v} |`),
    '',
    `- crashes = ${edgeUp && gpuUp ? 0 : 'SEE BELOW'} (edge ${edgeUp ? 'up' : 'DOWN'}, gpu-function ${gpuUp ? 'up' : 'DOWN'} after the run); responses >= 500: ${corpus.serverErrors.length}; undocumented error shapes: ${corpus.undocumented.length}; unexpected outcomes: ${corpus.unexpected.length}`,
    `- lost = ${lost} (requests without a response)`,
    `- billed = ${usage1.billable_calls} for ${corpus.successes} successes: double-billed = ${usage1.billable_calls - corpus.successes}`,
    '',
    '## Faults',
    '',
    'A fault-injecting proxy sits between the edge and the real gpu-function (`reliability/fault-proxy.ts`); storage is broken by replacing the store directory with a file; the restart stops and starts the real gpu-function. After each fault the same request is retried with the same Idempotency-Key, then once more.',
    '',
    '| fault | caller saw | internals leaked | asset URLs in the failure | billed for the failure | assets stored for it | retry after recovery | second retry | total billed |',
    '|---|---|---|---|---|---|---|---|---|',
    ...faults.map((f) => `| ${f.scenario} | ${f.status} \`${f.code}\` | ${f.leaked ? 'yes' : 'no'} | ${f.assetUrlsInFailure ? 'yes' : 'no'} | ${f.billedForFailure} | ${f.partialAssets} | ${f.retryStatus} | ${f.retryReplayed ? 'replayed' : 'not replayed'} | ${f.billedAfterRetries} |`),
    '',
    ...faults.filter((f) => f.drop).map((f) =>
      f.drop === 'working'
        ? 'The drop came while the gpu-function was working on the request: it saw its caller gone, stopped, and deleted what it had written.'
        : f.drop === 'answered'
          ? `The gpu-function answered before the drop (the astronaut, 40 ms in): its finished set of ${f.partialAssets} files is the one the edge never received, unbilled and unreachable (no URL left the edge), removed with the store's TTL; \`reliability/test/faults.test.ts\` checks the drop while working.`
          : 'The drop came before the request reached the gpu-function.',
    ),
    '',
    '## Load',
    '',
    `Closed loop, ${SECONDS} s per level, real photos (${photos.length}), capacity = 1 running + 1 queued job in the gpu-function (CPU); callers back off as Retry-After says.`,
    '',
    '| level | callers | requests | ok/s | p50 ms | p95 ms | p99 ms | outcomes | error rate |',
    '|---|---|---|---|---|---|---|---|---|',
    ...levels.map((l) => `| ${l.label} | ${l.clients} | ${l.requests} | ${l.throughput.toFixed(2)} | ${l.p50.toFixed(0)} | ${l.p95.toFixed(0)} | ${l.p99.toFixed(0)} | ${Object.entries(l.byStatus).map(([k, v]) => `${k}: ${v}`).join(', ')} | ${(100 * l.errorRate).toFixed(1)}% |`),
    '',
    `Soak: ${SOAK} min, ${soakRequests} requests at 2 callers; RSS of the process holding the gpu-function, sampled every 30 s: ${rss.map(mb).join(', ')}${rss.length > 1 ? ` (first to last ${mb(rss.at(-1)! - rss[0])})` : ''}. The 10-minute soak the issue names is \`npm run reliability -- --soak-minutes 10\`.`,
    '',
    '## Async jobs: a burst with the gpu-function restarted',
    '',
    ...(burst
      ? [
          `${burst.jobs} jobs (\`Prefer: respond-async\`) from ${burst.producers} concurrent producers against the same capacity as the load table above (1 running + 1 queued in the gpu-function), the gpu-function stopped after the 30th creation and started again (down ${(burst.gpuDownMs / 1000).toFixed(1)} s). The queue consumer (wrangler's local Queues) calls the gpu-function; 503s and failed connections put the job back with a growing delay (\`reliability/jobs-burst.ts\`).`,
          '',
          '| measure | value |',
          '|---|---|',
          `| creations answered | ${Object.entries(burst.createStatus).map(([k, v]) => `${k}: ${v}`).join(', ')} (caller-visible 503s from the API: ${burst.createStatus['503'] ?? 0}; wrangler dev restarts answered in plain text and retried: ${burst.devRestarts}) |`,
          `| final states | ${Object.entries(burst.final).map(([k, v]) => `${k}: ${v}`).join(', ')} |`,
          `| lost (never reached a final state) | ${burst.lost} |`,
          `| failed with an undocumented code | ${burst.undocumented} |`,
          `| billed / succeeded | ${burst.billed} / ${burst.succeeded} (double-billed: ${burst.billed - burst.succeeded}) |`,
          `| jobs that needed a retry | ${burst.retried} |`,
          `| queue wait p50 / p95 | ${(burst.queueWaitMs.p50 / 1000).toFixed(1)} s / ${(burst.queueWaitMs.p95 / 1000).toFixed(1)} s |`,
          `| create to finished p50 / p95 | ${(burst.endToEndMs.p50 / 1000).toFixed(1)} s / ${(burst.endToEndMs.p95 / 1000).toFixed(1)} s |`,
          `| burst wall time | ${burst.wallS.toFixed(0)} s |`,
          '',
          'Compare the 4x row of the load table: the synchronous path sheds what the GPU cannot take with 503 + Retry-After; the async path queues it instead, and callers see no 503. The retries are the price of the small capacity here: every delivery that met the outage or a full gpu-function (503) went back to the queue with its backoff, which is what stretches the end-to-end times; in production the consumer\'s `max_concurrency` equals the fleet\'s capacity, so a burst waits in the queue instead.',
        ]
      : ['(not run: `npm run reliability -- --parts jobs`)']),
    '',
    '## Security',
    '',
    'The attacks of issue 12, replayed against the same stack (`reliability/security.ts`); each is also a regression test in the tier where it belongs (`edge/test/security.test.ts` in workerd, `gpu-function/test/service/service.test.ts`, `e2e/test/local-stack.test.ts`).',
    '',
    '| attack | what the caller saw | billed | memory |',
    '|---|---|---|---|',
    ...security.map((r) => `| ${r.attack} | ${r.saw} | ${r.billed} | ${r.memory} |`),
    '',
    'How each is closed:',
    '',
    '- **Server-owned identities.** The edge names every request itself (a random UUID, 122 random bits); a caller\'s `x-request-id` is only echoed as `x-client-request-id` and stored for correlation. The gpu-function names each asset folder with its own 128 random bits, and a failed request deletes exactly the files it wrote, never a prefix.',
    '- **Billing atomic with delivery (D1).** One conditional `INSERT ... SELECT ... WHERE used < quota` reserves a unit before any work; D1 runs a database\'s statements serially on its primary, so the check and the write cannot interleave. The commit (`UPDATE ... WHERE outcome = \'reserved\'`) and the idempotency record are one D1 batch (a transaction); the result event or body is sent only after the commit succeeded; failures, time-outs and hang-ups release the unit. D1 rather than a Durable Object per key: the usage rows already live there, so one store holds the facts and the quota.',
    '- **Bounded bodies.** Both services refuse by `Content-Length` and count streamed bytes, cancelling the read at the cap (413); the gpu-function checks the signature (presence, format, time window, and the HMAC over the body hash the request declares) and claims its nonce before reading a byte, then checks that the body hashes to what was signed.',
    '- **Replays.** Each signature nonce is claimed in the asset store (`O_EXCL` file locally, `If-None-Match: *` PUT on S3/R2), which every replica shares and which survives restarts; the claims expire with the assets, far beyond the 5-minute window. The S3 path is tested in the production profile below, against an endpoint that enforces conditional PUTs as S3 and R2 do.',
    '- **Stuck keys.** The relay reads the gpu-function\'s stream to its end on its own (`waitUntil`), so the unit is settled whether or not the caller is still there: when the platform reports the hang-up, the unit and the key are released and the GPU work is aborted; when it does not (wrangler dev\'s proxy does not pass disconnects on, row 5 above), the result is committed and the retry with the same key replays it at once instead of waiting. A key or reservation a dead isolate left is taken over (key) or released (unit) after the upstream deadline plus a minute; a cron trigger (every 5 min) purges idempotency records, and the responses with landmarks they hold, after 24 h, the lifetime of the assets they describe.',
    '- **Decodes bounded by what was checked.** A HEIC or AVIF grid\'s tiles must just cover the picture whose size the upload limits saw (the grid\'s `ispe` is its output size; one tile size; at most 1.25x the pixel limit in all, the overhang of a real grid\'s last row and column), each decoder thread checks its tile\'s declared size before decoding, and a photo\'s tiles still queued are dropped when one fails or its deadline passes: a 5 KB grid of 256 references to one 4096 px tile (16 GiB decoded) is `INVALID_IMAGE` at once. A JPEG with more than 100 scans (each a pass of libjpeg over the picture, which sharp cannot interrupt) is refused by its marker count. The edge reads an `ftyp` box\'s brands in place, at most 64.',
    '- **Slow clients and a silent bucket.** A request must reach the gpu-function within `FACERECON_REQUEST_READ_TIMEOUT_MS` (30 s, headers within 10 s; 408 otherwise), so dribbling connections cannot hold its slots. The S3 store connects within 3 s and answers within 20 s or fails, a request\'s deadline abandons its uploads, and shutdown waits for work at most its deadline plus 5 s. Per-key errors in a bulk delete fail the erase (503) instead of reporting it done.',
    '- **Cancel and erase.** The commit of a job\'s unit requires the job to be still queued or running, so a result that lands between a cancel and its release is not billed. Erasing a finished job rewrites its Idempotency-Key\'s stored response to the erased job, so a retry replays the erasure, not the landmarks.',
    '- **HTTPS only, loopback excepted.** The edge refuses `/v1/*` over plain http to a non-loopback host (403 `HTTPS_REQUIRED`: a key sent in clear text has leaked) and will not forward to a plain-http gpu-function beyond loopback; the gpu-function refuses to start with a plain-http `FACERECON_PUBLIC_URL` or `S3_ENDPOINT` beyond loopback.',
    '',
    '## Production profile',
    '',
    '`e2e/test/production-profile.test.ts` runs the stack as production would, on loopback: the edge with `wrangler.toml`\'s `[env.production]` (its `ALLOWED_ORIGINS`, `CLIENT_IP_HEADER` and bindings; the request keeps its loopback origin), the gpu-function with the S3 store, and one signing secret generated for the run and given to both through their environment only (a request signed with the development secret is refused). The S3 endpoint verifies AWS Signature Version 4 on every request: `e2e/support/sigv4-gateway.ts` recomputes signatures from the AWS specification (checked against the examples AWS publishes) in front of s3rver, and enforces `If-None-Match: *`. A reconstruction through the edge gives presigned URLs that this endpoint serves; a tampered one gets 403; none of the service\'s own writes is refused; the production origin gets CORS and the local page origin does not; a captured signed request is refused after a gpu-function restart because its nonce is in the bucket.',
    '',
    '- Key guessing: failed attempts are limited per client address (20/min, then 429) only where the platform sets the address (`CLIENT_IP_HEADER=cf-connecting-ip` in production); without it, all failures share one bucket. Keys are stored as SHA-256 hashes.',
    '- Signed asset URLs: a tampered signature, an extended expiry, another object\'s key, path traversal and malformed escapes are refused (`stores.test.ts`, `service.test.ts`).',
    '- `npm audit`: the registry mirror this project builds against answers the audit endpoint with 405, so no audit report could be produced here; dependencies are pinned exactly in package.json and package-lock.json.',
  );
  if (ALL) writeFileSync(join(ROOT, 'docs/RELIABILITY.md'), `${lines.join('\n')}\n`);
  else if (PARTS.has('jobs') && PARTS.size === 1) {
    // Only the jobs burst ran: replace (or add) its section of the report and keep the rest as it was.
    const path = join(ROOT, 'docs/RELIABILITY.md');
    const doc = readFileSync(path, 'utf8');
    const at = lines.findIndex((l) => l.startsWith('## Async jobs'));
    const section = lines.slice(at, lines.findIndex((l, i) => i > at && l.startsWith('## '))).join('\n');
    const re = /## Async jobs[\s\S]*?(?=\n## )/;
    writeFileSync(path, re.test(doc) ? doc.replace(re, section.trimEnd() + '\n') : doc.replace('## Security', `${section.trimEnd()}\n\n## Security`));
  }
  console.log(lines.join('\n'));
} finally {
  await stack.stop();
  await proxy.close();
}
