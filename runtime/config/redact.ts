/**
 * URLs as they may be shown: the password of `scheme://user:password@host` (SPEC §11: credentials
 * never reach logs or output) becomes `***`; the user name, host, path and query stay, so the
 * address is still recognisable. Text that is not a URL is returned unchanged.
 */
export const REDACTED = '***';

export function redactUrl(url: string): string {
  // Only the authority part (between `//` and the next `/`, `?` or `#`) can hold credentials.
  const match = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!match) return url;
  const [, scheme, authority, rest] = match as unknown as [string, string, string, string];
  const at = authority.lastIndexOf('@');
  if (at < 0) return url;
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  // `user@host` has no password; a lone token before `@` may still be a secret (an API key), so mask it too.
  const masked = colon < 0 ? REDACTED : `${userinfo.slice(0, colon)}:${REDACTED}`;
  return `${scheme}${masked}${authority.slice(at)}${rest}`;
}
