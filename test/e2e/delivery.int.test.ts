/**
 * Commands end to end (issue 5 acceptance): a simulator run through the processors and the `erp`
 * and `crm` sinks to stand-in receivers that fail a fifth of the requests (500, 429 with
 * Retry-After, answers slower than the sink's timeout). Every command on the command topics takes
 * effect at its receiver exactly once under its commandId — UpdateAvailability coalesced per row,
 * the last one per row always delivered —, no Idempotency-Key ever carries two bodies, the ERP
 * sees each entity's commands in topic order, and nothing is dead-lettered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulate } from '../../producers/simulator';
import { startReceiver, type Receiver } from '../../sinks/receivers/receiver';
import { startComponents, type Components } from '../../runtime/app/components';
import { createDecoder } from '../../runtime/kafka/decode';
import { createKafka } from '../../runtime/kafka/client';
import { log } from '../../runtime/log';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import type { InputRecord } from '../reference/types';
import { deploy, publish, waitCaughtUp, type Deployment } from './pipeline-harness';

const stack = testStack();
const SEED = 5150;
const events: InputRecord[] = [...simulate({ seed: SEED, events: 1_500, duplicateRate: 0.02 })].map((e) => ({ topic: e.topic, value: e.value }));
const failure = { errorRate: 0.1, rate429: 0.05, retryAfterSeconds: 1, slowRate: 0.05, slowMs: 1_500, seed: SEED };

let deployment: Deployment;
let components: Components | undefined;
const receivers: Record<'erp' | 'crm', Receiver> = {} as never;

interface TopicCommand {
  key: string;
  commandId: string;
  type: string;
  body: string;
}

async function readTopic(topic: string): Promise<TopicCommand[]> {
  const kafka = createKafka(stack.brokers, 'e2e-delivery');
  const admin = kafka.admin();
  await admin.connect();
  const total = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  await admin.disconnect();
  const decoder = createDecoder({ registryUrl: stack.registryUrl, catalogueTopic: (t) => deployment.naming.logical(t) });
  const consumer = kafka.consumer({ groupId: uniqueName('e2e-delivery-reader') });
  const byPartition = new Map<number, TopicCommand[]>();
  let read = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const value = (await decoder.decode(message.value, topic)).value as { commandId: string; type: string; payload: unknown };
      const list = byPartition.get(partition) ?? byPartition.set(partition, []).get(partition)!;
      list.push({ key: message.key!.toString(), commandId: value.commandId, type: value.type, body: JSON.stringify(value.payload) });
      read += 1;
    },
  });
  await waitFor(() => read >= total, { what: `all of ${topic}` });
  await consumer.disconnect();
  return [...byPartition.values()].flat();
}

async function sinkLag(): Promise<number> {
  const admin = createKafka(stack.brokers, 'e2e-delivery-lag').admin();
  await admin.connect();
  let lag = 0;
  for (const spec of deployment.topology.sinks) {
    const topic = deployment.naming.topic(spec.input);
    const committed = (await admin.fetchOffsets({ groupId: deployment.naming.group(spec.group), topics: [topic] }))[0]?.partitions ?? [];
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
      const at = BigInt(committed.find((p) => p.partition === partition)?.offset ?? '-1');
      lag += Number(BigInt(high) - (at < 0n ? 0n : at));
    }
  }
  const dlq = await Promise.all(['erp.commands.dlq', 'crm.commands.dlq'].map(async (t) => (await admin.fetchTopicOffsets(deployment.naming.topic(t))).reduce((s, p) => s + Number(p.high), 0)));
  await admin.disconnect();
  return lag + dlq.reduce((a, b) => a + b, 0) * 1_000_000;
}

beforeAll(async () => {
  deployment = await deploy(stack, 'deliver');
  receivers.erp = await startReceiver({ name: 'erp', failure });
  receivers.crm = await startReceiver({ name: 'crm', failure: { ...failure, seed: SEED + 1 } });
  const topology = {
    ...deployment.topology,
    sinks: deployment.topology.sinks.map((s) => ({ ...s, url: receivers[s.name as 'erp' | 'crm'].url, rateLimit: 400, timeoutMs: 1_000 })),
  };
  await publish(stack, deployment.naming, events.filter((e) => e.topic === 'item.upserted'));
  await publish(stack, deployment.naming, events.filter((e) => e.topic !== 'item.upserted'));
  components = await startComponents({
    names: ['orders', 'atp', 'customers', 'erp', 'crm'],
    connection: { brokers: stack.brokers, registryUrl: stack.registryUrl, redisUrl: stack.redisUrl, origin: { kafka: 'env', registry: 'env', redis: 'env' }, security: 'none' },
    topology,
    naming: deployment.naming,
    log: log.child({ test: 'delivery' }),
  });
  await waitCaughtUp(stack, deployment, 120_000, ['orders', 'atp', 'customers']);
  let quiet = 0;
  await waitFor(async () => {
    quiet = (await sinkLag()) === 0 ? quiet + 1 : 0;
    return quiet >= 3;
  }, { what: 'both sinks to commit every command, with no dead letter', timeoutMs: 180_000, intervalMs: 1_000 });
}, 300_000);

afterAll(async () => {
  await components?.stop();
  await Promise.all(Object.values(receivers).map((r) => r?.close()));
});

describe('commands from a simulator run reach receivers that fail a fifth of the time', () => {
  it('every command takes effect exactly once, in order per entity, never two bodies under one key', async () => {
    for (const sink of ['erp', 'crm'] as const) {
      const published = await readTopic(deployment.naming.topic(`${sink}.commands`));
      const receiver = receivers[sink];
      const failures = receiver.attempts().filter((a) => a.status >= 500 || a.status === 429).length;
      expect(failures, `${sink} receiver injected failures`).toBeGreaterThan(0);
      expect(receiver.conflicts()).toEqual([]);

      const applied = receiver.applied();
      const appliedIds = applied.map((d) => d.commandId);
      expect(new Set(appliedIds).size, `${sink}: each commandId took effect once`).toBe(appliedIds.length);
      const byId = new Map(published.map((c) => [c.commandId, c]));
      for (const delivery of applied) expect(byId.has(delivery.commandId), `${sink} applied a command that was published`).toBe(true);

      const appliedSet = new Set(appliedIds);
      const lastPerRow = new Map<string, string>();
      for (const c of published) if (c.type === 'UpdateAvailability') lastPerRow.set(c.key, c.commandId);
      const expectedIds = new Set([...published.filter((c) => c.type !== 'UpdateAvailability').map((c) => c.commandId), ...lastPerRow.values()]);
      const missing = [...expectedIds].filter((id) => !appliedSet.has(id));
      expect(missing, `${sink}: commands that never took effect`).toEqual([]);
      for (const delivery of applied) expect(JSON.stringify(delivery.body)).toBe(byId.get(delivery.commandId)?.body);

      if (sink === 'erp') {
        // Per key, the receiver applied the commands in the order of the topic (no coalescing here).
        const topicOrder = new Map<string, string[]>();
        for (const c of published) {
          const list = topicOrder.get(c.key) ?? topicOrder.set(c.key, []).get(c.key)!;
          if (!list.includes(c.commandId)) list.push(c.commandId);
        }
        const keyOf = new Map(published.map((c) => [c.commandId, c.key]));
        const receivedOrder = new Map<string, string[]>();
        for (const d of applied) {
          const key = keyOf.get(d.commandId)!;
          (receivedOrder.get(key) ?? receivedOrder.set(key, []).get(key)!).push(d.commandId);
        }
        for (const [key, ids] of receivedOrder) expect(ids, `order of ${key}`).toEqual(topicOrder.get(key));
      }
      process.stderr.write(`[delivery] ${sink}: ${published.length} records, ${expectedIds.size} expected, ${applied.length} applied, ${failures} injected failures, ${receiver.attempts().length} requests\n`);
    }
  });
});
