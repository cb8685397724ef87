/**
 * The image cannot be built here (no Docker engine), so keep the Dockerfile honest: every path it
 * copies from the build context exists, and its command is exactly what the package runs as `start`.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(ROOT, 'infra/Dockerfile'), 'utf8');
const ICT = resolve(ROOT, '../shared/ict-facekit');
const hasIct = existsSync(join(ICT, 'generic_neutral_mesh.obj'));
const hasGit = (() => {
  try {
    execFileSync('git', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();

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

  it('builds the ICT-FaceKit pack at image build with the fetch script, before pruning dev tools', () => {
    const fetch = dockerfile.indexOf('bash infra/scripts/fetch-ict.sh');
    expect(fetch).toBeGreaterThan(dockerfile.indexOf('RUN npm ci'));
    expect(fetch).toBeLessThan(dockerfile.indexOf('npm prune'));
    expect(dockerfile).toMatch(/^ARG WITH_ICT=1$/m);
    const script = readFileSync(join(ROOT, 'infra/scripts/fetch-ict.sh'), 'utf8');
    expect(script).toMatch(/models\/scripts\/build-ict\.ts/);
  });

  it.skipIf(!hasIct || !hasGit)(hasIct && hasGit ? 'fetch-ict.sh clones a FaceXModel repository at a commit and builds a loadable pack' : 'fetch-ict.sh run skipped: ../shared/ict-facekit or git not available', () => {
    // A local stand-in for the public repository: the team's subset as FaceXModel/, the licence at the root.
    const repo = mkdtempSync(join(tmpdir(), 'ict-repo-'));
    mkdirSync(join(repo, 'FaceXModel'));
    for (const f of readdirSync(ICT)) if (f !== 'LICENSE') copyFileSync(join(ICT, f), join(repo, 'FaceXModel', f));
    copyFileSync(join(ICT, 'LICENSE'), join(repo, 'LICENSE'));
    writeFileSync(join(repo, 'README.md'), 'not part of the checkout\n');
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.email=ci@example.invalid', '-c', 'user.name=ci', ...args], { encoding: 'utf8' });
    git('init', '--quiet');
    git('add', '.');
    git('commit', '--quiet', '-m', 'subset');
    const ref = git('rev-parse', 'HEAD').trim();
    const out = join(mkdtempSync(join(tmpdir(), 'ict-out-')), 'ict');
    execFileSync('bash', [join(ROOT, 'infra/scripts/fetch-ict.sh'), out], { env: { ...process.env, ICT_REPO: `file://${repo}`, ICT_REF: ref }, stdio: 'pipe' });
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'facerecon-3dmm', vertexCount: 26719 });
    expect(readFileSync(join(out, 'LICENSE'), 'utf8')).toMatch(/MIT License/);
  }, 120_000);

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
