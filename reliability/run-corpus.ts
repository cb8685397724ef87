/** Sends the corpus through a running stack and tallies what came back. */
import { ERROR_CODES } from '@facerecon/shared';
import type { CorpusCase } from './corpus';

export interface CaseOutcome {
  name: string;
  category: string;
  expect: CorpusCase['expect'];
  status: number;
  code: string;
  ms: number;
}

export interface CorpusReport {
  cases: number;
  outcomes: CaseOutcome[];
  byCode: Record<string, number>;
  /** Responses with status >= 500 other than documented load-shedding codes. */
  serverErrors: CaseOutcome[];
  /** Error responses whose body is not the public error shape with a known code. */
  undocumented: CaseOutcome[];
  /** 'face' cases that failed or 'error' cases that succeeded. */
  unexpected: CaseOutcome[];
  successes: number;
}

export async function runCorpus(cases: CorpusCase[], opts: { edgeUrl: string; apiKey: string; concurrency?: number }): Promise<CorpusReport> {
  const outcomes: CaseOutcome[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= cases.length) return;
      const c = cases[i];
      const t = performance.now();
      let status = 0;
      let code = 'NETWORK';
      try {
        const res = await fetch(`${opts.edgeUrl}${c.path}`, { method: 'POST', body: c.body as BodyInit, headers: { ...c.headers, authorization: `Bearer ${opts.apiKey}` } });
        status = res.status;
        const text = await res.text();
        if (status === 200) code = 'ok';
        else {
          try {
            const body = JSON.parse(text) as { error?: { code?: string; message?: string; message_zh?: string; request_id?: string } };
            code = body.error?.code && body.error.message && body.error.message_zh && body.error.request_id ? body.error.code : 'MALFORMED_ERROR_BODY';
          } catch {
            code = 'NON_JSON_ERROR_BODY';
          }
        }
      } catch {
        // the connection failed: counted as a server error below
      }
      outcomes[i] = { name: c.name, category: c.category, expect: c.expect, status, code, ms: performance.now() - t };
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 3 }, worker));
  const byCode: Record<string, number> = {};
  for (const o of outcomes) byCode[o.code] = (byCode[o.code] ?? 0) + 1;
  const documented = new Set<string>(ERROR_CODES);
  return {
    cases: cases.length,
    outcomes,
    byCode,
    // A 504 TIMEOUT is a failure too: a hostile file that holds the decoder until the deadline is what
    // the corpus is there to find. Only OVERLOADED (503, back-pressure with Retry-After under the corpus's
    // own concurrency) is an answer rather than a fault.
    serverErrors: outcomes.filter((o) => o.status === 0 || (o.status >= 500 && o.code !== 'OVERLOADED')),
    undocumented: outcomes.filter((o) => o.code !== 'ok' && !documented.has(o.code)),
    unexpected: outcomes.filter((o) => (o.expect === 'face' && o.code !== 'ok') || (o.expect === 'error' && o.code === 'ok')),
    successes: outcomes.filter((o) => o.code === 'ok').length,
  };
}
