/** The progress stream's parser (Server-Sent Events), separate from the transport so it can be fed any chunking. */
import type { components } from './generated/api';
import { FaceReconApiError } from './errors';

type Reconstruction = components['schemas']['Reconstruction'];
export type Stage = 'preprocess' | 'geometry' | 'texture' | 'export' | 'upload';
export const STAGES: readonly string[] = ['preprocess', 'geometry', 'texture', 'export', 'upload'];

/**
 * The progress stream (Server-Sent Events): `stage` events, then one `result` or `error`. Line ends LF,
 * CRLF or CR, also when a CRLF is split between two chunks; multi-line data; comments; a last event
 * without its blank line is still read at the end.
 */
export class SseParser {
  private buf = '';
  constructor(private readonly onStage: (stage: Stage, ms: number) => void) {}

  /** Feeds decoded text; returns the result once its event is complete (an `error` event throws). */
  push(text: string): Reconstruction | undefined {
    this.buf += text;
    // A CR at the very end may be half of a CRLF: it waits for the next chunk.
    const keep = this.buf.endsWith('\r') ? 1 : 0;
    const ready = this.buf.slice(0, this.buf.length - keep).replace(/\r\n?/g, '\n');
    this.buf = ready + this.buf.slice(this.buf.length - keep);
    let cut: number;
    while ((cut = this.buf.indexOf('\n\n')) >= 0) {
      const block = this.buf.slice(0, cut);
      this.buf = this.buf.slice(cut + 2);
      const result = this.event(block);
      if (result) return result;
    }
    return undefined;
  }

  /** The stream ended: the last event, if it lacked its blank line, and otherwise an error. */
  end(text = ''): Reconstruction {
    const result = this.push(text) ?? this.event(this.buf.replace(/\r\n?/g, '\n').replace(/\n+$/, ''));
    if (result) return result;
    throw new Error('the progress stream ended without a result');
  }

  private event(block: string): Reconstruction | undefined {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (!data.length) return undefined;
    const payload = JSON.parse(data.join('\n'));
    if (event === 'stage' && STAGES.includes(payload.stage)) this.onStage(payload.stage, payload.elapsed_ms);
    else if (event === 'result') return payload as Reconstruction;
    else if (event === 'error') throw new FaceReconApiError(payload.status, { error: payload.error });
    return undefined;
  }
}

