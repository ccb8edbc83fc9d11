/** The async waits in front of each request: slots, the rate queue, the circuit gate. */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit';
import { Aborted, CircuitGate, RateGate, sleep, Slots } from './gates';
import { TokenBucket } from './token-bucket';

describe('Slots', () => {
  it('a retry waiting for a slot is served before a new command', async () => {
    let freed = 0;
    const slots = new Slots(1, () => (freed += 1));
    expect(slots.tryAcquire()).toBe(true);
    const retry = slots.acquire();
    expect(slots.hasFree()).toBe(false);
    slots.release(); // passes straight to the retry
    await retry;
    expect(freed).toBe(0);
    expect(slots.tryAcquire()).toBe(false);
    slots.release();
    expect(freed).toBe(1);
    expect(slots.inUse).toBe(0);
  });

  it('an aborted waiter leaves the queue', async () => {
    const slots = new Slots(1);
    slots.tryAcquire();
    const stop = new AbortController();
    const waiting = slots.acquire(stop.signal);
    stop.abort();
    await expect(waiting).rejects.toBeInstanceOf(Aborted);
    slots.release();
    expect(slots.inUse).toBe(0);
  });
});

describe('RateGate', () => {
  it('serves callers in order, one token each, at the bucket rate', async () => {
    const gate = new RateGate(new TokenBucket(100, 1, Date.now()));
    const order: number[] = [];
    const started = Date.now();
    await Promise.all([0, 1, 2, 3, 4].map((i) => gate.take().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3, 4]);
    // 1 at once, 4 more at 100/s: >= 40 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(38);
  });

  it('an aborted caller gives its place up without taking a token', async () => {
    // 2 tokens/s: the next token comes 500 ms on, the one after at 1 s, so the check below has
    // 400 ms of room for a busy machine's timers either way.
    const bucket = new TokenBucket(2, 1, Date.now());
    const gate = new RateGate(bucket);
    await gate.take();
    const stop = new AbortController();
    const cancelled = gate.take(stop.signal);
    stop.abort();
    await expect(cancelled).rejects.toBeInstanceOf(Aborted);
    const started = Date.now();
    await gate.take();
    expect(Date.now() - started).toBeLessThan(900); // the next token (at 500 ms) went to this caller
  });
});

describe('CircuitGate', () => {
  it('reports changes, holds callers while open and lets one probe through after the cool-down', async () => {
    const changes: string[] = [];
    const gate = new CircuitGate(new CircuitBreaker({ failureThreshold: 2, cooldownMs: 50, maxCooldownMs: 50 }), (state, previous) => changes.push(`${previous}->${state}`));
    gate.failure(false);
    gate.failure(false);
    expect(gate.state).toBe('open');
    // Both wait out the cool-down on their own timer; which one fires first (and probes) is up to
    // the timers, so the test takes whichever answers first as the probe.
    const callers = [gate.permit(), gate.permit()];
    const settled: Array<{ probe: boolean } | undefined> = [undefined, undefined];
    callers.forEach((caller, i) => void caller.then((permit) => (settled[i] = permit)));
    const first = await Promise.race(callers);
    expect(first).toEqual({ probe: true });
    await sleep(100);
    expect(settled.filter((permit) => permit !== undefined)).toHaveLength(1); // the other waits for the probe's answer
    gate.success();
    const both = await Promise.all(callers);
    expect(both.filter((permit) => permit.probe)).toHaveLength(1);
    expect(both.filter((permit) => !permit.probe)).toHaveLength(1);
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('a waiter aborted while the circuit is open leaves with Aborted', async () => {
    const gate = new CircuitGate(new CircuitBreaker({ failureThreshold: 1, cooldownMs: 60_000, maxCooldownMs: 60_000 }));
    gate.failure(false);
    const stop = new AbortController();
    const waiting = gate.permit(stop.signal);
    stop.abort();
    await expect(waiting).rejects.toBeInstanceOf(Aborted);
  });
});
