/**
 * The image cannot be built here (no Docker engine), so keep the Dockerfile honest: every path it
 * copies from the build context exists, and its command is exactly what the package runs as `start`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(ROOT, 'infra/Dockerfile'), 'utf8');

describe('infra/Dockerfile', () => {
  it('copies only paths that exist in the repository', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => {
      const parts = m[1].split(/\s+/).filter((p) => !p.startsWith('--'));
      return parts.slice(0, -1);
    });
    expect(sources.length).toBeGreaterThan(8);
    expect(sources.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
  });

  it('runs the package start command from the package folder, as a non-root user, with a health check', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'gpu-function/package.json'), 'utf8')) as { scripts: { start: string } };
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]) as string[];
    expect(cmd.join(' ')).toBe(pkg.scripts.start);
    const workdirs = [...dockerfile.matchAll(/^WORKDIR (.+)$/gm)].map((m) => m[1]);
    expect(workdirs.at(-1)).toBe('/app/gpu-function');
    // The entry file exists where the command points.
    expect(existsSync(join(ROOT, 'gpu-function', cmd.at(-1)!))).toBe(true);
    expect(dockerfile).toMatch(/^USER facerecon$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/--onnxruntime-node-install=cuda12/);
  });

  it('deploy configs point at the same port and health routes', () => {
    const run = readFileSync(join(ROOT, 'infra/cloud-run/service.yaml'), 'utf8');
    expect(run).toMatch(/containerPort: 8080/);
    expect(run).toMatch(/path: \/readyz/);
    expect(run).toMatch(/minScale: "0"/);
    const modal = readFileSync(join(ROOT, 'infra/modal/app.py'), 'utf8');
    expect(modal).toMatch(/web_server\(port=8080/);
    expect(modal).toMatch(/min_containers=0/);
    expect(dockerfile).toMatch(/PORT=8080/);
    const lifecycle = JSON.parse(readFileSync(join(ROOT, 'infra/storage/s3-lifecycle.json'), 'utf8'));
    expect(lifecycle.Rules[0].Expiration.Days).toBe(1);
  });
});
