/**
 * Credentials of an HTTP sink, from the environment only (never topology.yaml), by sink name
 * (`erp` → ERP_…):
 *
 *   <NAME>_TOKEN                     a static bearer token
 *   <NAME>_OAUTH_TOKEN_URL           OAuth2 client credentials (RFC 6749 §4.4) — with
 *   <NAME>_CLIENT_ID                   <NAME>_CLIENT_ID and <NAME>_CLIENT_SECRET (both required),
 *   <NAME>_CLIENT_SECRET               optional <NAME>_OAUTH_SCOPE, and <NAME>_OAUTH_CLIENT_AUTH
 *   <NAME>_OAUTH_SCOPE                 = basic (default: HTTP Basic, which RFC 6749 §2.3.1 makes
 *   <NAME>_OAUTH_CLIENT_AUTH           every server accept) or post (id and secret in the form)
 *
 * OAuth2 wins when both are set. The token is fetched on first use (POST, form
 * grant_type=client_credentials), cached until shortly before `expires_in` (a tenth of its life,
 * at most 60 s, early), fetched once for many concurrent callers, and dropped when the receiver
 * answers 401 with it so the next request fetches a new one (./delivery.ts resends once).
 *
 * Secrets never leave this module except in the Authorization header: errors name the token URL
 * and the status or OAuth2 error code, never a secret or a token; describe() says which kind.
 */
import { ConfigError, TributaryError } from '../../runtime/errors';

export type AuthConfig =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'oauth2'; tokenUrl: string; clientId: string; clientSecret: string; scope?: string; clientAuth: 'basic' | 'post' };

/** ERP for erp, MY_SINK for my-sink: the prefix of a sink's environment variables. */
export function envPrefix(sink: string): string {
  return sink.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

export function authFromEnv(sink: string, env: NodeJS.ProcessEnv = process.env): AuthConfig {
  const prefix = envPrefix(sink);
  const read = (name: string) => {
    const value = env[`${prefix}_${name}`]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const tokenUrl = read('OAUTH_TOKEN_URL');
  if (tokenUrl) {
    const clientId = read('CLIENT_ID');
    const clientSecret = read('CLIENT_SECRET');
    if (!clientId || !clientSecret) throw new ConfigError(`${prefix}_OAUTH_TOKEN_URL is set: set ${prefix}_CLIENT_ID and ${prefix}_CLIENT_SECRET too`);
    let url: URL;
    try {
      url = new URL(tokenUrl);
    } catch {
      throw new ConfigError(`${prefix}_OAUTH_TOKEN_URL is not a URL: give the token endpoint, e.g. https://login.example.com/oauth2/token`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${prefix}_OAUTH_TOKEN_URL must be an http(s) URL`);
    const clientAuth = (read('OAUTH_CLIENT_AUTH') ?? 'basic').toLowerCase();
    if (clientAuth !== 'basic' && clientAuth !== 'post') throw new ConfigError(`${prefix}_OAUTH_CLIENT_AUTH must be basic or post`);
    const scope = read('OAUTH_SCOPE');
    return { kind: 'oauth2', tokenUrl, clientId, clientSecret, clientAuth, ...(scope ? { scope } : {}) };
  }
  const token = read('TOKEN');
  return token ? { kind: 'bearer', token } : { kind: 'none' };
}

export interface Authorizer {
  readonly kind: AuthConfig['kind'];
  /** The Authorization header value, or undefined without credentials. Throws AuthUnavailableError. */
  authorization(signal?: AbortSignal): Promise<string | undefined>;
  /** The receiver answered 401 to `used`: forget it. True when a new one can be fetched (OAuth2). */
  refresh(used?: string): boolean;
  /** For logs: the kind of credentials, never their value. */
  describe(): string;
}

/** The token endpoint could not give a token (down, refused the client, odd answer). Retriable. */
export class AuthUnavailableError extends TributaryError {
  constructor(message: string, cause?: unknown) {
    super('TRB_SINK_UNAVAILABLE', message, { retriable: true, cause });
  }
}

export interface AuthorizerOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
  now?: () => number;
}

export function createAuthorizer(config: AuthConfig, options: AuthorizerOptions = {}): Authorizer {
  if (config.kind === 'none') return { kind: 'none', authorization: async () => undefined, refresh: () => false, describe: () => 'no credentials' };
  if (config.kind === 'bearer') {
    const header = `Bearer ${config.token}`;
    return { kind: 'bearer', authorization: async () => header, refresh: () => false, describe: () => 'a bearer token' };
  }
  return oauth2(config, options);
}

interface Cached {
  header: string;
  /** When to fetch a new one; Infinity when the server gave no expires_in (until a 401). */
  refreshAt: number;
}

function oauth2(config: AuthConfig & { kind: 'oauth2' }, options: AuthorizerOptions): Authorizer {
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let cached: Cached | undefined;
  let pending: Promise<Cached> | undefined;

  async function fetchToken(): Promise<Cached> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (config.scope) form.set('scope', config.scope);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (config.clientAuth === 'basic') {
      // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
      headers.authorization = `Basic ${Buffer.from(`${formEncode(config.clientId)}:${formEncode(config.clientSecret)}`).toString('base64')}`;
    } else {
      form.set('client_id', config.clientId);
      form.set('client_secret', config.clientSecret);
    }
    const started = now();
    let response: Response;
    try {
      response = await doFetch(config.tokenUrl, { method: 'POST', headers, body: form.toString(), redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new AuthUnavailableError(`OAuth2 token endpoint ${config.tokenUrl} cannot be reached (${(error as Error).message})`, error);
    }
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown } = {};
    try {
      body = (await response.json()) as typeof body;
    } catch {
      // handled below: no access_token
    }
    if (!response.ok) {
      const code = typeof body.error === 'string' ? ` (${body.error.slice(0, 64)})` : '';
      throw new AuthUnavailableError(`OAuth2 token endpoint ${config.tokenUrl} answered ${response.status}${code}: check the client id, secret and scope`);
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      throw new AuthUnavailableError(`OAuth2 token endpoint ${config.tokenUrl} answered without an access_token`);
    }
    const lifetimeMs = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : Number(body.expires_in) * 1000;
    const refreshAt = Number.isFinite(lifetimeMs) && lifetimeMs > 0 ? started + lifetimeMs - Math.min(60_000, lifetimeMs / 10) : Number.POSITIVE_INFINITY;
    return { header: `Bearer ${body.access_token}`, refreshAt };
  }

  return {
    kind: 'oauth2',
    async authorization() {
      if (cached && now() < cached.refreshAt) return cached.header;
      // One request for every caller that finds the token missing or stale at the same time.
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      const token = await pending;
      cached = token;
      return token.header;
    },
    refresh(used) {
      if (cached && (used === undefined || cached.header === used)) cached = undefined;
      return true;
    },
    describe: () => `OAuth2 client credentials from ${config.tokenUrl}`,
  };
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
