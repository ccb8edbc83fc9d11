/**
 * The per-sink rate limit (SPEC §7: "a per-sink rate limit (requests/s) holds under any backlog"):
 * a token bucket of `ratePerSecond` tokens a second holding at most `burst`.
 *
 *   take(now) → 0 when a token was taken (send now), else the ms until one will be there (none taken)
 *
 * Every request takes a token — first attempts, retries, half-open probes, a resend after an
 * OAuth2 refresh — so no kind of traffic slips past it. Tokens are taken at the moment of sending,
 * never reserved ahead: a stalled event loop that fires many late timers at once still finds at
 * most `burst` tokens, so over any interval of T ms the sends number at most
 * burst + ratePerSecond·T/1000. The queue in front of it is ./gates.ts RateGate. No clock inside.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    now: number,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError(`rate must be > 0 requests/s, not ${ratePerSecond}`);
    if (!(burst >= 1)) throw new RangeError(`burst must be >= 1, not ${burst}`);
    this.tokens = burst;
    this.at = now;
  }

  take(now: number): number {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.ratePerSecond) / 1000);
      this.at = now;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    // Rounded up so the caller never comes back a moment too early; at least 1 ms.
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
  }
}

/** A small burst: a tenth of a second's worth, at least 1, so the limit holds over any second within 10 %. */
export function defaultBurst(ratePerSecond: number): number {
  return Math.max(1, Math.floor(ratePerSecond / 10));
}
