/**
 * Reliability scenario 7 (issue 8, SPEC §7, §12): the `erp` and `crm` sinks delivering a simulator
 * run's commands to stand-in receivers (sinks/receivers) that misbehave in every way SPEC §7 names,
 * judged by the shared checker and its ledger (./checker.ts) instead of hand-made commands:
 *
 *  - throughout: 500 (other 5xx: backoff), 429 with Retry-After, and answers slower than the
 *    sinks' timeout (the command takes effect anyway, the sink gives up and sends it again: the
 *    receiver answers "duplicate"), drawn from a seeded plan;
 *  - 400/422 for specific command types (at the ERP PostCycleCount 422, UpdateSalesOrder and
 *    CancelSalesOrder 400; at the CRM NotifyBackorder 422, RejectOrder 400): those commands are
 *    dead-lettered at once to `<topic>.dlq` with the receiver's status and body, and the later
 *    commands of their keys go on;
 *  - both receivers down (connection refused) while half the events are published: the circuits
 *    open, consumption pauses, nothing is dead-lettered however long the outage (10 s quick,
 *    3 minutes full), and delivery resumes by itself.
 *
 * At the end: the view equals the fold; every command on the command topics took effect exactly
 * once at its receiver (UpdateAvailability coalesced, the last of a row always sent), in topic
 * order per key, no commandId with two bodies; and the sink DLQs hold exactly the records of the
 * rejected types, each once, with TRB_SINK_REJECTED, the status and the receiver's body.
 *
 * What is reused rather than repeated: sinks/http/sink.int.test.ts proves the sink's mechanics on
 * hand-made commands (Retry-After timing, the rate limit, coalescing windows, OAuth2, a second
 * instance joining, the two-minute outage with a short maxRetryMs); test/e2e/delivery.int.test.ts
 * runs a simulator through flaky receivers with its own assertions. This file adds the rejections
 * and the outage to that pipeline run and judges it all through the checker and the ledger.
 * Components run in this process, as delivery.int.test.ts does, so the sinks' timeout can be
 * shorter than the receivers' slow answers (topology.yaml says 10 s) and more keys can be in
 * flight (16, not 4: each failed attempt holds its key for a second or so, and with 4 the backlog
 * after the outage took most of a minute to drain on a busy 2-core box).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startComponents, type Components } from '../../runtime/app/components';
import { createKafka } from '../../runtime/kafka/client';
import { createDecoder } from '../../runtime/kafka/decode';
import { log } from '../../runtime/log';
import { startReceiver, type FailurePlan, type Receiver } from '../../sinks/receivers/receiver';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { deploy, publish, waitCaughtUp, workload, type Deployment } from '../e2e/pipeline-harness';
import { check, expectExact } from './checker';
import { dropState, faultsRedisUrl, waitSinksDrained } from './harness';
import { PROFILE, seed, sized } from './profile';
import { readTopic, sourceOf } from './read-topic';

const stack = testStack();
const SEED = seed();
const redisUrl = faultsRedisUrl(stack);
const SINKS = ['erp', 'crm'] as const;
type Sink = (typeof SINKS)[number];
const EVENTS = sized(1_500, 10_000);
const OUTAGE_MS = sized(10_000, 180_000);
const TIMEOUT_MS = 1_000;
/** Business refusals, always the same for a type (failure-plan.ts): these commands must end in the DLQ. */
const REJECT: Record<Sink, Record<string, 400 | 422>> = {
  // Frequent enough in any workload (stock.counted; order.changed and order.cancelled together)
  // that both statuses are always exercised.
  erp: { PostCycleCount: 422, UpdateSalesOrder: 400, CancelSalesOrder: 400 },
  // Rarer (a pick short, an invalid order): a seed may have none, the DLQ must still match.
  crm: { NotifyBackorder: 422, RejectOrder: 400 },
};
const plan = (sink: Sink, seedOf: number): FailurePlan => ({
  errorRate: 0.08,
  rate429: 0.05,
  retryAfterSeconds: 1,
  slowRate: 0.03,
  slowMs: TIMEOUT_MS + 500,
  reject: REJECT[sink],
  seed: seedOf,
});

const receivers: Partial<Record<Sink, Receiver>> = {};
let components: Components | undefined;
let deployment: Deployment | undefined;

afterAll(async () => {
  await components?.stop();
  await Promise.all(Object.values(receivers).map((r) => r.close()));
  if (deployment) await dropState(redisUrl, deployment);
});

async function circuitState(sink: Sink): Promise<number | undefined> {
  const metric = components?.metrics.registry.getSingleMetric('tributary_sink_circuit_state');
  return (await metric?.get())?.values.find((v) => v.labels.sink === sink)?.value;
}

describe(`scenario 7 (${PROFILE}): receivers answering 429, 5xx, too slowly, 400/422, and down for a while`, () => {
  it('every command once in effect, in order per key, the rejected ones and only them dead-lettered with status and body', async () => {
    console.info(`receivers.int.test.ts: seed ${SEED} (TRIBUTARY_TEST_SEED=${SEED} reproduces it), profile ${PROFILE}`);
    const load = workload({ seed: SEED, events: EVENTS, duplicateRate: 0.02, repeatRate: 0.02 });
    const deployed = await deploy(stack, 'f-recv');
    deployment = deployed;
    const names = deployed.naming;
    receivers.erp = await startReceiver({ name: 'erp', failure: plan('erp', SEED) });
    receivers.crm = await startReceiver({ name: 'crm', failure: plan('crm', SEED + 1) });
    const topology = {
      ...deployed.topology,
      sinks: deployed.topology.sinks.map((s) => ({ ...s, url: (receivers[s.name as Sink] as Receiver).url, rateLimit: 400, timeoutMs: TIMEOUT_MS, concurrency: 16 })),
    };
    await publish(stack, names, load.items);
    components = await startComponents({
      names: ['orders', 'atp', ...SINKS],
      connection: { brokers: stack.brokers, registryUrl: stack.registryUrl, redisUrl, origin: { kafka: 'env', registry: 'env', redis: 'env' }, security: 'none' },
      topology,
      naming: names,
      log: log.child({ test: 'faults-receivers' }),
    });

    const half = Math.ceil(load.rest.length / 2);
    await publish(stack, names, load.rest.slice(0, half));
    await waitFor(() => SINKS.every((s) => (receivers[s] as Receiver).applied().length >= 50), { what: 'commands taking effect at both receivers', timeoutMs: 60_000 });

    // Both receivers down while the second half of the events turns into commands.
    const downAt = Date.now();
    await Promise.all(SINKS.map((s) => (receivers[s] as Receiver).setDown(true)));
    const appliedWhenDown = Object.fromEntries(SINKS.map((s) => [s, (receivers[s] as Receiver).applied().length]));
    await publish(stack, names, load.rest.slice(half));
    await waitFor(async () => (await Promise.all(SINKS.map(circuitState))).every((state) => state === 2), { what: 'both circuits to open', timeoutMs: 60_000 });
    await waitCaughtUp(stack, deployed, 120_000);
    // The outage is the fault itself (not readiness): it lasts OUTAGE_MS, however fast the rest was.
    const left = OUTAGE_MS - (Date.now() - downAt);
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
    const outage = Date.now() - downAt;
    await Promise.all(SINKS.map((s) => (receivers[s] as Receiver).setDown(false)));
    await waitSinksDrained(stack, deployed, SINKS, sized(180_000, 600_000));

    // The faults happened.
    for (const sink of SINKS) {
      const attempts = (receivers[sink] as Receiver).attempts();
      const count = (status: number) => attempts.filter((a) => a.status === status).length;
      expect({ sink, 500: count(500) > 0, 429: count(429) > 0, 'duplicate after a timeout': count(200) > 0 }, `${sink}: injected failures`).toEqual({
        sink,
        500: true,
        429: true,
        'duplicate after a timeout': true,
      });
      expect((receivers[sink] as Receiver).applied().length, `${sink}: commands took effect after the outage`).toBeGreaterThan(appliedWhenDown[sink] as number);
    }

    // The sink DLQs hold exactly the records of the rejected types, with status and body.
    const kafka = createKafka(stack.brokers, 'faults-receivers');
    const admin = kafka.admin();
    await admin.connect();
    const decoder = createDecoder({ registryUrl: stack.registryUrl, catalogueTopic: (t) => names.logical(t) });
    const rejectedCounts: Record<string, number> = {};
    try {
      for (const sink of SINKS) {
        const topic = names.topic(`${sink}.commands`);
        const commands = await readTopic(stack, admin, topic);
        const refused = new Map<string, { type: string; commandId: string; status: number }>();
        for (const record of commands) {
          const { type, commandId } = (await decoder.decode(record.value, topic)).value as { type: string; commandId: string };
          const status = REJECT[sink][type];
          if (status !== undefined) refused.set(`${record.partition}@${record.offset}`, { type, commandId, status });
        }
        for (const type of Object.keys(REJECT[sink])) rejectedCounts[`${sink} ${type}`] = [...refused.values()].filter((r) => r.type === type).length;
        const letters = await readTopic(stack, admin, `${topic}.dlq`);
        expect(letters.map(sourceOf).sort(), `${sink}.commands.dlq: the records of the rejected types, each once`).toEqual([...refused.keys()].sort());
        for (const letter of letters) {
          const want = refused.get(sourceOf(letter));
          const body = JSON.parse(letter.headers['tributary.sink.body'] ?? '{}') as { commandId?: string; type?: string; error?: string };
          expect({ code: letter.headers['tributary.error.code'], status: letter.headers['tributary.sink.status'], commandId: body.commandId, type: body.type, error: body.error }, `${sink} dead letter ${sourceOf(letter)}`).toEqual({
            code: 'TRB_SINK_REJECTED',
            status: String(want?.status),
            commandId: want?.commandId,
            type: want?.type,
            error: want?.status === 422 ? 'unprocessable_command' : 'bad_command',
          });
        }
      }
    } finally {
      await admin.disconnect();
    }
    expect(rejectedCounts['erp PostCycleCount'], 'PostCycleCount commands (rejected with 422)').toBeGreaterThan(0);
    expect((rejectedCounts['erp UpdateSalesOrder'] ?? 0) + (rejectedCounts['erp CancelSalesOrder'] ?? 0), 'UpdateSalesOrder and CancelSalesOrder commands (rejected with 400)').toBeGreaterThan(0);

    const report = await check({ stack, deployment: deployed, label: `[scenario 7 ${PROFILE}]`, records: load.records, redisUrl, receivers: receivers as Record<string, Receiver> });
    const attempts = SINKS.map((s) => `${s}: ${(receivers[s] as Receiver).attempts().length} requests, ${(receivers[s] as Receiver).attempts().filter((a) => a.status >= 500 || a.status === 429).length} answered 5xx/429`).join(', ');
    console.info(`  (receivers down ${Math.round(outage / 1000)} s; ${attempts}; rejected ${JSON.stringify(rejectedCounts)})`);
    expectExact(report);
    expect(report.counts.deadLettered, 'dead-lettered in the ledger: the rejected commands').toBe(Object.values(rejectedCounts).reduce((a, b) => a + b, 0));
  }, sized(240_000, 1_200_000));
});
