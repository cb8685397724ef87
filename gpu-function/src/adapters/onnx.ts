/**
 * The only file that imports onnxruntime-node. Sessions are created once at start-up, warmed up, and
 * handed out as a small runtime-neutral interface so that the rest of the code is plain TypeScript
 * over typed arrays.
 */
import { existsSync, statSync } from 'node:fs';
import { FaceReconError } from '@facerecon/shared';
import * as ort from 'onnxruntime-node';

process.env.ORT_DISABLE_TELEMETRY ??= '1';

export type ExecutionProvider = 'cuda' | 'cpu';

export interface TensorIn {
  data: Float32Array;
  dims: readonly number[];
}

export interface TensorOut {
  data: Float32Array;
  dims: readonly number[];
}

export interface ModelSession {
  readonly name: string;
  readonly provider: ExecutionProvider;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(inputs: Record<string, TensorIn>): Promise<Record<string, TensorOut>>;
  release(): Promise<void>;
}

export interface SessionOptions {
  /** Tried in order; a provider that fails to initialise falls through to the next (CUDA -> CPU). */
  providers?: readonly ExecutionProvider[];
  /** Intra-op threads; 0 lets onnxruntime decide. */
  threads?: number;
  /** One input to run once after loading, so the first real request does not pay for lazy init. */
  warmup?: Record<string, TensorIn>;
}

/**
 * Providers from FACERECON_PROVIDERS (comma-separated, e.g. "cuda,cpu" on a GPU host); "cpu" when
 * unset. An unknown name is a configuration error at start-up, not a silent CPU fallback.
 */
export function providersFromEnv(env: Record<string, string | undefined> = process.env): ExecutionProvider[] {
  const raw = env.FACERECON_PROVIDERS?.trim();
  if (!raw) return ['cpu'];
  const list = raw.split(',').map((p) => p.trim().toLowerCase());
  for (const p of list) if (p !== 'cuda' && p !== 'cpu') throw new Error(`FACERECON_PROVIDERS: unknown execution provider "${p}" (use cuda, cpu)`);
  return list as ExecutionProvider[];
}

export class ModelLoadError extends Error {
  constructor(path: string, why: string, cause?: unknown) {
    super(`model ${path}: ${why}`, cause === undefined ? undefined : { cause });
    this.name = 'ModelLoadError';
  }
}

/**
 * Loads an ONNX model or throws ModelLoadError; never returns a half-initialised session.
 * onnxruntime-node throws when CUDA is listed but absent instead of falling back, hence one attempt
 * per provider.
 */
export async function createModelSession(path: string, options: SessionOptions = {}): Promise<ModelSession> {
  if (!existsSync(path) || statSync(path).size === 0) {
    throw new ModelLoadError(path, 'file is missing or empty (run `npm run models:build`)');
  }
  const providers = options.providers ?? providersFromEnv();
  const name = path.replace(/^.*\//, '').replace(/\.onnx$/, '');
  const errors: string[] = [];
  // The warm-up runs inside the loop: a CUDA session that loads but cannot run (a library opened only
  // at the first run, a device it cannot use) falls back to the next provider, rather than failing
  // start-up where CPU would have served.
  for (const p of providers) {
    let wrapped: ModelSession | undefined;
    try {
      const session = await ort.InferenceSession.create(path, {
        executionProviders: [p],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: options.threads ?? 0,
        interOpNumThreads: 1,
        executionMode: 'sequential',
      });
      wrapped = wrapSession(name, p, session);
      if (options.warmup) await wrapped.run(options.warmup);
    } catch (err) {
      await wrapped?.release().catch(() => undefined);
      errors.push(`${p}: ${wrapped ? 'warm-up run failed: ' : ''}${(err as FaceReconError).detail ?? (err as Error).message}`);
      continue;
    }
    // A fallback says why (a log line, and /readyz through modelRuntimeHealth): an image meant for the
    // GPU running on CPU was otherwise only a provider name.
    if (errors.length) {
      console.warn(JSON.stringify({ level: 'warn', msg: 'execution provider fallback', model: name, provider: p, failed: errors }));
      fallbacks.set(name, errors.slice());
    }
    return wrapped;
  }
  throw new ModelLoadError(path, `no execution provider could load and run it (${errors.join('; ')})`);
}

/** Per model, the providers that failed before the one it runs on, with their errors. */
const fallbacks = new Map<string, string[]>();

/** Loads a model from bytes (tests use this for graphs they build or damage in memory). */
export async function createModelSessionFromBytes(name: string, bytes: Uint8Array): Promise<ModelSession> {
  const s = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  return wrapSession(name, 'cpu', s);
}

/**
 * Runs that fail in a row, per live session, before the runtime counts as broken. One failed run is a
 * request's bad luck (a GPU allocation under a burst); several with no success between them is a lost
 * CUDA context or a device fault, which does not heal in this process.
 */
export const MODEL_FAILURES_UNHEALTHY = 3;

interface SessionHealth {
  name: string;
  provider: ExecutionProvider;
  failuresInARow: number;
  lastError?: string;
}
const live = new Set<SessionHealth>();

/**
 * The loaded models, each with its execution provider, and the ones whose last MODEL_FAILURES_UNHEALTHY
 * or more runs all failed. Process-wide, as the CUDA context is: /healthz and /readyz report it, so a
 * platform's liveness probe replaces an instance whose models cannot run instead of routing to it.
 */
export interface ModelRuntimeHealth {
  providers: Record<string, ExecutionProvider>;
  failing: { model: string; provider: ExecutionProvider; failuresInARow: number; lastError?: string }[];
  /** Models that run on a later provider than the first listed, with why the earlier ones failed. */
  fallbacks?: Record<string, string[]>;
}
export function modelRuntimeHealth(): ModelRuntimeHealth {
  const providers: Record<string, ExecutionProvider> = {};
  const failing: ModelRuntimeHealth['failing'] = [];
  for (const h of live) {
    providers[h.name] = h.provider;
    if (h.failuresInARow >= MODEL_FAILURES_UNHEALTHY) failing.push({ model: h.name, provider: h.provider, failuresInARow: h.failuresInARow, lastError: h.lastError });
  }
  return { providers, failing, ...(fallbacks.size ? { fallbacks: Object.fromEntries(fallbacks) } : {}) };
}

function wrapSession(name: string, provider: ExecutionProvider, s: ort.InferenceSession): ModelSession {
  const health: SessionHealth = { name, provider, failuresInARow: 0 };
  live.add(health);
  return {
    name,
    provider,
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(inputs) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [k, v] of Object.entries(inputs)) feeds[k] = new ort.Tensor('float32', v.data, v.dims);
      let res: ort.InferenceSession.ReturnType;
      try {
        res = await s.run(feeds);
      } catch (err) {
        // The runtime, not the photo, failed (out of device memory, a lost CUDA context): 503 and
        // retryable, unbilled, instead of a 500 that reads as our bug and is not retried.
        health.failuresInARow++;
        health.lastError = (err as Error).message;
        throw new FaceReconError('MODEL_UNAVAILABLE', { detail: `${name} (${provider}) run failed: ${(err as Error).message}`, cause: err });
      }
      health.failuresInARow = 0;
      const out: Record<string, TensorOut> = {};
      for (const [k, t] of Object.entries(res)) {
        if (t.type !== 'float32') throw new Error(`${name}: output ${k} is ${t.type}, expected float32`);
        out[k] = { data: t.data as Float32Array, dims: t.dims };
      }
      return out;
    },
    release: async () => {
      live.delete(health);
      await s.release();
    },
  };
}
