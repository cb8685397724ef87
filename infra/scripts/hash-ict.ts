/**
 * Writes infra/ict-facekit.sha256: the SHA-256 of every file of ICT-FaceKit's FaceXModel/ and of the
 * repository's LICENSE at the commit the image pins, in `sha256sum -c` form. fetch-ict.sh checks the
 * checkout against it, so the image build converts exactly the bytes this list names whatever the Git
 * host answers for the ref (a short ref can name another commit; a host can be compromised).
 *
 *   npx tsx infra/scripts/hash-ict.ts <FaceXModel folder> [--out infra/ict-facekit.sha256]
 *
 * The folder may hold the OBJs as the repository stores them or gzip-compressed (`name.obj.gz`, how the
 * team hands the full model around): the list names the repository's files, so it hashes what they
 * decompress to. The folder's LICENSE stands for the repository root's (FaceXModel/ has none).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { out: { type: 'string', default: resolve(import.meta.dirname, '../ict-facekit.sha256') } } });
const dir = positionals[0];
if (!dir) {
  console.error('usage: npx tsx infra/scripts/hash-ict.ts <FaceXModel folder> [--out file]');
  process.exit(2);
}
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const lines: string[] = [];
for (const f of readdirSync(dir).sort()) {
  const bytes = readFileSync(join(dir, f));
  if (f === 'LICENSE') lines.push(`${sha256(bytes)}  LICENSE`);
  else if (f.endsWith('.gz')) lines.push(`${sha256(gunzipSync(bytes))}  FaceXModel/${f.slice(0, -3)}`);
  else lines.push(`${sha256(bytes)}  FaceXModel/${f}`);
}
lines.sort((a, b) => a.slice(66).localeCompare(b.slice(66)));
writeFileSync(values.out!, `${lines.join('\n')}\n`);
console.log(`${lines.length} files -> ${values.out}`);
