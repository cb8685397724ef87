/** API key records in D1 through wrangler (local D1 of `wrangler dev`, or --remote). */
import { createHash, randomBytes } from 'node:crypto';
import { assetFolderOf } from '@facerecon/shared';
import { wranglerSync } from './wrangler';

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function d1Execute(where: string[], sql: string): string {
  return wranglerSync(['d1', 'execute', 'DB', ...where, '--json', '--command', sql]);
}

export function migrateD1(where: string[]): void {
  wranglerSync(['d1', 'migrations', 'apply', 'DB', ...where]);
}

export function createApiKey(where: string[], opts: { name: string; plan: string; quota: number; rate: number }): { id: string; key: string } {
  if (!Number.isInteger(opts.quota) || opts.quota < 0 || !Number.isInteger(opts.rate) || opts.rate < 1) throw new Error('quota and rate must be whole numbers');
  const key = `fr_live_${randomBytes(32).toString('base64url')}`;
  const id = `key_${randomBytes(6).toString('hex')}`;
  const hash = createHash('sha256').update(key).digest('hex');
  d1Execute(
    where,
    `INSERT INTO api_keys (id, key_hash, name, plan, monthly_quota, rate_per_minute, status, created_at) VALUES (${sqlString(id)}, ${sqlString(hash)}, ${sqlString(opts.name)}, ${sqlString(opts.plan)}, ${opts.quota}, ${opts.rate}, 'active', ${sqlString(new Date().toISOString())})`,
  );
  return { id, key };
}

/**
 * True when a key with this id exists (and is now revoked). `wrangler d1 execute --local --json`
 * reports no `changes` count for an UPDATE, so the statement returns the rows it touched instead.
 */
export function revokeApiKey(where: string[], id: string): boolean {
  const now = sqlString(new Date().toISOString());
  const key = sqlString(id);
  // With the key, its async jobs not yet ended: released unbilled and canceled (the queue also refuses
  // a revoked key's work, edge/src/queue.ts; this ends them now rather than at their next delivery).
  const out = JSON.parse(
    d1Execute(
      where,
      [
        `UPDATE api_keys SET status = 'revoked', revoked_at = COALESCE(revoked_at, ${now}) WHERE id = ${key} RETURNING id`,
        `UPDATE usage SET outcome = 'KEY_REVOKED', units = 0 WHERE outcome = 'reserved' AND request_id IN (SELECT id FROM jobs WHERE key_id = ${key} AND mode = 'async' AND status IN ('queued', 'running'))`,
        `UPDATE jobs SET status = 'canceled', error_code = 'KEY_REVOKED', finished_at = ${now}, lease_until = NULL WHERE key_id = ${key} AND mode = 'async' AND status IN ('queued', 'running')`,
      ].join('; '),
    ),
  ) as Array<{ results: Array<{ id: string }> }>;
  const revoked = (out[0]?.results ?? []).some((r) => r.id === id);
  if (!revoked) return false;
  // The stored results (signed links, landmarks, pose) go too: a revoked key can neither read nor
  // DELETE them, and a leaked key's holder must not find them again through a restore or a bug. Their
  // asset sets (the faces themselves) are recorded for erasure, which the edge's scheduled purge does
  // on the gpu-function (edge/src/lib/erasures.ts): they no longer wait for their links' expiry. Read
  // after the key stopped authenticating; a call already past authentication that commits between this
  // read and the statements below loses its result row, and its assets lapse with their links.
  const held = JSON.parse(d1Execute(where, `SELECT id, result FROM jobs WHERE key_id = ${key} AND result IS NOT NULL`)) as Array<{ results: Array<{ id: string; result: string }> }>;
  const rows = (held[0]?.results ?? []).flatMap((r) => {
    const folder = assetFolderOf(r.result);
    return folder ? [`(${sqlString(folder)}, ${sqlString(r.id)}, ${now})`] : [];
  });
  // In statements of 500 rows (~55 kB each): one command line holds at most 128 kB.
  for (let i = 0; i < rows.length; i += 500) {
    d1Execute(where, `INSERT INTO asset_erasures (folder, request_id, created_at) VALUES ${rows.slice(i, i + 500).join(', ')} ON CONFLICT (folder) DO NOTHING`);
  }
  d1Execute(where, [`UPDATE jobs SET result = NULL, asset_id = NULL, erased_at = COALESCE(erased_at, ${now}) WHERE key_id = ${key} AND result IS NOT NULL`, `DELETE FROM idempotency WHERE key_id = ${key}`].join('; '));
  return true;
}

export function listApiKeys(where: string[]): unknown[] {
  const out = JSON.parse(d1Execute(where, 'SELECT id, name, plan, monthly_quota, rate_per_minute, status, created_at FROM api_keys ORDER BY created_at')) as Array<{ results: unknown[] }>;
  return out[0].results;
}
