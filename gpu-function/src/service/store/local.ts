/**
 * The embedded default store: files under one directory, URLs `<base>/assets/<key>?expires=<unix>&sig=<hex>`
 * with sig = HMAC-SHA256(secret, key \n expires), verified in constant time by the service's /assets
 * route. Keys are validated and resolved inside the directory, so no URL can reach outside it.
 * Writes go to a temporary name and are renamed, so a reader never sees a half-written file.
 */
import { mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { hmacSha256Hex, MAX_SKEW_SECONDS, timingSafeEqualString } from '@facerecon/shared';
import { assertSafeKey, type AssetStore } from './types';

export interface LocalStoreOptions {
  dir: string;
  /** Base URL the service is reachable at, e.g. http://127.0.0.1:8788. */
  publicUrl: string;
  secret: string;
  /**
   * Keys links signed before a rotation were signed with, still accepted (never used to sign): the
   * links handed out up to FACERECON_ASSET_TTL_S ago were paid for and must keep working.
   */
  previousSecrets?: readonly string[];
  now?: () => number;
}

export type AssetCheck = { ok: true; path: string } | { ok: false; code: 'FORBIDDEN' | 'LINK_EXPIRED' | 'NOT_FOUND' };

export class LocalAssetStore implements AssetStore {
  readonly kind = 'local' as const;
  readonly dir: string;
  private readonly now: () => number;
  private publicUrl: string;

  constructor(private readonly opts: LocalStoreOptions) {
    this.dir = resolve(opts.dir);
    this.now = opts.now ?? Date.now;
    this.publicUrl = opts.publicUrl.replace(/\/+$/, '');
  }

  /** The base URL signed links start with (set once the listening port is known). */
  setPublicUrl(url: string): void {
    this.publicUrl = url.replace(/\/+$/, '');
  }

  private pathOf(key: string): string {
    assertSafeKey(key);
    const p = resolve(this.dir, key);
    const rel = relative(this.dir, p);
    if (rel.startsWith('..') || rel.includes(`..${sep}`) || resolve(this.dir, rel) !== p) throw new RangeError(`key ${key} escapes the store`);
    return p;
  }

  async put(key: string, body: Uint8Array, _contentType: string): Promise<void> {
    const p = this.pathOf(key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, body);
      await rename(tmp, p);
    } catch (err) {
      // A half-written temporary (a full disk) is no asset anyone deletes by its key: remove it here.
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  async signedUrl(key: string, ttlSeconds: number): Promise<string> {
    this.pathOf(key);
    const expires = Math.floor(this.now() / 1000) + ttlSeconds;
    const sig = await hmacSha256Hex(this.opts.secret, `${key}\n${expires}`);
    return `${this.publicUrl}/assets/${key}?expires=${expires}&sig=${sig}`;
  }

  /** Checks a signed URL's parts; on success gives the file path to serve. */
  async check(key: string, expires: string | undefined, sig: string | undefined): Promise<AssetCheck> {
    let path: string;
    try {
      path = this.pathOf(key);
    } catch {
      return { ok: false, code: 'NOT_FOUND' };
    }
    if (!expires || !sig || !/^\d{1,12}$/.test(expires) || !/^[0-9a-f]{64}$/.test(sig)) return { ok: false, code: 'FORBIDDEN' };
    // Every key is tried (no early exit), each comparison in constant time.
    let signed = false;
    for (const secret of [this.opts.secret, ...(this.opts.previousSecrets ?? [])]) {
      if (timingSafeEqualString(await hmacSha256Hex(secret, `${key}\n${expires}`), sig)) signed = true;
    }
    if (!signed) return { ok: false, code: 'FORBIDDEN' };
    if (Number(expires) * 1000 < this.now()) return { ok: false, code: 'LINK_EXPIRED' };
    try {
      await stat(path);
    } catch {
      return { ok: false, code: 'NOT_FOUND' };
    }
    return { ok: true, path };
  }

  read(path: string): Promise<Buffer> {
    return readFile(path);
  }

  async deleteKeys(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((k) => rm(this.pathOf(k), { force: true })));
  }

  async claimOnce(key: string): Promise<boolean> {
    // Under a dot folder: no signed /assets URL can name it (keys never start with a dot); the sweeper
    // removes it with the assets' TTL, but never before the signature window it has to cover is over.
    assertSafeKey(key);
    const p = join(this.dir, '.ledger', key);
    await mkdir(dirname(p), { recursive: true });
    try {
      await writeFile(p, '', { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  async probe(): Promise<void> {
    const key = `.probe-${process.pid}`;
    const p = join(this.dir, key);
    await mkdir(this.dir, { recursive: true });
    await writeFile(p, 'ok');
    await rm(p, { force: true });
  }

  /**
   * Deletes files older than `ttlSeconds` (by modification time) and the folders they leave empty.
   * A URL never outlives its file's TTL, so nothing reachable is removed. The nonce ledger is kept at
   * least NONCE_LIFETIME_S whatever the TTL: a nonce swept while its timestamp is still accepted would
   * let its request be replayed. Returns the files deleted.
   */
  async sweep(ttlSeconds: number): Promise<number> {
    const assetCutoff = this.now() - ttlSeconds * 1000;
    const ledgerCutoff = this.now() - Math.max(ttlSeconds, NONCE_LIFETIME_S) * 1000;
    const ledger = join(this.dir, '.ledger');
    let deleted = 0;
    const walk = async (dir: string): Promise<boolean> => {
      const cutoff = dir === ledger || dir.startsWith(ledger + sep) ? ledgerCutoff : assetCutoff;
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return false;
      }
      let remaining = entries.length;
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          // rmdir, not rm -r: a file written into the folder since it was listed (a new asset, a
          // nonce just claimed) makes it ENOTEMPTY, and it stays, with its file.
          if ((await walk(p)) && (await removeEmptyDir(p))) remaining--;
        } else {
          // A file gone since the listing (an erase, a .tmp renamed, a readiness probe) is not an error.
          const mtime = await stat(p).then((st) => st.mtimeMs, () => undefined);
          if (mtime === undefined) remaining--;
          else if (mtime < cutoff) {
            await rm(p, { force: true });
            deleted++;
            remaining--;
          }
        }
      }
      return remaining === 0;
    };
    await walk(this.dir);
    return deleted;
  }
}

/** A signed request's timestamp is accepted MAX_SKEW_SECONDS either side of now: its nonce must outlive both sides. */
export const NONCE_LIFETIME_S = 2 * MAX_SKEW_SECONDS + 60;

/** Removes `dir` if it is empty; false (and nothing removed) when something was written into it meanwhile. */
async function removeEmptyDir(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw err;
  }
}
