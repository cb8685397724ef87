import { describe, expect, it } from 'vitest';
import app, { langOf } from '../src/index';

describe('edge app skeleton', () => {
  it('answers health with a request id', async () => {
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('unknown routes use the one error shape, in the caller language', async () => {
    const res = await app.request('/nope', { headers: { 'accept-language': 'zh-CN,zh;q=0.9', 'x-request-id': 'r1' } });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: Record<string, string> };
    expect(body.error.code).toBe('INVALID_REQUEST');
    expect(body.error.request_id).toBe('r1');
    expect(body.error.message).toBe(body.error.message_zh);
  });

  it('picks Chinese only when the first language is Chinese', () => {
    expect(langOf('zh-TW')).toBe('zh');
    expect(langOf('en-US,zh;q=0.5')).toBe('en');
    expect(langOf(undefined)).toBe('en');
  });
});
