/**
 * The phone-style HEIC fixtures fetch-fixtures.sh cannot make with heif-enc alone:
 *   astronaut-grid.heic  the portrait in a 1400x1000 frame, as 3x2 tiles of 512 cropped by the grid
 *   astronaut-rot.heic   the same picture stored turned a quarter clockwise under irot=1 (an iPhone
 *                        held in portrait writes its pixels sideways with an irot the same way)
 *   astronaut-wide.heic  a small face in a 2560x1536 frame, and astronaut-wide-badthumb.heic, the same
 *                        with a thumbnail of another picture
 * Each carries a 320 px thumbnail, as an iPhone's photo does.
 * Both show the same upright 1400x1000 picture, astronaut-frame.png, which tests compare against.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRgbImage } from '@facerecon/shared';
import { encodePng, readImageFile } from '../gpu-function/src/adapters/image-io';
import { rotateCcw } from '../gpu-function/src/image/heif-grid';
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

// A small face in a wide frame (5x3 tiles, the face on about two): what the thumbnail-first decode
// (image/heif-focus.ts) skips most of. Its -badthumb twin carries a thumbnail of the picture turned
// half round, which the decoder must notice and not paint from.
const WW = 2560, WH = 1536, wx = 1500, wy = 420;
const wide = createRgbImage(WW, WH);
for (let y = 0; y < WH; y++) {
  for (let x = 0; x < WW; x++) {
    const sx = x - wx, sy = y - wy;
    const d = (y * WW + x) * 3;
    if (sx >= 0 && sx < 512 && sy >= 0 && sy < 512) wide.data.set(src.data.subarray((sy * 512 + sx) * 3, (sy * 512 + sx) * 3 + 3), d);
    else wide.data.set([60 + (x >> 5) % 2 * 50, 110 + (y >> 6) % 2 * 30, 140], d);
  }
}
writeFileSync(join(dest, 'astronaut-wide.png'), await encodePng(wide));
writeFileSync(join(dest, 'astronaut-wide.heic'), await encodeGridHeic(wide));
writeFileSync(join(dest, 'astronaut-wide-badthumb.heic'), await encodeGridHeic(wide, { thumbnailImage: rotateCcw(wide, 2) }));
console.log('fixtures: astronaut-grid.heic astronaut-rot.heic astronaut-frame.png astronaut-wide(-badthumb).heic (grid-tiled HEIC from heif-enc tiles)');
