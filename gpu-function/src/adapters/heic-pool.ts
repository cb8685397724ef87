/**
 * A small pool of HEVC decoder threads (heic-worker.mjs). HEIC decoding is CPU-bound wasm: on the
 * event loop a 12 MP photo would stall health checks and progress events for ~2 s, and one thread
 * cannot use the host's other cores. Grid-tiled photos (heif-grid.ts) spread their tiles over the
 * threads. Threads start on the first HEIC and are unref'd while idle, so an idle pool never keeps the process up;
 * a thread that dies fails only its own job and is replaced.
 *
 * A batch (one photo's tiles) fails as a whole and at once: the first tile that fails, or the caller's
 * abort (its deadline), takes the batch's tiles still queued off the queue, so a bad or expired photo
 * stops taking threads from the next customer's. A tile already on a thread runs to its end (a wasm
 * decode cannot be interrupted); `expect` lets the thread refuse a tile whose declared size is not the
 * one the grid was checked with, before it decodes a pixel.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DecodedTile } from '../image/heif-grid';
import type { SrgbTables } from '../image/icc-apply.mjs';

interface Job {
  bytes: Uint8Array;
  expect?: TileExpectation;
  colour?: SrgbTables;
  batch: Batch;
  resolve: (t: DecodedTile) => void;
  reject: (e: Error) => void;
}

interface Batch {
  /** Set by the first failure or the abort: the batch's queued jobs are dropped with it. */
  failed?: Error;
}

/** What a thread checks before decoding: the exact size a grid tile declared, or a bound on pixels for a whole file. */
export interface TileExpectation {
  width?: number;
  height?: number;
  maxPixels?: number;
}

export interface DecodeBatchOptions {
  expect?: TileExpectation;
  signal?: AbortSignal;
  /** The file's colours to sRGB, applied by the thread to each decoded picture (icc-srgb.ts). */
  colour?: SrgbTables;
}

interface Slot {
  worker: Worker;
  job?: Job;
  /** Settles when the thread's decoder is ready, or failed to start (heic-worker.mjs). */
  ready: Promise<void>;
}

export interface HeicPool {
  decode(files: Uint8Array[], options?: DecodeBatchOptions): Promise<DecodedTile[]>;
  /**
   * Start every thread now (each compiles the decoder's wasm once, ~0.3 s), off the first request's
   * path; resolves when all are ready, rejects when one cannot start (start-up fails there).
   */
  warm(): Promise<void>;
  readonly threads: number;
  /** Files waiting for a thread (not those decoding). */
  readonly queued: number;
  close(): Promise<void>;
}

/** `workerUrl`: the thread's script (heic-worker.mjs; a test gives one that cannot start). */
export function createHeicPool(threads = Number(process.env.HEIC_DECODE_THREADS) || Math.min(4, availableParallelism()), workerUrl = new URL('./heic-worker.mjs', import.meta.url)): HeicPool {
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let seq = 0;

  const spawn = (): Slot => {
    let started!: { resolve: () => void; reject: (err: Error) => void };
    const ready = new Promise<void>((resolve, reject) => (started = { resolve, reject }));
    ready.catch(() => undefined); // awaited by warm() only; a lazily started thread's failure shows on its job
    const slot: Slot = { worker: new Worker(workerUrl, { execArgv: [] }), ready };
    slot.worker.on('message', (m: { ready?: boolean; error?: string; width: number; height: number; data: Uint8Array }) => {
      if (m.ready !== undefined) {
        if (m.ready) started.resolve();
        else started.reject(new Error(`heic decoder thread could not start: ${m.error}`));
        if (!slot.job) slot.worker.unref(); // started: an idle thread no longer keeps the process up
        return;
      }
      const job = slot.job;
      slot.job = undefined;
      slot.worker.unref();
      if (job) (m.error ? job.reject(new Error(m.error)) : job.resolve({ width: m.width, height: m.height, data: m.data }));
      pump();
    });
    const lost = (err: Error) => {
      started.reject(err);
      slot.job?.reject(err);
      slot.job = undefined;
      const at = slots.indexOf(slot);
      if (at < 0) return; // already gone (error then exit, or closed)
      slots.splice(at, 1);
      pump();
    };
    slot.worker.on('error', lost);
    slot.worker.on('exit', (code) => lost(new Error(`heic decoder thread exited (${code})`)));
    // Held until the thread says it started (above): a start-up awaiting warm() has nothing else to keep
    // the process up, and Node ends a top-level await that nothing can settle (exit 13). Unref'd then,
    // after the listeners: adding a 'message' listener refs the worker's port again, and an idle pool
    // then kept the process alive after the service had stopped.
    slots.push(slot);
    return slot;
  };

  const pump = () => {
    while (queue.length) {
      const slot = slots.find((s) => !s.job) ?? (slots.length < threads ? spawn() : undefined);
      if (!slot) return;
      const job = queue.shift()!;
      if (job.batch.failed) {
        job.reject(job.batch.failed);
        continue;
      }
      slot.job = job;
      // A thread with work keeps the process up (a script awaiting a decode must get its answer); an idle one does not.
      slot.worker.ref();
      slot.worker.postMessage({ job: seq++, bytes: job.bytes, expect: job.expect, colour: job.colour });
    }
  };

  return {
    threads,
    get queued() {
      return queue.length;
    },
    warm: async () => {
      while (slots.length < threads) spawn();
      await Promise.all(slots.map((s) => s.ready));
    },
    decode: (files, options = {}) => {
      const batch: Batch = {};
      const fail = (err: Error) => {
        if (batch.failed) return;
        batch.failed = err;
        // Off the queue now, not when a thread frees up: a failed photo must not hold its place.
        for (let i = queue.length - 1; i >= 0; i--) if (queue[i].batch === batch) queue.splice(i, 1)[0].reject(err);
      };
      const { signal } = options;
      const onAbort = () => fail(signal?.reason instanceof Error ? signal.reason : new Error('decode aborted'));
      if (signal?.aborted) onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const all = Promise.all(
        files.map(
          (bytes) =>
            new Promise<DecodedTile>((resolve, reject) => {
              if (batch.failed) return reject(batch.failed);
              queue.push({
                bytes,
                expect: options.expect,
                colour: options.colour,
                batch,
                resolve,
                reject: (e) => {
                  fail(e);
                  reject(e);
                },
              });
              pump();
            }),
        ),
      );
      return all.finally(() => signal?.removeEventListener('abort', onAbort));
    },
    async close() {
      const all = slots.splice(0);
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
  };
}
