/**
 * A bounded work queue: at most `concurrency` jobs run, at most `maxQueue` wait; beyond that a job is
 * refused at once with OVERLOADED so the caller can retry elsewhere. Each job has a deadline: one
 * still waiting when it passes is dropped with TIMEOUT; a running one sees its AbortSignal fire and
 * stops at its next stage boundary, while the caller gets TIMEOUT without waiting for it. A caller
 * that hangs up (`caller` signal) leaves the queue at once: a waiting job that nobody will read held a
 * place that live callers were refused for. At shutdown (`shutdown`) the waiting are refused and the
 * running get a grace, then are aborted, both with OVERLOADED, which the edge retries on another
 * instance: the platform kills the container ten seconds after SIGTERM.
 */
import { FaceReconError } from '@facerecon/shared';

export interface WorkQueueOptions {
  concurrency: number;
  maxQueue: number;
  onChange?: (state: { active: number; waiting: number }) => void;
}

interface Waiter {
  start: () => void;
  /** Takes the job out of the queue if it waits, aborts its signal with `err` and answers its caller with it. */
  abort: (err: Error) => void;
}

export class WorkQueue {
  private readonly waiting: Waiter[] = [];
  /** The jobs whose work runs (until it has stopped, not only until their caller was answered). */
  private readonly runningJobs = new Set<Waiter>();
  private idleResolvers: Array<() => void> = [];
  private closed = false;

  constructor(private readonly opts: WorkQueueOptions) {}

  get depth(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.runningJobs.size;
  }

  /** Whether run() would refuse a job right now. */
  get full(): boolean {
    return this.running >= this.opts.concurrency && this.waiting.length >= this.opts.maxQueue;
  }

  /** Seconds a refused caller should wait: about one job's time per queued job ahead of it. */
  retryAfterSeconds(typicalJobSeconds = 1): number {
    return Math.max(1, Math.ceil(((this.waiting.length + 1) * typicalJobSeconds) / this.opts.concurrency));
  }

  run<T>(job: (signal: AbortSignal) => Promise<T>, deadlineMs: number, caller?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(new FaceReconError('OVERLOADED', { detail: 'shutting down' }));
    if (this.full) {
      return Promise.reject(new FaceReconError('OVERLOADED', { detail: `${this.running} running, ${this.waiting.length} queued` }));
    }
    if (caller?.aborted) return Promise.reject(new FaceReconError('TIMEOUT', { detail: 'the caller hung up before the job started' }));
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (!settled) {
          settled = true;
          fn();
        }
      };
      const waiter: Waiter = {
        start: () => {
          this.runningJobs.add(waiter);
          this.changed();
          job(controller.signal)
            .then((v) => settle(() => resolve(v)), (e) => settle(() => reject(e)))
            .finally(() => {
              clearTimeout(timer);
              caller?.removeEventListener('abort', hungUp);
              this.runningJobs.delete(waiter);
              this.next();
            });
        },
        abort: (err) => {
          clearTimeout(timer);
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) {
            this.waiting.splice(i, 1);
            this.changed();
            this.idleIfDone();
          }
          controller.abort(err);
          settle(() => reject(err));
        },
      };
      const timer = setTimeout(() => {
        const queued = this.waiting.includes(waiter);
        waiter.abort(new FaceReconError('TIMEOUT', { detail: `deadline ${deadlineMs} ms ${queued ? 'while queued' : 'while running'}` }));
      }, deadlineMs);
      const hungUp = () => waiter.abort(new FaceReconError('TIMEOUT', { detail: 'the caller hung up' }));
      caller?.addEventListener('abort', hungUp, { once: true });
      if (this.running < this.opts.concurrency) waiter.start();
      else {
        this.waiting.push(waiter);
        this.changed();
      }
    });
  }

  /** Resolves when nothing runs or waits (graceful shutdown). */
  drain(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleResolvers.push(r));
  }

  /**
   * Stops taking work: every waiting job is refused with OVERLOADED at once, running ones get `graceMs`
   * to finish and are then aborted with OVERLOADED (the pipeline deletes what they wrote at its next
   * stage boundary). Resolves once nothing runs, or `graceMs + settleMs` after the call.
   */
  async shutdown(opts: { graceMs: number; settleMs?: number }): Promise<boolean> {
    this.closed = true;
    const refusal = () => new FaceReconError('OVERLOADED', { detail: 'the instance is shutting down' });
    for (const w of [...this.waiting]) w.abort(refusal());
    const within = (ms: number) => Promise.race([this.drain().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), ms).unref())]);
    if (await within(opts.graceMs)) return true;
    for (const w of [...this.runningJobs]) w.abort(refusal());
    return within(opts.settleMs ?? 1_000);
  }

  private next(): void {
    const w = this.closed ? undefined : this.waiting.shift();
    if (w) w.start();
    this.changed();
    this.idleIfDone();
  }

  private idleIfDone(): void {
    if (this.running === 0 && this.waiting.length === 0) {
      const rs = this.idleResolvers;
      this.idleResolvers = [];
      rs.forEach((r) => r());
    }
  }

  private changed(): void {
    this.opts.onChange?.({ active: this.running, waiting: this.waiting.length });
  }
}
