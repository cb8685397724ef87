/**
 * The OpenAPI document as code generators and linters see it: openapi-typescript's output, with a
 * sample that uses a result, a job and the documented headers without one cast, compiles under
 * strict tsc; Redocly's lint engine (@redocly/openapi-core, what `redocly lint` runs) finds nothing
 * with the recommended and the recommended-strict rules.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import openapiTS, { astToString } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';
import { buildOpenApi } from '../../edge/src/openapi';

const ROOT = resolve(import.meta.dirname, '../..');
const doc = buildOpenApi('https://api.facerecon.example');

const SAMPLE = `import type { paths, components } from './api';
type Created = paths['/v1/reconstructions']['post']['responses'];
declare const ok: components['schemas']['Reconstruction'];
declare const accepted: Created['202']['content']['application/json'];
// 200 is the reconstruction, or (Prefer: wait=N) the finished job: both are assignable to it.
const answered: Array<Created['200']['content']['application/json']> = [ok, accepted];
declare const job: paths['/v1/reconstructions/{id}']['get']['responses']['200']['content']['application/json'];
declare const err: Created['422']['content']['application/json'];
const glb: string | undefined = ok.assets.glb?.url;
const expires: string | undefined = ok.assets.texture?.expires_at;
const eye: number = ok.landmarks.image_px[468][0];
const yaw: number = ok.pose.yaw_deg;
const status: 'queued' | 'running' | 'succeeded' | 'failed' | 'canceled' = accepted.status;
const resultGlb: string | undefined = job.result?.assets.glb?.url;
const code: string = err.error.code;
const retryAfter: number | undefined = ({} as Created['429']['headers'])['Retry-After'];
const location: string | undefined = ({} as Created['202']['headers']).Location;
// @ts-expect-error: assets are named; a misspelt kind does not compile
const typo = ok.assets.glbb;
type Body = NonNullable<paths['/v1/reconstructions']['post']['requestBody']>['content'];
const kinds: Array<keyof Body> = ['image/jpeg', 'image/heic', 'image/avif', 'application/octet-stream', 'multipart/form-data'];
type Stream = paths['/v1/reconstructions/stream']['post']['responses']['200']['content'];
const sse: keyof Stream = 'text/event-stream';
export const used = [glb, expires, eye, yaw, status, resultGlb, code, retryAfter, location, typo, kinds, sse, answered] as const;
export type Job = components['schemas']['ReconstructionJob'];
`;

describe('the OpenAPI document for generators and linters', () => {
  it('openapi-typescript output and a sample using it without casts compile (strict)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facerecon-oapi-ts-'));
    writeFileSync(join(dir, 'api.ts'), astToString(await openapiTS(doc as never)));
    writeFileSync(join(dir, 'sample.ts'), SAMPLE);
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', skipLibCheck: true, noUncheckedIndexedAccess: false }, files: ['sample.ts'] }));
    let out = '';
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], { stdio: 'pipe' });
    } catch (e) {
      out = String((e as { stdout?: Buffer }).stdout ?? e);
    }
    expect(out).toBe('');
  });

  it.each(['recommended', 'recommended-strict'])('lints clean with Redocly\'s %s rules', async (ruleset) => {
    const config = await createConfig({ extends: [ruleset] } as never);
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
    expect(problems.map((p) => `${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer}`)).toEqual([]);
  });

  it('dates are date-time, the SSE answer is its own operation, the licence is stated', () => {
    const s = JSON.stringify(doc);
    expect(s).toContain('"expires_at":{"type":"string","format":"date-time"');
    const ok = (doc as { paths: Record<string, { post: { responses: Record<string, { content: Record<string, unknown> }> } }> }).paths['/v1/reconstructions'].post.responses['200'].content;
    expect(Object.keys(ok)).toEqual(['application/json']);
    expect((doc as { info: { license: { name: string } } }).info.license.name).toBeTruthy();
  });
});
