/**
 * Metering and idempotency in D1. Every authenticated reconstruction attempt leaves one usage row;
 * only successes are billed. An Idempotency-Key binds the first final response to the body's hash for
 * 24 h: a retry with the same body gets that response again (no GPU call, no charge), a different
 * body gets IDEMPOTENCY_KEY_REUSED. Upstream 5xx outcomes are not recorded against the key, so the
 * retry after recovery really retries.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export interface UsageRow {
  requestId: string;
  keyId: string;
  idempotencyKey?: string;
  outcome: string;
  billed: boolean;
  bytesIn?: number;
  bytesForwarded?: number;
}

export async function recordUsage(db: D1Database, u: UsageRow): Promise<void> {
  await db
    .prepare('INSERT INTO usage (request_id, key_id, idempotency_key, outcome, billed, units, bytes_in, bytes_forwarded, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
    .bind(u.requestId, u.keyId, u.idempotencyKey ?? null, u.outcome, u.billed ? 1 : 0, u.billed ? 1 : 0, u.bytesIn ?? null, u.bytesForwarded ?? null, new Date().toISOString())
    .run();
}

export function monthStart(now = new Date()): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
}

export async function billedThisMonth(db: D1Database, keyId: string): Promise<number> {
  const row = await db.prepare('SELECT COALESCE(SUM(units), 0) AS n FROM usage WHERE key_id = ? AND billed = 1 AND created_at >= ?').bind(keyId, monthStart()).first<{ n: number }>();
  return row?.n ?? 0;
}

export type IdempotencyState =
  | { kind: 'new' }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'conflict' }
  | { kind: 'in_progress' };

/** Claims the key for this body, or reports what an earlier request with it left. */
export async function claimIdempotencyKey(db: D1Database, keyId: string, idemKey: string, bodySha256: string): Promise<IdempotencyState> {
  const cutoff = new Date(Date.now() - IDEMPOTENCY_TTL_MS).toISOString();
  await db.prepare('DELETE FROM idempotency WHERE key_id = ? AND idempotency_key = ? AND created_at < ?').bind(keyId, idemKey, cutoff).run();
  const inserted = await db
    .prepare("INSERT OR IGNORE INTO idempotency (key_id, idempotency_key, body_sha256, state, created_at) VALUES (?, ?, ?, 'in_progress', ?)")
    .bind(keyId, idemKey, bodySha256, new Date().toISOString())
    .run();
  if (inserted.meta.changes === 1) return { kind: 'new' };
  const row = await db.prepare('SELECT body_sha256, state, status, response FROM idempotency WHERE key_id = ? AND idempotency_key = ?').bind(keyId, idemKey).first<{ body_sha256: string; state: string; status: number; response: string }>();
  if (!row) return { kind: 'new' };
  if (row.body_sha256 !== bodySha256) return { kind: 'conflict' };
  if (row.state !== 'done') return { kind: 'in_progress' };
  return { kind: 'replay', status: row.status, body: row.response };
}

export async function completeIdempotencyKey(db: D1Database, keyId: string, idemKey: string, status: number, body: string): Promise<void> {
  await db.prepare("UPDATE idempotency SET state = 'done', status = ?, response = ? WHERE key_id = ? AND idempotency_key = ?").bind(status, body, keyId, idemKey).run();
}

export async function releaseIdempotencyKey(db: D1Database, keyId: string, idemKey: string): Promise<void> {
  await db.prepare('DELETE FROM idempotency WHERE key_id = ? AND idempotency_key = ?').bind(keyId, idemKey).run();
}
