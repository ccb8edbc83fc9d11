/**
 * Reliability scenario 3 (issue 8): the broker restarts while events stream in. A broker of this
 * file's own (./kafka-broker.ts: single-node KRaft, temporary directory, fixed free ports) and an
 * embedded schema registry on it (its schemas live in the broker's `_schemas` topic, so the shared
 * stack's registry cannot serve it), with the shared stack's Redis (db 6). One `tributary run
 * orders atp api` child — with the sinks `erp crm` and stand-in receivers in (b), and in (a) too
 * in the full profile — works through a backlog while more events are published, and the broker
 *
 *  (a) is stopped cleanly (SIGTERM: it flushes, closes its logs, hands nothing over — one node),
 *      stays down a moment, and is started again on the same directory and ports;
 *  (b) is killed with SIGKILL (no flush, no clean close: log recovery on the next start) and
 *      started again.
 *
 * The publisher rides through as a source system would: a chunk whose publish failed is sent again
 * with the same eventIds. The child is never restarted: processing must resume by itself. After
 * healing and draining, the checker (./checker.ts): view and API equal the reference fold, every
 * input offset applied, skipped as a duplicate or dead-lettered (none: a broker that is away
 * pauses, never dead-letters), every command in effect once, in order per key.
 *
 * Why the sinks sit out (a) in the quick profile: a sink whose consumer restarted after the outage
 * gets its partitions back only once its old member's session expired — kafkajs' 30 s default,
 * the sinks set no other — which is half a minute of CI, paid once.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRegistry, type RunningRegistry } from '../../runtime/registry/server';
import { createKafka } from '../../runtime/kafka/client';
import type { Naming } from '../../runtime/processor/naming';
import { startReceiver, type Receiver } from '../../sinks/receivers/receiver';
import type { InputRecord } from '../reference/types';
import { testStack, type TestStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { killAllChildren, startTributary } from '../e2e/child-process';
import { publish, totalLag, waitCaughtUp, workload, type Deployment } from '../e2e/pipeline-harness';
import { check, expectExact } from './checker';
import { dropState, faultsRedisUrl, waitSinksDrained } from './harness';
import { deployOn, startOwnKafka, type OwnKafka } from './kafka-broker';
import { FULL, PROFILE, seed, sized } from './profile';

const shared = testStack();
const SEED = seed();
const redisUrl = faultsRedisUrl(shared);
const PROCESSORS = ['orders', 'atp'] as const;
const SINKS: readonly string[] = ['erp', 'crm'];
const EVENTS = sized(2_000, 12_000);
/** How long the broker stays down between stop and start (the fault), on top of its own stop and start. */
const DOWN_MS = sized(2_000, 15_000);

let kafka: OwnKafka | undefined;
let registry: RunningRegistry | undefined;
let stack: TestStack;
const deployments: Deployment[] = [];
const receivers: Receiver[] = [];

beforeAll(async () => {
  const startedAt = Date.now();
  kafka = await startOwnKafka();
  console.info(`broker.int.test.ts: own broker ${kafka.brokers.join(',')} ready in ${Date.now() - startedAt} ms`);
}, 180_000);

/**
 * A registry per test: after a broker restart the embedded registry's `_schemas` reader may have
 * given up (it then refuses writes until restarted, runtime/registry/kafka-log.ts) while still
 * serving reads — enough for the processors, not for the next test's deployment.
 */
beforeEach(async () => {
  registry = await startRegistry({ brokers: (kafka as OwnKafka).brokers, host: '127.0.0.1', port: 0 });
  stack = { brokers: (kafka as OwnKafka).brokers, registryUrl: registry.url, redisUrl: shared.redisUrl, mode: shared.mode };
});

afterEach(async () => {
  await killAllChildren();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await registry?.close();
  registry = undefined;
});

afterAll(async () => {
  await killAllChildren();
  await registry?.close();
  await kafka?.remove();
  for (const deployment of deployments) await dropState(redisUrl, deployment);
});

/**
 * Publishes in chunks; a chunk whose publish failed (the broker away longer than the publisher's
 * retries) is sent again whole, with the same eventIds, as a retrying source does. Returns the
 * chunks sent again.
 */
async function publishThrough(names: Naming, records: readonly InputRecord[], size = 200): Promise<number> {
  let resent = 0;
  for (let i = 0; i < records.length; i += size) {
    const chunk = records.slice(i, i + size);
    await waitFor(
      async () => {
        try {
          await publish(stack, names, chunk);
          return true;
        } catch (error) {
          resent += 1;
          throw error;
        }
      },
      { what: `chunk ${i / size} published`, timeoutMs: 180_000, intervalMs: 500 },
    );
  }
  return resent;
}

async function restartDuringTraffic(how: 'SIGTERM' | 'SIGKILL', scenario: string): Promise<void> {
  const own = kafka as OwnKafka;
  const t0 = Date.now();
  const phases: string[] = [];
  const phase = (name: string) => phases.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const load = workload({ seed: how === 'SIGTERM' ? SEED : SEED + 1, events: EVENTS, duplicateRate: 0.02, repeatRate: 0.03 });
  const deployment = await deployOn(stack, `f-broker-${how === 'SIGTERM' ? 'term' : 'kill'}`);
  deployments.push(deployment);
  const names = deployment.naming;
  const sinks = how === 'SIGKILL' || FULL ? SINKS : [];
  const [erp, crm] = await Promise.all([startReceiver({ name: 'erp' }), startReceiver({ name: 'crm' })]);
  receivers.push(erp, crm);
  const at = (share: number) => Math.floor(load.rest.length * share);
  const [backlog, during, after] = [load.rest.slice(0, at(0.4)), load.rest.slice(at(0.4), at(0.8)), load.rest.slice(at(0.8))];
  await publish(stack, names, load.items);
  await publish(stack, names, backlog);
  phase('deployed and backlog published');

  const child = startTributary({
    stack,
    prefix: names.prefix,
    names: [...PROCESSORS, 'api', ...sinks],
    label: `run (${how})`,
    env: { REDIS_URL: redisUrl, PORT: '0', ERP_URL: erp.url, CRM_URL: crm.url, ERP_RATE_LIMIT: '500', CRM_RATE_LIMIT: '500' },
  });
  await child.started(PROCESSORS);
  const apiUrl = await child.url();
  phase('run started');

  const admin = createKafka(stack.brokers, 'faults-broker-lag').admin();
  await admin.connect();
  const before = await totalLag(admin, deployment);
  // Into its work, not at start-up: some of the backlog done, most of it still to do.
  await waitFor(async () => (await totalLag(admin, deployment)) <= before - Math.min(200, Math.ceil(before / 10)), { what: 'the processors to make progress', timeoutMs: 60_000, intervalMs: 100 });
  phase('into its work');

  const publishing = publishThrough(names, during);
  // Records arriving and not yet committed when the broker goes: the fault meets work in flight.
  const lagAtFault = await waitFor(async () => await totalLag(admin, deployment), { what: 'records to process', timeoutMs: 30_000, intervalMs: 20 });
  await admin.disconnect();
  const linesBefore = child.lines.length;
  const downAt = Date.now();
  if (how === 'SIGTERM') await own.stop();
  else await own.kill();
  const stoppedInMs = Date.now() - downAt;
  // The fault's duration, not a wait for readiness: the processors and the publisher meet a broker that is away.
  await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
  await own.start();
  const downForMs = Date.now() - downAt;
  phase('broker back');
  const resent = await publishing;
  await publishThrough(names, after);
  phase('all published');

  try {
    await waitCaughtUp(stack, deployment, sized(90_000, 300_000));
    phase('processors caught up');
    if (sinks.length > 0) await waitSinksDrained(stack, deployment, sinks, sized(90_000, 300_000));
  } catch (error) {
    console.error(`${child.label} since the fault:\n${child.tail(60)}`);
    throw error;
  }
  await waitFor(async () => (await fetch(`${apiUrl}/readyz`)).status === 200, { what: '/readyz 200 after the restart', timeoutMs: 60_000 });
  phase('drained');
  const since = child.lines.slice(linesBefore);
  const crashes = since.filter((l) => l.msg === 'consumer crashed').length;
  console.info(
    `broker.int.test.ts ${scenario}: broker ${how === 'SIGTERM' ? 'stopped cleanly' : 'killed'} in ${stoppedInMs} ms with ${lagAtFault} records left to process, down ${downForMs} ms in all; ` +
      `publisher chunks sent again ${resent}; consumer crashes logged (and restarted by kafkajs) ${crashes}; ` +
      (sinks.length > 0 ? `receiver duplicates answered ${[erp, crm].reduce((n, r) => n + r.attempts().filter((a) => a.status === 200).length, 0)}` : 'no sinks'),
  );
  // It went on by itself: never exited, no partition given up on.
  expect(child.exit(), 'the run child is still running').toBeUndefined();
  expect(child.lines.filter((l) => l.msg.startsWith('partition stopped')).map((l) => l.msg)).toEqual([]);

  const report = await check({ stack, deployment, label: `[scenario ${scenario} ${PROFILE}]`, records: load.records, redisUrl, apiUrl, receivers: sinks.length > 0 ? { erp, crm } : undefined });
  phase('checked');
  console.info(`broker.int.test.ts ${scenario} phases: ${phases.join(', ')}`);
  expectExact(report);
  expect(report.counts.deadLettered, 'records dead-lettered (a broker away must pause, never dead-letter)').toBe(0);
}

describe(`scenario 3 (${PROFILE}): broker restarts during traffic`, () => {
  it('(a) clean restart (SIGTERM, down, start on the same data and ports): processing resumes by itself, everything exact', async () => {
    console.info(`broker.int.test.ts: seed ${SEED} (TRIBUTARY_TEST_SEED=${SEED} reproduces it), profile ${PROFILE}`);
    await restartDuringTraffic('SIGTERM', '3a');
  }, sized(180_000, 600_000));

  it('(b) kill -9 and restart (log recovery): processing resumes by itself, everything exact', async () => {
    await restartDuringTraffic('SIGKILL', '3b');
  }, sized(180_000, 600_000));
});
