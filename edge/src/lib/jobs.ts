/**
 * Reconstruction jobs in D1. Every request is a job, synchronous or not: its id is the request id
 * (a random UUID: 122 random bits, unguessable), its unit is the usage row of that id (billing.ts), and a key only
 * ever reads, lists or deletes its own jobs (every query is scoped by key_id).
 *
 * Status moves one way: queued -> running -> succeeded | failed, or -> canceled from queued/running.
 * A running job holds a lease: a message redelivered while the lease runs (Queues deliver at least
 * once) finds nothing to claim; after a consumer died, the next delivery takes the job over.
 */
import { ERROR_SPECS, toErrorBody, type ErrorCode, type JobStatus, type Lang, type ReconstructionJob } from '@facerecon/shared';

export const TERMINAL: readonly JobStatus[] = ['succeeded', 'failed', 'canceled'];

export interface JobRow {
  id: string;
  key_id: string;
  mode: 'sync' | 'async';
  status: JobStatus;
  query: string;
  photo_key: string | null;
  photo_type: string | null;
  webhook_url: string | null;
  attempts: number;
  lease_until: string | null;
  error_code: string | null;
  result: string | null;
  asset_id: string | null;
  erased_at: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** How long a job record (and the result it holds) is kept: the assets' lifetime. */
export const JOB_TTL_MS = 24 * 3600 * 1000;

type NewJob = Pick<JobRow, 'id' | 'key_id' | 'mode' | 'status' | 'query'> & Partial<Pick<JobRow, 'photo_key' | 'photo_type' | 'webhook_url'>>;

/** The row a new job starts as (what insertJobStatement writes), e.g. to answer with its view in the same batch. */
export function newJobRow(j: NewJob, now = new Date().toISOString()): JobRow {
  return { ...j, photo_key: j.photo_key ?? null, photo_type: j.photo_type ?? null, webhook_url: j.webhook_url ?? null, attempts: 0, lease_until: null, error_code: null, result: null, asset_id: null, erased_at: null, created_at: now, started_at: j.status === 'running' ? now : null, finished_at: null };
}

export function insertJobStatement(db: D1Database, row: JobRow): D1PreparedStatement {
  return db
    .prepare('INSERT INTO jobs (id, key_id, mode, status, query, photo_key, photo_type, webhook_url, created_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
    .bind(row.id, row.key_id, row.mode, row.status, row.query, row.photo_key, row.photo_type, row.webhook_url, row.created_at, row.started_at);
}

export async function insertJob(db: D1Database, j: NewJob): Promise<void> {
  await insertJobStatement(db, newJobRow(j)).run();
}

export async function getJob(db: D1Database, keyId: string, id: string): Promise<JobRow | null> {
  return db.prepare('SELECT * FROM jobs WHERE id = ? AND key_id = ?').bind(id, keyId).first<JobRow>();
}

export async function getJobById(db: D1Database, id: string): Promise<JobRow | null> {
  return db.prepare('SELECT * FROM jobs WHERE id = ?').bind(id).first<JobRow>();
}

/** The key's jobs, newest first; the cursor is the last row's (created_at, id), opaque to callers. */
/** The position a list cursor names, or null for a cursor this API did not write. */
export function parseCursor(cursor: string): [string, string] | null {
  try {
    const v = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/'))) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // not base64 or not JSON
  }
  return null;
}

export async function listJobs(db: D1Database, keyId: string, opts: { limit: number; after?: [string, string] }): Promise<{ jobs: JobRow[]; next?: string }> {
  const after = opts.after;
  const rows = after
    ? await db.prepare('SELECT * FROM jobs WHERE key_id = ? AND (created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?').bind(keyId, after[0], after[0], after[1], opts.limit + 1).all<JobRow>()
    : await db.prepare('SELECT * FROM jobs WHERE key_id = ? ORDER BY created_at DESC, id DESC LIMIT ?').bind(keyId, opts.limit + 1).all<JobRow>();
  const jobs = rows.results.slice(0, opts.limit);
  const last = jobs.at(-1);
  const next = rows.results.length > opts.limit && last ? btoa(JSON.stringify([last.created_at, last.id])).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : undefined;
  return { jobs, next };
}

/** Claims a queued job (or one whose lease lapsed) for one attempt; null when there is nothing to run. */
export async function claimJob(db: D1Database, id: string, leaseMs: number): Promise<JobRow | null> {
  const now = new Date();
  return db
    .prepare("UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = ?, started_at = COALESCE(started_at, ?) WHERE id = ? AND (status = 'queued' OR (status = 'running' AND lease_until < ?)) RETURNING *")
    .bind(new Date(now.getTime() + leaseMs).toISOString(), now.toISOString(), id, now.toISOString())
    .first<JobRow>();
}

/** A transient failure: back in the queue for the next delivery. */
/** Milliseconds left on the lease of a job a delivery is running; 0 when it is not running or the lease lapsed. */
export function leaseLeftMs(job: Pick<JobRow, 'status' | 'lease_until'>, now = Date.now()): number {
  return job.status === 'running' && job.lease_until ? Math.max(0, Date.parse(job.lease_until) - now) : 0;
}

/** Puts a job back in the queue, if the delivery that claimed it as `attempts` still holds it. */
export async function requeueJob(db: D1Database, id: string, attempts: number): Promise<void> {
  await db.prepare("UPDATE jobs SET status = 'queued', lease_until = NULL WHERE id = ? AND status = 'running' AND attempts = ?").bind(id, attempts).run();
}

/** Cancels a queued or running job; false when it had already ended. */
export async function cancelJob(db: D1Database, keyId: string, id: string): Promise<boolean> {
  const r = await db.prepare("UPDATE jobs SET status = 'canceled', error_code = 'CANCELED', finished_at = ?, lease_until = NULL WHERE id = ? AND key_id = ? AND status IN ('queued', 'running')").bind(new Date().toISOString(), id, keyId).run();
  return r.meta.changes === 1;
}

/** The stored result goes; the record stays (status, times) so the erasure itself is visible. */
export async function eraseJobResult(db: D1Database, keyId: string, id: string): Promise<void> {
  await db.prepare('UPDATE jobs SET result = NULL, asset_id = NULL, erased_at = COALESCE(erased_at, ?) WHERE id = ? AND key_id = ?').bind(new Date().toISOString(), id, keyId).run();
}

export async function clearPhoto(db: D1Database, id: string): Promise<void> {
  await db.prepare('UPDATE jobs SET photo_key = NULL WHERE id = ?').bind(id).run();
}

export async function addJobEvent(db: D1Database, id: string, type: string, detail?: unknown): Promise<void> {
  await db.prepare('INSERT INTO job_events (job_id, at, type, detail) VALUES (?, ?, ?, ?)').bind(id, new Date().toISOString(), type, detail === undefined ? null : JSON.stringify(detail)).run();
}

/** How many times the job was put back after failing with `code` (its `retry` events). */
export async function retriesWith(db: D1Database, id: string, code: string): Promise<number> {
  const row = await db.prepare("SELECT COUNT(*) AS n FROM job_events WHERE job_id = ? AND type = 'retry' AND json_extract(detail, '$.code') = ?").bind(id, code).first<{ n: number }>();
  return row?.n ?? 0;
}


export type JobView = ReconstructionJob;

/** The public shape of a job (GET, list items, webhook payloads). */
export function jobView(j: JobRow, opts: { lang: Lang; events?: Array<{ at: string; type: string; detail: string | null }> } = { lang: 'en' }): JobView {
  const events = (opts.events ?? []).map((e) => ({ at: e.at, type: e.type, detail: e.detail ? JSON.parse(e.detail) : null }));
  const code = j.error_code as ErrorCode | null;
  const err = code && code in ERROR_SPECS ? toErrorBody(code, { requestId: j.id, lang: opts.lang }).error : undefined;
  return {
    id: j.id,
    object: 'reconstruction',
    status: j.status,
    mode: j.mode,
    created_at: j.created_at,
    started_at: j.started_at,
    finished_at: j.finished_at,
    attempts: j.attempts,
    ...(err && code ? { error: { code, status: ERROR_SPECS[code].status, message: err.message, message_zh: err.message_zh, ...(err.hint ? { hint: err.hint } : {}) } } : {}),
    ...(j.result ? { result: JSON.parse(j.result) } : {}),
    ...(j.erased_at ? { erased_at: j.erased_at } : {}),
    // Deliveries only where the events were read (GET of one job): an empty list elsewhere (the list,
    // a DELETE's answer, the 202) said "never delivered" of a job that was.
    ...(j.webhook_url ? { webhook: { url: j.webhook_url, ...(opts.events ? { deliveries: events.filter((e) => e.type.startsWith('webhook.')) } : {}) } } : {}),
    ...(opts.events ? { events: events.filter((e) => !e.type.startsWith('webhook.')) } : {}),
  };
}

export async function jobEvents(db: D1Database, id: string): Promise<Array<{ at: string; type: string; detail: string | null }>> {
  return (await db.prepare('SELECT at, type, detail FROM job_events WHERE job_id = ? ORDER BY at, rowid').bind(id).all<{ at: string; type: string; detail: string | null }>()).results;
}

/**
 * A result whose commit failed, or that arrived after the caller hung up: what becomes of it. A commit
 * whose reply was lost may have landed after all (its read-back failing too): the job then reads
 * succeeded, billed and stored for the key's replay, and `'billed'` says to deliver it (a paid result
 * answered 500 was retried, and without an Idempotency-Key paid for twice). Otherwise nobody will ever
 * hold its URLs: `erase` removes its assets, and the caller is told CANCELED when the job was canceled
 * while the GPU worked, else INTERNAL.
 */
export async function settleUndelivered(db: D1Database, keyId: string, id: string, erase: () => void): Promise<'billed' | 'CANCELED' | 'INTERNAL'> {
  const status = (await getJob(db, keyId, id))?.status;
  if (status === 'succeeded') return 'billed';
  erase();
  return status === 'canceled' ? 'CANCELED' : 'INTERNAL';
}

