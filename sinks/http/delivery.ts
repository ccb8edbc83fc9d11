/**
 * One command's way to its receiver (SPEC §7): attempts until an answer settles it.
 *
 *   per attempt:  circuit permit → rate token → the request (attempt()) → verdict (./outcome.ts)
 *                 → the circuit learns whether the receiver is down → the concurrency slot is freed
 *   delivered / duplicate → done;  rejected (400/422) → done, to be dead-lettered with the body
 *   retry → wait Retry-After (429/503) or backoff (./backoff.ts), take a slot again, next attempt
 *   401 with OAuth2 → the token is refreshed and the request sent again at once, once per command
 *
 * maxRetryMs (SPEC §7: "retry … for up to maxRetryMs, then dead-letter"): a command's time in
 * retry is wall-clock time from its first failed attempt, waits for an open circuit included, so
 * a receiver that keeps failing gets each command it was sent dead-lettered (TRB_SINK_UNAVAILABLE)
 * once that time is up, and the command's key goes on. The last attempt is made at maxRetryMs (a
 * longer wait is cut to it). An outage shorter than maxRetryMs (default 15 minutes; SPEC §12 "a
 * receiver down for minutes") loses nothing: the circuit pauses consumption, so only the commands
 * already in flight wait, and they are delivered when it closes. Dead letters can be re-driven.
 *
 * The caller holds a concurrency slot when it calls deliver(); deliver() always gives it back.
 * Aborting `signal` (stop, rebalance) cuts the waits — for the circuit, a token, a slot, a retry —
 * and ends the command as `abandoned`; a request already in flight is not cut by it: its answer
 * still counts (a 2xx is delivered, a 400 dead-lettered), so stopping does not throw work away.
 * The attempt closure cuts requests itself, at the stop deadline.
 */
import { backoffMs, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
import { Aborted, sleep, type CircuitGate, type RateGate, type Slots } from './gates';
import { classify, type AttemptResult, type RetryReason, type Verdict } from './outcome';

/** One HTTP request; 'aborted' when it was cut (stop deadline) before an answer. Cutting is the caller's. */
export type Attempt = () => Promise<AttemptResult | 'aborted'>;

export interface DeliveryDeps {
  slots: Slots;
  circuit: CircuitGate;
  rate: RateGate;
  maxRetryMs: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  now?: () => number;
  /** Waits between attempts (tests pass a fake). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Invalidates the token a 401 was answered with; true when a fresh one can be fetched (OAuth2). */
  refreshAuth?: () => boolean;
  /** An attempt failed and will be retried after `waitMs`. */
  onRetry?: (verdict: Verdict & { outcome: 'retry' }, attempt: number, waitMs: number) => void;
}

export type Final =
  | { outcome: 'delivered' | 'duplicate'; attempts: number }
  | { outcome: 'rejected'; status: number; body: string; attempts: number }
  | { outcome: 'exhausted'; reason: RetryReason; status?: number; attempts: number; retriedMs: number }
  | { outcome: 'abandoned'; attempts: number };

export async function deliver(attempt: Attempt, deps: DeliveryDeps, signal: AbortSignal): Promise<Final> {
  const now = deps.now ?? Date.now;
  const policy = deps.backoff ?? DEFAULT_BACKOFF;
  let holdsSlot = true;
  let attempts = 0;
  let retries = 0;
  let refreshed = false;
  let firstFailureAt: number | undefined;
  try {
    for (;;) {
      const { probe } = await deps.circuit.permit(signal);
      let result: AttemptResult | 'aborted';
      try {
        await deps.rate.take(signal);
        result = await attempt();
      } catch (error) {
        deps.circuit.abandon(probe);
        throw error;
      }
      if (result === 'aborted') {
        deps.circuit.abandon(probe);
        throw new Aborted();
      }
      attempts += 1;
      const verdict = classify(result);
      // An expired or revoked OAuth2 token: the receiver is fine; a new token is fetched and the
      // request sent again at once.
      const refresh = verdict.outcome === 'retry' && result.kind === 'response' && result.status === 401 && !refreshed && deps.refreshAuth?.() === true;
      if (verdict.outcome === 'retry' && verdict.receiverDown && !refresh) deps.circuit.failure(probe);
      else deps.circuit.success();
      deps.slots.release();
      holdsSlot = false;

      if (verdict.outcome === 'delivered' || verdict.outcome === 'duplicate') return { outcome: verdict.outcome, attempts };
      if (verdict.outcome === 'rejected') {
        return { outcome: 'rejected', status: verdict.status, body: result.kind === 'response' ? (result.body ?? '') : '', attempts };
      }

      if (refresh) refreshed = true;
      else {
        const at = now();
        firstFailureAt ??= at;
        const retriedMs = at - firstFailureAt;
        if (retriedMs >= deps.maxRetryMs) {
          const status = result.kind === 'response' ? result.status : undefined;
          return { outcome: 'exhausted', reason: verdict.reason, ...(status === undefined ? {} : { status }), attempts, retriedMs };
        }
        retries += 1;
        const wait = Math.min(verdict.retryAfterMs ?? backoffMs(retries, policy, deps.random), deps.maxRetryMs - retriedMs);
        deps.onRetry?.(verdict, attempts, wait);
        await (deps.sleep ?? sleep)(wait, signal);
      }
      await deps.slots.acquire(signal);
      holdsSlot = true;
    }
  } catch (error) {
    if (error instanceof Aborted) return { outcome: 'abandoned', attempts };
    throw error;
  } finally {
    if (holdsSlot) deps.slots.release();
  }
}
