/**
 * Per-key rate limiting: one Durable Object per API key holding a token bucket (capacity = the key's
 * per-minute rate, refilled continuously). Works the same in wrangler dev and in production.
 */
import { DurableObject } from 'cloudflare:workers';

export interface RateDecision {
  allowed: boolean;
  /** Seconds until a token is available (0 when allowed). */
  retryAfter: number;
  remaining: number;
}

export class RateLimiter extends DurableObject {
  private tokens = -1;
  private updated = 0;

  async take(perMinute: number): Promise<RateDecision> {
    const now = Date.now();
    const rate = perMinute / 60_000; // tokens per ms
    if (this.tokens < 0) {
      this.tokens = perMinute;
      this.updated = now;
    }
    this.tokens = Math.min(perMinute, this.tokens + (now - this.updated) * rate);
    this.updated = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true, retryAfter: 0, remaining: Math.floor(this.tokens) };
    }
    return { allowed: false, retryAfter: Math.max(1, Math.ceil((1 - this.tokens) / rate / 1000)), remaining: 0 };
  }
}
