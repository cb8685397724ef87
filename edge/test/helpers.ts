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
