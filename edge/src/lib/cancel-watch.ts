/**
 * A running call or job watched for a DELETE from another request. DELETE only writes D1 (the job
 * canceled, its unit released): the request or queue delivery that holds the gpu-function's answer
 * kept the GPU working to the end and threw the result away, so a cancel freed nothing (the page's
 * Cancel button left the photo running) and a loop of start-and-cancel used GPU time unbilled. The
 * watcher reads the job's status every `everyMs` while the gpu-function works and aborts the upstream
 * once it reads canceled; the gpu-function stops a request whose caller went away and deletes what it
 * wrote.
 */

/** Every 2 s: a call takes ~1 s, so most never read at all; a long or queued one reads a few times. */
export const CANCEL_POLL_MS = 2_000;

export interface CancelWatch {
  /** Whether the watcher saw the job canceled (and aborted): the caller answers CANCELED, not the abort's error. */
  readonly canceled: boolean;
  stop(): void;
}

/**
 * Polls `jobs.status` of `jobId` every `everyMs` until stopped; on `canceled`, calls `onCancel` once and
 * stops. A failed read is ignored (the next one may work; the result's commit checks the status anyway,
 * commitUnit). Cost: one indexed D1 read per tick, none for a call shorter than `everyMs`.
 */
export function watchForCancel(db: D1Database, jobId: string, opts: { everyMs?: number; onCancel: () => void }): CancelWatch {
  const everyMs = opts.everyMs && opts.everyMs > 0 ? opts.everyMs : CANCEL_POLL_MS;
  let canceled = false;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async () => {
    if (stopped) return;
    const row = await db.prepare('SELECT status FROM jobs WHERE id = ?').bind(jobId).first<{ status: string }>().catch(() => null);
    if (stopped) return;
    if (row?.status === 'canceled') {
      canceled = true;
      stopped = true;
      opts.onCancel();
      return;
    }
    timer = setTimeout(tick, everyMs);
  };
  timer = setTimeout(tick, everyMs);
  return {
    get canceled() {
      return canceled;
    },
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}

/** The poll interval a deployment sets (CANCEL_POLL_MS, milliseconds), else the default. */
export const cancelPollMs = (env: { CANCEL_POLL_MS?: string }) => Number(env.CANCEL_POLL_MS) || CANCEL_POLL_MS;
