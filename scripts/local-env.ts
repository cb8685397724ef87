/**
 * The embedded default's environment: local store under .cache/assets, loopback, and a signing secret
 * generated once into .cache/dev-secret (never committed; production gets it from its secret store).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..');

export function localEnv(): Record<string, string> {
  const file = join(ROOT, '.cache/dev-secret');
  if (!existsSync(file)) {
    mkdirSync(join(ROOT, '.cache'), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return {
    FACERECON_SIGNING_SECRET: readFileSync(file, 'utf8').trim(),
    FACERECON_STORE: 'local',
    FACERECON_LOCAL_STORE_DIR: join(ROOT, '.cache/assets'),
    HOST: '127.0.0.1',
    PORT: '8788',
  };
}
