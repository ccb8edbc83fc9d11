/**
 * Credentials from the environment, and OAuth2 client credentials against a stand-in token
 * endpoint (fetch replaced): the form sent, the token cached until shortly before expires_in,
 * one fetch for concurrent callers, a refresh after a 401, and no secret in any error.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors';
import { authFromEnv, AuthUnavailableError, createAuthorizer, envPrefix } from './auth';

describe('authFromEnv', () => {
  it('names variables after the sink', () => {
    expect(envPrefix('erp')).toBe('ERP');
    expect(envPrefix('my-sink.v2')).toBe('MY_SINK_V2');
  });

  it('no variables: no credentials', () => {
    expect(authFromEnv('erp', {})).toEqual({ kind: 'none' });
  });

  it('<NAME>_TOKEN: a bearer token', () => {
    expect(authFromEnv('erp', { ERP_TOKEN: 's3cret', CRM_TOKEN: 'other' })).toEqual({ kind: 'bearer', token: 's3cret' });
  });

  it('OAuth2 client credentials win over a token', () => {
    const env = { CRM_TOKEN: 'x', CRM_OAUTH_TOKEN_URL: 'https://id.example.com/token', CRM_CLIENT_ID: 'tributary', CRM_CLIENT_SECRET: 'sh', CRM_OAUTH_SCOPE: 'crm.write' };
    expect(authFromEnv('crm', env)).toEqual({ kind: 'oauth2', tokenUrl: 'https://id.example.com/token', clientId: 'tributary', clientSecret: 'sh', scope: 'crm.write', clientAuth: 'basic' });
  });

  it.each([
    [{ ERP_OAUTH_TOKEN_URL: 'https://id/token', ERP_CLIENT_ID: 'id' }, 'ERP_CLIENT_SECRET'],
    [{ ERP_OAUTH_TOKEN_URL: 'not a url', ERP_CLIENT_ID: 'id', ERP_CLIENT_SECRET: 'hunter2' }, 'not a URL'],
    [{ ERP_OAUTH_TOKEN_URL: 'https://id/token', ERP_CLIENT_ID: 'id', ERP_CLIENT_SECRET: 'hunter2', ERP_OAUTH_CLIENT_AUTH: 'jwt' }, 'basic or post'],
  ])('refuses an incomplete or wrong OAuth2 setup: %j', (env, words) => {
    expect(() => authFromEnv('erp', env)).toThrow(ConfigError);
    expect(() => authFromEnv('erp', env)).toThrow(words);
    try {
      authFromEnv('erp', env);
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});

interface TokenCall {
  headers: Record<string, string>;
  form: URLSearchParams;
}

function tokenEndpoint(answers: (() => Response)[]) {
  const calls: TokenCall[] = [];
  const fake: typeof fetch = async (_url, init) => {
    calls.push({ headers: init?.headers as Record<string, string>, form: new URLSearchParams(String(init?.body)) });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)] as () => Response;
    return answer();
  };
  return { calls, fetch: fake };
}

const token = (value: string, expiresIn?: number) => () => Response.json({ access_token: value, token_type: 'Bearer', ...(expiresIn === undefined ? {} : { expires_in: expiresIn }) });
const oauth = { kind: 'oauth2' as const, tokenUrl: 'https://id.example.com/token', clientId: 'tri:butary', clientSecret: 'p@ss word', clientAuth: 'basic' as const, scope: 'erp' };

describe('OAuth2 client credentials', () => {
  it('posts grant_type=client_credentials with HTTP Basic client authentication (form-encoded id and secret)', async () => {
    const endpoint = tokenEndpoint([token('T1', 3600)]);
    const auth = createAuthorizer(oauth, { fetch: endpoint.fetch });
    expect(await auth.authorization()).toBe('Bearer T1');
    const [call] = endpoint.calls;
    expect(call?.form.get('grant_type')).toBe('client_credentials');
    expect(call?.form.get('scope')).toBe('erp');
    expect(call?.form.has('client_secret')).toBe(false);
    expect(Buffer.from((call?.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString()).toBe('tri%3Abutary:p%40ss+word');
  });

  it('or with id and secret in the form (client_secret_post)', async () => {
    const endpoint = tokenEndpoint([token('T1', 3600)]);
    await createAuthorizer({ ...oauth, clientAuth: 'post' }, { fetch: endpoint.fetch }).authorization();
    expect(endpoint.calls[0]?.form.get('client_id')).toBe('tri:butary');
    expect(endpoint.calls[0]?.form.get('client_secret')).toBe('p@ss word');
    expect(endpoint.calls[0]?.headers.authorization).toBeUndefined();
  });

  it('caches the token until shortly before it expires, then fetches a new one', async () => {
    const clock = { now: 0 };
    const endpoint = tokenEndpoint([token('T1', 600), token('T2', 600)]);
    const auth = createAuthorizer(oauth, { fetch: endpoint.fetch, now: () => clock.now });
    expect(await auth.authorization()).toBe('Bearer T1');
    clock.now = 530_000; // 600 s life, refreshed 60 s early
    expect(await auth.authorization()).toBe('Bearer T1');
    clock.now = 541_000;
    expect(await auth.authorization()).toBe('Bearer T2');
    expect(endpoint.calls).toHaveLength(2);
  });

  it('fetches once for many concurrent callers', async () => {
    const endpoint = tokenEndpoint([token('T1', 3600)]);
    const auth = createAuthorizer(oauth, { fetch: endpoint.fetch });
    const headers = await Promise.all(Array.from({ length: 20 }, () => auth.authorization()));
    expect(new Set(headers)).toEqual(new Set(['Bearer T1']));
    expect(endpoint.calls).toHaveLength(1);
  });

  it('after a 401 with the current token, fetches a new one; a 401 with an older token changes nothing', async () => {
    const endpoint = tokenEndpoint([token('T1'), token('T2'), token('T3')]);
    const auth = createAuthorizer(oauth, { fetch: endpoint.fetch });
    const first = await auth.authorization();
    expect(auth.refresh(first)).toBe(true);
    expect(await auth.authorization()).toBe('Bearer T2');
    auth.refresh(first); // a late 401 for T1
    expect(await auth.authorization()).toBe('Bearer T2');
    expect(endpoint.calls).toHaveLength(2);
  });

  it('a refused client is a retriable error naming the OAuth2 error code, never the secret', async () => {
    const endpoint = tokenEndpoint([() => Response.json({ error: 'invalid_client', error_description: 'bad secret p@ss word' }, { status: 401 })]);
    const auth = createAuthorizer(oauth, { fetch: endpoint.fetch });
    const error = await auth.authorization().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthUnavailableError);
    expect((error as AuthUnavailableError).retriable).toBe(true);
    expect((error as Error).message).toContain('401 (invalid_client)');
    expect((error as Error).message).not.toContain('p@ss word');
  });

  it('a token endpoint that cannot be reached is a retriable error, and the next call tries again', async () => {
    let calls = 0;
    const auth = createAuthorizer(oauth, {
      fetch: async () => {
        calls += 1;
        if (calls === 1) throw new TypeError('fetch failed');
        return token('T1')();
      },
    });
    await expect(auth.authorization()).rejects.toBeInstanceOf(AuthUnavailableError);
    expect(await auth.authorization()).toBe('Bearer T1');
  });

  it('a bearer token cannot be refreshed; describe() never shows it', async () => {
    const auth = createAuthorizer({ kind: 'bearer', token: 'hunter2' });
    expect(await auth.authorization()).toBe('Bearer hunter2');
    expect(auth.refresh('Bearer hunter2')).toBe(false);
    expect(auth.describe()).not.toContain('hunter2');
    expect(createAuthorizer(oauth).describe()).not.toContain('p@ss');
  });
});
