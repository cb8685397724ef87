/**
 * The phone-style HEIC fixtures fetch-fixtures.sh cannot make with heif-enc alone:
 *   astronaut-grid.heic  the portrait in a 1400x1000 frame, as 3x2 tiles of 512 cropped by the grid
 *   astronaut-rot.heic   the same picture stored turned a quarter clockwise under irot=1 (an iPhone
 *                        held in portrait writes its pixels sideways with an irot the same way)
 * Both show the same upright 1400x1000 picture, astronaut-frame.png, which tests compare against.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRgbImage } from '@facerecon/shared';
import { encodePng, readImageFile } from '../gpu-function/src/adapters/image-io';
import { encodeGridHeic } from './lib/heic-grid-encode';

const dest = resolve(import.meta.dirname, '../.cache/fixtures');
const { image: src } = await readImageFile(join(dest, 'astronaut.png'));
const W = 1400, H = 1000, k = 2, ox = 220, oy = 20;
const frame = createRgbImage(W, H);
for (let y = 0; y < H; y++) {
  for (let x = 0; x < W; x++) {
    const sx = Math.floor((x - ox) / k);
    const sy = Math.floor((y - oy) / k);
    const d = (y * W + x) * 3;
    if (sx >= 0 && sx < 512 && sy >= 0 && sy < 512) frame.data.set(src.data.subarray((sy * 512 + sx) * 3, (sy * 512 + sx) * 3 + 3), d);
    else frame.data.set([70 + (x >> 4) % 2 * 40, 90, 120], d); // a striped wall, so a misplaced tile shows
  }
}
writeFileSync(join(dest, 'astronaut-frame.png'), await encodePng(frame));
writeFileSync(join(dest, 'astronaut-grid.heic'), await encodeGridHeic(frame));
writeFileSync(join(dest, 'astronaut-rot.heic'), await encodeGridHeic(frame, { irot: 1 }));
console.log('fixtures: astronaut-grid.heic astronaut-rot.heic astronaut-frame.png (grid-tiled HEIC from heif-enc tiles)');
