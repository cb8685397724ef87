/**
 * A bounded work queue: at most `concurrency` jobs run, at most `maxQueue` wait; beyond that a job is
 * refused at once with OVERLOADED so the caller can retry elsewhere. Each job has a deadline: one
 * still waiting when it passes is dropped with TIMEOUT; a running one sees its AbortSignal fire and
 * stops at its next stage boundary, while the caller gets TIMEOUT without waiting for it.
 */
import { FaceReconError } from '@facerecon/shared';

export interface WorkQueueOptions {
  concurrency: number;
  maxQueue: number;
  onChange?: (state: { active: number; waiting: number }) => void;
}

interface Waiter {
  start: () => void;
  cancel: (err: Error) => void;
}

export class WorkQueue {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  private idleResolvers: Array<() => void> = [];

  constructor(private readonly opts: WorkQueueOptions) {}

  get depth(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.active;
  }

  /** Whether run() would refuse a job right now. */
  get full(): boolean {
    return this.active >= this.opts.concurrency && this.waiting.length >= this.opts.maxQueue;
  }

  /** Seconds a refused caller should wait: about one job's time per queued job ahead of it. */
  retryAfterSeconds(typicalJobSeconds = 1): number {
    return Math.max(1, Math.ceil(((this.waiting.length + 1) * typicalJobSeconds) / this.opts.concurrency));
  }

  run<T>(job: (signal: AbortSignal) => Promise<T>, deadlineMs: number): Promise<T> {
    if (this.full) {
      return Promise.reject(new FaceReconError('OVERLOADED', { detail: `${this.active} running, ${this.waiting.length} queued` }));
    }
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
          this.active++;
          this.changed();
          job(controller.signal)
            .then((v) => settle(() => resolve(v)), (e) => settle(() => reject(e)))
            .finally(() => {
              clearTimeout(timer);
              this.active--;
              this.next();
            });
        },
        cancel: (err) => settle(() => reject(err)),
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          this.changed();
        }
        controller.abort(new FaceReconError('TIMEOUT', { detail: `deadline ${deadlineMs} ms` }));
        waiter.cancel(new FaceReconError('TIMEOUT', { detail: `deadline ${deadlineMs} ms ${i >= 0 ? 'while queued' : 'while running'}` }));
      }, deadlineMs);
      if (this.active < this.opts.concurrency) waiter.start();
      else {
        this.waiting.push(waiter);
        this.changed();
      }
    });
  }

  /** Resolves when nothing runs or waits (graceful shutdown). */
  drain(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleResolvers.push(r));
  }

  private next(): void {
    const w = this.waiting.shift();
    if (w) w.start();
    this.changed();
    if (this.active === 0 && this.waiting.length === 0) {
      const rs = this.idleResolvers;
      this.idleResolvers = [];
      rs.forEach((r) => r());
    }
  }

  private changed(): void {
    this.opts.onChange?.({ active: this.active, waiting: this.waiting.length });
  }
}
