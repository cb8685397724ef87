/**
 * Metering, the quota and idempotency in D1: billing is atomic with delivery.
 *
 * A unit is *reserved* before any GPU work by one conditional INSERT (the row is written only while
 * the key's reserved + billed units this month are below its quota). D1 runs every statement of a
 * database serially on its single primary, so concurrent requests cannot both take the last unit:
 * the check and the write are one statement. The unit is *committed* exactly once when a result is
 * produced (an UPDATE guarded by outcome = 'reserved', batched with the idempotency record in one D1
 * transaction), and *released* (units = 0) on failure, cancellation or time-out. A result leaves the
 * edge only after its commit succeeded. Reservations a dead isolate left behind are released by the
 * scheduled purge. We chose D1 over a Durable Object per key because the usage rows already live there
 * (one place to query, one consistency model); a per-key DO would add a second store for the same facts.
 *
 * An Idempotency-Key binds the first final response to the body's hash for IDEMPOTENCY_TTL_MS: a retry
 * with the same body gets that response again (no GPU call, no charge), another body gets
 * IDEMPOTENCY_KEY_REUSED. Upstream 5xx outcomes and cancellations release the key, and a key left
 * in progress longer than the upstream deadline (an isolate that died) is taken over by the next retry.
 */
import { getJobById } from './jobs';

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export interface UsageRow {
  requestId: string;
  keyId: string;
  clientRequestId?: string;
  idempotencyKey?: string;
  outcome: string;
  billed: boolean;
  bytesIn?: number;
  bytesForwarded?: number;
}

const INSERT_USAGE = 'INSERT INTO usage (request_id, key_id, client_request_id, idempotency_key, outcome, billed, units, bytes_in, bytes_forwarded, created_at)';

/** One unbilled row for an attempt refused before a unit was reserved. */
export async function recordUsage(db: D1Database, u: UsageRow): Promise<void> {
  await db
    .prepare(`${INSERT_USAGE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    .bind(u.requestId, u.keyId, u.clientRequestId ?? null, u.idempotencyKey ?? null, u.outcome, u.billed ? 1 : 0, u.billed ? 1 : 0, u.bytesIn ?? null, u.bytesForwarded ?? null, new Date().toISOString())
    .run();
}

/**
 * The rows the quota counts, for a key (?1) since a month's start (?2). `units > 0` lets SQLite read the
 * partial index of unit rows (migration 0006) instead of the key's refusals; edge/test/billing-index.test.ts
 * holds both sums to it.
 */
export const UNIT_ROWS_OF_KEY_SINCE = 'FROM usage WHERE key_id = ? AND created_at >= ? AND units > 0';
export const UNITS_THIS_MONTH_SQL = `SELECT COALESCE(SUM(CASE WHEN billed = 1 THEN units ELSE 0 END), 0) AS billed, COALESCE(SUM(CASE WHEN outcome = 'reserved' THEN units ELSE 0 END), 0) AS in_flight ${UNIT_ROWS_OF_KEY_SINCE}`;

export function monthStart(now = new Date()): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
}

/**
 * This month's units as the quota counts them: billed, and reserved by calls and jobs still running
 * (each holds its unit until it is billed or released). `remaining` must come from the same count that
 * reserveUnit checks, or a client with queued jobs is told it has calls left and then refused.
 */
export async function unitsThisMonth(db: D1Database, keyId: string): Promise<{ billed: number; inFlight: number }> {
  const row = await db
    .prepare(UNITS_THIS_MONTH_SQL)
    .bind(keyId, monthStart())
    .first<{ billed: number; in_flight: number }>();
  return { billed: row?.billed ?? 0, inFlight: row?.in_flight ?? 0 };
}

/** Reserves one unit against the monthly quota; false (and no row) when the quota is used up. */
export async function reserveUnit(db: D1Database, u: Omit<UsageRow, 'outcome' | 'billed'>, quota: number): Promise<boolean> {
  const now = new Date();
  const r = await db
    .prepare(`${INSERT_USAGE} SELECT ?, ?, ?, ?, 'reserved', 0, 1, ?, NULL, ? WHERE (SELECT COALESCE(SUM(units), 0) ${UNIT_ROWS_OF_KEY_SINCE}) < ?`)
    .bind(u.requestId, u.keyId, u.clientRequestId ?? null, u.idempotencyKey ?? null, u.bytesIn ?? null, now.toISOString(), u.keyId, monthStart(now), quota)
    .run();
  return r.meta.changes === 1;
}

export interface Settlement {
  requestId: string;
  keyId: string;
  bytesForwarded?: number;
  /** The idempotency record to close with this outcome, if the request carried a key. */
  idempotencyKey?: string;
  /**
   * A job delivery's claim (the job's `attempts` when it claimed it): its release then applies only
   * while no later delivery has taken the job over, whose run it would otherwise fail.
   */
  claimedAttempt?: number;
}

/**
 * Commits the reserved unit and, in the same transaction, stores the response for idempotent replays.
 * Returns false when there was no reservation left to commit (the purge released it), its job has
 * ended (canceled, even when the cancel's release has not landed yet), or its Idempotency-Key is no
 * longer its own (taken over by a retry, or gone with a revoked key): then the result must not be
 * delivered.
 */
export async function commitUnit(db: D1Database, s: Settlement, response: { status: number; body: string }): Promise<boolean> {
  const stmts = [
    // A job canceled between its cancel and its unit's release (two round trips in DELETE /v1/jobs/:id)
    // still shows 'reserved' here: the job's own status is what says the result is wanted.
    // A request whose Idempotency-Key a retry took over (it stalled past staleAfterMs, then woke) is not
    // billed: the key is the retry's, which is billed for it, and one key is one charge.
    db
      .prepare(
        "UPDATE usage SET outcome = 'ok', billed = 1, bytes_forwarded = ? WHERE request_id = ? AND outcome = 'reserved' AND NOT EXISTS (SELECT 1 FROM jobs WHERE id = ? AND status NOT IN ('queued', 'running')) AND (? IS NULL OR EXISTS (SELECT 1 FROM idempotency WHERE key_id = ? AND idempotency_key = ? AND (owner IS NULL OR owner = ?)))",
      )
      .bind(s.bytesForwarded ?? null, s.requestId, s.requestId, s.idempotencyKey ?? null, s.keyId, s.idempotencyKey ?? null, s.requestId),
    // The job record follows its unit in the same transaction: succeeded exactly when billed.
    db
      .prepare("UPDATE jobs SET status = 'succeeded', result = ?, finished_at = ?, lease_until = NULL WHERE id = ? AND status IN ('queued', 'running') AND EXISTS (SELECT 1 FROM usage WHERE request_id = ? AND outcome = 'ok' AND billed = 1)")
      .bind(response.body, new Date().toISOString(), s.requestId, s.requestId),
  ];
  if (s.idempotencyKey) {
    stmts.push(
      db
        .prepare("UPDATE idempotency SET state = 'done', status = ?, response = ? WHERE key_id = ? AND idempotency_key = ? AND (owner IS NULL OR owner = ?) AND EXISTS (SELECT 1 FROM usage WHERE request_id = ? AND outcome = 'ok' AND billed = 1)")
        .bind(response.status, response.body, s.keyId, s.idempotencyKey, s.requestId, s.requestId),
    );
  }
  const [usage] = await db.batch(stmts);
  return usage.meta.changes === 1;
}

/**
 * commitUnit for a result about to be delivered. Precondition: `looksLikeResult(body)` (a proxy's page
 * in front of the gpu-function answering 200, billed, would also break every read of the job; the
 * callers check it, each answering in its own way). When D1 throws (the commit's reply lost), whether it
 * landed is read back, since the job succeeds exactly when its unit is billed: a paid result is then
 * delivered, never answered as a failure.
 */
export async function commitResult(db: D1Database, s: Settlement, body: string, opts: { readBackDelaysMs?: readonly number[] } = {}): Promise<boolean> {
  try {
    return await commitUnit(db, s, { status: 200, body });
  } catch (err) {
    // The fault that lost the reply often fails the next read too (a D1 blip lasts a moment): a read
    // that failed once would answer INTERNAL for a result the caller has paid for, so it is tried again.
    const delays = opts.readBackDelaysMs ?? [100, 400, 1600];
    for (let i = 0; ; i++) {
      try {
        return (await getJobById(db, s.requestId))?.status === 'succeeded';
      } catch {
        if (i >= delays.length) throw err;
        await new Promise((r) => setTimeout(r, delays[i]));
      }
    }
  }
}

/** A reconstruction result's outline: a JSON object with its request id and its assets. */
export function looksLikeResult(body: string): boolean {
  try {
    const r = JSON.parse(body) as unknown;
    return typeof r === 'object' && r !== null && typeof (r as { request_id?: unknown }).request_id === 'string' && typeof (r as { assets?: unknown }).assets === 'object' && (r as { assets?: unknown }).assets !== null;
  } catch {
    return false;
  }
}

/**
 * Releases the reserved unit with the failure's outcome. A final failure (4xx) is kept on the
 * idempotency key and replayed; a transient one (5xx), a cancellation or a time-out releases the key.
 * `unbindJobKey`: an async job's key, bound to its 202, is released too (the job failed on our side).
 */
export async function releaseUnit(db: D1Database, s: Settlement, outcome: string, response?: { status: number; body: string }, opts: { unbindJobKey?: boolean } = {}): Promise<{ jobEnded: boolean }> {
  const claimed = s.claimedAttempt ?? null;
  const stmts = [
    db
      .prepare("UPDATE usage SET outcome = ?, units = 0, bytes_forwarded = COALESCE(?, bytes_forwarded) WHERE request_id = ? AND outcome = 'reserved' AND (? IS NULL OR NOT EXISTS (SELECT 1 FROM jobs WHERE id = ? AND attempts <> ?))")
      .bind(outcome, s.bytesForwarded ?? null, s.requestId, claimed, s.requestId, claimed),
    db
      // A caller's hang-up or cancel ends the job as canceled, not failed: nothing went wrong with it.
      .prepare("UPDATE jobs SET status = CASE WHEN ? = 'CANCELED' THEN 'canceled' ELSE 'failed' END, error_code = ?, finished_at = ?, lease_until = NULL WHERE id = ? AND status IN ('queued', 'running') AND (? IS NULL OR attempts = ?)")
      .bind(outcome, outcome, new Date().toISOString(), s.requestId, claimed, claimed),
  ];
  if (s.idempotencyKey) {
    stmts.push(
      response && response.status < 500
        ? db.prepare("UPDATE idempotency SET state = 'done', status = ?, response = ? WHERE key_id = ? AND idempotency_key = ? AND (owner IS NULL OR owner = ?)").bind(response.status, response.body, s.keyId, s.idempotencyKey, s.requestId)
        : db.prepare("DELETE FROM idempotency WHERE key_id = ? AND idempotency_key = ? AND state = 'in_progress' AND (owner IS NULL OR owner = ?)").bind(s.keyId, s.idempotencyKey, s.requestId),
    );
  }
  if (opts.unbindJobKey) {
    // An async job's key was bound to its 202 when it was queued. A job that failed for a reason on our
    // side (5xx: the service busy, down or timed out) must not pin it for a day: a retry with the same
    // key, as the docs tell clients to send, starts a new job instead of replaying the failed one. In
    // the same transaction, after the job's update: only when the job did end failed.
    stmts.push(
      db
        // Only the binding this job made (its own 202: a retry may since have bound the key to another
        // job), and only when this batch failed it (a stale delivery whose update did nothing must not
        // free a key another delivery left bound, to a final failure or to a job of its own).
        .prepare(
          "DELETE FROM idempotency WHERE key_id = ? AND idempotency_key = (SELECT idempotency_key FROM usage WHERE request_id = ? AND key_id = ?) AND status = 202 AND json_extract(response, '$.id') = ? AND EXISTS (SELECT 1 FROM jobs WHERE id = ? AND status = 'failed' AND error_code = ? AND (? IS NULL OR attempts = ?))",
        )
        .bind(s.keyId, s.requestId, s.keyId, s.requestId, s.requestId, outcome, claimed, claimed),
    );
  }
  const [, job] = await db.batch(stmts);
  return { jobEnded: job.meta.changes === 1 };
}

/**
 * Binds the Idempotency-Key a request carried (the one its usage row names) to a new answer, for
 * retries to replay instead of what it held. After a result is erased (DELETE of a finished job,
 * `from: 'done'`), the key must not hand the result back: it replays the erased job's view. A request
 * canceled while it runs (DELETE of a synchronous job, `from: 'in_progress'`) binds its key to the
 * cancellation, so a retry replays the 409 instead of running, and billing, the work again; an async
 * job's key already replays its 202. Neither means a GPU call or a charge.
 */
export async function rebindIdempotentResponse(db: D1Database, keyId: string, requestId: string, response: { status: number; body: string }, from: 'done' | 'in_progress'): Promise<void> {
  await db
    .prepare("UPDATE idempotency SET state = 'done', status = ?, response = ? WHERE key_id = ? AND state = ? AND (owner IS NULL OR owner = ?) AND idempotency_key = (SELECT idempotency_key FROM usage WHERE request_id = ? AND key_id = ?)")
    .bind(response.status, response.body, keyId, from, requestId, requestId, keyId)
    .run();
}

export type IdempotencyState =
  | { kind: 'new' }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'conflict' }
  | { kind: 'in_progress' };

/**
 * Claims the key for this body, or reports what an earlier request with it left. A record still in
 * progress after `staleAfterMs` (longer than any request can run) belonged to an isolate that died;
 * it is taken over instead of answering 409 for a day. `owner` (the claiming request's id) is written
 * on the record, and the request's settlements touch it only while it is still theirs.
 */
export async function claimIdempotencyKey(db: D1Database, c: { keyId: string; idemKey: string; bodySha256: string; staleAfterMs: number; owner: string }): Promise<IdempotencyState> {
  const { keyId, idemKey, bodySha256, staleAfterMs } = c;
  const now = Date.now();
  // One transaction: a record another request deletes between a separate INSERT and SELECT (its 5xx
  // release, the quota's give-back, the purge) would leave this request running without owning the key,
  // and a later retry would run, and bill, the same key again.
  const [, inserted, read] = await db.batch([
    db
      .prepare("DELETE FROM idempotency WHERE key_id = ? AND idempotency_key = ? AND (created_at < ? OR (state = 'in_progress' AND created_at < ?))")
      .bind(keyId, idemKey, new Date(now - IDEMPOTENCY_TTL_MS).toISOString(), new Date(now - staleAfterMs).toISOString()),
    db.prepare("INSERT OR IGNORE INTO idempotency (key_id, idempotency_key, body_sha256, state, owner, created_at) VALUES (?, ?, ?, 'in_progress', ?, ?)").bind(keyId, idemKey, bodySha256, c.owner, new Date(now).toISOString()),
    db.prepare('SELECT body_sha256, state, status, response FROM idempotency WHERE key_id = ? AND idempotency_key = ?').bind(keyId, idemKey),
  ]);
  if (inserted.meta.changes === 1) return { kind: 'new' };
  const row = (read.results as { body_sha256: string; state: string; status: number; response: string }[])[0];
  if (!row) throw new Error('idempotency record missing inside its own transaction');
  if (row.body_sha256 !== bodySha256) return { kind: 'conflict' };
  if (row.state !== 'done') return { kind: 'in_progress' };
  return { kind: 'replay', status: row.status, body: row.response };
}

/** Binds the key `owner` claimed to a response that is not a settlement: an async job's 202, replayed to retries. */
export function storeIdempotentResponse(db: D1Database, keyId: string, idemKey: string, response: { status: number; body: string }, owner: string): D1PreparedStatement {
  return db.prepare("UPDATE idempotency SET state = 'done', status = ?, response = ? WHERE key_id = ? AND idempotency_key = ? AND (owner IS NULL OR owner = ?)").bind(response.status, response.body, keyId, idemKey, owner);
}

/**
 * Gives the key back without an outcome: a refusal before any work (e.g. the quota) gives back a key in
 * progress; `boundToJob` also one bound to that async job's 202 (a create that failed after storing it,
 * or whose batch landed while its reply was lost: the 202 names a job that is gone).
 */
export async function releaseIdempotencyKey(db: D1Database, keyId: string, idemKey: string, opts: { owner: string; boundToJob?: string }): Promise<void> {
  // Only while that job is not live: a job left queued (its delete and its release failed) is resent by
  // the repair and billed, and its key must keep replaying it rather than let a retry start, and bill, a second.
  const bound = opts.boundToJob === undefined ? '' : " OR (status = 202 AND json_extract(response, '$.id') = ?1 AND NOT EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND status IN ('queued', 'running')))";
  await db
    .prepare(`DELETE FROM idempotency WHERE key_id = ?2 AND idempotency_key = ?3 AND (owner IS NULL OR owner = ?4) AND (state = 'in_progress'${bound})`)
    .bind(opts.boundToJob ?? null, keyId, idemKey, opts.owner)
    .run();
}

/** The jobs the purge fails with TIMEOUT, columns prefixed with `t` (binds: too old, now, stale). */
const timedOutJob = (t: string) =>
  `${t}status IN ('queued', 'running') AND ((${t}created_at < ? AND (${t}status = 'queued' OR ${t}lease_until IS NULL OR ${t}lease_until < ?)) OR (${t}mode = 'sync' AND ${t}created_at < ?))`;

/**
 * The scheduled purge (cron trigger): idempotency records and the responses they hold (asset URLs,
 * landmarks: face data) go after IDEMPOTENCY_TTL_MS, which equals the assets' lifetime, so no face
 * data outlives the assets it describes; records and reservations stuck past `staleAfterMs` are released.
 */
export async function purgeExpired(db: D1Database, opts: { staleAfterMs: number; jobMaxAgeMs: number; jobTtlMs: number; now?: number }): Promise<{ idempotency: number; released: number; jobsFailed: number; jobsDeleted: number }> {
  const now = opts.now ?? Date.now();
  const stale = new Date(now - opts.staleAfterMs).toISOString();
  const tooOld = new Date(now - opts.jobMaxAgeMs).toISOString();
  const expired = new Date(now - opts.jobTtlMs).toISOString();
  const [idem, stuck, , failed, released, events, jobs] = await db.batch([
    db.prepare('DELETE FROM idempotency WHERE created_at < ?').bind(new Date(now - IDEMPOTENCY_TTL_MS).toISOString()),
    db.prepare("DELETE FROM idempotency WHERE state = 'in_progress' AND created_at < ?").bind(stale),
    // A queued job waits for its turn; one that never ran within jobMaxAgeMs fails with TIMEOUT. One
    // running under a live lease is left to its delivery, which is about to settle it.
    // A synchronous call cannot outlive the upstream deadline: one still running past `staleAfterMs`
    // lost its isolate, and its job ends now rather than showing "running" (and Retry-After: 1) for an hour.
    // Their async keys first (bound to the 202): a TIMEOUT is ours, and a retry with the key starts anew.
    db
      .prepare(`DELETE FROM idempotency WHERE status = 202 AND json_extract(response, '$.id') IN (SELECT j.id FROM jobs j WHERE j.mode = 'async' AND ${timedOutJob('j.')})`)
      .bind(tooOld, new Date(now).toISOString(), stale),
    db
      .prepare(`UPDATE jobs SET status = 'failed', error_code = 'TIMEOUT', finished_at = ?, lease_until = NULL WHERE ${timedOutJob('')}`)
      .bind(new Date(now).toISOString(), tooOld, new Date(now).toISOString(), stale),
    // Reservations nobody will settle: a dead isolate's (sync, past the deadline), or a job's that ended.
    db.prepare("UPDATE usage SET outcome = 'ABANDONED', units = 0 WHERE outcome = 'reserved' AND created_at < ? AND request_id NOT IN (SELECT id FROM jobs WHERE mode = 'async' AND status IN ('queued', 'running'))").bind(stale),
    db.prepare('DELETE FROM job_events WHERE job_id IN (SELECT id FROM jobs WHERE created_at < ?)').bind(expired),
    db.prepare('DELETE FROM jobs WHERE created_at < ?').bind(expired),
  ]);
  void events;
  return { idempotency: idem.meta.changes + stuck.meta.changes, released: released.meta.changes, jobsFailed: failed.meta.changes, jobsDeleted: jobs.meta.changes };
}

/** How long a reservation or an in-progress key may live: the upstream deadline plus a margin. */
export function staleAfterMs(upstreamTimeoutMs: number): number {
  return upstreamTimeoutMs + 60_000;
}
