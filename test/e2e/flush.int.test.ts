/**
 * Redis flushed under a running stack (issue 4 "never serve silently wrong data", SPEC §12):
 * `orders`, `atp` and the API run in this process on a Redis database of this file's own (the
 * shared db 0 is never flushed). After FLUSHDB the API may answer 503 — it must never answer a
 * 404 or a number that differs from the reference fold — /readyz says 503 straight away, and the
 * runtime notices the loss (next batch or its epoch timer), rebuilds every partition from the
 * earliest offset and serves the fold again. A second case flushes while events are still being
 * published and consumed, then publishes the rest: the end state is the fold of everything.
 */
import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startComponents, type Components } from '../../runtime/app/components';
import { log } from '../../runtime/log';
import type { AtpRow, OrderStatus } from '../reference/fold';
import { redisDb, testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { deploy, expected, publish, servedFromRedis, waitCaughtUp, workload, type Deployment } from './pipeline-harness';

const stack = testStack();
// A database index no other test file uses: this file flushes it (the dev stack's db 0 is shared).
const DB = 13;
const redisUrl = redisDb(stack.redisUrl, DB);
const PARTITIONS = 6;
// Every deployment of this file names its stores `<label>-<unique>.atp` / `.orders`.
const LABEL = 'flush';
const running: Components[] = [];
let flusher: Redis | undefined;

afterEach(async () => {
  while (running.length > 0) await running.pop()?.stop();
});

afterAll(async () => {
  // The stacks are stopped (afterEach): leave this file's database empty.
  if (flusher) await flush();
  flusher?.disconnect();
});

async function start(deployment: Deployment): Promise<Components> {
  const components = await startComponents({
    names: ['orders', 'atp', 'api'],
    connection: { brokers: stack.brokers, registryUrl: stack.registryUrl, redisUrl, origin: { kafka: 'env', registry: 'env', redis: 'env' }, security: 'none' },
    topology: deployment.topology,
    naming: deployment.naming,
    log: log.child({ test: 'flush' }),
    port: 0,
    host: '127.0.0.1',
  });
  running.push(components);
  return components;
}

/** FLUSHDB of this file's database, refusing if it holds a key this file did not write. */
async function flush(): Promise<void> {
  flusher ??= new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await flusher.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const foreign = keys.find((k) => !k.startsWith(`trb:{${LABEL}-`));
    if (foreign !== undefined) throw new Error(`redis db ${DB} holds ${foreign}, which this test did not write: not flushing it`);
  } while (cursor !== '0');
  await flusher.flushdb();
}

type Want = ReturnType<typeof expected>;

/** What a GET answers with, from the fold: the API's shape (times as ISO-8601). */
function rowAnswer(row: AtpRow): Record<string, unknown> {
  return { ...row, asOf: row.asOf === null ? null : new Date(row.asOf).toISOString() };
}

function skuAnswer(want: Want, sku: string): Record<string, unknown> {
  const warehouses = want.atp
    .filter(([, r]) => r.sku === sku)
    .map(([, r]) => {
      const { sku: _sku, ...rest } = rowAnswer(r);
      return rest;
    })
    .sort((a, b) => (String(a.warehouse) < String(b.warehouse) ? -1 : 1));
  const total = want.totals.find(([s]) => s === sku)?.[1];
  return { sku, warehouses, total };
}

interface Probe {
  path: string;
  /** True when a 200 body is the fold's answer. */
  matches(body: unknown): boolean;
}

/** Probes of a spread-out sample: rows, skus and orders, each with the fold's answer. */
function probesOf(want: Want, count: number): Probe[] {
  const spread = <T>(all: readonly T[]): T[] => Array.from({ length: Math.min(count, all.length) }, (_, i) => all[Math.floor((i * all.length) / Math.min(count, all.length))] as T);
  const rows = spread(want.atp).map(([, row]): Probe => {
    const answer = rowAnswer(row);
    return { path: `/atp/${row.sku}/${row.warehouse}`, matches: (body) => isDeepStrictEqual(body, answer) };
  });
  const skus = spread([...new Set(want.atp.map(([, r]) => r.sku))]).map((sku): Probe => {
    const answer = skuAnswer(want, sku);
    return { path: `/atp/${sku}`, matches: (body) => isDeepStrictEqual(body, answer) };
  });
  const orders = spread(want.orders).map(([orderId, status]): Probe => ({
    path: `/orders/${orderId}`,
    matches: (body) => {
      const { orderId: id, status: s, lines } = body as OrderStatus;
      return isDeepStrictEqual({ orderId: id, status: s, lines }, status);
    },
  }));
  return [...rows, ...skus, ...orders];
}

interface Seen {
  path: string;
  status: number;
  code?: string;
  atMs: number;
}

/**
 * Polls /readyz and every probe, round after round, until one round answers all of them 200 with
 * the fold's values and /readyz 200. Returns every answer seen; a 200 that is not the fold's, or
 * any status but 200 and 503, is a failure.
 */
async function pollUntilServed(url: string, probes: readonly Probe[], since: number, timeoutMs: number) {
  const readyz: Seen[] = [];
  const unavailable: Seen[] = [];
  const failures: Seen[] = [];
  let rounds = 0;
  const ask = async (path: string) => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as unknown;
    return { status: response.status, body, atMs: Date.now() - since };
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    rounds += 1;
    // /readyz first: the first round starts the moment FLUSHDB returned.
    const ready = await ask('/readyz');
    readyz.push({ path: '/readyz', status: ready.status, atMs: ready.atMs });
    if (ready.status !== 200 && ready.status !== 503) failures.push({ path: '/readyz', status: ready.status, atMs: ready.atMs });
    const answers = await Promise.all(probes.map(async (probe) => ({ probe, ...(await ask(probe.path)) })));
    let served = ready.status === 200;
    for (const { probe, status, body, atMs } of answers) {
      const code = (body as { error?: { code?: string } }).error?.code;
      if (status === 503) unavailable.push({ path: probe.path, status, code, atMs });
      else if (status !== 200 || !probe.matches(body)) failures.push({ path: probe.path, status, code: code ?? (status === 200 ? `answered ${JSON.stringify(body)}` : undefined), atMs });
      if (status !== 200) served = false;
    }
    if (served) return { readyz, unavailable, failures, rounds };
    if (Date.now() > deadline) throw new Error(`not served again within ${timeoutMs} ms of the flush; last /readyz ${JSON.stringify(ready.body)}; failures so far ${JSON.stringify(failures.slice(0, 5))}`);
  }
}

/** Every row and order status in Redis, and every GET answer, equal the fold. */
async function expectServedAsFold(components: Components, deployment: Deployment, want: Want): Promise<void> {
  const served = await servedFromRedis(redisUrl, deployment.naming, PARTITIONS);
  expect(served.atp).toEqual(want.atp);
  expect(served.orders).toEqual(want.orders);
  const wrong: string[] = [];
  for (const probe of probesOf(want, Number.MAX_SAFE_INTEGER)) {
    const response = await fetch(`${components.url}${probe.path}`);
    const body = (await response.json()) as unknown;
    if (response.status !== 200 || !probe.matches(body)) wrong.push(`${probe.path} → ${response.status} ${JSON.stringify(body)}`);
  }
  expect(wrong).toEqual([]);
}

describe('Redis flushed under a running stack', () => {
  it('serves no wrong answer after FLUSHDB, rebuilds, and serves the fold again', async () => {
    const deployment = await deploy(stack, LABEL);
    const load = workload({ seed: 1301, events: 3_000, duplicateRate: 0.02, repeatRate: 0.02 });
    const want = expected(load.records);
    expect(want.atp.length).toBeGreaterThan(50);
    expect(want.orders.length).toBeGreaterThan(50);
    await publish(stack, deployment.naming, load.records);
    const components = await start(deployment);
    await waitCaughtUp(stack, deployment);
    await waitFor(async () => (await fetch(`${components.url}/readyz`)).status === 200, { what: 'the API to be ready before the flush' });
    await expectServedAsFold(components, deployment, want);

    await flush();
    const flushedAt = Date.now();
    const seen = await pollUntilServed(components.url as string, probesOf(want, 40), flushedAt, 60_000);

    // Never a 404 or a number other than the fold's, at any time.
    expect(seen.failures).toEqual([]);
    // The loss was visible: /readyz said 503 at once, and data answers were refused meanwhile.
    expect(seen.readyz[0]?.status).toBe(503);
    expect(seen.unavailable.length).toBeGreaterThan(0);
    expect(seen.readyz[seen.readyz.length - 1]?.status).toBe(200);

    await expectServedAsFold(components, deployment, want);
  }, 120_000);

  it('ends equal to the fold of everything when the flush lands while events are being published', async () => {
    const deployment = await deploy(stack, LABEL);
    const load = workload({ seed: 1302, events: 3_000, duplicateRate: 0.02, repeatRate: 0.02 });
    const want = expected(load.records);
    // Items first, read whole by the processors as they start (their table bootstrap), so order
    // validation sees every item as the fold does (its choice 3).
    await publish(stack, deployment.naming, load.items);
    const components = await start(deployment);
    const half = Math.floor(load.rest.length / 2);
    await publish(stack, deployment.naming, load.rest.slice(0, half));
    await flush();
    await publish(stack, deployment.naming, load.rest.slice(half));

    await waitCaughtUp(stack, deployment);
    await waitFor(async () => (await fetch(`${components.url}/readyz`)).status === 200, { timeoutMs: 60_000, what: 'the API to be ready after the rebuild' });
    // Ready means served: from here on the view must be the fold's (a short grace for the last
    // batches in flight; a view still different after it is shown field by field below).
    await waitFor(
      async () => {
        const served = await servedFromRedis(redisUrl, deployment.naming, PARTITIONS);
        return isDeepStrictEqual(served.atp, want.atp) && isDeepStrictEqual(served.orders, want.orders);
      },
      { timeoutMs: 15_000, intervalMs: 500, what: 'the rebuilt view to equal the fold of every event' },
    ).catch(() => undefined);
    await expectServedAsFold(components, deployment, want);
  }, 120_000);
});
