/**
 * Relays the gpu-function's progress stream (SSE) to the caller with billing settled in-band:
 * `stage` events pass through as they come; the `result` event is held until its charge is committed
 * (and replaced by an error event if it cannot be); an `error` event, a stream cut short, an upstream
 * time-out and a caller who hangs up all release the reserved unit, exactly once. The caller never
 * receives asset URLs that were not paid for, and a hang-up never leaves a unit or an idempotency key
 * pinned.
 *
 * Events are parsed per the SSE framing (blank-line separated; multiple `data:` lines joined by \n),
 * not by the last bytes of the stream, so a large result split across chunks is handled.
 */
import { ERROR_SPECS, toErrorBody, type ErrorCode, type Lang } from '@facerecon/shared';
import { passableErrorCode } from './upstream';

export interface SseEvent {
  event: string;
  data: string;
}

export function parseSseBlock(block: string): SseEvent {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  return { event, data: data.join('\n') };
}

export interface RelayHooks {
  /** Commits the charge for this result; false when it could not be committed (do not deliver). */
  commit(resultData: string): Promise<boolean>;
  /**
   * A result whose commit failed, or arriving after a hang-up: erase what it stored and say which code
   * the caller gets instead (CANCELED when its job was canceled), or `'billed'` when the commit had
   * landed after all (its reply and read-back lost): then it is delivered.
   */
  discard(resultData: string): Promise<ErrorCode | 'billed'>;
  /** Releases the reserved unit with this outcome (the error body is what an idempotent retry replays). */
  release(code: ErrorCode | 'CANCELED', response?: { status: number; body: string }): Promise<void>;
}

export interface RelayOptions {
  requestId: string;
  lang: Lang;
  hooks: RelayHooks;
  /** Stops the upstream request (the caller went away). */
  abortUpstream: () => void;
  /** Keeps clean-up running after the caller has gone (ExecutionContext.waitUntil). */
  waitUntil: (p: Promise<unknown>) => void;
  /** How a read failure maps to a code (a time-out aborts the upstream body mid-stream). */
  readErrorCode?: (err: unknown) => ErrorCode;
  /**
   * The caller's connection (request.signal): its abort is a hang-up, settled as a cancel of the body
   * is (the platform may end the invocation without cancelling the body first).
   */
  callerGone?: AbortSignal;
  /** Called once the upstream has been read to its end, or failed: the relay's work is over. */
  done?: () => void;
}

const enc = new TextEncoder();
const frame = (e: SseEvent) => enc.encode(`event: ${e.event}\n${e.data.split('\n').map((l) => `data: ${l}`).join('\n')}\n\n`);

export function relayWithBilling(upstream: ReadableStream<Uint8Array>, opts: RelayOptions): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const decoder = new TextDecoder();
  let settled = false;
  let canceled = false;
  let ctl!: ReadableStreamDefaultController<Uint8Array>;

  const send = (e: SseEvent) => {
    if (canceled) return;
    try {
      ctl.enqueue(frame(e));
    } catch {
      canceled = true; // the caller's side is gone
    }
  };
  const end = () => {
    if (!canceled) {
      try {
        ctl.close();
      } catch {
        // already closed by a cancel
      }
    }
    void reader.cancel().catch(() => undefined);
  };
  const errorEvent = (code: ErrorCode): SseEvent => ({ event: 'error', data: JSON.stringify({ status: ERROR_SPECS[code].status, ...toErrorBody(code, { requestId: opts.requestId, lang: opts.lang }) }) });
  const failWith = async (code: ErrorCode) => {
    if (!settled) {
      settled = true;
      await opts.hooks.release(code, { status: ERROR_SPECS[code].status, body: JSON.stringify(toErrorBody(code, { requestId: opts.requestId, lang: opts.lang })) });
    }
    send(errorEvent(code));
    end();
  };

  /**
   * The caller hung up: stop the GPU work and release the unit with no response to keep, so the
   * Idempotency-Key's retry runs at once.
   */
  const callerLeft = () => {
    canceled = true;
    opts.abortUpstream();
    if (!settled) {
      settled = true;
      opts.waitUntil(opts.hooks.release('CANCELED').catch(() => undefined)); // the purge releases what this could not
    }
  };

  /** Handles one complete event; true when the stream is finished. */
  const handle = async (ev: SseEvent): Promise<boolean> => {
    if (ev.event === 'result') {
      if (settled) {
        // The caller hung up and the unit was released: nothing is delivered, and nothing kept.
        opts.waitUntil(opts.hooks.discard(ev.data).catch(() => undefined));
        return true;
      }
      settled = true;
      let committed = false;
      try {
        committed = await opts.hooks.commit(ev.data);
      } catch {
        committed = false;
      }
      if (!committed) {
        const code = await opts.hooks.discard(ev.data).catch((): ErrorCode => 'INTERNAL');
        if (code !== 'billed') {
          settled = false;
          await failWith(code);
          return true;
        }
      }
      send(ev);
      end();
      return true;
    }
    if (ev.event === 'error') {
      await failWith(passableErrorCode(ev.data) ?? 'UPSTREAM_UNAVAILABLE');
      return true;
    }
    send(ev);
    return false;
  };

  // The upstream is read to its end whether or not the caller reads: billing must settle even when a
  // caller vanishes without the platform telling us (a local dev proxy does not pass disconnects on).
  // What the caller has not read is queued; the gpu-function's stream is small (events + one result).
  const pump = async () => {
    let buffer = '';
    for (;;) {
      let sep: number;
      while ((sep = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, sep);
        buffer = buffer.slice(sep).replace(/^\r?\n\r?\n/, '');
        if (block.trim() && (await handle(parseSseBlock(block)))) return;
      }
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (canceled || opts.callerGone?.aborted) {
          callerLeft();
          return end();
        }
        return failWith(opts.readErrorCode?.(err) ?? 'UPSTREAM_UNAVAILABLE');
      }
      if (chunk.done) {
        buffer += decoder.decode();
        if (buffer.trim() && (await handle(parseSseBlock(buffer)))) return;
        return failWith('UPSTREAM_UNAVAILABLE'); // ended without a result or an error
      }
      buffer += decoder.decode(chunk.value, { stream: true });
      if (buffer.length > 8_000_000) return failWith('UPSTREAM_UNAVAILABLE');
    }
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      ctl = controller;
      opts.callerGone?.addEventListener('abort', callerLeft, { once: true });
      opts.waitUntil(pump().catch(() => failWith('INTERNAL')).finally(() => opts.done?.()));
    },
    cancel() {
      // The platform cancels the body when the caller hangs up.
      callerLeft();
    },
  });
}
