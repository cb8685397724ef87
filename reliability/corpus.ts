/**
 * The bad-input corpus, generated at test time from the project's own real photos (no downloads):
 * truncations and corruptions at many offsets, degenerate sizes, a decompression bomb, absurd EXIF,
 * polyglots, wrong content types, malformed and hostile multipart bodies, non-UTF-8 options, and
 * photos without a usable face. Each case is the exact HTTP request a client would send.
 */
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { encodeImage, readImageFile } from '../gpu-function/src/adapters/image-io';
import { buildPyramid, sampleRotatedCrop } from '../gpu-function/src/face/raster';
import { concatBytes as concat, rgbPng } from './png-bytes';

export interface CorpusCase {
  name: string;
  category: string;
  /** Path and query after the origin. */
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** 'face' when a reconstruction should succeed; otherwise any documented error (< 500) is fine. */
  expect: 'face' | 'error' | 'any';
}

const enc = new TextEncoder();

/** A PNG whose header declares width x height but whose data is a few hundred bytes of zeros. */
function pngDeclaring(width: number, height: number, rows = 1): Uint8Array {
  return rgbPng(width, height, deflateSync(new Uint8Array(rows * (1 + Math.min(width, 4096) * 3))));
}

function resample(img: RgbImage, w: number, h: number, rect = { cx: img.width / 2, cy: img.height / 2, size: Math.max(img.width, img.height) }): RgbImage {
  const side = Math.max(w, h);
  const sq = sampleRotatedCrop(buildPyramid(img), { ...rect, angle: 0 }, { size: side, scale: 255, offset: 0 });
  const out = createRgbImage(w, h);
  const x0 = (side - w) >> 1;
  const y0 = (side - h) >> 1;
  for (let y = 0; y < h; y++) for (let x = 0; x < w * 3; x++) out.data[y * w * 3 + x] = Math.round(sq[((y + y0) * side + x0) * 3 + x]);
  return out;
}

/** A cartoon face: flat skin disc, two dark eyes, a red mouth (no photographic texture). */
function cartoonFace(): RgbImage {
  const img = createRgbImage(400, 400, new Uint8Array(400 * 400 * 3).fill(235));
  const disc = (cx: number, cy: number, r: number, c: [number, number, number], ry = r) => {
    for (let y = 0; y < 400; y++) for (let x = 0; x < 400; x++) if (((x - cx) / r) ** 2 + ((y - cy) / ry) ** 2 <= 1) img.data.set(c, 3 * (y * 400 + x));
  };
  disc(200, 210, 130, [245, 200, 160], 160);
  disc(150, 170, 18, [40, 30, 30]);
  disc(250, 170, 18, [40, 30, 30]);
  disc(200, 290, 45, [200, 40, 50], 14);
  return img;
}

function multipart(boundary: string, parts: Array<{ name: string; filename?: string; type?: string; body: Uint8Array }>, preamble = new Uint8Array()): Uint8Array {
  const chunks: Uint8Array[] = [preamble];
  for (const p of parts) {
    chunks.push(enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`), p.body, enc.encode('\r\n'));
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  return concat(...chunks);
}

/** Deterministic pseudo-random bytes positions (LCG), so a failing case can be replayed. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

export async function buildCorpus(fixturesDir: string): Promise<CorpusCase[]> {
  const astronaut = (await readImageFile(`${fixturesDir}/astronaut.png`)).image;
  const coffee = (await readImageFile(`${fixturesDir}/coffee.png`)).image;
  const chelsea = (await readImageFile(`${fixturesDir}/chelsea.png`)).image;
  const jpeg = await encodeImage(astronaut, 'jpeg', { quality: 90 });
  const png = await encodeImage(astronaut, 'png');
  const webp = await encodeImage(astronaut, 'webp', { quality: 90 });
  const cases: CorpusCase[] = [];
  const raw = (category: string, name: string, body: Uint8Array, type = 'application/octet-stream', expect: CorpusCase['expect'] = 'error', path = '/v1/reconstructions?formats=glb') =>
    cases.push({ category, name, path, headers: { 'content-type': type }, body, expect });

  // Valid references, so the run proves the stack still works between hostile inputs.
  raw('valid', 'astronaut.jpg', jpeg, 'image/jpeg', 'face');
  raw('valid', 'astronaut.png', png, 'image/png', 'face');
  raw('valid', 'astronaut.webp', webp, 'image/webp', 'face');
  const heic = new Uint8Array(readFileSync(`${fixturesDir}/astronaut.heic`));
  const avif = new Uint8Array(readFileSync(`${fixturesDir}/astronaut.avif`));
  raw('valid', 'astronaut.heic', heic, 'image/heic', 'face');
  raw('valid', 'astronaut.avif', avif, 'image/avif', 'face');

  // Truncations at 55 offsets per format (from the first bytes to one byte short).
  for (const [fmt, bytes] of [['jpeg', jpeg], ['png', png], ['webp', webp], ['heic', heic], ['avif', avif]] as const) {
    for (let k = 0; k < 55; k++) {
      const cut = Math.max(1, Math.floor(((k + 0.5) / 55) * (bytes.length - 1)));
      raw('truncated', `${fmt} cut at ${cut}/${bytes.length}`, bytes.subarray(0, cut), `image/${fmt}`);
    }
  }
  // Corruptions: bursts of random bytes at 35 places per format (some decode to noise, some fail).
  for (const [fmt, bytes] of [['jpeg', jpeg], ['png', png], ['webp', webp], ['heic', heic], ['avif', avif]] as const) {
    const rnd = lcg(fmt.length * 977 + (fmt === 'avif' ? 1 : 0));
    for (let k = 0; k < 35; k++) {
      const b = bytes.slice();
      const at = Math.floor(rnd() * (b.length - 64));
      for (let i = 0; i < 32; i++) b[at + i] = Math.floor(rnd() * 256);
      raw('corrupted', `${fmt} 32 random bytes at ${at}`, b, `image/${fmt}`, 'any');
    }
  }
  // Degenerate sizes and shapes.
  raw('size', 'zero bytes', new Uint8Array(), 'image/jpeg');
  raw('size', '1x1 png', await encodeImage(createRgbImage(1, 1), 'png'), 'image/png');
  raw('size', '4000x130 png', await encodeImage(resample(astronaut, 4000, 130), 'png'), 'image/png', 'any');
  raw('size', '130x4000 png', await encodeImage(resample(astronaut, 130, 4000), 'png'), 'image/png', 'any');
  raw('size', '8193x200 header', pngDeclaring(8193, 200), 'image/png');
  raw('bomb', 'png declaring 30000x30000', pngDeclaring(30000, 30000), 'image/png');
  raw('bomb', 'png declaring 8000x5000 (40 MP) with 1 row of data', pngDeclaring(8000, 5000), 'image/png');
  raw('bomb', 'png declaring 6000x6000 with 1 row of data', pngDeclaring(6000, 6000), 'image/png');
  // EXIF with absurd values.
  for (const orientation of [0, 9, 255, 65535]) {
    const b = await encodeImage(astronaut, 'jpeg', { quality: 85, exifOrientation: 1 });
    const i = findOrientationTag(b);
    if (i >= 0) {
      b[i + 8] = orientation >> 8;
      b[i + 9] = orientation & 255;
    }
    raw('exif', `orientation ${orientation}`, b, 'image/jpeg', 'any');
  }
  const badIfd = await encodeImage(astronaut, 'jpeg', { quality: 85, exifOrientation: 6 });
  const oi = findOrientationTag(badIfd);
  if (oi >= 0) badIfd.set([0xff, 0xff], oi - 2); // entry count: 65535 entries that are not there
  raw('exif', 'IFD claiming 65535 entries', badIfd, 'image/jpeg', 'any');
  // Polyglots and wrong types.
  raw('polyglot', 'png followed by an HTML page', concat(png, enc.encode('<html><script>alert(1)</script></html>')), 'image/png', 'any');
  raw('polyglot', 'jpeg followed by a zip', concat(jpeg, Uint8Array.from([0x50, 0x4b, 0x03, 0x04, ...new Uint8Array(60)])), 'image/jpeg', 'any');
  raw('polyglot', 'html with a png signature inside', concat(enc.encode('<html>'), png.subarray(0, 100)), 'image/png');
  raw('type', 'png sent as image/jpeg', png, 'image/jpeg', 'face');
  raw('type', 'jpeg sent as text/plain', jpeg, 'text/plain', 'face');
  raw('type', 'GIF', enc.encode('GIF89a\x01\x00\x01\x00\x00\x00\x00;'), 'image/gif');
  raw('type', 'HEIC brand', concat(Uint8Array.from([0, 0, 0, 24]), enc.encode('ftypheic'), new Uint8Array(4), enc.encode('mif1heic')), 'image/heic');
  raw('type', 'AVIF brand', concat(Uint8Array.from([0, 0, 0, 24]), enc.encode('ftypavif'), new Uint8Array(4), enc.encode('mif1avif')), 'image/avif');
  raw('type', 'PDF', enc.encode('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n'), 'application/pdf');
  raw('type', 'SVG', enc.encode('<svg xmlns="http://www.w3.org/2000/svg"><circle r="5"/></svg>'), 'image/svg+xml');
  // Multipart bodies.
  const b = 'facerecon-boundary';
  const mp = (name: string, body: Uint8Array, expect: CorpusCase['expect'] = 'error', path = '/v1/reconstructions?formats=glb') =>
    cases.push({ category: 'multipart', name, path, headers: { 'content-type': `multipart/form-data; boundary=${b}` }, body, expect });
  mp('image field present', multipart(b, [{ name: 'image', filename: 'a.jpg', type: 'image/jpeg', body: jpeg }]), 'face');
  mp('missing image field', multipart(b, [{ name: 'photo', filename: 'a.jpg', type: 'image/jpeg', body: jpeg }]));
  mp('image field twice', multipart(b, [{ name: 'image', filename: 'a.jpg', body: jpeg }, { name: 'image', filename: 'b.jpg', body: jpeg }]));
  mp('image as a text field', multipart(b, [{ name: 'image', body: enc.encode('not a file') }]));
  mp('uv_size twice', multipart(b, [{ name: 'image', filename: 'a.jpg', body: jpeg }, { name: 'uv_size', body: enc.encode('512') }, { name: 'uv_size', body: enc.encode('1024') }]));
  mp('uv_size 333', multipart(b, [{ name: 'image', filename: 'a.jpg', body: jpeg }, { name: 'uv_size', body: enc.encode('333') }]));
  mp('1 MB preamble', multipart(b, [{ name: 'image', filename: 'a.jpg', body: jpeg }], new Uint8Array(1024 * 1024).fill(0x41)), 'any');
  mp('no closing boundary', multipart(b, [{ name: 'image', filename: 'a.jpg', body: jpeg }]).subarray(0, jpeg.length + 80));
  mp('boundary never appears', concat(enc.encode('just some bytes'), jpeg.subarray(0, 100)));
  mp('non-UTF-8 field value', multipart(b, [{ name: 'image', filename: 'a.jpg', body: jpeg }, { name: 'formats', body: Uint8Array.from([0xff, 0xfe, 0x80]) }]));
  mp('non-UTF-8 filename', concat(enc.encode(`--${b}\r\nContent-Disposition: form-data; name="image"; filename="`), Uint8Array.from([0xc3, 0x28, 0xff]), enc.encode('"\r\n\r\n'), jpeg, enc.encode(`\r\n--${b}--\r\n`)), 'any');
  // Non-UTF-8 and hostile option values in the query.
  for (const q of ['uv_size=%FF%FE', 'formats=%C3%28', 'lang=%00', 'formats=obj,' + 'x'.repeat(5000), 'uv_size=1024&uv_size=512', 'formats=../../etc/passwd', 'lang=zh%0D%0AX-Injected:1']) {
    raw('options', `query ${q.slice(0, 40)}`, jpeg, 'image/jpeg', 'any', `/v1/reconstructions?${q}`);
  }
  // Photos without a usable face.
  raw('faces', 'coffee (no face)', await encodeImage(coffee, 'jpeg'), 'image/jpeg');
  raw('faces', 'cat (no human face)', await encodeImage(chelsea, 'jpeg'), 'image/jpeg');
  const two = createRgbImage(1024, 512);
  for (let y = 0; y < 512; y++) {
    two.data.set(astronaut.data.subarray(y * 512 * 3, (y + 1) * 512 * 3), y * 1024 * 3);
    two.data.set(astronaut.data.subarray(y * 512 * 3, (y + 1) * 512 * 3), (y * 1024 + 512) * 3);
  }
  raw('faces', 'two people', await encodeImage(two, 'jpeg'), 'image/jpeg');
  raw('faces', 'face cut by the frame', await encodeImage(resample(astronaut, 300, 300, { cx: 290, cy: 80, size: 300 }), 'jpeg'), 'image/jpeg', 'any');
  raw('faces', 'cartoon face', await encodeImage(cartoonFace(), 'png'), 'image/png', 'any');
  raw('faces', 'tiny face in a large frame', await encodeImage(resample(astronaut, 1400, 1400, { cx: 256, cy: 256, size: 2800 }), 'jpeg'), 'image/jpeg', 'any');
  raw('faces', 'uniform grey', await encodeImage(createRgbImage(600, 400, new Uint8Array(600 * 400 * 3).fill(128)), 'png'), 'image/png');
  // More sizes around the limits.
  for (const [w, h] of [[127, 400], [128, 128], [8192, 130], [1536, 1537]] as const) raw('limits', `${w}x${h} header`, pngDeclaring(w, h, Math.min(h, 2)), 'image/png', 'any');
  return cases;
}

/** Offset of the EXIF orientation entry (tag 0x0112, big-endian as sharp writes it) in a JPEG, or -1. */
function findOrientationTag(b: Uint8Array): number {
  for (let i = 0; i + 10 < Math.min(b.length, 4096); i++) if (b[i] === 0x01 && b[i + 1] === 0x12 && b[i + 2] === 0x00 && b[i + 3] === 0x03) return i;
  return -1;
}
