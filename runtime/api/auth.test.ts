/** Bearer-token checks (./auth.ts). */
import { describe, expect, it } from 'vitest';
import { bearerChecker } from './auth';

describe('bearerChecker', () => {
  const check = bearerChecker('s3cret-token');

  it('accepts the token after the Bearer scheme, in any case of the scheme', () => {
    expect(check('Bearer s3cret-token')).toBe('ok');
    expect(check('bearer s3cret-token')).toBe('ok');
    expect(check('BEARER s3cret-token')).toBe('ok');
  });

  it('no header, no token or another scheme is missing; a wrong, longer or shorter token is invalid', () => {
    expect(check(undefined)).toBe('missing');
    expect(check('Bearer ')).toBe('missing');
    expect(check('Bearer')).toBe('missing');
    expect(check('')).toBe('missing');
    expect(check('Basic czNjcmV0LXRva2Vu')).toBe('missing');
    expect(check('s3cret-token')).toBe('missing');
    expect(check('Bearer s3cret-tokeN')).toBe('invalid');
    expect(check('Bearer s3cret-token-and-more')).toBe('invalid');
    expect(check('Bearer s3cret')).toBe('invalid');
  });

  it('refuses to be built with an empty token', () => {
    expect(() => bearerChecker('')).toThrow(TypeError);
  });
});
