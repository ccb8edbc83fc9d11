/**
 * One command's delivery loop against scripted answers, with a fake clock and fake waits: what
 * each SPEC §7 answer leads to, maxRetryMs (not counting time the circuit was open), Retry-After,
 * the OAuth2 refresh-once rule, and that the concurrency slot is always given back.
 */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit';
import { deliver, type DeliveryDeps } from './delivery';
import { Aborted, CircuitGate, RateGate, Slots } from './gates';
import type { AttemptResult } from './outcome';
import { TokenBucket } from './token-bucket';

const ok = { kind: 'response', status: 201 } as const;
const status = (code: number, extra: Partial<AttemptResult & { kind: 'response' }> = {}): AttemptResult => ({ kind: 'response', status: code, ...extra });

interface Harness {
  deps: DeliveryDeps;
  clock: { now: number };
  waits: number[];
  slots: Slots;
  circuit: CircuitGate;
  sent: number;
  run(script: AttemptResult[], signal?: AbortSignal): ReturnType<typeof deliver>;
}

function harness(options: { maxRetryMs?: number; stepMs?: number; refreshable?: boolean; threshold?: number } = {}): Harness {
  const clock = { now: 1_000_000 };
  const now = () => clock.now;
  const waits: number[] = [];
  const slots = new Slots(1);
  const circuit = new CircuitGate(new CircuitBreaker({ failureThreshold: options.threshold ?? 5, cooldownMs: 2_000, maxCooldownMs: 30_000 }), undefined, now);
  const h: Harness = {
    clock,
    waits,
    slots,
    circuit,
    sent: 0,
    deps: {
      slots,
      circuit,
      rate: new RateGate(new TokenBucket(1e6, 1e6, clock.now), now),
      maxRetryMs: options.maxRetryMs ?? 60_000,
      backoff: { initialMs: 1_000, maxMs: 8_000, multiplier: 2 },
      random: () => 1,
      now,
      sleep: async (ms, signal) => {
        if (signal.aborted) throw new Aborted();
        waits.push(ms);
        clock.now += ms;
      },
      refreshAuth: options.refreshable === undefined ? undefined : () => options.refreshable as boolean,
    },
    run(script, signal = new AbortController().signal) {
      let i = 0;
      slots.tryAcquire();
      return deliver(async () => {
        h.sent += 1;
        clock.now += options.stepMs ?? 10;
        return script[Math.min(i++, script.length - 1)] as AttemptResult;
      }, h.deps, signal);
    },
  };
  return h;
}

describe('deliver', () => {
  it('2xx on the first attempt is delivered and frees the slot', async () => {
    const h = harness();
    expect(await h.run([ok])).toEqual({ outcome: 'delivered', attempts: 1 });
    expect(h.slots.inUse).toBe(0);
  });

  it('409 is a duplicate: the receiver had it', async () => {
    expect(await harness().run([status(409)])).toEqual({ outcome: 'duplicate', attempts: 1 });
  });

  it('400/422 ends at once with the body, no retry', async () => {
    const h = harness();
    const final = await h.run([status(422, { body: '{"error":"unknown sku"}' }), ok]);
    expect(final).toEqual({ outcome: 'rejected', status: 422, body: '{"error":"unknown sku"}', attempts: 1 });
    expect(h.sent).toBe(1);
  });

  it('500s, timeouts and connection errors retry with growing backoff until delivered', async () => {
    const h = harness();
    const final = await h.run([status(500), { kind: 'timeout' }, { kind: 'network', message: 'ECONNRESET' }, ok]);
    expect(final).toEqual({ outcome: 'delivered', attempts: 4 });
    expect(h.waits).toEqual([1_000, 2_000, 4_000]);
    expect(h.slots.inUse).toBe(0);
  });

  it('429 and 503 wait what Retry-After says', async () => {
    const h = harness();
    await h.run([status(429, { retryAfterMs: 7_000 }), status(503, { retryAfterMs: 3_000 }), status(429), ok]);
    // The third has no Retry-After: backoff for retry 3.
    expect(h.waits).toEqual([7_000, 3_000, 4_000]);
  });

  it('gives up after maxRetryMs of failures, the last attempt at the limit', async () => {
    const h = harness({ maxRetryMs: 10_000, threshold: 1_000 });
    const final = await h.run([status(502)]);
    expect(final).toMatchObject({ outcome: 'exhausted', reason: 'server_error', status: 502 });
    // 1 + 2 + 4 s, then the 8 s wait is cut to what is left of the 10 s (plus the attempts' own time).
    expect(h.waits.slice(0, 3)).toEqual([1_000, 2_000, 4_000]);
    // The last attempt starts exactly 10 s after the first failure (waits + the 10 ms of each attempt between).
    expect(h.waits.reduce((a, b) => a + b, 0) + (h.sent - 2) * 10).toBe(10_000);
    expect((final as { retriedMs: number }).retriedMs).toBeGreaterThanOrEqual(10_000);
    expect(h.slots.inUse).toBe(0);
  });

  it('maxRetryMs 0 dead-letters after the first failure', async () => {
    expect(await harness({ maxRetryMs: 0 }).run([{ kind: 'timeout' }])).toMatchObject({ outcome: 'exhausted', reason: 'timeout', attempts: 1 });
  });

  it('time with the circuit open counts against maxRetryMs: a receiver that stays down gets the command dead-lettered', async () => {
    // Threshold 1: the first failure opens the circuit; every probe fails.
    const h = harness({ maxRetryMs: 5_000, threshold: 1 });
    const script: AttemptResult[] = [...Array.from({ length: 12 }, () => ({ kind: 'network', message: 'ECONNREFUSED' }) as const), ok];
    // Waits for the circuit are real timers; make them instant by moving the fake clock past each cool-down.
    const breaker = h.circuit.breaker;
    const originalAcquire = breaker.acquire.bind(breaker);
    breaker.acquire = (now: number) => {
      const permit = originalAcquire(now);
      if (!permit.ok && permit.retryAt !== undefined) {
        h.clock.now = permit.retryAt;
        return originalAcquire(h.clock.now);
      }
      return permit;
    };
    const started = h.clock.now;
    const final = await h.run(script);
    expect(final).toMatchObject({ outcome: 'exhausted', reason: 'network' });
    if (final.outcome !== 'exhausted') return;
    expect(final.retriedMs).toBeGreaterThanOrEqual(5_000);
    expect(final.attempts).toBeLessThan(12);
    // Given up at the first failed attempt past the limit: the cool-downs (2 s, 4 s, …) are the waits.
    expect(h.clock.now - started).toBeLessThan(5_000 + 30_000);
  });

  it('401 with OAuth2 refreshes the token and resends at once, only once per command', async () => {
    const h = harness({ refreshable: true });
    expect(await h.run([status(401), ok])).toEqual({ outcome: 'delivered', attempts: 2 });
    expect(h.waits).toEqual([]);
    const again = harness({ refreshable: true });
    await again.run([status(401), status(401), ok]);
    expect(again.waits).toEqual([1_000]); // the second 401 is an ordinary retry
  });

  it('401 with a static token is an ordinary retry', async () => {
    const h = harness({ refreshable: false });
    await h.run([status(401), ok]);
    expect(h.waits).toEqual([1_000]);
  });

  it('an abort during a wait ends it as abandoned and gives the slot back', async () => {
    const h = harness();
    const stop = new AbortController();
    h.deps.sleep = async () => {
      stop.abort();
      throw new Aborted();
    };
    expect(await h.run([status(500)], stop.signal)).toEqual({ outcome: 'abandoned', attempts: 1 });
    expect(h.slots.inUse).toBe(0);
  });

  it('an answer that arrives after the abort still counts', async () => {
    const h = harness();
    const stop = new AbortController();
    h.slots.tryAcquire();
    const final = await deliver(async () => {
      stop.abort();
      return ok;
    }, h.deps, stop.signal);
    expect(final).toEqual({ outcome: 'delivered', attempts: 1 });
  });

  it('a request cut at the stop deadline is abandoned and hands a half-open probe back', async () => {
    const h = harness({ threshold: 1 });
    h.circuit.failure(false); // open
    h.clock.now += 2_000; // cool-down over: the next permit is the probe
    h.slots.tryAcquire();
    expect(await deliver(async () => 'aborted', h.deps, new AbortController().signal)).toEqual({ outcome: 'abandoned', attempts: 0 });
    expect(h.circuit.breaker.acquire(h.clock.now)).toEqual({ ok: true, probe: true });
  });
});
