/**
 * Bearer-token check for API_TOKEN (SPEC §10). Both sides are hashed to SHA-256 before a
 * constant-time compare, so neither the token's content nor its length leaks through timing.
 * The token is held only as its digest here; nothing in this module logs.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export type BearerVerdict = 'ok' | 'missing' | 'invalid';

/** Returns a checker of `Authorization` header values against the token. */
export function bearerChecker(token: string): (authorization: string | undefined) => BearerVerdict {
  if (token === '') throw new TypeError('the API token must not be empty');
  const expected = digest(token);
  return (authorization) => {
    if (authorization === undefined || authorization === '') return 'missing';
    // RFC 6750: scheme is case-insensitive, then one space, then the token.
    if (authorization.length < 8 || authorization.slice(0, 7).toLowerCase() !== 'bearer ') return 'missing';
    return timingSafeEqual(digest(authorization.slice(7).trim()), expected) ? 'ok' : 'invalid';
  };
}
