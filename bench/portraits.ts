/** The shared portraits the quality benches measure on (../shared/photos deep3d + identity), or the project's astronaut, saying so. */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function sharedPortraits(root: string): Array<[name: string, path: string]> {
  const shared = resolve(root, '../shared/photos');
  const photos: Array<[string, string]> = [];
  for (const d of ['deep3d', 'identity']) {
    const dir = join(shared, d);
    if (existsSync(dir)) for (const f of readdirSync(dir).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort()) photos.push([`${d}/${f}`, join(dir, f)]);
  }
  if (!photos.length) {
    console.warn(`${shared} not found: measured on the project's astronaut only`);
    photos.push(['astronaut.png', join(root, '.cache/fixtures/astronaut.png')]);
  }
  return photos;
}
