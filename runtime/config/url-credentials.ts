/**
 * Registry URLs may carry credentials (`https://user:password@host`, as Confluent clients
 * accept). fetch refuses such URLs, so they move to an HTTP Basic Authorization header and the
 * URL that is fetched (and may appear in error messages) has none.
 */
export function splitCredentials(url: string): { base: string; authorization?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { base: url };
  }
  if (parsed.username === '' && parsed.password === '') return { base: url };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  return { base: parsed.toString().replace(/\/+$/, ''), authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
