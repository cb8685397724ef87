/**
 * The quota's sums against a key that has sent refusals all month: each refused request leaves a usage
 * row of 0 units, and each later call's reserveUnit (and each GET /v1/usage) sums the key's month. They
 * must read the unit rows only, through migration 0006's partial index, not every refusal from the
 * table (measured here by D1's own rows_read, and by SQLite's query plan).
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { monthStart, reserveUnit, UNIT_ROWS_OF_KEY_SINCE, UNITS_THIS_MONTH_SQL, unitsThisMonth } from '../src/lib/billing';
import { createKey } from './helpers';

const REFUSALS = 3000;

describe('the quota sums with a month of refusals behind them', () => {
  it('read the unit rows through the partial index, not the refusals, and count the same', async () => {
    const { id } = await createKey({ quota: 10 });
    const now = new Date().toISOString();
    const insert = env.DB.prepare("INSERT INTO usage (request_id, key_id, outcome, billed, units, created_at) VALUES (?, ?, ?, ?, ?, ?)");
    const rows = Array.from({ length: REFUSALS }, (_, i) => insert.bind(`refused-${id}-${i}`, id, 'INVALID_IMAGE', 0, 0, now));
    for (let i = 0; i < rows.length; i += 500) await env.DB.batch(rows.slice(i, i + 500));
    await env.DB.batch([insert.bind(`ok-${id}-1`, id, 'ok', 1, 1, now), insert.bind(`ok-${id}-2`, id, 'ok', 1, 1, now), insert.bind(`res-${id}`, id, 'reserved', 0, 1, now)]);

    expect(await unitsThisMonth(env.DB, id)).toEqual({ billed: 2, inFlight: 1 });
    const sum = await env.DB.prepare(UNITS_THIS_MONTH_SQL).bind(id, monthStart()).all();
    expect(sum.meta.rows_read).toBeLessThan(20); // the 3 unit rows (and the index's seek), not 3003

    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN SELECT COALESCE(SUM(units), 0) ${UNIT_ROWS_OF_KEY_SINCE}`).bind(id, monthStart()).all<{ detail: string }>();
    expect(plan.results.map((r) => r.detail).join(' | ')).toMatch(/COVERING INDEX usage_units_by_key_time/);

    // The reservation's own sum is the same rows: 3 of 10 used, 7 more fit, the 11th does not.
    let reserved = 0;
    for (let i = 0; i < 8; i++) if (await reserveUnit(env.DB, { requestId: `r-${id}-${i}`, keyId: id }, 10)) reserved++;
    expect(reserved).toBe(7);
  });
});
