/**
 * The cron's clean-up of the uploads bucket: photos of ended jobs, and uploads no live job owns.
 * An async job's photo is written before its job row, so an isolate that dies between the two leaves
 * an orphan; the sweep deletes uploads older than a live job can be.
 */

/** How many keys one `list` call returns (R2's maximum). */
const LIST_PAGE = 1000;
/** D1 binds at most 100 parameters per statement. */
const LOOKUP_BATCH = 90;

/**
 * Deletes the photos of jobs that have ended and clears their `photo_key`.
 * Returns how many photos were deleted.
 */
export async function deleteEndedPhotos(db: D1Database, bucket: R2Bucket): Promise<number> {
  const ended = await db.prepare("SELECT id, photo_key FROM jobs WHERE photo_key IS NOT NULL AND status IN ('succeeded', 'failed', 'canceled')").all<{ id: string; photo_key: string }>();
  for (const j of ended.results) {
    await bucket.delete(j.photo_key);
    await db.prepare('UPDATE jobs SET photo_key = NULL WHERE id = ?').bind(j.id).run();
  }
  return ended.results.length;
}

/**
 * Deletes every upload under `uploads/` older than `olderThanMs` that no queued or running job owns.
 * Pages through the whole listing (a busy bucket holds more than one page of live photos, and
 * orphans past the first page would otherwise never be reached), up to `maxPages` pages a run; a
 * run that stops there says so (`truncated`) and the next one starts over, deleting as it goes.
 */
export async function sweepOrphanUploads(
  db: D1Database,
  bucket: R2Bucket,
  opts: { olderThanMs: number; now?: number; pageSize?: number; maxPages?: number },
): Promise<{ orphans: number; listed: number; truncated: boolean }> {
  const cutoff = (opts.now ?? Date.now()) - opts.olderThanMs;
  const pageSize = Math.min(opts.pageSize ?? LIST_PAGE, LIST_PAGE);
  const maxPages = opts.maxPages ?? 20;
  let cursor: string | undefined;
  let orphans = 0;
  let listed = 0;
  for (let page = 0; page < maxPages; page++) {
    const res = await bucket.list({ prefix: 'uploads/', limit: pageSize, cursor });
    listed += res.objects.length;
    const old = res.objects.filter((o) => o.uploaded.getTime() <= cutoff).map((o) => o.key);
    for (let i = 0; i < old.length; i += LOOKUP_BATCH) {
      const keys = old.slice(i, i + LOOKUP_BATCH);
      const live = await db
        .prepare(`SELECT photo_key FROM jobs WHERE status IN ('queued', 'running') AND photo_key IN (${keys.map(() => '?').join(', ')})`)
        .bind(...keys)
        .all<{ photo_key: string }>();
      const owned = new Set(live.results.map((r) => r.photo_key));
      const dead = keys.filter((k) => !owned.has(k));
      if (dead.length) await bucket.delete(dead);
      orphans += dead.length;
    }
    if (!res.truncated) return { orphans, listed, truncated: false };
    cursor = res.cursor;
  }
  return { orphans, listed, truncated: true };
}
