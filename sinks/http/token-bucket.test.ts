/**
 * The rate limit without a clock: requests served in arrival order as tokens come (what RateGate
 * does), and over any window the sends never exceed burst + rate × window — whatever the arrival
 * pattern, backlog, idle spell or lateness of the server.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultBurst, TokenBucket } from './token-bucket';

/**
 * Send times of requests arriving at `arrivals` (ms, non-decreasing), served first come first
 * served; `late(t)` is how late the server wakes after being told to wait (a stalled event loop).
 */
function sendTimes(rate: number, burst: number, arrivals: number[], late: (t: number) => number = () => 0): number[] {
  const bucket = new TokenBucket(rate, burst, arrivals[0] ?? 0);
  let t = arrivals[0] ?? 0;
  return arrivals.map((arrival) => {
    t = Math.max(t, arrival);
    for (let wait = bucket.take(t); wait > 0; wait = bucket.take(t)) t += wait + late(t);
    return t;
  });
}

function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('TokenBucket', () => {
  it('lets a burst go at once, then spaces a backlog 1/rate apart', () => {
    const times = sendTimes(50, 5, Array.from({ length: 10 }, () => 0));
    expect(times.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    // 50 req/s = one every 20 ms once the burst is spent.
    expect(times.slice(5)).toEqual([20, 40, 60, 80, 100]);
  });

  it('refills while idle, never beyond the burst', () => {
    const bucket = new TokenBucket(10, 3, 0);
    for (let i = 0; i < 3; i++) expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBe(100); // none taken: ask again in 100 ms
    // An hour idle still buys only 3 immediate sends.
    const later = 3_600_000;
    expect([bucket.take(later), bucket.take(later), bucket.take(later)]).toEqual([0, 0, 0]);
    expect(bucket.take(later)).toBe(100);
    expect(bucket.take(later + 100)).toBe(0);
  });

  it('300 queued requests at 50/s with a burst of 5 take (300 - 5) / 50 s', () => {
    const times = sendTimes(50, 5, Array.from({ length: 300 }, () => 1_000));
    expect(Math.max(...times) - 1_000).toBe(5_900);
  });

  it('never exceeds burst + rate in any 1 s window, for any arrivals', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 600, size: 'medium' }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 20 }),
        (rate, burst, gaps, stalls) => {
          let at = 0;
          const arrivals = gaps.map((gap) => (at += gap));
          let n = 0;
          const times = sendTimes(rate, burst, arrivals, () => stalls[n++ % stalls.length] as number);
          expect(maxInWindow(times, 1_000)).toBeLessThanOrEqual(burst + rate);
          // First come, first served, and never before arrival.
          times.forEach((t, i) => {
            expect(t).toBeGreaterThanOrEqual(arrivals[i] as number);
            if (i > 0) expect(t).toBeGreaterThanOrEqual(times[i - 1] as number);
          });
        },
      ),
    );
  });

  it('refuses a rate or burst that cannot limit anything', () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(5, 0, 0)).toThrow(RangeError);
  });

  it.each([
    [20, 2],
    [50, 5],
    [5, 1],
    [0.5, 1],
  ])('default burst of %s req/s is %s', (rate, burst) => {
    expect(defaultBurst(rate)).toBe(burst);
  });
});
