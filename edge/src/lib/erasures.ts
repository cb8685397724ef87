/**
 * Erasing asset sets nobody will hold: one attempt now, and when it fails, a row the scheduled purge
 * retries (README: "a result that arrives later is discarded and its assets erased"). Without the row,
 * a gpu-function or store that was down for a moment left the faces of a canceled job in the bucket
 * until its lifecycle rule, with nobody to erase them.
 */
import type { Bindings } from '../env';
import { eraseAssetsOnGpu } from './upstream';

/** Past this, the bucket's lifecycle rule (one day) has removed the files: the row is dropped. */
export const ERASURE_GIVE_UP_MS = 2 * 24 * 3600 * 1000;

/** Erases the folder now, or records it for the purge; true when it is gone now. Never throws. */
export async function eraseAssets(env: Pick<Bindings, 'DB' | 'GPU_FUNCTION_URL' | 'GPU_SIGNING_SECRET'>, folder: string, requestId: string): Promise<boolean> {
  if (await eraseAssetsOnGpu({ baseUrl: env.GPU_FUNCTION_URL, secret: env.GPU_SIGNING_SECRET, folder, requestId })) return true;
  console.warn(JSON.stringify({ event: 'erase-deferred', requestId, folder }));
  await env.DB.prepare('INSERT INTO asset_erasures (folder, request_id, created_at) VALUES (?, ?, ?) ON CONFLICT (folder) DO NOTHING')
    .bind(folder, requestId, new Date().toISOString())
    .run()
    .catch((err: unknown) => console.error(JSON.stringify({ event: 'erase-lost', requestId, folder, error: String(err) })));
  return false;
}

/** The purge's step: each recorded folder tried again (oldest first, `limit` a run). */
export async function retryAssetErasures(env: Pick<Bindings, 'DB' | 'GPU_FUNCTION_URL' | 'GPU_SIGNING_SECRET'>, opts: { now?: number; limit?: number } = {}): Promise<{ erased: number; pending: number; dropped: number }> {
  const now = opts.now ?? Date.now();
  const dropped = await env.DB.prepare('DELETE FROM asset_erasures WHERE created_at < ?').bind(new Date(now - ERASURE_GIVE_UP_MS).toISOString()).run();
  const rows = await env.DB.prepare('SELECT folder, request_id FROM asset_erasures ORDER BY created_at LIMIT ?').bind(opts.limit ?? 50).all<{ folder: string; request_id: string }>();
  let erased = 0;
  for (const r of rows.results) {
    if (await eraseAssetsOnGpu({ baseUrl: env.GPU_FUNCTION_URL, secret: env.GPU_SIGNING_SECRET, folder: r.folder, requestId: r.request_id })) {
      await env.DB.prepare('DELETE FROM asset_erasures WHERE folder = ?').bind(r.folder).run();
      erased++;
    } else {
      await env.DB.prepare('UPDATE asset_erasures SET attempts = attempts + 1 WHERE folder = ?').bind(r.folder).run();
    }
  }
  return { erased, pending: rows.results.length - erased, dropped: dropped.meta.changes };
}
