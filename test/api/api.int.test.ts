/**
 * The HTTP API (runtime/api) against the real Redis of the test stack. Keys are written by hand
 * in the layout of runtime/redis/keys.ts, as the processors would leave them, in a Redis
 * database of this file's own (DB below; FLUSHDB only ever touches it) under unique store names.
 * Expected answers are worked out by hand from SPEC §5 and §10.
 *
 * Covered: ATP by sku (rows in different partitions, totals with a negative atp) and by
 * sku@warehouse, 404s, checks, orders, 503 instead of an answer while a store is not servable
 * (no epoch, @catchup, another epoch, a partition count grown past the state, after FLUSHDB),
 * auth, readiness, Redis unreachable or silent (503 fast, not a hang), validation, metrics, and
 * one round over a real listening port.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createApi, startApi, type ApiOptions } from '../../runtime/api/server';
import { createLogger } from '../../runtime/log';
import { createMetrics, type Metrics } from '../../runtime/metrics';
import { CATCHUP_FIELD, EPOCH_FIELD, epochKey, partitionKeys, viewKey } from '../../runtime/redis/keys';
import { freePort } from '../../runtime/stack/ports';
import { uniqueName } from '../harness/names';
import { testStack, redisDb } from '../harness/stack';
import { waitFor } from '../harness/wait';

/** This file's Redis database: never 0 (the dev stack's), flushed freely. */
const DB = 11;
const ATP_PARTITIONS = 4;
const ORDER_PARTITIONS = 2;
const T1 = Date.UTC(2026, 2, 1, 12, 0, 0); // 2026-03-01T12:00:00.000Z
const T2 = Date.UTC(2026, 2, 2, 8, 15, 30, 250); // 2026-03-02T08:15:30.250Z

let redis: Redis;
const clients: Redis[] = [];
const apps: FastifyInstance[] = [];

function client(url: string, options: RedisOptions = {}): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1, ...options });
  c.on('error', () => {}); // expected while Redis is unreachable; the API reports it
  clients.push(c);
  return c;
}

interface Stores {
  atp: string;
  orders: string;
  epoch: string;
}

/** Two stores as the processors leave them once running: epoch set, every partition stamped. */
async function seededStores(): Promise<Stores> {
  const stores = { atp: uniqueName('atp'), orders: uniqueName('orders'), epoch: uniqueName('epoch') };
  for (const [store, partitions] of [
    [stores.atp, ATP_PARTITIONS],
    [stores.orders, ORDER_PARTITIONS],
  ] as const) {
    await redis.set(epochKey(store), stores.epoch);
    for (let p = 0; p < partitions; p++) await redis.hset(partitionKeys(store, p).watermark, EPOCH_FIELD, stores.epoch, 'stock.adjusted', '17');
  }
  return stores;
}

function putAtp(store: string, partition: number, sku: string, warehouse: string, f: { onHand: number; reserved: number; safetyStock: number; atp: number; available: number; asOf: number | null }) {
  return redis.hset(viewKey(store, partition, `sku:${sku}`), warehouse, JSON.stringify({ sku, warehouse, ...f }));
}

function putOrder(store: string, partition: number, status: Record<string, unknown>) {
  return redis.hset(viewKey(store, partition, 'status'), String(status.orderId), JSON.stringify(status));
}

const ORDER = {
  orderId: 'SO-2026-004711',
  status: 'PARTIALLY_SHIPPED',
  lines: [
    { lineNo: 1, sku: 'SKU-10042', warehouse: 'DC-EAST', ordered: 10, shipped: 4, short: 0 },
    { lineNo: 2, sku: 'SKU-20001', warehouse: 'DC-WEST', ordered: 3, shipped: 0, short: 1 },
  ],
  updatedAt: T2,
};

/**
 * SKU-10042: DC-WEST in partition 1 (onHand 4, reserved 9, safety 1 → atp −6, available 0, asOf
 * unknown) and DC-EAST in partition 3 (10 − 3 − 2 = 5). SKU-20001: DC-EAST only, in partition 0
 * (20 − 0 − 0 = 20). Order SO-2026-004711 in partition 1 of the orders store.
 */
async function seedData(stores: Stores): Promise<void> {
  await putAtp(stores.atp, 1, 'SKU-10042', 'DC-WEST', { onHand: 4, reserved: 9, safetyStock: 1, atp: -6, available: 0, asOf: null });
  await putAtp(stores.atp, 3, 'SKU-10042', 'DC-EAST', { onHand: 10, reserved: 3, safetyStock: 2, atp: 5, available: 5, asOf: T1 });
  await putAtp(stores.atp, 0, 'SKU-20001', 'DC-EAST', { onHand: 20, reserved: 0, safetyStock: 0, atp: 20, available: 20, asOf: T2 });
  await putOrder(stores.orders, 1, ORDER);
}

function api(stores: Stores, overrides: Partial<ApiOptions> = {}): FastifyInstance {
  const app = createApi({
    redis,
    atp: { store: stores.atp, partitions: ATP_PARTITIONS },
    orders: { store: stores.orders, partitions: ORDER_PARTITIONS },
    metrics: createMetrics({ defaultMetrics: false }),
    ...overrides,
  });
  apps.push(app);
  return app;
}

async function get(app: FastifyInstance, url: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'GET', url, headers });
  return { status: res.statusCode, headers: res.headers, body: String(res.headers['content-type']).includes('json') ? res.json() : res.body };
}

async function check(app: FastifyInstance, payload: unknown, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: 'POST', url: '/atp/check', payload: payload as object, headers });
  return { status: res.statusCode, headers: res.headers, body: res.json() };
}

/** A 503 that tells the client to come back, with the given code. */
function expectUnavailable(res: { status: number; headers: Record<string, unknown>; body: unknown }, code: string): void {
  expect(res.status).toBe(503);
  expect(res.headers['retry-after']).toBe('1');
  expect((res.body as { error: { code: string } }).error.code).toBe(code);
}

const SKU_10042 = {
  sku: 'SKU-10042',
  warehouses: [
    { warehouse: 'DC-EAST', onHand: 10, reserved: 3, safetyStock: 2, atp: 5, available: 5, asOf: '2026-03-01T12:00:00.000Z' },
    { warehouse: 'DC-WEST', onHand: 4, reserved: 9, safetyStock: 1, atp: -6, available: 0, asOf: null },
  ],
  total: { onHand: 14, reserved: 12, safetyStock: 3, atp: -1, available: 0 },
};

beforeAll(async () => {
  redis = client(redisDb(testStack().redisUrl, DB));
  expect((await redis.client('INFO')) as string).toContain(`db=${DB}`);
  await redis.flushdb();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await redis.flushdb();
  for (const c of clients) c.disconnect();
});

describe('ATP answers', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    const stores = await seededStores();
    await seedData(stores);
    app = api(stores);
  });

  it('GET /atp/{sku}: every warehouse from every partition, sorted, with network totals (negative atp → available 0)', async () => {
    expect(await get(app, '/atp/SKU-10042')).toMatchObject({ status: 200, body: SKU_10042 });
    expect((await get(app, '/atp/SKU-20001')).body).toEqual({
      sku: 'SKU-20001',
      warehouses: [{ warehouse: 'DC-EAST', onHand: 20, reserved: 0, safetyStock: 0, atp: 20, available: 20, asOf: '2026-03-02T08:15:30.250Z' }],
      total: { onHand: 20, reserved: 0, safetyStock: 0, atp: 20, available: 20 },
    });
  });

  it('GET /atp/{sku}/{warehouse}: the one row', async () => {
    expect(await get(app, '/atp/SKU-10042/DC-EAST')).toMatchObject({
      status: 200,
      body: { sku: 'SKU-10042', warehouse: 'DC-EAST', onHand: 10, reserved: 3, safetyStock: 2, atp: 5, available: 5, asOf: '2026-03-01T12:00:00.000Z' },
    });
    expect((await get(app, '/atp/SKU-10042/DC-WEST')).body).toEqual({ sku: 'SKU-10042', warehouse: 'DC-WEST', onHand: 4, reserved: 9, safetyStock: 1, atp: -6, available: 0, asOf: null });
  });

  it('404 TRB_NOT_FOUND for a sku never seen, an unknown warehouse of a known sku, an unknown route', async () => {
    for (const url of ['/atp/SKU-NEVER', '/atp/SKU-NEVER/DC-EAST', '/atp/SKU-10042/DC-NORTH', '/nothing/here', '/atp']) {
      const res = await get(app, url);
      expect(res.status, url).toBe(404);
      expect((res.body as { error: { code: string } }).error.code, url).toBe('TRB_NOT_FOUND');
    }
  });

  it('POST /atp/check: in request order, promisable = quantity ≤ available, unknown rows available 0, no warehouse = network total', async () => {
    const res = await check(app, {
      lines: [
        { sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 5 },
        { sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 6 },
        { sku: 'SKU-10042', warehouse: 'DC-WEST', quantity: 1 },
        { sku: 'SKU-20001', warehouse: 'DC-EAST', quantity: 20 },
        { sku: 'SKU-20001', warehouse: 'DC-WEST', quantity: 1 },
        { sku: 'SKU-NEVER', warehouse: 'DC-EAST', quantity: 1 },
        { sku: 'SKU-20001', quantity: 21 },
        { sku: 'SKU-10042', warehouse: null, quantity: 1 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      lines: [
        { sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 5, available: 5, promisable: true },
        { sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 6, available: 5, promisable: false },
        { sku: 'SKU-10042', warehouse: 'DC-WEST', quantity: 1, available: 0, promisable: false },
        { sku: 'SKU-20001', warehouse: 'DC-EAST', quantity: 20, available: 20, promisable: true },
        { sku: 'SKU-20001', warehouse: 'DC-WEST', quantity: 1, available: 0, promisable: false },
        { sku: 'SKU-NEVER', warehouse: 'DC-EAST', quantity: 1, available: 0, promisable: false },
        { sku: 'SKU-20001', warehouse: null, quantity: 21, available: 20, promisable: false },
        { sku: 'SKU-10042', warehouse: null, quantity: 1, available: 0, promisable: false },
      ],
    });

    // A JSON body labelled otherwise (fetch() sends a string as text/plain) or not at all is read as JSON.
    const payload = JSON.stringify({ lines: [{ sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 5 }] });
    for (const headers of [{ 'content-type': 'text/plain;charset=UTF-8' }, { 'content-type': 'application/x-www-form-urlencoded' }, {}]) {
      const labelled = await app.inject({ method: 'POST', url: '/atp/check', payload, headers });
      expect({ status: labelled.statusCode, lines: labelled.json().lines }, JSON.stringify(headers)).toEqual({
        status: 200,
        lines: [{ sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 5, available: 5, promisable: true }],
      });
    }
  });

  it('400 TRB_VALIDATION with every problem for a bad check body, a bad JSON body and a bad code in the path', async () => {
    const bad = await check(app, { lines: [{ sku: 'SKU 1', warehouse: 'DC-EAST', quantity: 0 }, { warehouse: 5, quantity: 1.5 }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('TRB_VALIDATION');
    expect(bad.body.error.problems.map((p: { path: string; code: string }) => `${p.path} ${p.code}`)).toEqual([
      'lines[0].sku PATTERN',
      'lines[0].quantity MIN',
      'lines[1].sku REQUIRED',
      'lines[1].warehouse TYPE',
      'lines[1].quantity NOT_INTEGER',
    ]);
    expect(bad.body.error.message).toMatch(/^lines\[0\]\.sku: /);
    expect((await check(app, { lines: [] })).body.error.problems).toEqual([{ path: 'lines', code: 'EMPTY', message: 'must hold at least one line' }]);
    expect((await check(app, { lines: new Array(1001).fill({ sku: 'S', quantity: 1 }) })).body.error.problems[0].code).toBe('MAX');

    const notJson = await app.inject({ method: 'POST', url: '/atp/check', payload: '{"lines": [', headers: { 'content-type': 'application/json' } });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error).toMatchObject({ code: 'TRB_VALIDATION', problems: [{ path: '', code: 'JSON' }] });
    const notJsonAsText = await app.inject({ method: 'POST', url: '/atp/check', payload: 'lines=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(notJsonAsText.statusCode).toBe(400);
    expect(notJsonAsText.json().error).toMatchObject({ code: 'TRB_VALIDATION', problems: [{ path: '', code: 'JSON' }] });

    const path = await get(app, '/atp/SKU%20X/DC-EAST');
    expect(path.status).toBe(400);
    expect(path.body).toMatchObject({ error: { code: 'TRB_VALIDATION', problems: [{ path: 'sku', code: 'PATTERN' }] } });
    expect((await get(app, '/orders/SO%2F1')).body).toMatchObject({ error: { code: 'TRB_VALIDATION', problems: [{ path: 'orderId', code: 'PATTERN' }] } });
  });

  it('GET /orders/{orderId}: the order.status record with updatedAt as ISO; 404 when unknown', async () => {
    expect(await get(app, '/orders/SO-2026-004711')).toMatchObject({
      status: 200,
      body: {
        orderId: 'SO-2026-004711',
        status: 'PARTIALLY_SHIPPED',
        lines: [
          { lineNo: 1, sku: 'SKU-10042', warehouse: 'DC-EAST', ordered: 10, shipped: 4, short: 0 },
          { lineNo: 2, sku: 'SKU-20001', warehouse: 'DC-WEST', ordered: 3, shipped: 0, short: 1 },
        ],
        updatedAt: '2026-03-02T08:15:30.250Z',
      },
    });
    const unknown = await get(app, '/orders/SO-UNKNOWN');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'TRB_NOT_FOUND' } });
  });

  it('each answer is read in ONE atomic script call: epoch, every watermark, every partition view', async () => {
    const stores = await seededStores();
    const own = client(redisDb(testStack().redisUrl, DB));
    const addr = /addr=(\S+)/.exec(String(await own.client('INFO')))?.[1];
    const monitor = await client(redisDb(testStack().redisUrl, DB)).monitor();
    const sent: string[] = [];
    const scripted: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const line = [String(args[0]).toLowerCase(), ...args.slice(1)].join(' ');
      if (source === addr) sent.push(line);
      else if (source === 'lua' && sent.length > 0) scripted.push(line);
    });
    const watched = api(stores, { redis: own });
    expect((await get(watched, '/atp/SKU-10042')).status).toBe(404);
    await waitFor(() => scripted.length >= 12, { what: 'the script’s reads in MONITOR', timeoutMs: 5_000 });
    monitor.disconnect();
    // One command from the API's connection (EVALSHA; EVAL only if the script was not cached).
    expect(sent.filter((line) => !line.startsWith('eval'))).toEqual([]);
    expect(sent.at(-1)).toMatch(/^evalsha? /);
    const w = (store: string, p: number) => `hmget ${partitionKeys(store, p).watermark} @epoch @catchup`;
    const v = (p: number) => `hgetall ${viewKey(stores.atp, p, 'sku:SKU-10042')}`;
    // ATP is derived from the orders state too: its marks are checked in the same atomic call.
    expect(scripted).toEqual([
      `get ${epochKey(stores.atp)}`, w(stores.atp, 0), w(stores.atp, 1), w(stores.atp, 2), w(stores.atp, 3),
      `get ${epochKey(stores.orders)}`, w(stores.orders, 0), w(stores.orders, 1),
      v(0), v(1), v(2), v(3),
    ]);
  });

  it('a stored row that does not parse is 500 TRB_STATE_INVALID, not a guess', async () => {
    const stores = await seededStores();
    await redis.hset(viewKey(stores.atp, 2, 'sku:SKU-BROKEN'), 'DC-EAST', '{"onHand": "lots"');
    await redis.set(viewKey(stores.atp, 0, 'sku:SKU-WRONGTYPE'), 'a string, not a hash');
    const broken = api(stores, { log: createLogger({}, new Writable({ write: (_c, _e, done) => done() })) });
    for (const url of ['/atp/SKU-BROKEN', '/atp/SKU-WRONGTYPE']) {
      const res = await get(broken, url);
      expect(res.status, url).toBe(500);
      expect(res.body, url).toMatchObject({ error: { code: 'TRB_STATE_INVALID' } });
    }
  });
});

describe('503 instead of an answer while a store is not servable', () => {
  const urls = ['/atp/SKU-10042', '/atp/SKU-10042/DC-EAST', '/atp/SKU-NEVER', '/atp/SKU-NEVER/DC-EAST'];

  async function expectAtpUnavailable(app: FastifyInstance): Promise<void> {
    for (const url of urls) expectUnavailable(await get(app, url), 'TRB_STATE_UNAVAILABLE');
    expectUnavailable(await check(app, { lines: [{ sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 1 }] }), 'TRB_STATE_UNAVAILABLE');
  }

  it('the orders state ATP is derived from is catching up (an orders rebuild), while atp itself is fine', async () => {
    const stores = await seededStores();
    await putAtp(stores.atp, 1, 'SKU-10042', 'DC-EAST', { onHand: 5, reserved: 0, safetyStock: 0, atp: 5, available: 5, asOf: null });
    await redis.hset(partitionKeys(stores.orders, 1).watermark, CATCHUP_FIELD, '{"order.created":"40"}');
    await expectAtpUnavailable(api(stores));
  });

  it('the epoch key is missing (state lost or never created)', async () => {
    const stores = await seededStores();
    await seedData(stores);
    const app = api(stores);
    await redis.del(epochKey(stores.atp), epochKey(stores.orders));
    await expectAtpUnavailable(app);
    const order = await get(app, '/orders/SO-2026-004711');
    expectUnavailable(order, 'TRB_STATE_UNAVAILABLE');
    expect(order.body.error.message).toContain('retry shortly');
  });

  it('one partition has @catchup, even one that holds none of the rows asked for', async () => {
    const stores = await seededStores();
    await seedData(stores);
    const app = api(stores);
    await redis.hset(partitionKeys(stores.atp, 2).watermark, CATCHUP_FIELD, '{"stock.adjusted":"900"}');
    await expectAtpUnavailable(app);
    // The orders store is not affected.
    expect((await get(app, '/orders/SO-2026-004711')).status).toBe(200);
    await redis.hdel(partitionKeys(stores.atp, 2).watermark, CATCHUP_FIELD);
    expect(await get(app, '/atp/SKU-10042')).toMatchObject({ status: 200, body: SKU_10042 });
  });

  it("one partition's @epoch is not the current epoch", async () => {
    const stores = await seededStores();
    await seedData(stores);
    const app = api(stores);
    await redis.hset(partitionKeys(stores.atp, 0).watermark, EPOCH_FIELD, 'an-older-epoch');
    await expectAtpUnavailable(app);
    await redis.hset(partitionKeys(stores.orders, 1).watermark, EPOCH_FIELD, 'an-older-epoch');
    expectUnavailable(await get(app, '/orders/SO-2026-004711'), 'TRB_STATE_UNAVAILABLE');
    expectUnavailable(await get(app, '/orders/SO-UNKNOWN'), 'TRB_STATE_UNAVAILABLE');
  });

  it('the partition count grows past the partitions that hold state (refreshed through the function)', async () => {
    const stores = await seededStores();
    await seedData(stores);
    let partitions = ATP_PARTITIONS;
    const app = api(stores, { atp: { store: stores.atp, partitions: () => partitions } });
    expect((await get(app, '/atp/SKU-10042')).status).toBe(200);
    partitions = ATP_PARTITIONS + 1;
    await expectAtpUnavailable(app);
    await redis.hset(partitionKeys(stores.atp, ATP_PARTITIONS).watermark, EPOCH_FIELD, stores.epoch);
    expect(await get(app, '/atp/SKU-10042')).toMatchObject({ status: 200, body: SKU_10042 });
  });

  it('after FLUSHDB every answer is 503, never 404', async () => {
    const stores = await seededStores();
    await seedData(stores);
    const app = api(stores);
    expect((await get(app, '/atp/SKU-10042')).status).toBe(200);
    await redis.flushdb();
    await expectAtpUnavailable(app);
    expectUnavailable(await get(app, '/orders/SO-2026-004711'), 'TRB_STATE_UNAVAILABLE');
    expectUnavailable(await get(app, '/orders/SO-UNKNOWN'), 'TRB_STATE_UNAVAILABLE');
  });
});

describe('API_TOKEN', () => {
  const token = `tok-${uniqueName('secret')}`;
  const auth = { authorization: `Bearer ${token}` };
  let app: FastifyInstance;
  const logged: string[] = [];

  beforeAll(async () => {
    const stores = await seededStores();
    await seedData(stores);
    await redis.set(viewKey(stores.atp, 1, 'sku:SKU-WRONGTYPE'), 'not a hash');
    const log = createLogger({}, new Writable({ write: (chunk, _e, done) => (logged.push(String(chunk)), done()) }));
    app = api(stores, { token, log });
  });

  it('401 TRB_UNAUTHORIZED with WWW-Authenticate: Bearer without a token or with a wrong one', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer not-the-token' }, { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` }]) {
      for (const url of ['/atp/SKU-10042', '/atp/SKU-10042/DC-EAST', '/orders/SO-2026-004711', '/readyz', '/metrics', '/no-such-route']) {
        const res = await get(app, url, headers);
        expect(res.status, `${url} ${JSON.stringify(headers)}`).toBe(401);
        expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
        expect(res.body).toMatchObject({ error: { code: 'TRB_UNAUTHORIZED' } });
      }
      expect((await check(app, { lines: [{ sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 1 }] }, headers)).status).toBe(401);
    }
  });

  it('with the token every route answers; /livez and /healthz need none', async () => {
    expect(await get(app, '/atp/SKU-10042', auth)).toMatchObject({ status: 200, body: SKU_10042 });
    expect((await check(app, { lines: [{ sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 1 }] }, auth)).status).toBe(200);
    expect((await get(app, '/orders/SO-2026-004711', auth)).status).toBe(200);
    expect((await get(app, '/metrics', auth)).status).toBe(200);
    expect((await get(app, '/no-such-route', auth)).status).toBe(404);
    expect(await get(app, '/livez')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await get(app, '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('the token never reaches the log, even when a request carrying it fails', async () => {
    expect((await get(app, '/atp/SKU-WRONGTYPE', auth)).status).toBe(500);
    expect(logged.join('')).toContain('TRB_STATE_INVALID');
    expect(logged.join('')).not.toContain(token);
  });
});

describe('readiness', () => {
  it('200 ready when Redis answers and every partition of both stores is servable', async () => {
    const stores = await seededStores();
    const res = await get(api(stores, { readiness: () => [{ name: 'processor atp', ok: true, detail: 'group joined, lag 0' }] }), '/readyz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      status: 'ready',
      checks: [
        { name: 'redis', ok: true, detail: 'answers PONG' },
        { name: `state:${stores.atp}`, ok: true, detail: '4 of 4 partitions servable' },
        { name: `state:${stores.orders}`, ok: true, detail: '2 of 2 partitions servable' },
        { name: 'processor atp', ok: true, detail: 'group joined, lag 0' },
      ],
    });
  });

  it('503 not ready, naming the partition catching up, the lost epoch and a failing caller check', async () => {
    const stores = await seededStores();
    await redis.hset(partitionKeys(stores.orders, 1).watermark, CATCHUP_FIELD, '{"order.created":"12"}');
    await redis.del(epochKey(stores.atp));
    const res = await get(api(stores, { readiness: async () => [{ name: 'processor orders', ok: false, detail: 'lag 1200 records' }] }), '/readyz');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      status: 'not ready',
      checks: [
        { name: 'redis', ok: true, detail: 'answers PONG' },
        { name: `state:${stores.atp}`, ok: false, detail: 'no state epoch (the state was lost or was never created)' },
        { name: `state:${stores.orders}`, ok: false, detail: 'partition 1 is catching up' },
        { name: 'processor orders', ok: false, detail: 'lag 1200 records' },
      ],
    });
  });

  it('a readiness function that throws is a failed check, not a crash', async () => {
    const stores = await seededStores();
    const res = await get(api(stores, { readiness: () => { throw new Error('consumer not started'); } }), '/readyz');
    expect(res.status).toBe(503);
    expect(res.body.checks.at(-1)).toEqual({ name: 'readiness', ok: false, detail: 'consumer not started' });
  });
});

describe('Redis unreachable', () => {
  const sockets: Socket[] = [];
  let silent: Server;

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent?.close(resolve));
  });

  it('a closed port: 503 TRB_REDIS_UNAVAILABLE at once, readyz 503, livez still 200', async () => {
    const port = await freePort();
    const down = client(`redis://127.0.0.1:${port}`);
    const stores = { atp: uniqueName('atp'), orders: uniqueName('orders'), epoch: 'none' };
    const app = api(stores, { redis: down, log: createLogger({}, new Writable({ write: (_c, _e, done) => done() })) });
    const started = Date.now();
    expectUnavailable(await get(app, '/atp/SKU-10042'), 'TRB_REDIS_UNAVAILABLE');
    expectUnavailable(await get(app, '/atp/SKU-10042/DC-EAST'), 'TRB_REDIS_UNAVAILABLE');
    expectUnavailable(await get(app, '/orders/SO-1'), 'TRB_REDIS_UNAVAILABLE');
    expectUnavailable(await check(app, { lines: [{ sku: 'A', quantity: 1 }] }), 'TRB_REDIS_UNAVAILABLE');
    const ready = await get(app, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.map((c: { name: string; ok: boolean }) => `${c.name} ${c.ok}`)).toEqual(['redis false', `state:${stores.atp} false`, `state:${stores.orders} false`]);
    expect(ready.body.checks[0].detail).toMatch(/^TRB_REDIS_UNAVAILABLE/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await get(app, '/livez')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('a Redis that accepts connections but never answers: 503 after the per-request timeout, not a hang', async () => {
    silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    // maxRetriesPerRequest null: this client would queue a command forever.
    const mute = client(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: null });
    const stores = { atp: uniqueName('atp'), orders: uniqueName('orders'), epoch: 'none' };
    const app = api(stores, { redis: mute, redisTimeoutMs: 300, log: createLogger({}, new Writable({ write: (_c, _e, done) => done() })) });
    const started = Date.now();
    expectUnavailable(await get(app, '/atp/SKU-10042'), 'TRB_REDIS_UNAVAILABLE');
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(2_000);
    expect((await get(app, '/readyz')).status).toBe(503);
  });
});

describe('metrics and a real port', () => {
  let metrics: Metrics;
  let stores: Stores;
  beforeAll(async () => {
    stores = await seededStores();
    await seedData(stores);
    metrics = createMetrics({ defaultMetrics: false });
  });

  it('over HTTP: ATP with the token, then /metrics counting it by route pattern, never by sku', async () => {
    const token = 'port-test-token';
    const running = await startApi({ redis, port: 0, host: '127.0.0.1', token, metrics, atp: { store: stores.atp, partitions: ATP_PARTITIONS }, orders: { store: stores.orders, partitions: ORDER_PARTITIONS } });
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const headers = { authorization: `Bearer ${token}` };
      const atp = await fetch(`${running.url}/atp/SKU-10042`, { headers });
      expect(atp.status).toBe(200);
      expect(atp.headers.get('content-type')).toContain('application/json');
      expect(await atp.json()).toEqual(SKU_10042);

      const checked = await fetch(`${running.url}/atp/check`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ lines: [{ sku: 'SKU-20001', warehouse: 'DC-EAST', quantity: 7 }] }),
      });
      expect(await checked.json()).toEqual({ lines: [{ sku: 'SKU-20001', warehouse: 'DC-EAST', quantity: 7, available: 20, promisable: true }] });
      expect((await fetch(`${running.url}/atp/SKU-NEVER`, { headers })).status).toBe(404);
      expect((await fetch(`${running.url}/livez`)).status).toBe(200);
      expect((await fetch(`${running.url}/metrics`)).status).toBe(401);

      const scraped = await fetch(`${running.url}/metrics`, { headers });
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get('content-type')).toContain('text/plain');
      const text = await scraped.text();
      expect(text).toContain('tributary_http_requests_total{route="/atp/:sku",method="GET",status="200"} 1');
      expect(text).toContain('tributary_http_requests_total{route="/atp/:sku",method="GET",status="404"} 1');
      expect(text).toContain('tributary_http_requests_total{route="/atp/check",method="POST",status="200"} 1');
      expect(text).toContain('tributary_http_requests_total{route="/metrics",method="GET",status="401"} 1');
      expect(text).toMatch(/tributary_http_request_seconds_bucket\{le="0\.005",route="\/atp\/:sku",method="GET"\} \d/);
      expect(text).toContain('tributary_records_in_total'); // the process registry, not a private one
      expect(text).not.toContain('SKU-');
    } finally {
      await running.close();
    }
    await expect(fetch(`${running.url}/livez`)).rejects.toThrow();
  });

  it('unknown paths are counted under one label', async () => {
    const app = api(stores, { metrics });
    await get(app, '/x/SKU-1/y');
    await get(app, '/another/unknown');
    expect(await metrics.registry.getSingleMetricAsString('tributary_http_requests_total')).toContain('tributary_http_requests_total{route="unmatched",method="GET",status="404"} 2');
  });
});
