/** The SPEC §7 outcome table, row by row; expected values from the SPEC, not from the code. */
import { describe, expect, it } from 'vitest';
import { classify } from './outcome';

describe('classify', () => {
  it.each([200, 201, 202, 204, 299])('%s is delivered', (status) => {
    expect(classify({ kind: 'response', status })).toEqual({ outcome: 'delivered' });
  });

  it('409 is a duplicate: the receiver has it already', () => {
    expect(classify({ kind: 'response', status: 409 })).toEqual({ outcome: 'duplicate' });
  });

  it.each([400, 422])('%s is rejected: dead letter at once', (status) => {
    expect(classify({ kind: 'response', status, body: '{"error":"bad"}' })).toEqual({ outcome: 'rejected', status });
  });

  it('429 retries after Retry-After and does not count the receiver as down', () => {
    expect(classify({ kind: 'response', status: 429, retryAfterMs: 3_000 })).toEqual({ outcome: 'retry', reason: 'throttled', receiverDown: false, retryAfterMs: 3_000 });
  });

  it('503 retries after Retry-After and counts the receiver as down', () => {
    expect(classify({ kind: 'response', status: 503, retryAfterMs: 2_000 })).toEqual({ outcome: 'retry', reason: 'unavailable', receiverDown: true, retryAfterMs: 2_000 });
  });

  it.each([500, 502, 504, 599, 408])('%s retries with backoff (no Retry-After honoured), receiver down', (status) => {
    expect(classify({ kind: 'response', status, retryAfterMs: 9_000 })).toEqual({ outcome: 'retry', reason: 'server_error', receiverDown: true });
  });

  it.each([401, 403])('%s retries: the credentials are wrong, nothing can pass', (status) => {
    expect(classify({ kind: 'response', status })).toMatchObject({ outcome: 'retry', reason: 'unauthorized', receiverDown: true });
  });

  it.each([404, 405, 413, 415, 301, 302])('%s retries with backoff; the receiver is up', (status) => {
    expect(classify({ kind: 'response', status })).toEqual({ outcome: 'retry', reason: 'client_error', receiverDown: false });
  });

  it.each([
    [{ kind: 'timeout' as const }, 'timeout'],
    [{ kind: 'network' as const, message: 'connect ECONNREFUSED' }, 'network'],
    [{ kind: 'auth' as const, message: 'token endpoint down' }, 'auth'],
  ])('%j retries with backoff, receiver down', (result, reason) => {
    expect(classify(result)).toEqual({ outcome: 'retry', reason, receiverDown: true });
  });
});
