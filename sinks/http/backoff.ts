/**
 * How long to wait before the next attempt of a command (SPEC §7): a Retry-After the receiver
 * sent (429/503), otherwise capped exponential backoff with jitter.
 *
 *   backoffMs(attempt)         retry n (1-based) waits a random time in [d/2, d] where
 *                              d = min(maxMs, initialMs · multiplier^(n-1))
 *   retryAfterMs(header, now)  RFC 9110 §10.2.3: delay-seconds or an HTTP-date; undefined when
 *                              absent or unreadable (then backoff applies)
 *
 * The jitter keeps many keys that failed together (a receiver restart) from retrying together.
 * The overall limit (maxRetryMs) is the delivery loop's business (./delivery.ts), not this one's.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 60_000, multiplier: 2 };

/** A Retry-After longer than this is read as this: a typo of a receiver must not park a key for a day. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

export function backoffMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  // Capped before multiplying out, so attempt 2000 does not overflow to Infinity.
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.min(exponent, 64));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export function retryAfterMs(header: string | null | undefined, now: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.min(MAX_RETRY_AFTER_MS, Number(value) * 1000);
  // An HTTP-date names a day of the week; Date.parse would take "12" or "1.5" as years.
  if (!/^[A-Za-z]{3},/.test(value)) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
}
