/**
 * One command's way to its receiver (SPEC §7): attempts until an answer settles it.
 *
 *   per attempt:  circuit permit → rate token → the request (attempt()) → verdict (./outcome.ts)
 *                 → the circuit learns whether the receiver is down → the concurrency slot is freed
 *   delivered / duplicate → done;  rejected (400/422) → done, to be dead-lettered with the body
 *   retry → wait Retry-After (429/503) or backoff (./backoff.ts), take a slot again, next attempt
 *   401 with OAuth2 → the token is refreshed and the request sent again at once, once per command
 *
 * maxRetryMs — how the SPEC's "retry for up to maxRetryMs, then dead-letter" meets "the receiver
 * down for minutes: nothing lost or dead-lettered, delivery resumes by itself": a command's time
 * in retry runs from its first failed attempt but does NOT include the time the circuit spent open
 * or half-open (./circuit.ts downMs). While the receiver is down as a whole the circuit is open,
 * consumption is paused and no command's clock runs, however long the outage; maxRetryMs bounds
 * how long one command may fail while the receiver otherwise works (a payload it chokes on, a
 * 404, throttling that never ends), after which it is dead-lettered (TRB_SINK_UNAVAILABLE) and its
 * key goes on. The last attempt is made at maxRetryMs (a longer wait is cut to it).
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
  let firstFailure: { at: number; down: number } | undefined;
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
        firstFailure ??= { at, down: deps.circuit.downMs() };
        const retriedMs = at - firstFailure.at - (deps.circuit.downMs() - firstFailure.down);
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
