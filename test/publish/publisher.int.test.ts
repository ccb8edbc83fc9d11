/**
 * The producer SDK against the real stack: the simulator's output for a seed, published with
 * `publishMany`, reads back as exactly those records (count, keys, decoded values, per-key
 * order, CloudEvents headers), framed with the id the registry holds for `<topic>-value`.
 * `publish` + `close` lose nothing; invalid values and missing topics send nothing.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher, type PublishRecord } from '../../producers/sdk';
import { sampleEvents } from '../../producers/sdk/sample-events';
import { simulate, SOURCE_TOPICS } from '../../producers/simulator';
import { TributaryError, ValidationError } from '../../runtime/errors';
import { createKafka } from '../../runtime/kafka/client';
import { avroOptions } from '../../runtime/schemas/avro-types';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { createTopics, deleteSubjects, deleteTopics, recordCount } from './cli-helpers';

const stack = testStack();
const prefix = `${uniqueName('sdk')}.`;
const topics = SOURCE_TOPICS.map((t) => `${prefix}${t}`);

interface ReadRecord {
  topic: string;
  partition: number;
  key: string;
  value: Record<string, unknown>;
  headers: Record<string, string>;
  schemaId: number;
}

async function readAll(names: string[], expected: number): Promise<ReadRecord[]> {
  const registry = new SchemaRegistry({ host: stack.registryUrl }, { [SchemaType.AVRO]: avroOptions() });
  const consumer = createKafka(stack.brokers, 'sdk-readback').consumer({ groupId: uniqueName('sdk-readback') });
  const records: ReadRecord[] = [];
  const raw: { topic: string; partition: number; message: KafkaMessage }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: names, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ topic, partition, message }) => void raw.push({ topic, partition, message }) });
    await waitFor(() => raw.length >= expected, { timeoutMs: 60_000, what: `${expected} records` });
  } finally {
    await consumer.disconnect();
  }
  for (const { topic, partition, message } of raw) {
    const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
    records.push({
      topic,
      partition,
      key: String(message.key),
      value: JSON.parse(JSON.stringify(await registry.decode(message.value!))),
      headers,
      schemaId: message.value!.readUInt32BE(1),
    });
  }
  return records;
}

beforeAll(async () => {
  await createTopics(topics, 3);
});

afterAll(async () => {
  await deleteSubjects(prefix);
  await deleteTopics(topics);
});

describe('createPublisher against the stack', () => {
  it('publishes a seeded simulation and reads back exactly those records, decoded', async () => {
    const events = [...simulate({ seed: 42, events: 2000, duplicateRate: 0.02 })];
    const publisher = createPublisher({ brokers: stack.brokers, registryUrl: stack.registryUrl, topicPrefix: prefix, batchSize: 300 });
    const summary = await publisher.publishMany(events.map((e) => ({ topic: e.topic, value: e.value }) as PublishRecord));
    await publisher.close();
    expect(summary.sent).toBe(2000);

    const read = await readAll(topics, 2000);
    expect(read).toHaveLength(2000);
    const line = (topic: string, key: string, value: unknown) => `${topic} ${key} ${JSON.stringify(value)}`;
    expect(read.map((r) => line(r.topic, r.key, r.value)).sort()).toEqual(events.map((e) => line(`${prefix}${e.topic}`, e.key, e.value)).sort());

    // Per key, records arrive in the order they were published (idempotent, one request in flight).
    const order = (list: { topic: string; key: string; id: string }[]) => {
      const byKey = new Map<string, string[]>();
      for (const r of list) byKey.set(`${r.topic} ${r.key}`, [...(byKey.get(`${r.topic} ${r.key}`) ?? []), r.id]);
      return Object.fromEntries(byKey);
    };
    const readPartitionOrder = [...read].sort((a, b) => a.partition - b.partition);
    expect(order(readPartitionOrder.map((r) => ({ topic: r.topic, key: r.key, id: (r.value.meta as { eventId: string }).eventId })))).toEqual(
      order(events.map((e) => ({ topic: `${prefix}${e.topic}`, key: e.key, id: e.value.meta.eventId }))),
    );

    for (const r of read) {
      const meta = r.value.meta as { eventId: string; occurredAt: number; source: string; correlationId: string | null };
      expect(r.headers.ce_id).toBe(meta.eventId);
      expect(r.headers.ce_type).toBe(r.topic.slice(prefix.length));
      expect(r.headers.ce_source).toBe(meta.source);
      expect(r.headers.ce_time).toBe(new Date(meta.occurredAt).toISOString());
      expect(r.headers.ce_specversion).toBe('1.0');
      expect(r.headers['content-type']).toBe('application/avro');
      if (meta.correlationId) expect(r.headers.ce_correlationid).toBe(meta.correlationId);
    }

    const subject = `${prefix}order.created-value`;
    const latest = (await (await fetch(`${stack.registryUrl}/subjects/${encodeURIComponent(subject)}/versions/latest`)).json()) as { id: number };
    const orderIds = new Set(read.filter((r) => r.topic === `${prefix}order.created`).map((r) => r.schemaId));
    expect([...orderIds]).toEqual([latest.id]);
  });

  it('publish() without awaiting each, then close(): every record is in the topic', async () => {
    const publisher = createPublisher({ brokers: stack.brokers, registryUrl: stack.registryUrl, topicPrefix: prefix, batchSize: 64, lingerMs: 50 });
    const base = sampleEvents()['stock.counted'];
    const before = await recordCount(`${prefix}stock.counted`);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) {
      pending.push(publisher.publish('stock.counted', { ...base, meta: { ...base.meta, eventId: `count-${i}` }, countedQuantity: i }, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }));
    }
    await publisher.close();
    await Promise.all(pending);
    expect((await recordCount(`${prefix}stock.counted`)) - before).toBe(500);
  });

  it('an invalid value is a ValidationError naming the field, and nothing is sent', async () => {
    const publisher = createPublisher({ brokers: stack.brokers, registryUrl: stack.registryUrl, topicPrefix: prefix });
    const before = await recordCount(`${prefix}return.received`);
    const good = sampleEvents()['return.received'];
    const bad = { ...good, lines: [{ ...good.lines[0]!, quantity: 1.5 }] };
    await expect(publisher.publish('return.received', bad)).rejects.toThrow(ValidationError);
    const error = await publisher.publishMany([{ topic: 'return.received', value: good }, { topic: 'return.received', value: bad }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).problems).toEqual([{ path: '[1].lines[0].quantity', code: 'NOT_INTEGER', message: 'expected an integer, got 1.5' }]);
    await publisher.close();
    expect(await recordCount(`${prefix}return.received`)).toBe(before);
  });

  it('a stream with an invalid record: those before it are sent, then the ValidationError', async () => {
    const publisher = createPublisher({ brokers: stack.brokers, registryUrl: stack.registryUrl, topicPrefix: prefix, batchSize: 1000, lingerMs: 10_000 });
    const before = await recordCount(`${prefix}customer.upserted`);
    const base = sampleEvents()['customer.upserted'];
    async function* stream(): AsyncGenerator<PublishRecord> {
      for (let i = 0; i < 30; i++) yield { topic: 'customer.upserted', value: { ...base, meta: { ...base.meta, eventId: `cust-${i}` }, customerId: `C-${i}` } };
      yield { topic: 'customer.upserted', value: { ...base, customerId: 'C 31' } };
      yield { topic: 'customer.upserted', value: base };
    }
    const error = await publisher.publishMany(stream()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).problems.map((p) => `${p.path} ${p.code}`)).toEqual(['customerId PATTERN']);
    // No linger wait and no close yet: the 30 were flushed when the stream failed.
    expect((await recordCount(`${prefix}customer.upserted`)) - before).toBe(30);
    await publisher.close();
  });

  it('a Kafka topic that does not exist is TRB_UNKNOWN_TOPIC telling to run topology apply', async () => {
    const publisher = createPublisher({ brokers: stack.brokers, registryUrl: stack.registryUrl, topicPrefix: `${uniqueName('absent')}.` });
    const error = await publisher.publish('order.cancelled', sampleEvents()['order.cancelled']).catch((e: unknown) => e);
    await publisher.close();
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).code).toBe('TRB_UNKNOWN_TOPIC');
    expect((error as Error).message).toMatch(/tributary topology apply/);
  });
});
