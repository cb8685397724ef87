/**
 * infra/Dockerfile, built for real as far as a machine without a Docker engine allows: the build is
 * replayed (dockerfile-replay.ts) into an empty folder that holds exactly what the COPY lines copy,
 * its RUN steps run there, and the service is started from the result with the runtime stage's ENV,
 * WORKDIR and CMD, then reconstructs a photo through its signed API.
 *
 * Skipped, and named in the test title: the base image (this machine's Node 20 stands in for the CUDA
 * image with Node), the steps that need apt-get or the network outside the npm registry (git and the
 * ICT-FaceKit clone, onnxruntime's CUDA provider download), and useradd. FACERECON_PROVIDERS is cpu.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../shared/src/signing';
import { dockerignoreMatcher, hostPath, mappedEnv, oneLine, planDockerfile, replayPlan, skippedSteps, type ReplayResult } from './dockerfile-replay';

const ROOT = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(ROOT, 'infra/Dockerfile'), 'utf8');
const ICT = resolve(ROOT, '../shared/ict-facekit');
const hasIct = existsSync(join(ICT, 'generic_neutral_mesh.obj'));
const ICT_FULL = resolve(ROOT, '../shared/ict-facekit-full');
const hasIctFull = existsSync(join(ICT_FULL, 'generic_neutral_mesh.obj.gz'));
const hasGit = (() => {
  try {
    execFileSync('git', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();

/** The only kinds of step the replay may skip (label — why); anything else in the Dockerfile runs. */
const SKIP_RULES: [RegExp, string][] = [
  [/\bapt-get\b|fetch-ict\.sh/, 'apt-get git + ICT-FaceKit clone — system packages and a git clone from the network (fetch-ict.sh has its own test below)'],
  [/--onnxruntime-node-install=cuda12/, 'onnxruntime cuda12 download — the CUDA provider libraries come from NuGet, outside the npm registry'],
  [/\buseradd\b/, 'useradd — creating a system user needs root; ownership is not replayed'],
];
const plan = planDockerfile(dockerfile, (_stage, step) => (step.op === 'RUN' ? SKIP_RULES.find(([re]) => re.test(step.args))?.[1] : undefined));
const skipped = skippedSteps(plan);
const skippedTitle = skipped.map((s) => `${s.skip!.split(' — ')[0]} [${s.stage}]`).join('; ');

describe('infra/Dockerfile', () => {
  it('copies only paths that exist in the repository and that .dockerignore keeps', () => {
    const ignored = dockerignoreMatcher(readFileSync(join(ROOT, 'infra/Dockerfile.dockerignore'), 'utf8'));
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => {
      const parts = m[1].split(/\s+/).filter((p) => !p.startsWith('--'));
      return parts.slice(0, -1);
    });
    expect(sources.length).toBeGreaterThan(8);
    expect(sources.filter((p) => !existsSync(join(ROOT, p)))).toEqual([]);
    expect(sources.filter((p) => ignored(p))).toEqual([]);
    // ...and the context filter keeps installed packages and build outputs out.
    for (const p of ['node_modules', 'gpu-function/node_modules/x', 'models/build/facemesh.onnx', '.cache/dev-secret', '.dev.vars', 'edge/public/index.html']) expect(ignored(p), p).toBe(true);
  });

  it('runs the package start command from the package folder, as a non-root user, with a health check', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'gpu-function/package.json'), 'utf8')) as { scripts: { start: string } };
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]) as string[];
    expect(cmd.join(' ')).toBe(pkg.scripts.start);
    const workdirs = [...dockerfile.matchAll(/^WORKDIR (.+)$/gm)].map((m) => m[1]);
    expect(workdirs.at(-1)).toBe('/app/gpu-function');
    expect(existsSync(join(ROOT, 'gpu-function', cmd.at(-1)!))).toBe(true);
    // Non-root by default; only Modal's build (build_args) overrides it.
    expect(dockerfile).toMatch(/^ARG RUN_AS=facerecon$/m);
    expect(dockerfile).toMatch(/^USER \$\{RUN_AS\}$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/--onnxruntime-node-install=cuda12/);
  });

  it('unpacks the Node tarball only after checking it against SHASUMS256.txt signed by a pinned release key', () => {
    // The one network download of the node stage (the replay skips it with its apt-get): read as the
    // order of its commands, since a check placed after the unpack would check nothing.
    const step = dockerfile.split(/\n(?=RUN |COPY |FROM |ARG |ENV )/).find((s) => s.startsWith('RUN ') && s.includes('nodejs.org/dist'))!;
    const at = (re: RegExp) => {
      const m = re.exec(step);
      expect(m, String(re)).not.toBeNull();
      return m!.index;
    };
    const fingerprints = [...step.matchAll(/^\s+([0-9A-F]{40}) \\$/gm)].map((m) => m[1]);
    expect(fingerprints.length).toBeGreaterThanOrEqual(5);
    // The key that signs the default NODE_VERSION (24.19 and later: Antoine du Hamel's) is among them.
    expect(/^ARG NODE_VERSION=24\./m.test(dockerfile)).toBe(true);
    expect(fingerprints).toContain('5BE8A3F6C8A5C01D106C0AD820B1A390B168D356');
    // A key the keyservers do not give only warns: the signature check is the gate, not the loop's last key.
    expect(step).toMatch(/\|\| echo "warning: Node release key \$key not fetched" >&2; \\\n\s+done/);
    expect(at(/--recv-keys "\$key"/)).toBeLessThan(at(/gpg --batch --decrypt --output SHASUMS256\.txt SHASUMS256\.txt\.asc/));
    expect(at(/gpg --batch --decrypt/)).toBeLessThan(at(/\| sha256sum -c -/));
    expect(at(/\| sha256sum -c -/)).toBeLessThan(at(/tar -xJf/));
    // No piping the download straight into tar (what the stage did before), and each command chained with &&.
    expect(step).not.toMatch(/curl[^\n]*\|\s*(\\\n\s*)?tar/);
    expect(step).not.toMatch(/;\s*\\\n\s*(&& )?(curl|tar|gpg --batch --decrypt)/);
  });

  it("pairs onnxruntime-node with a base image of the CUDA major its NuGet provider is built for, and checks the provider's libraries at build time", () => {
    // The installer downloads NuGet's Microsoft.ML.OnnxRuntime.Gpu.Linux of the package's own version:
    // CUDA 12 builds up to 1.26, CUDA 13 from 1.27 (onnxruntime's 1.27 release: "CUDA 12 packages are
    // deprecated", moved off nuget.org). Cloud Run's L4 driver (535, CUDA 12.2) runs CUDA 12 only.
    const ort = (JSON.parse(readFileSync(join(ROOT, 'gpu-function/package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['onnxruntime-node'];
    const [major, minor] = ort.split('.').map(Number);
    const providerCuda = major === 1 && minor <= 26 ? 12 : 13;
    const image = /^ARG CUDA_IMAGE=nvidia\/cuda:(\d+)\.\d+\.\d+-cudnn-runtime-/m.exec(dockerfile);
    expect(image, 'a CUDA + cuDNN runtime base image').not.toBeNull();
    expect(Number(image![1])).toBe(providerCuda);
    expect(providerCuda, 'Cloud Run L4 (infra/cloud-run/service.yaml) runs CUDA 12 only').toBe(12);
    expect(readFileSync(join(ROOT, 'infra/cloud-run/service.yaml'), 'utf8')).toMatch(/nvidia-l4/);
    // The same RUN as the download links the provider against the image and fails on a missing library.
    const step = dockerfile.split(/\n(?=RUN |COPY |FROM |ARG |ENV )/).find((s) => s.startsWith('RUN ') && s.includes('--onnxruntime-node-install=cuda12'))!;
    expect(step).toMatch(/\[ -f "\$provider" \] && linked="\$\(ldd "\$provider"\)"/);
    expect(step).toMatch(/grep 'not found' \| grep -v 'libcuda\\\.so\\\.1'/);
    expect(step).toMatch(/exit 1/);
  });

  it('installs without the root postinstall, converts the models, then builds the ICT-FaceKit pack before dropping the converter inputs', () => {
    const at = (s: string) => {
      const i = dockerfile.indexOf(s);
      expect(i, s).toBeGreaterThan(0);
      return i;
    };
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev --ignore-scripts --workspace gpu-function$/m);
    const order = [at('RUN npm ci'), at('RUN npm run models:build'), at('bash infra/scripts/fetch-ict.sh'), at('RUN rm -rf node_modules/@vladmandic')];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(dockerfile).toMatch(/^ARG WITH_ICT=1$/m);
    const script = readFileSync(join(ROOT, 'infra/scripts/fetch-ict.sh'), 'utf8');
    expect(script).toMatch(/models\/scripts\/build-ict\.ts/);
  });

  describe.skipIf(!hasIct || !hasGit)(hasIct && hasGit ? 'fetch-ict.sh' : 'fetch-ict.sh skipped: ../shared/ict-facekit or git not available', () => {
    // A local stand-in for the public repository: the team's subset as FaceXModel/, the licence at the root,
    // and a checksum list of it written the way infra/scripts/hash-ict.ts writes the real one.
    let repo: string;
    let sums: string;
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.email=ci@example.invalid', '-c', 'user.name=ci', ...args], { encoding: 'utf8' });
    const fetchIct = (ref: string) => {
      const out = join(mkdtempSync(join(tmpdir(), 'ict-out-')), 'ict');
      try {
        execFileSync('bash', [join(ROOT, 'infra/scripts/fetch-ict.sh'), out], { env: { ...process.env, ICT_REPO: `file://${repo}`, ICT_REF: ref, ICT_SHA256: sums }, stdio: 'pipe' });
        return { ok: true as const, manifest: JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')), licence: readFileSync(join(out, 'LICENSE'), 'utf8') };
      } catch (err) {
        return { ok: false as const, stderr: String((err as { stderr?: Buffer }).stderr ?? '') };
      } finally {
        rmSync(resolve(out, '..'), { recursive: true, force: true });
      }
    };
    beforeAll(() => {
      repo = mkdtempSync(join(tmpdir(), 'ict-repo-'));
      mkdirSync(join(repo, 'FaceXModel'));
      for (const f of readdirSync(ICT)) if (f !== 'LICENSE') copyFileSync(join(ICT, f), join(repo, 'FaceXModel', f));
      copyFileSync(join(ICT, 'LICENSE'), join(repo, 'LICENSE'));
      writeFileSync(join(repo, 'README.md'), 'not part of the checkout\n');
      git('init', '--quiet');
      git('add', '.');
      git('commit', '--quiet', '-m', 'subset');
      sums = join(repo, '..', `${repo.split('/').pop()}.sha256`);
      execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'infra/scripts/hash-ict.ts'), ICT, '--out', sums], { cwd: ROOT, stdio: 'pipe' });
    });
    afterAll(() => {
      rmSync(repo, { recursive: true, force: true });
      rmSync(sums, { force: true });
    });

    it('clones a FaceXModel repository at a commit, checks every file against the list and builds a loadable pack', () => {
      const r = fetchIct(git('rev-parse', 'HEAD').trim());
      expect(r.ok, r.ok ? '' : r.stderr).toBe(true);
      if (!r.ok) return;
      expect(r.manifest).toMatchObject({ format: 'facerecon-3dmm', vertexCount: 26719 });
      expect(r.licence).toMatch(/MIT License/);
    }, 120_000);

    it('refuses a commit whose files differ from the list, or that holds a file the list does not name', () => {
      const good = git('rev-parse', 'HEAD').trim();
      // One identity mode changed by a single vertex coordinate: a build that converted it would ship another model.
      const obj = join(repo, 'FaceXModel', 'identity003.obj');
      const text = readFileSync(obj, 'utf8');
      writeFileSync(obj, text.replace(/^v (\S+)/m, (_m, x: string) => `v ${String(Number(x) + 0.001)}`));
      git('commit', '--quiet', '-am', 'tampered');
      const tampered = fetchIct(git('rev-parse', 'HEAD').trim());
      expect(tampered.ok).toBe(false);
      if (!tampered.ok) expect(tampered.stderr).toMatch(/FaceXModel\/identity003\.obj: FAILED[\s\S]*does not match/);
      // The list's files intact, one more mode beside them (the converter reads every identityNNN.obj).
      git('checkout', '--quiet', good, '--', 'FaceXModel/identity003.obj');
      copyFileSync(join(ICT, 'identity002.obj'), join(repo, 'FaceXModel', 'identity010.obj'));
      git('add', '.');
      git('commit', '--quiet', '-m', 'extra mode');
      const extra = fetchIct(git('rev-parse', 'HEAD').trim());
      expect(extra.ok).toBe(false);
      if (!extra.ok) expect(extra.stderr).toMatch(/has FaceXModel\/identity010\.obj, which .* does not list/);
    }, 120_000);
  });

  it.skipIf(!hasIctFull)(hasIctFull ? 'infra/ict-facekit.sha256 names every file of the full model at the pinned commit, with its hash' : 'the checksum list against the full model skipped: ../shared/ict-facekit-full not available', () => {
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const expected = readdirSync(ICT_FULL).map((f) => {
      const bytes = readFileSync(join(ICT_FULL, f));
      if (f === 'LICENSE') return `${sha(bytes)}  LICENSE`;
      return f.endsWith('.gz') ? `${sha(gunzipSync(bytes))}  FaceXModel/${f.slice(0, -3)}` : `${sha(bytes)}  FaceXModel/${f}`;
    });
    const listed = readFileSync(join(ROOT, 'infra/ict-facekit.sha256'), 'utf8').trim().split('\n');
    expect([...listed].sort()).toEqual([...expected].sort());
    expect(listed.filter((l) => /FaceXModel\/identity\d{3}\.obj$/.test(l))).toHaveLength(100);
  });

  it('deploy configs point at the same port and health routes', () => {
    const run = readFileSync(join(ROOT, 'infra/cloud-run/service.yaml'), 'utf8');
    expect(run).toMatch(/containerPort: 8080/);
    expect(run).toMatch(/path: \/readyz/);
    expect(run).toMatch(/minScale: "0"/);
    const modal = readFileSync(join(ROOT, 'infra/modal/app.py'), 'utf8');
    expect(modal).toMatch(/web_server\(port=8080/);
    expect(modal).toMatch(/min_containers=0/);
    // The GPU deployments ask for CUDA alone: a broken CUDA fails start-up rather than serving from the CPU.
    expect(run).toMatch(/name: FACERECON_PROVIDERS\s+value: cuda\s/);
    expect(modal).toMatch(/"FACERECON_PROVIDERS": "cuda"/);
    // The image has no Python; Modal's runner needs one, and its own build steps run as the final user.
    expect(modal).toMatch(/from_dockerfile\([^)]*add_python="3\.\d+"/);
    expect(modal).toMatch(/build_args=\{"RUN_AS": "root"\}/);
    expect(dockerfile).toMatch(/PORT=8080/);
    // libuv's pool larger than the GPU concurrency, so signature checks never queue behind decodes.
    const pool = Number(/UV_THREADPOOL_SIZE=(\d+)/.exec(dockerfile)?.[1]);
    const concurrency = Number(/name: FACERECON_CONCURRENCY\s+value: "(\d+)"/.exec(run)?.[1]);
    expect(pool).toBeGreaterThanOrEqual(concurrency + 4);
    const lifecycle = JSON.parse(readFileSync(join(ROOT, 'infra/storage/s3-lifecycle.json'), 'utf8'));
    expect(lifecycle.Rules[0].Expiration.Days).toBe(1);
    // Browsers read the signed asset URLs from any origin (the URL is the credential, as the local store
    // serves them), and only read: the S3/R2 and GCS CORS files say the same thing.
    const s3Cors = JSON.parse(readFileSync(join(ROOT, 'infra/storage/s3-cors.json'), 'utf8')).CORSRules as { AllowedOrigins: string[]; AllowedMethods: string[]; ExposeHeaders: string[] }[];
    const gcsCors = JSON.parse(readFileSync(join(ROOT, 'infra/storage/gcs-cors.json'), 'utf8')) as { origin: string[]; method: string[]; responseHeader: string[] }[];
    expect(s3Cors.map((r) => [r.AllowedOrigins, [...r.AllowedMethods].sort(), [...r.ExposeHeaders].sort()])).toEqual(gcsCors.map((r) => [r.origin, [...r.method].sort(), [...r.responseHeader].sort()]));
    expect(s3Cors.flatMap((r) => r.AllowedMethods).sort()).toEqual(['GET', 'HEAD']);
  });

  it('the replay plan skips only the base image, apt-get/git, the CUDA download and useradd', () => {
    expect(plan.needed).toEqual(['node', 'build', 'runtime']);
    for (const s of skipped) expect(s.op).toBe('RUN');
    // Every RUN of the build stage but the ICT clone and the CUDA download runs.
    const build = plan.stages.find((s) => s.name === 'build')!;
    const runs = build.steps.filter((s) => s.op === 'RUN');
    expect(runs.filter((s) => !s.skip).length).toBeGreaterThanOrEqual(4);
    expect(runs.filter((s) => s.skip).map((s) => s.args)).toEqual([expect.stringMatching(/fetch-ict\.sh/), expect.stringMatching(/cuda12/)]);
  });
});

/**
 * The replay. The title names every skipped step. One photo through the signed API; the folder's
 * size (the image's file set, less the CUDA provider libraries and the ICT pack) is printed.
 */
describe(`infra/Dockerfile replayed without Docker (skipped: ${skippedTitle})`, () => {
  let work = '';
  const secret = randomBytes(32).toString('hex');
  let replay: ReplayResult;
  let app: string;
  let service: ChildProcess | undefined;
  let output = '';
  let base = '';
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'facerecon-image-'));
    const fixture = join(ROOT, '.cache/fixtures/astronaut.png');
    if (!existsSync(fixture)) execFileSync('bash', [join(ROOT, 'scripts/fetch-fixtures.sh')], { stdio: 'pipe' });
    for (const s of skipped) console.log(`dockerfile replay: skipped [${s.stage}] line ${s.line}: RUN ${oneLine(s.args, 120)}\n    why: ${s.skip}`);

    // The build: a clean environment (no project settings leaking from an outer `npm test`, such as
    // npm_config_local_prefix), with this machine's PATH, HOME, proxies and npm cache and registry
    // settings standing in for the builder's network. prefer-offline only spares registry round trips:
    // the lockfile pins every version and hash.
    const t0 = performance.now();
    const baseEnv: Record<string, string> = { PATH: process.env.PATH!, HOME: process.env.HOME ?? tmpdir(), npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' };
    for (const k of ['TMPDIR', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'npm_config_cache', 'npm_config_userconfig', 'npm_config_globalconfig', 'npm_config_registry']) {
      if (process.env[k]) baseEnv[k] = process.env[k]!;
    }
    replay = replayPlan(plan, {
      context: ROOT,
      root: join(work, 'stages'),
      ignore: dockerignoreMatcher(readFileSync(join(ROOT, 'infra/Dockerfile.dockerignore'), 'utf8')),
      baseEnv,
      stepTimeoutMs: 300_000,
      log: (l) => console.log(`dockerfile replay: ${l}`),
    });
    timings.build_s = (performance.now() - t0) / 1000;
    app = hostPath(replay.final, '/app');

    // The container's start: the runtime stage's ENV and WORKDIR and CMD, with CPU instead of CUDA,
    // a loopback host, an ephemeral port and a temporary local store.
    const t1 = performance.now();
    const [cmd, ...args] = replay.final.cmd!;
    mkdirSync(join(work, 'home'));
    const env = {
      PATH: process.env.PATH!,
      HOME: join(work, 'home'),
      ...mappedEnv(replay.final),
      FACERECON_PROVIDERS: 'cpu',
      HOST: '127.0.0.1',
      PORT: '0',
      FACERECON_SIGNING_SECRET: secret,
      FACERECON_LOCAL_STORE_DIR: join(work, 'store'),
    };
    service = spawn(cmd, args, { cwd: hostPath(replay.final, replay.final.workdir), env, stdio: ['ignore', 'pipe', 'pipe'] });
    const port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "gpu-function ready" line within 120 s:\n${output.slice(-4000)}`)), 120_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        for (const line of output.split('\n')) {
          if (!line.includes('gpu-function ready')) continue;
          try {
            const rec = JSON.parse(line) as { port?: number };
            if (rec.port) {
              clearTimeout(timer);
              resolvePort(rec.port);
            }
          } catch {
            /* a partial line: wait for more */
          }
        }
      };
      service!.stdout!.on('data', onData);
      service!.stderr!.on('data', (c: Buffer) => (output += c.toString()));
      service!.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the service exited with ${code} before it was ready:\n${output.slice(-4000)}`));
      });
    });
    base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const r = await fetch(`${base}/readyz`).catch(() => undefined);
      if (r?.status === 200) break;
      if (i > 120) throw new Error(`/readyz not 200 within 60 s (last ${r?.status}):\n${output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    timings.start_s = (performance.now() - t1) / 1000;
  }, 600_000);

  afterAll(async () => {
    if (service && service.exitCode === null) {
      const exited = new Promise((r) => service!.once('exit', r));
      service.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (service.exitCode === null) service.kill('SIGKILL');
    }
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  it('ran every install script the production tree has, or says in the Dockerfile why not', () => {
    // npm's record of what `npm ci` installed, including packages a later step removed.
    const lock = JSON.parse(readFileSync(join(app, 'node_modules/.package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    const withScripts = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript)
      .map(([k]) => k.replace(/^.*node_modules\//, ''));
    expect(withScripts.length).toBeGreaterThan(0);
    const accounted = withScripts.filter((name) => new RegExp(`^#\\s+${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s`, 'm').test(dockerfile));
    expect(accounted.sort()).toEqual([...withScripts].sort());
  });

  it('holds no dev dependencies, nothing of the edge worker and one platform of onnxruntime', () => {
    const nm = join(app, 'node_modules');
    for (const p of ['vitest', 'typescript', 'wrangler', '@tensorflow', 'esbuild-wasm', 'playwright-core', 's3rver', 'three', '@cf-wasm', 'miniflare', '@vladmandic', '@mediapipe']) {
      expect(existsSync(join(nm, p)), `node_modules/${p}`).toBe(false);
    }
    expect(existsSync(join(nm, 'tsx'))).toBe(true); // the runtime loader of the TypeScript service
    expect(readdirSync(join(nm, 'onnxruntime-node/bin/napi-v6'))).toEqual([process.platform]);
    expect(existsSync(join(app, 'models/build/facemesh.onnx'))).toBe(true);
    expect(existsSync(join(app, 'edge/src'))).toBe(false);
  });

  it('starts from the image CMD and passes its health check', () => {
    expect(replay.final.user).toBe('facerecon');
    expect(output).toMatch(/"provider":"cpu"/);
    const hc = replay.final.healthcheck!;
    const port = new URL(base).port;
    execFileSync('sh', ['-c', hc], { env: { PATH: process.env.PATH!, PORT: port }, stdio: 'pipe', timeout: 10_000 });
  });

  it('reconstructs a photo through the signed API and serves the GLB', async () => {
    const photo = new Uint8Array(readFileSync(join(ROOT, '.cache/fixtures/astronaut.png')));
    const path = '/v1/reconstruct?uv_size=512&formats=glb';
    const t0 = performance.now();
    const headers = await signRequest({ secret, method: 'POST', pathWithQuery: path, body: photo });
    const res = await fetch(`${base}${path}`, { method: 'POST', body: photo, headers: { ...headers, 'content-type': 'application/octet-stream' } });
    const text = await res.text();
    expect(res.status, text.slice(0, 500)).toBe(200);
    const json = JSON.parse(text) as { assets: { glb: { url: string } } };
    expect(json.assets.glb.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const glb = await fetch(json.assets.glb.url);
    expect(glb.status).toBe(200);
    const bytes = new Uint8Array(await glb.arrayBuffer());
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('glTF');
    timings.reconstruct_s = (performance.now() - t0) / 1000;
    // An unsigned request is refused by the same build.
    const unsigned = await fetch(`${base}${path}`, { method: 'POST', body: photo });
    expect(unsigned.status).toBe(401);
  }, 120_000);

  it('reports the file set of /app', () => {
    const du = (p: string) => Number(execFileSync('du', ['-sb', p], { encoding: 'utf8' }).split('\t')[0]);
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const total = du(app);
    const parts = { node_modules: du(join(app, 'node_modules')), 'models/build': du(join(app, 'models/build')) };
    const nm = join(app, 'node_modules');
    const largest = readdirSync(nm)
      .filter((d) => !d.startsWith('.'))
      .map((d) => [d, du(join(nm, d))] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6);
    console.log(
      `dockerfile replay: /app file set ${mb(total)} (${Object.entries(parts)
        .map(([k, v]) => `${k} ${mb(v)}`)
        .join(', ')}; largest in node_modules: ${largest.map(([k, v]) => `${k} ${mb(v)}`).join(', ')}); without the CUDA provider libraries and the ICT pack, which the skipped steps add. ` +
        `build ${timings.build_s.toFixed(1)} s, start to ready ${timings.start_s.toFixed(1)} s, reconstruct ${timings.reconstruct_s?.toFixed(1)} s`,
    );
    // Today about 130 MB; a dev dependency or a second onnxruntime platform slipping back in would be far more.
    expect(total).toBeLessThan(250e6);
  });
});
