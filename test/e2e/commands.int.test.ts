/**
 * Commands across a rebuild (issue 5 acceptance, SPEC §7): a simulator run through `orders`,
 * `atp` and `customers`; then Redis loses the state (FLUSHDB of this file's own database) and the
 * processors rebuild it by replaying their inputs. Every command re-emitted by the rebuild carries
 * the commandId it had the first time, with the same body; no commandId ever carries two bodies;
 * and the commands whose cause fully determines them (goods issues, cancels, adjustments, …) are
 * re-emitted exactly, id for id.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulate } from '../../producers/simulator';
import { startComponents, type Components } from '../../runtime/app/components';
import { createDecoder } from '../../runtime/kafka/decode';
import { createKafka } from '../../runtime/kafka/client';
import { log } from '../../runtime/log';
import { uniqueName } from '../harness/names';
import { redisDb, testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import type { InputRecord } from '../reference/types';
import { deploy, publish, waitCaughtUp, waitRebuilt, type Deployment } from './pipeline-harness';

const stack = testStack();
const DB = 14;
const redisUrl = redisDb(stack.redisUrl, DB);
const PROCESSORS = ['orders', 'atp', 'customers'];
// Commands whose payload is a function of their cause alone: a rebuild must re-emit exactly these ids.
const CAUSE_ONLY = new Set(['CancelSalesOrder', 'PostGoodsIssue', 'NotifyShipment', 'CreateCreditMemo', 'NotifyBackorder', 'RejectOrder', 'PostInventoryAdjustment', 'PostCycleCount']);

let deployment: Deployment;
let components: Components | undefined;
let redis: Redis;

interface Command {
  commandId: string;
  type: string;
  body: string;
}

async function readCommands(fromOffsets?: Map<string, bigint>): Promise<{ commands: Command[]; ends: Map<string, bigint> }> {
  const kafka = createKafka(stack.brokers, 'e2e-commands');
  const admin = kafka.admin();
  await admin.connect();
  const topics = ['erp.commands', 'crm.commands'].map((t) => deployment.naming.topic(t));
  const ends = new Map<string, bigint>();
  let wanted = 0n;
  for (const topic of topics) {
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
      ends.set(`${topic}:${partition}`, BigInt(high));
      wanted += BigInt(high) - (fromOffsets?.get(`${topic}:${partition}`) ?? 0n);
    }
  }
  await admin.disconnect();
  const decoder = createDecoder({ registryUrl: stack.registryUrl, catalogueTopic: (t) => deployment.naming.logical(t) });
  const consumer = kafka.consumer({ groupId: uniqueName('e2e-commands-reader') });
  const commands: Command[] = [];
  let read = 0n;
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      if (BigInt(message.offset) < (fromOffsets?.get(`${topic}:${partition}`) ?? 0n)) return;
      if (BigInt(message.offset) >= (ends.get(`${topic}:${partition}`) ?? 0n)) return;
      const value = (await decoder.decode(message.value, topic)).value as { commandId: string; type: string; payload: unknown; correlationId: unknown; occurredAt: unknown };
      commands.push({ commandId: value.commandId, type: value.type, body: JSON.stringify([value.type, value.payload, value.correlationId, value.occurredAt]) });
      read += 1n;
    },
  });
  await waitFor(() => read >= wanted, { what: `${wanted} command records`, timeoutMs: 60_000 });
  await consumer.disconnect();
  return { commands, ends };
}

function bodiesById(commands: readonly Command[]): Map<string, Set<string>> {
  const byId = new Map<string, Set<string>>();
  for (const c of commands) (byId.get(c.commandId) ?? byId.set(c.commandId, new Set()).get(c.commandId) as Set<string>).add(c.body);
  return byId;
}

async function start(): Promise<Components> {
  return startComponents({
    names: PROCESSORS,
    connection: { brokers: stack.brokers, registryUrl: stack.registryUrl, redisUrl, origin: { kafka: 'env', registry: 'env', redis: 'env' }, security: 'none' },
    topology: deployment.topology,
    naming: deployment.naming,
    log: log.child({ test: 'commands' }),
  });
}

const events: InputRecord[] = [...simulate({ seed: 77, events: 3_000, duplicateRate: 0.02 })].map((e) => ({ topic: e.topic, value: e.value }));

beforeAll(async () => {
  redis = new Redis(redisUrl);
  deployment = await deploy(stack, 'cmds');
  await publish(stack, deployment.naming, events.filter((e) => e.topic === 'item.upserted'));
  await publish(stack, deployment.naming, events.filter((e) => e.topic !== 'item.upserted'));
  components = await start();
  await waitCaughtUp(stack, deployment, 120_000, PROCESSORS);
}, 240_000);

afterAll(async () => {
  await components?.stop();
  if (redis) {
    const foreign = (await redis.keys('*')).filter((k) => !k.startsWith(`trb:{${deployment?.naming.prefix ?? '\u0000'}`));
    if (foreign.length === 0) await redis.flushdb();
    redis.disconnect();
  }
});

describe('commands are stable across a rebuild', () => {
  it('re-emits every command under its first commandId and body; no id ever has two bodies', async () => {
    const first = await readCommands();
    const types = new Set(first.commands.map((c) => c.type));
    for (const type of ['CreateSalesOrder', 'PostGoodsIssue', 'NotifyShipment', 'UpdateOrderStatus', 'PostInventoryAdjustment', 'UpdateAvailability', 'UpsertCustomer']) {
      expect(types, `the run emitted ${type}`).toContain(type);
    }
    for (const [id, bodies] of bodiesById(first.commands)) expect(bodies.size, `commandId ${id}`).toBe(1);

    // Lose the state: every processor notices, wipes and replays its inputs from the beginning.
    await redis.flushdb();
    await waitFor(() => components!.readiness().some((r) => !r.ok), { what: 'the processors to notice the lost state', timeoutMs: 20_000 });
    await waitRebuilt(stack, deployment, redisUrl, PROCESSORS);
    await waitFor(() => components!.readiness().every((r) => r.ok), { what: 'the processors to be ready again', timeoutMs: 30_000, intervalMs: 250 });
    const rebuilt = await readCommands(first.ends);
    expect(rebuilt.commands.length).toBeGreaterThan(0);

    const all = bodiesById([...first.commands, ...rebuilt.commands]);
    const twoBodies = [...all].filter(([, bodies]) => bodies.size > 1).map(([id, bodies]) => `${id}: ${[...bodies].join(' | ')}`);
    expect(twoBodies).toEqual([]);

    // Id for id, each side's surplus shown with its type and body.
    const causeOnly = (commands: Command[]) => new Map(commands.filter((c) => CAUSE_ONLY.has(c.type)).map((c) => [c.commandId, c]));
    const before = causeOnly(first.commands);
    const after = causeOnly(rebuilt.commands);
    const describe = (c: Command) => `${c.commandId} ${c.body}`;
    expect([...before.values()].filter((c) => !after.has(c.commandId)).map(describe), 'emitted the first time, not by the rebuild').toEqual([]);
    expect([...after.values()].filter((c) => !before.has(c.commandId)).map(describe), 'emitted by the rebuild only').toEqual([]);
    expect(after.size).toBe(before.size);
    const firstIds = new Set(first.commands.map((c) => c.commandId));
    const reused = rebuilt.commands.filter((c) => firstIds.has(c.commandId)).length;
    process.stderr.write(`[commands] first run ${first.commands.length} records, rebuild ${rebuilt.commands.length}, of which ${reused} under a commandId of the first run\n`);
  });
});
