import { describe, expect, it } from 'vitest';
import { backoffMs, MAX_RETRY_AFTER_MS, retryAfterMs } from './backoff';

const policy = { initialMs: 500, maxMs: 60_000, multiplier: 2 };

describe('backoffMs', () => {
  it.each([
    [1, 500],
    [2, 1_000],
    [3, 2_000],
    [8, 60_000], // 500 · 2^7 = 64 000, capped
    [5_000, 60_000],
  ])('retry %s waits between half of %s ms and all of it', (attempt, ceiling) => {
    expect(backoffMs(attempt, policy, () => 0)).toBe(ceiling / 2);
    expect(backoffMs(attempt, policy, () => 0.999999)).toBeLessThanOrEqual(ceiling);
    expect(backoffMs(attempt, policy, () => 0.999999)).toBeGreaterThan(ceiling * 0.99);
  });

  it('jitters: the same retry waits differently each time', () => {
    const waits = new Set(Array.from({ length: 50 }, () => backoffMs(4, policy)));
    expect(waits.size).toBeGreaterThan(10);
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(2_000);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-20T10:00:00Z');

  it.each([
    ['0', 0],
    ['1', 1_000],
    [' 120 ', 120_000],
    ['Fri, 20 Nov 2026 10:00:30 GMT', 30_000],
    ['Fri, 20 Nov 2026 09:59:00 GMT', 0], // a date in the past: now
    ['86400', MAX_RETRY_AFTER_MS], // a day is read as the cap
  ])('reads %j as %s ms', (header, ms) => {
    expect(retryAfterMs(header, now)).toBe(ms);
  });

  it.each([null, undefined, '', 'soon', '-5', '1.5', '2026-11-20'])('ignores %j (backoff applies)', (header) => {
    expect(retryAfterMs(header, now)).toBeUndefined();
  });
});
