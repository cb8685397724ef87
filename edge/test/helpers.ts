/** Test material for the edge: API keys in D1, images built byte by byte, an upstream stand-in. */
import { env } from 'cloudflare:workers';
import { rgbPng } from '../../reliability/png-bytes';
import { hashApiKey, KEY_PREFIX } from '../src/lib/keys';

export async function createKey(opts: { quota?: number; rate?: number; status?: 'active' | 'revoked' } = {}): Promise<{ key: string; id: string }> {
  const id = `key_${crypto.randomUUID().slice(0, 8)}`;
  const key = `${KEY_PREFIX}${crypto.randomUUID().replace(/-/g, '')}${crypto.randomUUID().replace(/-/g, '')}`;
  await env.DB.prepare('INSERT INTO api_keys (id, key_hash, name, plan, monthly_quota, rate_per_minute, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
    .bind(id, await hashApiKey(key), 'test', 'test', opts.quota ?? 100, opts.rate ?? 1000, opts.status ?? 'active', new Date().toISOString())
    .run();
  return { key, id };
}

export async function usageRows(keyId: string): Promise<Array<{ outcome: string; billed: number }>> {
  const r = await env.DB.prepare('SELECT outcome, billed FROM usage WHERE key_id = ? ORDER BY created_at').bind(keyId).all<{ outcome: string; billed: number }>();
  return r.results;
}

/** A real, decodable grey PNG of the given size (zlib via CompressionStream). */
export async function makePng(width: number, height: number): Promise<Uint8Array> {
  const raw = new Uint8Array(height * (1 + width * 3)).fill(128);
  for (let y = 0; y < height; y++) raw[y * (1 + width * 3)] = 0;
  const z = new Uint8Array(await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream('deflate'))).arrayBuffer());
  return rgbPng(width, height, z);
}

/** A JPEG header (SOI, EXIF orientation, SOF0 with the size) and EOI: enough for header checks. */
export function makeJpegHeader(width: number, height: number, orientation = 1): Uint8Array {
  const exif = [0x45, 0x78, 0x69, 0x66, 0, 0, 0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0];
  const app1 = [0xff, 0xe1, 0, exif.length + 2, ...exif];
  const sof = [0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
  return Uint8Array.from([0xff, 0xd8, ...app1, ...sof, 0xff, 0xda, 0, 2, 1, 2, 3, 0xff, 0xd9]);
}

export const GIF = new TextEncoder().encode('GIF89a\x10\x00\x10\x00\x00\x00\x00;');
export const HEIC = Uint8Array.from([0, 0, 0, 24, ...new TextEncoder().encode('ftypheic'), 0, 0, 0, 0, ...new TextEncoder().encode('mif1heic')]);

/** An ISOBMFF box: 32-bit size, 4-character type, payload. */
function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const len = 8 + parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(len);
  new DataView(out.buffer).setUint32(0, len);
  out.set(new TextEncoder().encode(type), 4);
  let o = 8;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
const u8 = (...v: number[]) => Uint8Array.from(v);
const u16 = (v: number) => u8(v >> 8, v & 255);
const u32 = (v: number) => u8(v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
const str = (s: string) => new TextEncoder().encode(s);

/**
 * A HEIF container as an iPhone writes it, without the coded data: ftyp, meta with the primary item
 * (a `grid` or a single `hvc1` image), its `ispe` size and optional `irot`, and an mdat. Enough for
 * the header checks; `truncate` cuts the file short, `ispe: false` leaves the size out.
 */
export function makeHeif(opts: { width: number; height: number; brand?: 'heic' | 'avif'; grid?: boolean; irot?: number; ispe?: boolean; truncate?: number; emptyIpmas?: number; freeBoxesInMeta?: number }): Uint8Array {
  const brand = opts.brand ?? 'heic';
  const ftyp = box('ftyp', str(brand), u32(0), str('mif1'), str(brand === 'heic' ? 'heic' : 'miaf'));
  const itemType = opts.grid ? 'grid' : brand === 'heic' ? 'hvc1' : 'av01';
  const infe = box('infe', u8(2, 0, 0, 0), u16(1), u16(0), str(itemType), u8(0));
  const iinf = box('iinf', u8(0, 0, 0, 0), u16(1), infe);
  const props = [...(opts.ispe === false ? [] : [box('ispe', u32(0), u32(opts.width), u32(opts.height))]), ...(opts.irot ? [box('irot', u8(opts.irot))] : [])];
  const ipco = box('ipco', ...props);
  const assoc = props.map((_, i) => 0x80 | (i + 1));
  const ipma = box('ipma', u8(0, 0, 0, 0), u32(1), u16(1), u8(assoc.length, ...assoc));
  // `emptyIpmas` ipma boxes of no entries before the real one, `freeBoxesInMeta` free boxes in meta: floods.
  const repeated = (one: Uint8Array, n: number) => {
    const out = new Uint8Array(one.length * n);
    for (let k = 0; k < n; k++) out.set(one, k * one.length);
    return out;
  };
  const empties = repeated(box('ipma', u8(0, 0, 0, 0), u32(0)), opts.emptyIpmas ?? 0);
  const frees = repeated(box('free'), opts.freeBoxesInMeta ?? 0);
  const meta = box('meta', u8(0, 0, 0, 0), box('hdlr', u8(0, 0, 0, 0), u32(0), str('pict'), new Uint8Array(13)), box('pitm', u8(0, 0, 0, 0), u16(1)), iinf, frees, box('iprp', ipco, empties, ipma));
  const mdat = box('mdat', new Uint8Array(256));
  const file = new Uint8Array(ftyp.length + meta.length + mdat.length);
  file.set(ftyp, 0);
  file.set(meta, ftyp.length);
  file.set(mdat, ftyp.length + meta.length);
  return opts.truncate ? file.subarray(0, file.length - opts.truncate) : file;
}
