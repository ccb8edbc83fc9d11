/**
 * What one HTTP attempt means for its command (SPEC §7), sorted before it is handled (STYLE
 * "Errors"): done, dead letter now, or retry — and, for the circuit breaker, whether the answer
 * says the receiver is unusable.
 *
 *   answer                                  verdict                       receiver down?
 *   2xx                                     delivered                     no
 *   409                                     duplicate (delivered before)  no
 *   400, 422                                rejected: dead letter at once no
 *   429                                     retry after Retry-After       no  (it answers; it throttles)
 *   503                                     retry after Retry-After       yes
 *   other 5xx, 408                          retry with backoff            yes
 *   401, 403                                retry with backoff            yes (the credentials, not the
 *                                                                            record: nothing it sends can pass)
 *   other 4xx (404, 405, 413, ...), 3xx     retry with backoff            no  (may be this record's; it
 *                                                                            is dead-lettered at maxRetryMs)
 *   timeout, connection error               retry with backoff            yes
 *   token endpoint failed (OAuth2)          retry with backoff            yes
 *
 * 401 with OAuth2 client credentials is first answered by refreshing the token and sending again
 * once (./delivery.ts); only a second 401 reaches this table as a retry.
 */
export type AttemptResult =
  | { kind: 'response'; status: number; retryAfterMs?: number; body?: string }
  | { kind: 'timeout' }
  | { kind: 'network'; message: string }
  | { kind: 'auth'; message: string };

export type Verdict =
  | { outcome: 'delivered' }
  | { outcome: 'duplicate' }
  | { outcome: 'rejected'; status: number }
  | { outcome: 'retry'; reason: RetryReason; receiverDown: boolean; retryAfterMs?: number };

export type RetryReason = 'throttled' | 'unavailable' | 'server_error' | 'unauthorized' | 'client_error' | 'timeout' | 'network' | 'auth';

export function classify(result: AttemptResult): Verdict {
  switch (result.kind) {
    case 'timeout':
      return { outcome: 'retry', reason: 'timeout', receiverDown: true };
    case 'network':
      return { outcome: 'retry', reason: 'network', receiverDown: true };
    case 'auth':
      return { outcome: 'retry', reason: 'auth', receiverDown: true };
    case 'response':
      return classifyStatus(result.status, result.retryAfterMs);
  }
}

function classifyStatus(status: number, retryAfterMs: number | undefined): Verdict {
  const after = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (status >= 200 && status < 300) return { outcome: 'delivered' };
  if (status === 409) return { outcome: 'duplicate' };
  if (status === 400 || status === 422) return { outcome: 'rejected', status };
  if (status === 429) return { outcome: 'retry', reason: 'throttled', receiverDown: false, ...after };
  if (status === 503) return { outcome: 'retry', reason: 'unavailable', receiverDown: true, ...after };
  if (status >= 500 || status === 408) return { outcome: 'retry', reason: 'server_error', receiverDown: true };
  if (status === 401 || status === 403) return { outcome: 'retry', reason: 'unauthorized', receiverDown: true };
  // 3xx too: redirects are not followed (a POST must not turn into a GET); fix the base URL.
  return { outcome: 'retry', reason: 'client_error', receiverDown: false };
}
