/**
 * Poison records (SPEC §8, §12 "bad input: a dead letter, never a crash loop, never silent loss"):
 * with `orders` and `atp` running, records that cannot be read are produced raw onto
 * order.created (read by orders) and stock.adjusted (read by atp), between valid events:
 * bytes without the Confluent magic byte, fewer than 5 bytes, a frame naming a schema id the
 * registry lacks, an Avro body cut short, a tombstone, and a valid event keyed other than its
 * value says. Each lands in `<topic>.dlq` with its original key, value and headers plus the
 * error headers of runtime/dlq.ts; the valid events before and after them are applied (the view
 * equals the fold of the valid events only), tributary_dlq_total counts them, and both
 * processors stay ready.
 *
 * Expected codes come from SPEC §8 and the error table (README "Error codes"): undecodable
 * bytes, a short frame, a cut body and a tombstone are not Confluent-framed Avro (TRB_DECODE); an
 * id the registry does not have is TRB_UNKNOWN_SCHEMA; a record keyed against the catalogue's
 * key rule breaks a catalogue rule (TRB_VALIDATION).
 */
import kafkajs, { type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../producers/sdk';
import { startComponents, type Components } from '../../runtime/app/components';
import { createKafka } from '../../runtime/kafka/client';
import { log } from '../../runtime/log';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import type { InputRecord } from '../reference/types';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { headerText } from '../faults/read-topic';
import { deploy, expected, publish, servedFromRedis, waitCaughtUp, workload, type Deployment } from './pipeline-harness';

const { Partitioners } = kafkajs;

const stack = testStack();
const catalogue = loadCatalogue();
const UNKNOWN_SCHEMA_ID = 987_654_321;
const PROCESSOR_OF = { 'order.created': 'orders', 'stock.adjusted': 'atp' } as const;
type PoisonTopic = keyof typeof PROCESSOR_OF;

interface Poison {
  name: string;
  topic: PoisonTopic;
  key: Buffer;
  value: Buffer | null;
  headers: Record<string, string>;
  code: 'TRB_DECODE' | 'TRB_UNKNOWN_SCHEMA' | 'TRB_VALIDATION';
  /** Where it was written. */
  partition?: number;
  offset?: string;
}

interface DeadLetterRecord {
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

const load = workload({ seed: 2401, events: 2_000, duplicateRate: 0.01, repeatRate: 0.02 });
const want = expected(load.records);
let deployment: Deployment;
let components: Components;
let producer: Producer;
const poisons: Poison[] = [];
const deadLetters = new Map<PoisonTopic, DeadLetterRecord[]>();

/** A Confluent frame built by hand: magic 0, schema id big-endian, body. */
function frame(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

async function registeredId(subject: string): Promise<number> {
  const response = await fetch(`${stack.registryUrl.replace(/\/+$/, '')}/subjects/${encodeURIComponent(subject)}/versions/latest`);
  const body = (await response.json()) as { id?: number };
  if (!response.ok || typeof body.id !== 'number') throw new Error(`no schema registered under ${subject}: ${response.status}`);
  return body.id;
}

function valuesOf(topic: string): Record<string, unknown>[] {
  return load.rest.filter((r) => r.topic === topic).map((r) => r.value as Record<string, unknown>);
}

/** The six poison records of one topic, keyed on live keys so they sit among real state. */
async function poisonsOf(topic: PoisonTopic): Promise<Poison[]> {
  const id = await registeredId(`${deployment.naming.topic(topic)}-value`);
  const [first, second] = valuesOf(topic);
  if (!first || !second) throw new Error(`the workload has no two ${topic} events`);
  const keyOf = (value: Record<string, unknown>) => encodeEvent(catalogue, topic, value).key;
  // Fresh events, visible in the view if they were ever applied: a new order, or +delta on a row.
  const fresh = (tag: string): Record<string, unknown> => {
    const meta = { ...(first.meta as Record<string, unknown>), eventId: `POISON-${tag}` };
    return topic === 'order.created' ? { ...first, meta, orderId: `POISON-ORDER-${tag}` } : { ...first, meta, delta: 777 };
  };
  const liveKey = Buffer.from(keyOf(first));
  const otherKey = keyOf(second) !== keyOf(first) ? keyOf(second) : `${keyOf(first)}-OTHER`;
  const cut = encodeEvent(catalogue, topic, fresh('CUT')).avro;
  const mismatched = encodeEvent(catalogue, topic, fresh('KEY'));
  const poison = (name: string, key: Buffer, value: Buffer | null, code: Poison['code'], headers: Record<string, string> = {}): Poison => ({
    name,
    topic,
    key,
    value,
    code,
    headers: { 'x-poison-case': name, ...headers },
  });
  return [
    // A header with one of the dead letter's own names: kept as tributary.original.<name>.
    poison('not-magic', liveKey, Buffer.from('{"not":"avro"}', 'utf8'), 'TRB_DECODE', { 'tributary.error.code': 'FORGED' }),
    poison('short', liveKey, Buffer.from([0, 0, 1]), 'TRB_DECODE'),
    poison('unknown-schema', liveKey, frame(UNKNOWN_SCHEMA_ID, encodeEvent(catalogue, topic, fresh('UNKNOWN')).avro), 'TRB_UNKNOWN_SCHEMA'),
    poison('cut-body', liveKey, frame(id, cut.subarray(0, Math.floor(cut.length / 2))), 'TRB_DECODE'),
    poison('tombstone', liveKey, null, 'TRB_DECODE'),
    poison('key-mismatch', Buffer.from(otherKey), frame(id, mismatched.avro), 'TRB_VALIDATION', mismatched.headers),
  ];
}

async function produce(records: Poison[]): Promise<void> {
  for (const record of records) {
    const [written] = await producer.send({
      topic: deployment.naming.topic(record.topic),
      acks: -1,
      messages: [{ key: record.key, value: record.value, headers: record.headers }],
    });
    if (!written) throw new Error(`no metadata for ${record.name}`);
    record.partition = written.partition;
    record.offset = String(written.baseOffset ?? written.offset);
  }
}

async function readAll(topic: string): Promise<DeadLetterRecord[]> {
  const kafka = createKafka(stack.brokers, 'poison-dlq-reader');
  const admin = kafka.admin();
  await admin.connect();
  const total = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  await admin.disconnect();
  const read: DeadLetterRecord[] = [];
  if (total === 0) return read;
  const consumer = kafka.consumer({ groupId: uniqueName('poison-dlq') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ partition, message }) => void read.push({ partition, key: message.key, value: message.value, headers: headerText(message.headers) }) });
    await waitFor(() => read.length >= total, { what: `every record of ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return read;
}

beforeAll(async () => {
  deployment = await deploy(stack, 'poison');
  // Items first: the processors read the item master whole before folding anything.
  await publish(stack, deployment.naming, load.items);
  components = await startComponents({
    names: ['orders', 'atp'],
    connection: { brokers: stack.brokers, registryUrl: stack.registryUrl, redisUrl: stack.redisUrl, origin: { kafka: 'env', registry: 'env', redis: 'env' }, security: 'none' },
    topology: deployment.topology,
    naming: deployment.naming,
    log: log.child({ test: 'poison' }),
  });
  producer = createKafka(stack.brokers, 'poison-raw').producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();

  const orders = await poisonsOf('order.created');
  const stock = await poisonsOf('stock.adjusted');
  poisons.push(...orders, ...stock);
  // Valid events, then half the poison, more valid events, the other half, and the last ones.
  const third = Math.ceil(load.rest.length / 3);
  const parts: InputRecord[][] = [load.rest.slice(0, third), load.rest.slice(third, 2 * third), load.rest.slice(2 * third)];
  await publish(stack, deployment.naming, parts[0] as InputRecord[]);
  await produce([...orders.slice(0, 3), ...stock.slice(0, 3)]);
  await publish(stack, deployment.naming, parts[1] as InputRecord[]);
  await produce([...orders.slice(3), ...stock.slice(3)]);
  await publish(stack, deployment.naming, parts[2] as InputRecord[]);

  await waitCaughtUp(stack, deployment);
  for (const topic of Object.keys(PROCESSOR_OF) as PoisonTopic[]) deadLetters.set(topic, await readAll(`${deployment.naming.topic(topic)}.dlq`));
}, 180_000);

afterAll(async () => {
  await producer?.disconnect();
  await components?.stop();
});

describe('poison records go to <topic>.dlq and processing goes on', () => {
  it('writes valid events after every poison record on its partition (the test means something)', async () => {
    const admin = createKafka(stack.brokers, 'poison-ends').admin();
    await admin.connect();
    try {
      for (const poison of poisons) {
        const ends = await admin.fetchTopicOffsets(deployment.naming.topic(poison.topic));
        const high = BigInt(ends.find((e) => e.partition === poison.partition)?.high ?? '0');
        const laterPoison = poisons.filter((p) => p.topic === poison.topic && p.partition === poison.partition && BigInt(p.offset as string) > BigInt(poison.offset as string)).length;
        const laterValid = high - BigInt(poison.offset as string) - 1n - BigInt(laterPoison);
        expect(laterValid, `valid records after ${poison.topic} ${poison.name}`).toBeGreaterThan(0n);
      }
    } finally {
      await admin.disconnect();
    }
  });

  it('dead-letters each poison record once, with its original key, value and headers and the error headers', () => {
    for (const topic of Object.keys(PROCESSOR_OF) as PoisonTopic[]) {
      const mine = poisons.filter((p) => p.topic === topic);
      const letters = deadLetters.get(topic) ?? [];
      // Nothing valid is dead-lettered, and no poison record twice.
      expect(letters.map((l) => `${l.headers['tributary.source.partition']}:${l.headers['tributary.source.offset']}`).sort()).toEqual(mine.map((p) => `${p.partition}:${p.offset}`).sort());
      for (const poison of mine) {
        const letter = letters.find((l) => l.headers['tributary.source.partition'] === String(poison.partition) && l.headers['tributary.source.offset'] === poison.offset) as DeadLetterRecord;
        const where = `${topic} ${poison.name}`;
        expect(letter.key, where).toEqual(poison.key);
        if (poison.value === null) expect(letter.value, where).toBeNull();
        else expect(letter.value, where).toEqual(poison.value);
        expect(letter.headers['tributary.error.code'], where).toBe(poison.code);
        expect(letter.headers['tributary.error.processor'], where).toBe(PROCESSOR_OF[topic]);
        expect(letter.headers['tributary.source.topic'], where).toBe(deployment.naming.topic(topic));
        expect(letter.headers['tributary.error.message'], where).toMatch(/\S/);
        expect(Number.isNaN(Date.parse(letter.headers['tributary.error.at'] ?? '')), where).toBe(false);
        // The original headers travel untouched; one with a reserved name is kept under tributary.original.
        for (const [name, value] of Object.entries(poison.headers)) {
          const kept = name.startsWith('tributary.') ? `tributary.original.${name}` : name;
          expect(letter.headers[kept], `${where} header ${name}`).toBe(value);
        }
      }
    }
  });

  it('applies the valid events before and after the poison: the view equals the fold of the valid events', async () => {
    expect(want.atp.length).toBeGreaterThan(50);
    expect(want.orders.length).toBeGreaterThan(50);
    const served = await servedFromRedis(stack.redisUrl, deployment.naming, 6);
    expect(served.atp).toEqual(want.atp);
    expect(served.orders).toEqual(want.orders);
  });

  it('counts the dead letters in tributary_dlq_total by processor and code', async () => {
    const metric = components.metrics.registry.getSingleMetric('tributary_dlq_total');
    expect(metric).toBeDefined();
    const counted = new Map<string, number>();
    for (const { labels, value } of (await metric!.get()).values) {
      const key = `${labels.processor} ${labels.code}`;
      counted.set(key, (counted.get(key) ?? 0) + value);
    }
    const wanted = new Map<string, number>();
    for (const poison of poisons) {
      const key = `${PROCESSOR_OF[poison.topic]} ${poison.code}`;
      wanted.set(key, (wanted.get(key) ?? 0) + 1);
    }
    expect([...counted].filter(([, n]) => n > 0).sort()).toEqual([...wanted].sort());
  });

  it('leaves both processors ready', () => {
    const checks = components.readiness();
    expect(checks).toHaveLength(2);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });
});
