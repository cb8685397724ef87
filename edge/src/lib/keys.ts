/** API keys: `fr_live_` + 32 random bytes (base64url); only the SHA-256 hash is ever stored or compared. */
import { sha256Hex, timingSafeEqualString } from '@facerecon/shared';
import type { ApiKeyRecord } from '../env';

export const KEY_PREFIX = 'fr_live_';

export function hashApiKey(key: string): Promise<string> {
  return sha256Hex(key);
}

/** Looks a bearer key up by its hash; the hash comparison is constant-time even though the lookup is indexed. */
export async function findApiKey(db: D1Database, key: string): Promise<ApiKeyRecord | undefined> {
  if (!key.startsWith(KEY_PREFIX) || key.length > 128) return undefined;
  const hash = await hashApiKey(key);
  const row = await db
    .prepare('SELECT id, key_hash, name, plan, monthly_quota, rate_per_minute, status FROM api_keys WHERE key_hash = ?')
    .bind(hash)
    .first<ApiKeyRecord & { key_hash: string }>();
  if (!row || !timingSafeEqualString(row.key_hash, hash)) return undefined;
  const { key_hash: _drop, ...rec } = row;
  return rec;
}

/**
 * Whether the key may still be served. Revocation is checked on every request (middleware/auth.ts), but
 * an async job runs later, on the queue: its delivery and its webhook ask again, so that a key revoked
 * (a leaked one) neither gets queued work run and billed nor has results sent to its webhook.
 */
export async function keyIsActive(db: D1Database, id: string): Promise<boolean> {
  const row = await db.prepare('SELECT status FROM api_keys WHERE id = ?').bind(id).first<{ status: string }>();
  return row?.status === 'active';
}
