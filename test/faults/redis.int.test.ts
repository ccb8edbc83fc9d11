/**
 * Reliability scenario 5 (issue 8): the Redis that holds the processors' state and the view goes
 * away. A redis-server of this file's own (./redis-server.ts: AOF on, a temporary directory, a
 * free port) backs `orders`, `atp` and the API, run in this process:
 *
 *  (a) SHUTDOWN while events stream in (Redis writes its AOF), down for a moment, started again
 *      from the AOF: /readyz says 503 meanwhile, processing resumes by itself — the batches that
 *      met Redis down pause and retry —, no state is judged lost, and the view, the API and the
 *      ledger end exact (./checker.ts).
 *  (b) kill -9 and started EMPTY (the AOF deleted): /readyz goes 503, every API answer from the
 *      kill until the view is served again is a 503 or the fold's value — never a 404 or another
 *      number —, the runtime notices the loss, rebuilds from the earliest offsets
 *      (tributary_state_rebuilds_total), and the view, the API and the ledger end exact.
 *
 * The flush test (test/e2e/flush.int.test.ts) covers FLUSHDB under a live Redis; this covers the
 * process going away and coming back. The redis-server is removed after the file.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startComponents, type Components } from '../../runtime/app/components';
import { log } from '../../runtime/log';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { pollUntilServed, probesOf } from '../e2e/api-probes';
import { deploy, expected, publish, waitCaughtUp, workload, type Deployment } from '../e2e/pipeline-harness';
import { check, expectExact } from './checker';
import { PROFILE, seed, sized } from './profile';
import { startOwnRedis, type OwnRedis } from './redis-server';

const stack = testStack();
const SEED = seed();
const running: Components[] = [];
let redis: OwnRedis | undefined;

afterEach(async () => {
  while (running.length > 0) await running.pop()?.stop();
});

afterAll(async () => {
  await redis?.remove();
});

async function start(deployment: Deployment, redisUrl: string): Promise<Components> {
  const components = await startComponents({
    names: ['orders', 'atp', 'api'],
    connection: { brokers: stack.brokers, registryUrl: stack.registryUrl, redisUrl, origin: { kafka: 'env', registry: 'env', redis: 'env' }, security: 'none' },
    topology: deployment.topology,
    naming: deployment.naming,
    log: log.child({ test: 'faults-redis' }),
    port: 0,
    host: '127.0.0.1',
  });
  running.push(components);
  return components;
}

async function readyz(url: string): Promise<number> {
  return (await fetch(`${url}/readyz`)).status;
}

async function rebuilds(components: Components): Promise<number> {
  const metric = components.metrics.registry.getSingleMetric('tributary_state_rebuilds_total');
  return ((await metric?.get())?.values ?? []).reduce((sum, { value }) => sum + value, 0);
}

function thirds<T>(items: readonly T[]): [T[], T[], T[]] {
  const third = Math.ceil(items.length / 3);
  return [items.slice(0, third), items.slice(third, 2 * third), items.slice(2 * third)];
}

describe(`scenario 5 (${PROFILE}): Redis restarted and Redis lost`, () => {
  it('(a) restarted from its AOF during traffic: /readyz 503 meanwhile, processing resumes by itself, everything exact', async () => {
    console.info(`redis.int.test.ts: seed ${SEED} (TRIBUTARY_TEST_SEED=${SEED} reproduces it), profile ${PROFILE}`);
    redis = await startOwnRedis();
    const deployment = await deploy(stack, 'f-redis-a');
    const load = workload({ seed: SEED, events: sized(3_000, 12_000), duplicateRate: 0.02, repeatRate: 0.03 });
    const [first, second, third] = thirds(load.rest);
    await publish(stack, deployment.naming, load.items);
    const components = await start(deployment, redis.url);
    const url = components.url as string;
    await publish(stack, deployment.naming, first);

    const publishing = publish(stack, deployment.naming, second);
    await redis.shutdown();
    const downAt = Date.now();
    await waitFor(async () => (await readyz(url)) === 503, { what: '/readyz to say 503 while Redis is down', timeoutMs: 10_000 });
    // The fault's duration, not a wait for readiness: events keep arriving while Redis is away.
    await new Promise((resolve) => setTimeout(resolve, sized(2_000, 15_000)));
    await redis.start();
    const downForMs = Date.now() - downAt;
    await publishing;
    await publish(stack, deployment.naming, third);

    await waitCaughtUp(stack, deployment, 180_000);
    await waitFor(async () => (await readyz(url)) === 200, { what: '/readyz 200 after the restart', timeoutMs: 60_000 });
    console.info(`redis.int.test.ts (a): Redis down ${downForMs} ms during traffic`);
    expect(await rebuilds(components), 'state judged lost after a clean restart').toBe(0);
    expect(components.readiness().filter((c) => !c.ok)).toEqual([]);
    expectExact(await check({ stack, deployment, label: `[scenario 5a ${PROFILE}]`, records: load.records, redisUrl: redis.url, apiUrl: url }));
  }, sized(180_000, 600_000));

  it('(b) killed and started empty: /readyz 503, no API answer differs from the fold, the view comes back exact', async () => {
    redis ??= await startOwnRedis();
    const deployment = await deploy(stack, 'f-redis-b');
    const load = workload({ seed: SEED + 1, events: sized(3_000, 12_000), duplicateRate: 0.02, repeatRate: 0.03 });
    const want = expected(load.records);
    await publish(stack, deployment.naming, load.records);
    const components = await start(deployment, redis.url);
    const url = components.url as string;
    await waitCaughtUp(stack, deployment, 180_000);
    await waitFor(async () => (await readyz(url)) === 200, { what: '/readyz 200 before the loss', timeoutMs: 60_000 });
    expect(await rebuilds(components)).toBe(0);

    await redis.kill();
    redis.wipe();
    const lostAt = Date.now();
    const polling = pollUntilServed(url, probesOf(want, 40), lostAt, 120_000);
    // Down for a moment (the fault), then back with nothing in it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await redis.start();
    const seen = await polling;
    console.info(
      `redis.int.test.ts (b): served again ${seen.readyz[seen.readyz.length - 1]?.atMs} ms after the loss, ${seen.rounds} rounds of ${probesOf(want, 40).length} probes, ${seen.unavailable.length} answers 503`,
    );
    // Never a 404 or a number other than the fold's; the loss was visible.
    expect(seen.failures).toEqual([]);
    expect(seen.readyz.some((r) => r.status === 503)).toBe(true);
    expect(seen.unavailable.length).toBeGreaterThan(0);
    expect(await rebuilds(components), 'partitions rebuilt after the loss').toBeGreaterThan(0);

    await waitCaughtUp(stack, deployment, 180_000);
    expectExact(await check({ stack, deployment, label: `[scenario 5b ${PROFILE}]`, records: load.records, redisUrl: redis.url, apiUrl: url }));
  }, sized(180_000, 600_000));

  it('(c) down when the processors start: they wait for it instead of exiting, then work as usual', async () => {
    redis = redis ?? (await startOwnRedis());
    const deployment = await deploy(stack, 'f-redis-c');
    const load = workload({ seed: SEED + 2, events: 1_000, duplicateRate: 0.02, repeatRate: 0.03 });
    await publish(stack, deployment.naming, load.items);
    await redis.kill();
    redis.wipe();
    let outcome: 'started' | Error | undefined;
    const starting = start(deployment, redis.url).then(
      (components) => ((outcome = 'started'), components),
      (error: Error) => ((outcome = error), undefined),
    );
    // The fault's duration, not a wait for readiness: Redis stays away this long.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(outcome, 'start-up outcome while Redis is down').toBeUndefined();
    await redis.start();
    const components = await starting;
    expect(outcome).toBe('started');
    await publish(stack, deployment.naming, load.rest);
    await waitCaughtUp(stack, deployment, 120_000);
    await waitFor(async () => (await readyz(components!.url as string)) === 200, { what: '/readyz 200', timeoutMs: 60_000 });
    expectExact(await check({ stack, deployment, label: `[scenario 5c ${PROFILE}]`, records: load.records, redisUrl: redis.url, apiUrl: components!.url as string }));
  }, 180_000);
});
