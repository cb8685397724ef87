/**
 * Colour management of the HEIC path, against lcms (libvips' ICC transform, through sharp) as the
 * independent reference: the same Display P3 pixels converted by icc-srgb.ts and by lcms agree, and a
 * HEIC whose colr box carries a Display P3 profile (as an iPhone writes it) decodes to the colours sharp
 * gives those pixels in a P3-tagged PNG, where libheif alone handed them back unconverted.
 */
import { readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '@facerecon/shared';
import { decodeImage } from '../../src/adapters/image-io';
import { box, readHeif, writeHeif } from '../../src/image/heif-container';
import { applySrgbTables } from '../../src/image/icc-apply.mjs';
import { isSrgbProfile, parseMatrixShaperIcc, srgbConversionTables } from '../../src/image/icc-srgb';
import { FIXTURES_DIR, fixture } from '../fixtures';
import { join } from 'node:path';

const rawOf = async (s: Sharp): Promise<RgbImage> => {
  const { data, info } = await s.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
};
const diff = (a: RgbImage, b: RgbImage) => {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i] - b.data[i]);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.data.length, max };
};
/** The astronaut converted into Display P3 by lcms, with the P3 profile attached (sharp's own 'p3'). */
const p3Png = () => sharp(readFileSync(fixture('astronaut.png'))).withIccProfile('p3').png().toBuffer();
/** A PNG of these pixels with `icc` attached as they are (an iCCP chunk after IHDR), not converted into it. */
async function taggedPng(image: RgbImage, icc: Uint8Array): Promise<Uint8Array> {
  const png = new Uint8Array(await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer());
  const body = Buffer.concat([Buffer.from('facerecon\0\0', 'latin1'), deflateSync(icc)]);
  const chunk = Buffer.alloc(12 + body.length);
  chunk.writeUInt32BE(body.length, 0);
  chunk.write('iCCP', 4, 'latin1');
  body.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + body.length)), 8 + body.length);
  const ihdrEnd = 8 + 25;
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}

describe('ICC matrix/TRC profiles to sRGB (icc-srgb.ts)', () => {
  it('converts Display P3 pixels to sRGB as lcms does, within 2 codes', async () => {
    const p3 = await p3Png();
    const icc = new Uint8Array((await sharp(p3).metadata()).icc!);
    const stored = await rawOf(sharp(p3, { ignoreIcc: true }));
    const lcms = await rawOf(sharp(p3).toColourspace('srgb'));
    // The conversion matters: the stored values are not the sRGB ones.
    expect(diff(stored, lcms).mean).toBeGreaterThan(2);
    const profile = parseMatrixShaperIcc(icc);
    expect(profile).toBeDefined();
    expect(isSrgbProfile(profile!)).toBe(false);
    const ours: RgbImage = { ...stored, data: stored.data.slice() };
    applySrgbTables(ours.data, 3, srgbConversionTables(profile!));
    const d = diff(ours, lcms);
    expect(d.max).toBeLessThanOrEqual(2);
    expect(d.mean).toBeLessThan(0.5);
  });

  it('recognises an sRGB profile (nothing to convert) and reads no malformed or foreign profile', async () => {
    const srgb = parseMatrixShaperIcc(new Uint8Array((await sharp(join(FIXTURES_DIR, 'astronaut.heic')).metadata()).icc!));
    expect(srgb).toBeDefined();
    expect(isSrgbProfile(srgb!)).toBe(true);
    const p3 = new Uint8Array((await sharp(await p3Png()).metadata()).icc!);
    expect(parseMatrixShaperIcc(p3.subarray(0, 200))).toBeUndefined();
    const cmyk = p3.slice();
    cmyk.set([0x43, 0x4d, 0x59, 0x4b], 16); // 'CMYK' as the data colour space
    expect(parseMatrixShaperIcc(cmyk)).toBeUndefined();
    const wild = p3.slice();
    new DataView(wild.buffer).setUint32(132 + 4, 0xfffffff0); // the first tag's offset beyond the profile
    expect(parseMatrixShaperIcc(wild)).toBeUndefined();
    expect(parseMatrixShaperIcc(new Uint8Array(10))).toBeUndefined();
  });

  it('a focused decode (tiles around the face, the rest painted from the thumbnail) converts tiles and thumbnail alike', async () => {
    const heic = new Uint8Array(readFileSync(join(FIXTURES_DIR, 'astronaut-wide.heic')));
    const p3 = new Uint8Array((await sharp(await p3Png()).metadata()).icc!);
    const colr = box('colr', [0x70, 0x72, 0x6f, 0x66], p3);
    // Display P3 on every image item, the grid and its thumbnail, as an iPhone writes them.
    const f = readHeif(heic);
    const images = new Set(['grid', 'hvc1']);
    const asP3 = writeHeif({
      brands: f.brands,
      primary: f.primary,
      items: [...f.items.values()].map((it) => ({ id: it.id, type: it.type, data: it.data, hidden: it.id !== f.primary && !f.refs.some((r) => r.type === 'thmb' && r.from === it.id), props: [...it.props.filter((p) => p.property.type !== 'colr').map((p) => ({ box: p.property.box, essential: p.essential })), ...(images.has(it.type) ? [{ box: colr }] : [])] })),
      refs: f.refs,
    });
    const focus = async () => [{ x0: 0.55, y0: 0.2, x1: 0.85, y1: 0.65 }];
    /** Mean difference over the painted rects between the focused and the whole decode (the painting's own error). */
    const painted = async (bytes: Uint8Array) => {
      const whole = (await decodeImage(bytes)).image;
      const part = await decodeImage(bytes, { focus });
      expect(part.focused!.tilesDecoded).toBeLessThan(part.focused!.tiles);
      let n = 0, sum = 0, decodedDiffer = 0;
      for (let y = 0; y < whole.height; y++) {
        for (let x = 0; x < whole.width; x++) {
          const o = (y * whole.width + x) * 3;
          const inPainted = part.focused!.filled.some((r) => x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1);
          for (let c = 0; c < 3; c++) {
            if (inPainted) sum += Math.abs(part.image.data[o + c] - whole.data[o + c]);
            else if (part.image.data[o + c] !== whole.data[o + c]) decodedDiffer++;
          }
          if (inPainted) n += 3;
        }
      }
      expect(decodedDiffer).toBe(0);
      return sum / n;
    };
    const original = await painted(heic);
    const converted = await painted(asP3);
    // Converted tiles beside an unconverted thumbnail would add the P3-sRGB difference to the painting's error.
    expect(Math.abs(converted - original)).toBeLessThan(1);
  });

  for (const file of ['astronaut.heic', 'astronaut-grid.heic']) {
    it(`${file}: decoded with a Display P3 profile in its colr box (an iPhone's), it has the colours lcms gives its pixels`, async () => {
      const heic = new Uint8Array(readFileSync(join(FIXTURES_DIR, file)));
      const p3 = new Uint8Array((await sharp(await p3Png()).metadata()).icc!);
      // The same coded picture (one image, or a grid of tiles the decoder threads convert one by one), its
      // own profile (sRGB, or none) swapped for Display P3 on the primary item.
      const f = readHeif(heic);
      const colr = box('colr', [0x70, 0x72, 0x6f, 0x66], p3); // 'prof'
      const asP3 = writeHeif({
        brands: f.brands,
        primary: f.primary,
        items: [...f.items.values()].map((it) => ({ id: it.id, type: it.type, data: it.data, hidden: it.id !== f.primary, props: [...it.props.filter((p) => p.property.type !== 'colr').map((p) => ({ box: p.property.box, essential: p.essential })), ...(it.id === f.primary ? [{ box: colr }] : [])] })),
        refs: f.refs,
      });
      // Its pixels as coded (the original needs no conversion), then tagged P3 for lcms.
      const coded = (await decodeImage(heic)).image;
      const lcms = await rawOf(sharp(await taggedPng(coded, p3)).toColourspace('srgb'));
      const decoded = (await decodeImage(asP3)).image;
      expect(diff(coded, lcms).mean).toBeGreaterThan(2);
      const d = diff(decoded, lcms);
      expect(d.max).toBeLessThanOrEqual(2);
      expect(d.mean).toBeLessThan(0.5);
    });
  }
});
