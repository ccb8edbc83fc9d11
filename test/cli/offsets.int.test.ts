/**
 * `tributary offsets reset` against the test stack: the plan's counts, that a plan changes
 * nothing, that --execute refuses while the group has a live member, and that a reset to a
 * datetime followed by a restart of the consumer reads exactly the records at or after it.
 */
import kafkajs, { type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { createTopics, deleteTopics, tributary, withAdmin } from '../publish/cli-helpers';

const { Partitioners } = kafkajs;

const PREFIX = `${uniqueName('offsets')}.`;
const TOPIC = `${PREFIX}reset.input`;
/** The orders processor's first input under the prefix: its group is a processor group. */
const ORDERS_INPUT = `${PREFIX}order.created`;
const GROUP = `${PREFIX}analysts`;
/** Record i of partition p has the timestamp BASE + i seconds; 8 records on each of 2 partitions. */
// An hour ago, whole seconds: record times older than the broker's 7-day retention get their
// segment deleted at the next retention check, which made this file fail now and then.
const BASE = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const PER_PARTITION = 8;
/** Records 5, 6, 7 of each partition are at or after this time. */
const CUT = new Date(BASE + 4_500).toISOString();

interface Row {
  topic: string;
  partition: number;
  current: string | null;
  target: string;
  replay: number;
  skip: number;
}

async function committed(group: string): Promise<Record<number, string>> {
  return withAdmin(async (admin) => {
    const [entry] = await admin.fetchOffsets({ groupId: group, topics: [TOPIC] });
    return Object.fromEntries((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
  });
}

/** A member of GROUP reading TOPIC; `received` collects `p:value` of every record it got. */
async function startConsumer(received: string[]): Promise<Consumer> {
  const consumer = createKafka(testStack().brokers, 'offsets-test').consumer({ groupId: GROUP, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ partition, message }) => void received.push(`${partition}:${message.value?.toString()}`) });
  return consumer;
}

const reset = (...args: string[]) => tributary(['offsets', 'reset', '--topic-prefix', PREFIX, '--group', GROUP, ...args]);

beforeAll(async () => {
  await createTopics([TOPIC], 2);
  await createTopics([ORDERS_INPUT], 2);
  const producer = createKafka(testStack().brokers, 'offsets-test').producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({
    topic: TOPIC,
    messages: [0, 1].flatMap((partition) =>
      Array.from({ length: PER_PARTITION }, (_, i) => ({ partition, key: `k${i}`, value: `r${i}`, timestamp: String(BASE + i * 1000) })),
    ),
  });
  await producer.disconnect();
  // The group read everything once, then stopped.
  const received: string[] = [];
  const consumer = await startConsumer(received);
  await waitFor(async () => Object.values(await committed(GROUP)).filter((o) => o === String(PER_PARTITION)).length === 2, { timeoutMs: 60_000, what: 'the group to commit both partitions' });
  await consumer.disconnect();
}, 120_000);

afterAll(async () => {
  await withAdmin((admin) => admin.deleteGroups([GROUP])).catch(() => undefined);
  await deleteTopics([TOPIC, ORDERS_INPUT]);
});

describe('offsets reset', () => {
  it('plans without changing anything: per partition current → target and the records to read again', async () => {
    const result = await reset('--to-datetime', CUT, '--format', 'json');
    expect(result.code, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as { execute: boolean; rows: Row[] };
    expect(plan.execute).toBe(false);
    expect(plan.rows.map(({ topic, partition, current, target, replay, skip }) => ({ topic, partition, current, target, replay, skip }))).toEqual([
      { topic: TOPIC, partition: 0, current: '8', target: '5', replay: 3, skip: 0 },
      { topic: TOPIC, partition: 1, current: '8', target: '5', replay: 3, skip: 0 },
    ]);
    const table = await reset('--to-earliest', '--partitions', '1');
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/1 partitions: 8 records to read again, 0 to skip/);
    expect(table.stdout).toMatch(/nothing changed: run again with --execute/);
    expect(await committed(GROUP)).toEqual({ 0: '8', 1: '8' });
  });

  it('refuses --execute while the group has a live member, naming it, and changes nothing', async () => {
    const consumer = await startConsumer([]);
    try {
      await waitFor(async () => (await withAdmin((a) => a.describeGroups([GROUP]))).groups[0]?.state === 'Stable', { timeoutMs: 60_000, what: 'the member to join' });
      const result = await reset('--to-earliest', '--execute');
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/TRB_GROUP_ACTIVE: group .*analysts has 1 live member \(offsets-test on .*\): stop them/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(await committed(GROUP)).toEqual({ 0: '8', 1: '8' });
    } finally {
      await consumer.disconnect();
    }
  });

  it('after a reset to a datetime, the restarted group reads exactly the records at or after it', async () => {
    const result = await reset('--to-datetime', CUT, '--execute');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/reset 2 partitions of group/);
    expect(await committed(GROUP)).toEqual({ 0: '5', 1: '5' });

    const received: string[] = [];
    const consumer = await startConsumer(received);
    try {
      await waitFor(async () => Object.values(await committed(GROUP)).filter((o) => o === String(PER_PARTITION)).length === 2, { timeoutMs: 60_000, what: 'the group to read to the end again' });
    } finally {
      await consumer.disconnect();
    }
    expect(received.sort()).toEqual(['0:r5', '0:r6', '0:r7', '1:r5', '1:r6', '1:r7']);
  });

  it('says what a reset means for a processor group', async () => {
    const result = await tributary(['offsets', 'reset', '--topic-prefix', PREFIX, '--group', 'orders', '--to-latest']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`reset plan for group ${PREFIX}tributary.orders`);
    expect(result.stdout).toMatch(/is a processor: it resumes from its state in Redis.*tributary rebuild orders/s);
  });

  it('one-line errors: a time without a zone is a usage error, an unknown topic says so', async () => {
    const noZone = await reset('--to-datetime', '2026-11-20T10:00:00');
    expect(noZone.code).toBe(2);
    expect(noZone.stderr).toMatch(/TRB_USAGE: --to-datetime .* with a zone/);
    const unknown = await reset('--topic', 'no.such.topic', '--to-earliest');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/TRB_UNKNOWN_TOPIC: topic "no.such.topic" does not exist/);
  });
});
