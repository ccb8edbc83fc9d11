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
import { redisDb, testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { pollUntilServed, probesOf, wrongAnswers, type Want } from './api-probes';
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

/** Every row and order status in Redis, and every GET answer, equal the fold. */
async function expectServedAsFold(components: Components, deployment: Deployment, want: Want): Promise<void> {
  const served = await servedFromRedis(redisUrl, deployment.naming, PARTITIONS);
  expect(served.atp).toEqual(want.atp);
  expect(served.orders).toEqual(want.orders);
  expect(await wrongAnswers(components.url as string, want)).toEqual([]);
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
    await waitFor(
      async () => {
        const answer = await fetch(`${components.url}/readyz`);
        if (answer.status === 200) return true;
        // The timeout then says what is still not ready.
        throw new Error(`/readyz ${answer.status}: ${JSON.stringify(((await answer.json()) as { checks: { ok: boolean }[] }).checks.filter((c) => !c.ok))}`);
      },
      { timeoutMs: 60_000, what: 'the API to be ready after the rebuild' },
    );
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
