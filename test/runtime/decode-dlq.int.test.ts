/**
 * Decoder and dead letters against the run's real stack: catalogue schemas registered under
 * unique subjects are fetched by id and decoded (older writers through the current schema), an id
 * the registry lacks is an UnknownSchemaError, a registry on a closed port is a retriable
 * RegistryError, and a record that fails to decode travels to `<topic>.dlq` and comes back with
 * every header and its exact original bytes.
 */
import { createServer } from 'node:net';
import avro from 'avsc';
import kafkajs, { type Admin, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeError, RegistryError, UnknownSchemaError } from '../../runtime/errors';
import { classifyForDeadLetter, deadLetterOf, deadLetterTopic, fromDeadLetterMessage, toDeadLetterMessage } from '../../runtime/dlq';
import { createKafka } from '../../runtime/kafka/client';
import { createDecoder } from '../../runtime/kafka/decode';
import { avroOptions } from '../../runtime/schemas/avro-types';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const stack = testStack();
const registry = stack.registryUrl.replace(/\/+$/, '');
const prefix = uniqueName('decode-dlq');
const subjects: string[] = [];
const topics: string[] = [];
const consumers: Consumer[] = [];

async function register(subject: string, schema: unknown): Promise<number> {
  subjects.push(subject);
  const response = await fetch(`${registry}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': CONTENT_TYPE, accept: CONTENT_TYPE },
    body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
  const body = (await response.json()) as { id?: number };
  if (!response.ok || typeof body.id !== 'number') throw new Error(`register ${subject}: ${response.status} ${JSON.stringify(body)}`);
  return body.id;
}

/** A Confluent frame built by hand around an Avro body. */
function frame(id: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const stockAdjusted = loadCatalogue().require('stock.adjusted');
const event = {
  meta: { eventId: 'WMS-ADJ-77', occurredAt: 1763630400000, source: 'WMS', correlationId: 'flow-9', causationId: null },
  sku: 'SKU-10042',
  warehouse: 'DC-EAST',
  delta: 120,
  reason: 'RECEIPT',
};

afterAll(async () => {
  for (const subject of subjects) {
    await fetch(`${registry}/subjects/${encodeURIComponent(subject)}`, { method: 'DELETE' }).catch(() => undefined);
    await fetch(`${registry}/subjects/${encodeURIComponent(subject)}?permanent=true`, { method: 'DELETE' }).catch(() => undefined);
  }
});

describe('decoding records with schemas from the real registry', () => {
  const decoder = createDecoder({ registryUrl: registry, catalogueTopic: (topic) => topic.slice(topic.indexOf('.') + 1) });

  it('decodes a catalogue event framed with its registered id', async () => {
    const id = await register(`${prefix}.stock.adjusted-value`, stockAdjusted.schema);
    const value = frame(id, stockAdjusted.type.toBuffer(event));
    await expect(decoder.decode(value, `${prefix}.stock.adjusted`)).resolves.toEqual({ schemaId: id, value: event });
  });

  it('reads a record from an older writer with the current schema defaults', async () => {
    const older = structuredClone(stockAdjusted.schema) as { fields: { name: string; type: { fields: { name: string }[] } }[] };
    const meta = older.fields.find((f) => f.name === 'meta')!.type;
    meta.fields = meta.fields.filter((f) => f.name !== 'correlationId' && f.name !== 'causationId');
    const id = await register(`${prefix}.older.stock.adjusted-value`, older);
    const { correlationId: _c, causationId: _k, ...olderMeta } = event.meta;
    const body = avro.Type.forSchema(older as never, avroOptions()).toBuffer({ ...event, meta: olderMeta });
    const decoded = await decoder.decode(frame(id, body), `${prefix}.stock.adjusted`);
    expect(decoded).toEqual({ schemaId: id, value: { ...event, meta: { ...olderMeta, correlationId: null, causationId: null } } });
  });

  it('an id the registry does not have is an UnknownSchemaError (a dead letter, not a retry)', async () => {
    const error = await decoder.decode(frame(987654, Buffer.from([0x02])), `${prefix}.stock.adjusted`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownSchemaError);
    expect(classifyForDeadLetter(error)).toEqual({ deadLetter: true, code: 'TRB_UNKNOWN_SCHEMA' });
  });

  it('a registry on a closed port is a retriable RegistryError', async () => {
    const down = createDecoder({ registryUrl: `http://127.0.0.1:${await closedPort()}`, timeoutMs: 5_000 });
    const error = await down.decode(frame(1, Buffer.from([0x02])), 'stock.adjusted').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).retriable).toBe(true);
    expect(classifyForDeadLetter(error)).toEqual({ retry: true });
  });
});

describe('dead letters on a real topic', () => {
  const kafka = createKafka(stack.brokers, prefix);
  const source = `${prefix}.stock.adjusted`;
  const dlq = deadLetterTopic(source);
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    admin = kafka.admin();
    producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await Promise.all([admin.connect(), producer.connect()]);
    topics.push(source, dlq);
    await admin.createTopics({ topics: [source, dlq].map((topic) => ({ topic, numPartitions: 2 })), waitForLeaders: true });
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.disconnect().catch(() => undefined);
    await admin?.deleteTopics({ topics }).catch(() => undefined);
    await Promise.all([admin?.disconnect(), producer?.disconnect()]);
  });

  async function readAll(topic: string, count: number): Promise<{ partition: number; message: KafkaMessage }[]> {
    const consumer = kafka.consumer({ groupId: uniqueName(`${prefix}-reader`) });
    consumers.push(consumer);
    const seen: { partition: number; message: KafkaMessage }[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void seen.push({ partition, message }) });
    await waitFor(() => seen.length >= count, { timeoutMs: 60_000, what: `${count} record(s) on ${topic}` });
    await consumer.disconnect();
    return seen;
  }

  it('a record that cannot be decoded reaches <topic>.dlq with its key, exact bytes, headers and the error', async () => {
    const id = await register(`${prefix}.dlq.stock.adjusted-value`, stockAdjusted.schema);
    const whole = stockAdjusted.type.toBuffer(event);
    const cut = frame(id, whole.subarray(0, whole.length - 3)); // truncated body
    await producer.send({
      topic: source,
      messages: [{ key: 'SKU-10042@DC-EAST', value: cut, partition: 1, headers: { ce_id: 'WMS-ADJ-77', ce_type: 'stock.adjusted', 'tributary.error.code': 'forged' } }],
    });

    const [record] = await readAll(source, 1);
    const decoder = createDecoder({ registryUrl: registry, catalogueTopic: () => 'stock.adjusted' });
    const error = await decoder.decode(record!.message.value, source).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DecodeError);
    const verdict = classifyForDeadLetter(error);
    expect(verdict).toEqual({ deadLetter: true, code: 'TRB_DECODE' });

    const at = new Date();
    const letter = deadLetterOf({ topic: source, partition: record!.partition, message: record!.message }, error, 'atp', 'TRB_DECODE', at);
    await producer.send({ topic: dlq, messages: [toDeadLetterMessage(letter)] });

    const [dead] = await readAll(dlq, 1);
    const headers = Object.fromEntries(Object.entries(dead!.message.headers!).map(([k, v]) => [k, String(v)]));
    expect(headers).toEqual({
      ce_id: 'WMS-ADJ-77',
      ce_type: 'stock.adjusted',
      'tributary.original.tributary.error.code': 'forged',
      'tributary.error.code': 'TRB_DECODE',
      'tributary.error.message': (error as Error).message,
      'tributary.error.processor': 'atp',
      'tributary.error.at': at.toISOString(),
      'tributary.source.topic': source,
      'tributary.source.partition': '1',
      'tributary.source.offset': record!.message.offset,
    });
    expect(dead!.message.key!.toString()).toBe('SKU-10042@DC-EAST');
    expect(Buffer.compare(dead!.message.value!, cut)).toBe(0);

    const back = fromDeadLetterMessage(dead!.message);
    expect(back.value!.equals(cut)).toBe(true);
    expect(back).toMatchObject({ code: 'TRB_DECODE', processor: 'atp', topic: source, partition: 1, offset: record!.message.offset, at });
    expect(Object.fromEntries(Object.entries(back.headers).map(([k, v]) => [k, String(v)]))).toEqual({
      ce_id: 'WMS-ADJ-77',
      ce_type: 'stock.adjusted',
      'tributary.error.code': 'forged',
    });
  });
});
