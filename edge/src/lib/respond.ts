/** The one error response of the public API, in the caller's language. */
import type { Context } from 'hono';
import { ERROR_SPECS, toErrorBody, type ErrorCode } from '@facerecon/shared';
import type { AppEnv } from '../env';

/** `lang` query wins, then the first Accept-Language tag. */
export function pickLang(query: string | undefined, acceptLanguage: string | undefined): 'en' | 'zh' {
  if (query === 'zh' || query === 'en') return query;
  return /^\s*zh\b/i.test(acceptLanguage ?? '') ? 'zh' : 'en';
}

/**
 * A hint the edge writes itself, in both languages: the caller reads it in the language of the message.
 * Details quoted from a validator (a field path, a zod message) stay as they are inside the Chinese text.
 */
export type LocalizedHint = { en: string; zh: string };

export function errorResponse(c: Context<AppEnv>, code: ErrorCode, opts: { headers?: Record<string, string>; hint?: LocalizedHint } = {}): Response {
  const lang = c.get('lang') ?? 'en';
  const body = toErrorBody(code, { requestId: c.get('requestId'), lang });
  if (opts.hint) body.error.hint = opts.hint[lang];
  return c.json(body, ERROR_SPECS[code].status as 400, opts.headers);
}
