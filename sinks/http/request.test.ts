/**
 * The request a command becomes (SPEC §7) and how an answer is read, against a local node:http
 * server: headers and body, the body bound, Retry-After, a timeout, a refused connection, a cut.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandProblem, commandRequest, MAX_BODY_BYTES, post, utf8Prefix, type Command } from './request';

const command: Command = {
  commandId: 'cmd-0001.a_b',
  type: 'UpdateAvailability',
  correlationId: 'corr-42',
  occurredAt: 1_763_632_800_000,
  payload: { sku: 'SKU-1', warehouse: 'DC-EAST', available: 5, atp: 5, asOf: 1_763_632_800_000 },
};

describe('commandRequest', () => {
  it('POSTs the payload to <baseUrl>/<type> with the idempotency and correlation headers', () => {
    const request = commandRequest('https://crm.example.com/api', command, 'Bearer t0ken');
    expect(request.url).toBe('https://crm.example.com/api/UpdateAvailability');
    expect(JSON.parse(request.body)).toEqual(command.payload);
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'idempotency-key': 'cmd-0001.a_b',
      'x-correlation-id': 'corr-42',
      authorization: 'Bearer t0ken',
    });
  });

  it('percent-encodes a correlation id a header cannot carry as it is', () => {
    expect(commandRequest('http://h', { ...command, correlationId: 'Bestellung Müller\r\nX-Evil: 1' }).headers['x-correlation-id']).toBe('Bestellung%20M%C3%BCller%0D%0AX-Evil%3A%201');
    expect(commandRequest('http://h', { ...command, correlationId: 'web checkout #42' }).headers['x-correlation-id']).toBe('web checkout #42');
  });

  it('sends no correlation or auth header when there is none', () => {
    const { headers } = commandRequest('http://h', { ...command, correlationId: null });
    expect(headers).not.toHaveProperty('x-correlation-id');
    expect(headers).not.toHaveProperty('authorization');
  });
});

describe('commandProblem', () => {
  it('accepts a well-formed command', () => {
    expect(commandProblem(command)).toBeUndefined();
    expect(commandProblem({ ...command, correlationId: null })).toBeUndefined();
  });

  it.each([
    ['no value', null],
    ['a commandId that could not be a header', { ...command, commandId: 'a\r\nX-Evil: 1' }],
    ['an empty commandId', { ...command, commandId: '' }],
    ['a commandId over 64 characters', { ...command, commandId: 'x'.repeat(65) }],
    ['a type that is not a name', { ...command, type: '../admin' }],
    ['a correlation id that is not text', { ...command, correlationId: 42 }],
  ])('refuses %s', (_, value) => {
    expect(commandProblem(value)).toEqual(expect.any(String));
  });
});

describe('utf8Prefix', () => {
  it('never cuts a character in two', () => {
    const text = 'ab€€€'; // € is 3 bytes
    expect(utf8Prefix(Buffer.from(text), 4)).toBe('ab');
    expect(utf8Prefix(Buffer.from(text), 5)).toBe('ab€');
    expect(utf8Prefix(Buffer.from(text), 100)).toBe(text);
  });
});

describe('post', () => {
  let server: Server;
  let base: string;
  const seen: { headers: IncomingMessage['headers']; body: string }[] = [];
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
    '/ok': (_req, res) => res.writeHead(201).end('{"applied":true}'),
    '/throttled': (_req, res) => res.writeHead(429, { 'retry-after': '3' }).end(),
    '/rejected': (_req, res) => res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"unknown_sku"}'),
    '/huge': (_req, res) => res.writeHead(400).end('€'.repeat(10_000)),
    '/slow': () => undefined, // never answers
    '/moved': (_req, res) => res.writeHead(301, { location: '/ok' }).end(),
    '/cut': (req) => req.socket.destroy(),
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        seen.push({ headers: req.headers, body });
        routes[req.url ?? '']?.(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const to = (path: string) => ({ url: `${base}${path}`, headers: { 'content-type': 'application/json', 'idempotency-key': 'k1' }, body: '{"a":1}' });

  it('reads a 2xx, and the receiver got the headers and body', async () => {
    expect(await post(to('/ok'), { timeoutMs: 2_000 })).toEqual({ kind: 'response', status: 201, body: '{"applied":true}' });
    expect(seen.at(-1)).toMatchObject({ body: '{"a":1}', headers: { 'idempotency-key': 'k1' } });
  });

  it('reads Retry-After', async () => {
    expect(await post(to('/throttled'), { timeoutMs: 2_000 })).toEqual({ kind: 'response', status: 429, body: '', retryAfterMs: 3_000 });
  });

  it('keeps the body of a rejection', async () => {
    expect(await post(to('/rejected'), { timeoutMs: 2_000 })).toMatchObject({ status: 422, body: '{"error":"unknown_sku"}' });
  });

  it('reads at most a few KB of a body', async () => {
    const result = await post(to('/huge'), { timeoutMs: 2_000 });
    const body = (result as { body: string }).body;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    expect(body.endsWith('€…')).toBe(true);
  });

  it('does not follow a redirect', async () => {
    expect(await post(to('/moved'), { timeoutMs: 2_000 })).toMatchObject({ kind: 'response', status: 301 });
  });

  it('gives up at the timeout', async () => {
    const started = Date.now();
    expect(await post(to('/slow'), { timeoutMs: 300 })).toEqual({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a request cut by the caller is aborted, not a verdict', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    expect(await post(to('/slow'), { timeoutMs: 5_000, signal: stop.signal })).toBe('aborted');
  });

  it('a connection dropped mid-request is a network error', async () => {
    expect(await post(to('/cut'), { timeoutMs: 2_000 })).toMatchObject({ kind: 'network' });
  });

  it('a refused connection is a network error naming the cause', async () => {
    const refused = new URL(base);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    refused.port = String((closed.address() as AddressInfo).port);
    await new Promise((resolve) => closed.close(resolve));
    const result = await post({ ...to('/ok'), url: `${refused.origin}/ok` }, { timeoutMs: 2_000 });
    expect(result).toMatchObject({ kind: 'network', message: expect.stringContaining('ECONNREFUSED') });
  });
});
