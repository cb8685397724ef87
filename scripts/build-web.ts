/** Builds the page into edge/public/ (served by the worker as static assets): one bundled ES module, no CDN. */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { staticHeadersFile } from '../edge/src/lib/security-headers';
import { ROOT } from './local-env';

const out = join(ROOT, 'edge/public');
mkdirSync(out, { recursive: true });
const t0 = performance.now();
const result = await build({
  entryPoints: [join(ROOT, 'edge/web/app.ts')],
  metafile: true,
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
// Which files went in (a test checks that the page uses the SDK's published build, not its sources).
mkdirSync(join(ROOT, '.cache'), { recursive: true });
writeFileSync(join(ROOT, '.cache/web-build-inputs.json'), JSON.stringify(Object.keys(result.metafile.inputs), null, 1));
for (const f of ['index.html', 'style.css']) copyFileSync(join(ROOT, 'edge/web', f), join(out, f));
// Workers static assets apply this file's headers to the page (CSP, nosniff, referrer, framing).
writeFileSync(join(out, '_headers'), staticHeadersFile());
console.log(`web: edge/public built in ${(performance.now() - t0).toFixed(0)} ms`);
