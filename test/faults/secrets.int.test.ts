/**
 * Secrets never reach logs (SPEC §11, issue 8 acceptance): real `tributary` processes at
 * LOG_LEVEL=debug (the most they ever print, stack traces of CLI errors included) are given
 * credentials, made to use them and to fail with them, and every byte they write to stdout and
 * stderr is searched for each secret — as given, base64 inside an HTTP Basic header, and
 * URL-encoded.
 *
 *  - Kafka SASL (KAFKA_SASL_MECHANISM=scram-sha-512, username, password) against the test broker,
 *    which speaks plaintext only: `run orders` and `lag` are refused and print their error with
 *    its stack.
 *  - Redis passwords: a redis-server of this file's own requires one (./redis-server.ts); the
 *    processors and the API keep their state there with it in REDIS_URL, and `run orders` given a
 *    wrong one is refused and says so.
 *  - The sinks: `erp` with OAuth2 client credentials (ERP_CLIENT_SECRET; a token endpoint of this
 *    test that fails its first request, then hands out a short-lived access token, itself a secret)
 *    and `crm` with a bearer token (CRM_TOKEN), each against a stand-in receiver that requires its
 *    credential and fails a tenth of the requests, with `orders`, `atp` and the API (API_TOKEN,
 *    asked with a wrong token and the right one) in the same process, until commands took effect
 *    at both receivers.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../../sinks/receivers/receiver';
import { stackEnv, testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { ROOT } from '../e2e/child-process';
import { deploy, publish, workload } from '../e2e/pipeline-harness';
import { startOwnRedis, type OwnRedis } from './redis-server';

const stack = testStack();
const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;
const SASL_PASSWORD = secret('sasl-pw');
const REDIS_PASSWORD = secret('redis-pw');
const WRONG_REDIS_PASSWORD = secret('wrong-redis-pw');
const CLIENT_ID = 'tributary-erp-client';
const CLIENT_SECRET = secret('client-secret');
const ACCESS_TOKEN = secret('access-token');
const CRM_TOKEN = secret('crm-token');
const API_TOKEN = secret('api-token');
const SECRETS = { SASL_PASSWORD, REDIS_PASSWORD, WRONG_REDIS_PASSWORD, CLIENT_SECRET, ACCESS_TOKEN, CRM_TOKEN, API_TOKEN };

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

let redis: Promise<OwnRedis> | undefined;
/** A redis-server of this file's own that requires REDIS_PASSWORD (the shared one has no password to refuse). */
function passwordRedis(): Promise<OwnRedis> {
  if (!redis) {
    redis = startOwnRedis({ password: REDIS_PASSWORD });
    cleanups.push(async () => (await redis!).remove());
  }
  return redis;
}

interface Output {
  text: string;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/** A tributary process with every byte of its stdout and stderr kept; `stop` signals it and waits. */
function tributary(args: readonly string[], env: Record<string, string>) {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['TRIBUTARY_TOPIC_PREFIX', 'TRIBUTARY_FAULT', 'ERP_URL', 'CRM_URL']) delete base[name];
  const child = spawn(process.execPath, ['bin/tributary.js', ...args], { cwd: ROOT, env: { ...base, ...stackEnv(stack), LOG_LEVEL: 'debug', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: Output = { text: '', exit: undefined };
  child.stdout!.on('data', (chunk: Buffer) => (output.text += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output.text += chunk.toString('utf8')));
  const closed = once(child, 'close').then(([code, signal]) => (output.exit = { code: code as number | null, signal: signal as NodeJS.Signals | null }));
  cleanups.push(async () => {
    if (!output.exit) child.kill('SIGKILL');
    await closed;
  });
  return {
    output,
    closed,
    async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Output> {
      if (!output.exit) child.kill(signal);
      await closed;
      return output;
    },
  };
}

/** Where a secret shows up in a text: as given, base64 inside a Basic header, URL-encoded. */
function leaks(text: string): string[] {
  const found: string[] = [];
  for (const [name, value] of Object.entries(SECRETS)) {
    const forms = [value, encodeURIComponent(value), Buffer.from(`${CLIENT_ID}:${value}`).toString('base64'), Buffer.from(value).toString('base64')];
    if (forms.some((form) => text.includes(form))) found.push(name);
  }
  return found;
}

/** An OAuth2 token endpoint (client credentials, HTTP Basic): the first request fails, then short-lived tokens. */
async function tokenEndpoint(): Promise<{ url: string; requests: () => number; server: Server }> {
  let requests = 0;
  const server = createServer((request, response) => {
    requests += 1;
    request.resume();
    const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
    if (requests === 1) {
      response.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
    } else if (request.headers.authorization !== basic) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
    } else {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 2 }));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`, requests: () => requests, server };
}

describe('secrets never reach logs, even at LOG_LEVEL=debug', () => {
  it('Kafka SASL credentials and Redis passwords, through refused logins and CLI errors with their stacks', async () => {
    const sasl = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'tributary-faults', KAFKA_SASL_PASSWORD: SASL_PASSWORD };
    const wrongPassword = new URL((await passwordRedis()).url);
    wrongPassword.password = WRONG_REDIS_PASSWORD;

    const runRefused = tributary(['run', 'orders', '--metrics-port', '0', '--topic-prefix', 'faults-secrets-none.'], { ...sasl, REDIS_URL: (await passwordRedis()).url });
    const lagRefused = tributary(['lag'], sasl);
    const redisRefused = tributary(['run', 'orders', '--metrics-port', '0', '--topic-prefix', 'faults-secrets-none.'], { REDIS_URL: wrongPassword.toString() });
    await Promise.all([runRefused.closed, lagRefused.closed, redisRefused.closed]);
    const outputs = { runRefused: runRefused.output, lagRefused: lagRefused.output, redisRefused: redisRefused.output };

    for (const [name, output] of Object.entries(outputs)) {
      expect(leaks(output.text), `${name}: secrets in its output\n${output.text.slice(-3_000)}`).toEqual([]);
      // The paths meant were taken: each was refused, and said so with the stack LOG_LEVEL=debug adds.
      expect(output.exit?.code, `${name} exit code\n${output.text.slice(-3_000)}`).toBe(2);
      expect(output.text).toMatch(/^\s+at /m);
    }
    for (const output of [outputs.runRefused, outputs.lagRefused]) expect(output.text).toMatch(/^tributary: TRB_CONFIG: Kafka refused the SASL authentication/m);
    expect(outputs.runRefused.text, 'kafkajs logged the SASL handshake').toMatch(/SaslHandshake/);
    expect(outputs.redisRefused.text).toMatch(/^tributary: TRB_CONFIG: Redis refused the credentials of REDIS_URL .*WRONGPASS/m);
  }, 120_000);

  it('sink credentials (OAuth2 client secret, access token, bearer token) and API_TOKEN while commands are delivered', async () => {
    const deployment = await deploy(stack, 'f-secrets');
    // The state store needs REDIS_PASSWORD all along.
    const redisUrl = (await passwordRedis()).url;
    const token = await tokenEndpoint();
    cleanups.push(async () => token.server.close());
    const failure = { errorRate: 0.1, seed: 7 };
    const receivers: Record<'erp' | 'crm', Receiver> = {
      erp: await startReceiver({ name: 'erp', token: ACCESS_TOKEN, failure }),
      crm: await startReceiver({ name: 'crm', token: CRM_TOKEN, failure: { ...failure, seed: 8 } }),
    };
    cleanups.push(() => Promise.all(Object.values(receivers).map((r) => r.close())));
    // The simulator starts with master data (items, customers): enough events to reach orders and stock.
    const load = workload({ seed: 4242, events: 1_500 });
    await publish(stack, deployment.naming, load.items);
    await publish(stack, deployment.naming, load.rest);

    const running = tributary(['run', 'orders', 'atp', 'erp', 'crm', 'api', '--port', '0', '--host', '127.0.0.1', '--topic-prefix', deployment.naming.prefix], {
      REDIS_URL: redisUrl,
      ERP_URL: receivers.erp.url,
      ERP_OAUTH_TOKEN_URL: token.url,
      ERP_CLIENT_ID: CLIENT_ID,
      ERP_CLIENT_SECRET: CLIENT_SECRET,
      ERP_RATE_LIMIT: '200',
      CRM_URL: receivers.crm.url,
      CRM_TOKEN,
      CRM_RATE_LIMIT: '200',
      API_TOKEN,
    });
    const api = await waitFor(() => /^tributary: running .* on (http:\/\/\S+)/m.exec(running.output.text)?.[1], { what: "run's 'tributary: running' line", timeoutMs: 90_000 });
    await waitFor(() => receivers.erp.applied().length > 20 && receivers.crm.applied().length > 20 && token.requests() >= 3, {
      what: 'commands in effect at both receivers and the access token fetched again after it expired',
      timeoutMs: 90_000,
      intervalMs: 250,
    }).catch((error: Error) => {
      const counts = `erp ${receivers.erp.applied().length} applied of ${receivers.erp.attempts().length} requests, crm ${receivers.crm.applied().length} of ${receivers.crm.attempts().length}, token requests ${token.requests()}`;
      throw new Error(`${error.message} (${counts})\n${running.output.text.split('\n').filter((l) => !l.includes('"component":"kafkajs"')).slice(-30).join('\n')}`);
    });
    const refused = await fetch(`${api}/readyz`, { headers: { authorization: 'Bearer wrong' } });
    const allowed = await fetch(`${api}/atp/${load.items[0] ? (load.items[0].value as { sku: string }).sku : 'none'}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
    const output = await running.stop();

    expect(leaks(output.text), `secrets in the output\n${output.text.slice(-3_000)}`).toEqual([]);
    expect(refused.status).toBe(401);
    expect([200, 404, 503]).toContain(allowed.status);
    // Failures were met and logged (retries at debug, the token endpoint's first refusal), so the test means something.
    expect(output.text).toMatch(/delivery failed; retrying/);
    expect(output.text.split('\n').length, 'debug lines written').toBeGreaterThan(100);
    expect(output.exit).toEqual({ code: 0, signal: null });
  }, 180_000);
});
