/**
 * The Swift and Kotlin examples in docs/mobile.md against the OpenAPI document: every path they
 * call exists with that method, every header they send is a documented parameter (or the standard
 * Authorization / Content-Type), every field their models decode is in the schema they decode, and
 * the statuses they compare with are the documented ones.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildOpenApi } from '../../edge/src/openapi';

type Schema = { properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; enum?: string[]; $ref?: string };
const doc = buildOpenApi('https://api.facerecon.example') as { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>>; components: { schemas: Record<string, Schema> } };
const md = readFileSync(resolve(import.meta.dirname, '../../docs/mobile.md'), 'utf8');
const blocks = { swift: /```swift\n([\s\S]*?)```/.exec(md)![1], kotlin: /```kotlin\n([\s\S]*?)```/.exec(md)![1] };
const job = doc.components.schemas.ReconstructionJob;
const reconstruction = doc.components.schemas.Reconstruction;
const props = (s: Schema | undefined): Record<string, Schema> => s?.properties ?? s?.anyOf?.find((x) => x.properties)?.properties ?? {};

describe.each(Object.entries(blocks))('docs/mobile.md %s', (lang, code) => {
  it('calls documented paths with documented methods', () => {
    expect(code).toContain('/v1/reconstructions');
    expect(doc.paths['/v1/reconstructions'].post).toBeDefined();
    expect(doc.paths['/v1/reconstructions/{id}'].get).toBeDefined();
    for (const m of code.matchAll(/\/v1\/[^"\s]+/g)) {
      const path = m[0].replace(/\\\(job\.id\)|\$\{job\.id\}/, '{id}');
      expect(Object.keys(doc.paths), `${lang}: ${m[0]}`).toContain(path);
    }
  });

  it('sends only documented headers', () => {
    const documented = new Set(Object.values(doc.paths).flatMap((p) => Object.values(p).flatMap((op) => (op.parameters ?? []).filter((x) => x.in === 'header').map((x) => x.name.toLowerCase()))));
    // Sent: Swift's setValue(_, forHTTPHeaderField:), OkHttp's .header(name, value).
    const sent = [...code.matchAll(/(?:setValue\([^\n]*forHTTPHeaderField: |\.header\()"([A-Za-z-]+)",?/g)].filter((m) => lang === 'swift' || m[0].endsWith(',')).map((m) => m[1].toLowerCase());
    expect(sent).toEqual(expect.arrayContaining(['authorization', 'prefer', 'idempotency-key']));
    for (const h of sent) if (h !== 'authorization' && h !== 'content-type') expect(documented, `${lang}: ${h}`).toContain(h);
    // Read from answers (Swift's value(forHTTPHeaderField:), OkHttp's header(name)): documented response headers.
    const answered = new Set(
      Object.values(doc.paths).flatMap((p) => Object.values(p).flatMap((op) => Object.values((op as { responses?: Record<string, { headers?: Record<string, unknown> }> }).responses ?? {}).flatMap((r) => Object.keys(r.headers ?? {}).map((h) => h.toLowerCase())))),
    );
    const read = [...code.matchAll(/(?:[^e]value\(forHTTPHeaderField: |\.header\()"([A-Za-z-]+)"\)/g)].map((m) => m[1].toLowerCase());
    expect(read).toContain('retry-after');
    for (const h of read) expect(answered, `${lang}: ${h}`).toContain(h);
  });

  it('decodes only documented fields, and compares with documented statuses', () => {
    const models: Record<string, Schema> = {
      Job: job,
      Reconstruction: reconstruction,
      Assets: props(reconstruction).assets,
      AssetLink: props(props(reconstruction).assets).glb,
      ApiError: props(job).error,
      ErrorBody: doc.components.schemas.Error,
    };
    const re = lang === 'swift' ? /struct (\w+): Decodable \{([^}]*)\}/g : /data class (\w+)\(([^)]*)\)/g;
    const seen: string[] = [];
    for (const [, name, fields] of code.matchAll(re)) {
      seen.push(name);
      const names = [...fields.matchAll(/(?:let|val) (\w+)/g)].map((f) => f[1]);
      expect(names.length, `${lang} ${name}`).toBeGreaterThan(0);
      for (const f of names) expect(Object.keys(props(models[name])), `${lang}: ${name}.${f}`).toContain(f);
    }
    expect(seen.sort()).toEqual(Object.keys(models).sort());
    const statuses = props(job).status.enum!;
    for (const m of code.matchAll(/status == "(\w+)"/g)) expect(statuses).toContain(m[1]);
  });
});
