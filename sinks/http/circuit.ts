/**
 * The circuit breaker of one sink (SPEC §7: "pauses consumption while the receiver is down and
 * resumes by itself"), as a state machine with no clock and no I/O (callers pass `now`):
 *
 *   closed     requests go; `failureThreshold` receiver-down answers in a row (./outcome.ts) open it
 *   open       nothing goes until `cooldownMs` has passed, then the next caller is the probe
 *   half-open  exactly one request (the probe) is out; its success closes the circuit, its failure
 *              opens it again with the cool-down doubled, up to `maxCooldownMs`
 *
 * Any answer that is not a receiver-down one counts as success (the receiver answered): a 429 or a
 * 400 from a half-open probe closes the circuit too. A probe given up before it was sent (stop,
 * rebalance) is handed back, so the next caller probes at once.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitPolicy {
  failureThreshold: number;
  cooldownMs: number;
  maxCooldownMs: number;
}

export const DEFAULT_CIRCUIT: CircuitPolicy = { failureThreshold: 5, cooldownMs: 2_000, maxCooldownMs: 30_000 };

/** 0 closed, 1 half-open, 2 open: the value of tributary_sink_circuit_state. */
export const CIRCUIT_GAUGE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

export type Permit = { ok: true; probe: boolean } | { ok: false; retryAt?: number };

export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private failures = 0;
  private cooldown: number;
  private reopenAt = 0;
  private probeOut = false;

  constructor(private readonly policy: CircuitPolicy = DEFAULT_CIRCUIT) {
    this.cooldown = policy.cooldownMs;
  }

  get state(): CircuitState {
    return this.current;
  }

  /** May a request go now? `retryAt`: when to ask again (absent: when the probe out now answers). */
  acquire(now: number): Permit {
    if (this.current === 'closed') return { ok: true, probe: false };
    if (this.current === 'open') {
      if (now < this.reopenAt) return { ok: false, retryAt: this.reopenAt };
      this.current = 'half-open';
      this.probeOut = false;
    }
    if (this.probeOut) return { ok: false };
    this.probeOut = true;
    return { ok: true, probe: true };
  }

  /** The receiver answered (anything but a receiver-down verdict). */
  success(): void {
    this.failures = 0;
    if (this.current === 'closed') return;
    // A straggler sent before the circuit opened that now succeeds proves the receiver is back, too.
    this.current = 'closed';
    this.probeOut = false;
    this.cooldown = this.policy.cooldownMs;
  }

  /** A receiver-down verdict (timeout, connection refused, 5xx, 401/403). */
  failure(now: number, probe: boolean): void {
    if (this.current === 'closed') {
      this.failures += 1;
      if (this.failures >= this.policy.failureThreshold) this.open(now, this.policy.cooldownMs);
      return;
    }
    // Failures of requests sent before the circuit opened say nothing new; only the probe's does.
    if (this.current === 'half-open' && probe) this.open(now, Math.min(this.policy.maxCooldownMs, this.cooldown * 2));
  }

  /** A probe that was granted but not sent. */
  abandon(probe: boolean): void {
    if (probe && this.current === 'half-open') this.probeOut = false;
  }

  private open(now: number, cooldown: number): void {
    this.current = 'open';
    this.cooldown = cooldown;
    this.reopenAt = now + cooldown;
    this.probeOut = false;
    this.failures = 0;
  }
}
