import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit';

const policy = { failureThreshold: 5, cooldownMs: 2_000, maxCooldownMs: 30_000 };

function opened(at = 0): CircuitBreaker {
  const breaker = new CircuitBreaker(policy);
  for (let i = 0; i < 5; i++) breaker.failure(at, false);
  return breaker;
}

describe('CircuitBreaker', () => {
  it('stays closed below the threshold; a success resets the count', () => {
    const breaker = new CircuitBreaker(policy);
    for (let i = 0; i < 4; i++) breaker.failure(0, false);
    breaker.success();
    for (let i = 0; i < 4; i++) breaker.failure(0, false);
    expect(breaker.state).toBe('closed');
    expect(breaker.acquire(0)).toEqual({ ok: true, probe: false });
  });

  it('opens after 5 failures in a row and lets nothing through until the cool-down', () => {
    const breaker = opened(1_000);
    expect(breaker.state).toBe('open');
    expect(breaker.acquire(1_500)).toEqual({ ok: false, retryAt: 3_000 });
  });

  it('after the cool-down lets exactly one probe through', () => {
    const breaker = opened(0);
    expect(breaker.acquire(2_000)).toEqual({ ok: true, probe: true });
    expect(breaker.state).toBe('half-open');
    expect(breaker.acquire(2_001)).toEqual({ ok: false });
    expect(breaker.acquire(9_000)).toEqual({ ok: false });
  });

  it('closes when the probe succeeds', () => {
    const breaker = opened(0);
    breaker.acquire(2_000);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.acquire(2_100)).toEqual({ ok: true, probe: false });
  });

  it('a failed probe reopens with the cool-down doubled, up to 30 s', () => {
    const breaker = opened(0);
    let now = 0;
    const cooldowns: number[] = [];
    for (let i = 0; i < 6; i++) {
      const permit = breaker.acquire(now);
      if (!permit.ok) {
        now = permit.retryAt as number;
        breaker.acquire(now);
      }
      breaker.failure(now, true);
      const next = breaker.acquire(now);
      cooldowns.push((next as { retryAt: number }).retryAt - now);
    }
    expect(cooldowns).toEqual([4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('ignores failures of requests sent before it opened', () => {
    const breaker = opened(0);
    breaker.failure(500, false);
    expect(breaker.acquire(2_000)).toEqual({ ok: true, probe: true });
    breaker.failure(2_010, false); // a straggler, not the probe
    expect(breaker.state).toBe('half-open');
  });

  it('a probe given up before it was sent lets the next caller probe', () => {
    const breaker = opened(0);
    expect(breaker.acquire(2_000)).toEqual({ ok: true, probe: true });
    breaker.abandon(true);
    expect(breaker.acquire(2_001)).toEqual({ ok: true, probe: true });
  });
});
