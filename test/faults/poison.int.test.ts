/**
 * Reliability scenario 6 (issue 8, SPEC §8, §12): poison records and a registry in trouble, with
 * `tributary run orders atp` running as a child whose SCHEMA_REGISTRY_URL is a proxy the test
 * controls (./registry-proxy.ts). Ends with the shared checker (./checker.ts).
 *
 *  1. Poison between valid events, on order.created (read by orders) and stock.adjusted (atp),
 *     produced raw on live keys: a value without the magic byte, fewer than 5 bytes, an Avro body
 *     cut in half, a tombstone, a frame naming a schema id the registry lacks, and an oversized
 *     record (see below). Each must land once in `<topic>.dlq` with its error code header
 *     (TRB_DECODE, or TRB_UNKNOWN_SCHEMA for the unknown id) and original bytes; the valid events
 *     around them are applied: the view equals the fold of the valid events and the ledger gives
 *     every poison offset 'dead-lettered' and every other one applied or duplicate.
 *  2. Oversized: no topic of topology.yaml sets max.message.bytes, so it is the broker's (1 MiB
 *     + 12 bytes by default; read from the topic here). Nothing in the SPEC sets a record size.
 *     The broker refuses a larger record at publish: the SDK publisher fails with
 *     TRB_RECORD_TOO_LARGE (the broker's MESSAGE_TOO_LARGE, with the event's size) and nothing is
 *     written, asserted here. Among the poison, a frame of ~1 MiB
 *     of garbage, 4 KiB under the limit: five thousand times an event's size, dead-lettered like
 *     any undecodable record. The second test writes the largest record the broker takes, to the
 *     byte (one more is refused): its dead letter, the record plus the error headers, fits
 *     because `<topic>.dlq` takes the source's limit plus 64 KiB (runtime/topology/load.ts).
 *  3. Registry answering 503 to a RUNNING processor: once the poison is dead-lettered, the proxy
 *     answers 503 to everything, a new version of order.created and stock.adjusted is registered
 *     on the real registry (an optional field added), and the last third of the workload's
 *     events of those topics are produced framed with the new ids, which the processors have
 *     never fetched. They must pause and retry (the proxy sees the same id asked for again and
 *     again, the records are not applied, nothing is dead-lettered), then, the proxy healed, apply
 *     them: no dead letter but the poison, the view exact.
 *
 * The seed is printed; TRIBUTARY_TEST_SEED=<seed> replays the workload.
 */
import kafkajs, { type Admin, type Producer } from 'kafkajs';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../producers/sdk';
import { createKafka } from '../../runtime/kafka/client';
import { parseAvroSchema } from '../../runtime/schemas/avro-types';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import type { InputRecord } from '../reference/types';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { counterSum, killAllChildren, runtimeWarnings, startTributary, type RunningChild } from '../e2e/child-process';
import { deploy, publish, waitCaughtUp, workload, type Deployment } from '../e2e/pipeline-harness';
import { check, expectExact } from './checker';
import { dropState, faultsRedisUrl } from './harness';
import { PROFILE, seed, sized } from './profile';
import { frame, POISON_CODE, POISON_KINDS, poisonValue } from './poison-records';
import { endOffsets, readTopic, sourceOf, type TopicRecord } from './read-topic';
import { startRegistryProxy, type RegistryProxy } from './registry-proxy';

const { Partitioners } = kafkajs;
const stack = testStack();
const SEED = seed();
const redisUrl = faultsRedisUrl(stack);
const catalogue = loadCatalogue();
const PROCESSORS = ['orders', 'atp'] as const;
const EVENTS = sized(2_000, 8_000);
/** 503 answers to one new schema id before the registry is healed: the processor asked again and again. */
const REFUSALS = sized(3, 6);
/** How far under the limit the oversized poison record is (the second test takes the limit itself). */
const UNDER_LIMIT = 4_096;
const PROCESSOR_OF = { 'order.created': 'orders', 'stock.adjusted': 'atp' } as const;
type PoisonTopic = keyof typeof PROCESSOR_OF;
const TOPICS = Object.keys(PROCESSOR_OF) as PoisonTopic[];

interface Poison {
  name: string;
  topic: PoisonTopic;
  key: Buffer;
  value: Buffer | null;
  headers: Record<string, string>;
  code: 'TRB_DECODE' | 'TRB_UNKNOWN_SCHEMA';
  partition?: number;
  offset?: string;
}

let deployment: Deployment | undefined;
let proxy: RegistryProxy | undefined;
const clients: { disconnect(): Promise<void> }[] = [];

afterAll(async () => {
  await killAllChildren();
  for (const client of clients.splice(0)) await client.disconnect().catch(() => undefined);
  await proxy?.close();
  if (deployment) await dropState(redisUrl, deployment);
});

async function registry(path: string, init?: RequestInit): Promise<Record<string, unknown>> {
  const response = await fetch(`${stack.registryUrl.replace(/\/+$/, '')}${path}`, init);
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`registry ${init?.method ?? 'GET'} ${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** Registers a BACKWARD-compatible next version of a subject (one optional field added); its id and schema. */
async function registerNextVersion(subject: string): Promise<{ id: number; schema: Record<string, unknown> }> {
  const latest = await registry(`/subjects/${encodeURIComponent(subject)}/versions/latest`);
  const schema = JSON.parse(latest.schema as string) as { fields: unknown[] } & Record<string, unknown>;
  const next = { ...schema, fields: [...schema.fields, { name: 'trialNote', type: ['null', 'string'], default: null }] };
  const made = await registry(`/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(next) }),
  });
  return { id: made.id as number, schema: next };
}

async function produce(producer: Producer, names: Deployment['naming'], records: Poison[]): Promise<void> {
  for (const record of records) {
    const [written] = await producer.send({ topic: names.topic(record.topic), acks: -1, messages: [{ key: record.key, value: record.value, headers: record.headers }] });
    if (!written) throw new Error(`no metadata for ${record.name}`);
    record.partition = written.partition;
    record.offset = String(written.baseOffset);
  }
}

/** The poison of one topic, keyed on live keys of the workload so it sits among real state. */
function poisonsOf(topic: PoisonTopic, schemaId: number, rest: readonly InputRecord[], maxMessageBytes: number): Poison[] {
  const values = rest.filter((r) => r.topic === topic).map((r) => r.value as Record<string, unknown>);
  const [first, second] = values;
  if (!first || !second) throw new Error(`the workload has no two ${topic} events`);
  const keys = [first, second].map((value) => Buffer.from(encodeEvent(catalogue, topic, value).key));
  return POISON_KINDS.map((kind, i) => {
    // A fresh event: visible in the view if it were ever applied (a new order, or +777 on a row).
    const meta = { ...(first.meta as Record<string, unknown>), eventId: `POISON-${kind}` };
    const avro = encodeEvent(catalogue, topic, topic === 'order.created' ? { ...first, meta, orderId: `POISON-ORDER-${kind}` } : { ...first, meta, delta: 777 }).avro;
    return {
      name: kind,
      topic,
      key: keys[i % 2] as Buffer,
      value: poisonValue(kind, { schemaId, avro, size: maxMessageBytes - UNDER_LIMIT }),
      code: POISON_CODE[kind],
      headers: { 'x-poison-case': kind },
    };
  });
}

async function maxMessageBytes(admin: Admin, topic: string): Promise<number> {
  const { resources } = await admin.describeConfigs({ resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }], includeSynonyms: false });
  const value = Number(resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`no max.message.bytes for ${topic}`);
  return value;
}

/**
 * The value size that makes a one-record batch exactly `limit` bytes on the wire (record batch v2,
 * no compression): the 61-byte batch header, then the record's length, attributes, timestamp and
 * offset deltas, key, value and headers, each length a zig-zag varint.
 */
function largestValue(limit: number, key: Buffer, headers: Record<string, string>): number {
  const varint = (n: number) => {
    let zigzag = n * 2;
    let size = 1;
    while (zigzag >= 0x80) {
      zigzag = Math.floor(zigzag / 128);
      size++;
    }
    return size;
  };
  const headerBytes = Object.entries(headers).reduce((sum, [k, v]) => sum + varint(k.length) + k.length + varint(v.length) + v.length, 0);
  for (let value = limit; value > 0; value--) {
    const body = 1 + 1 + 1 + varint(key.length) + key.length + varint(value) + value + varint(Object.keys(headers).length) + headerBytes;
    if (61 + varint(body) + body <= limit) return value;
  }
  throw new Error('no value fits');
}

/** Applied offsets (Redis watermark) of a processor partition for a topic, or -1. */
async function watermark(redis: Redis, store: string, partition: number, topic: string): Promise<bigint> {
  const at = await redis.hget(`trb:{${store}:${partition}}:watermark`, topic);
  return at === null ? -1n : BigInt(at);
}

describe(`scenario 6 (${PROFILE}): poison records and a registry answering 503`, () => {
  let child: RunningChild | undefined;
  let producer: Producer;
  let admin: Admin;
  let maxBytes = 0;
  /** Where the largest record the broker takes was written (end of the first test). */
  let largest: { partition: number; offset: string } | undefined;
  const poisonCount = new Map<PoisonTopic, number>();

  it('dead-letters each poison record with its code, pauses while the registry fails, and ends equal to the fold', async () => {
    console.info(`poison.int.test.ts: seed ${SEED} (TRIBUTARY_TEST_SEED=${SEED} reproduces it), profile ${PROFILE}`);
    const load = workload({ seed: SEED, events: EVENTS, duplicateRate: 0.02, repeatRate: 0.02 });
    const deployed = await deploy(stack, 'f-poison');
    deployment = deployed;
    const names = deployed.naming;
    proxy = await startRegistryProxy(stack.registryUrl);
    const kafka = createKafka(stack.brokers, 'faults-poison');
    producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    admin = kafka.admin();
    await Promise.all([producer.connect(), admin.connect()]);
    clients.push(producer, admin);
    maxBytes = await maxMessageBytes(admin, names.topic('order.created'));

    await publish(stack, names, load.items);
    child = startTributary({ stack, prefix: names.prefix, names: PROCESSORS, label: 'run', env: { REDIS_URL: redisUrl, SCHEMA_REGISTRY_URL: proxy.url } });
    await child.started(PROCESSORS);

    // The last third of each poison topic's events waits for the registry outage.
    const third = Math.ceil(load.rest.length / 3);
    const [a, b, c] = [load.rest.slice(0, third), load.rest.slice(third, 2 * third), load.rest.slice(2 * third)] as InputRecord[][];
    const evolved = (c as InputRecord[]).filter((r) => (TOPICS as string[]).includes(r.topic));
    const ids = new Map<PoisonTopic, number>();
    for (const topic of TOPICS) ids.set(topic, (await registry(`/subjects/${encodeURIComponent(`${names.topic(topic)}-value`)}/versions/latest`)).id as number);
    const poisons = TOPICS.flatMap((t) => poisonsOf(t, ids.get(t) as number, load.rest, maxBytes));
    for (const topic of TOPICS) poisonCount.set(topic, poisons.filter((p) => p.topic === topic).length);

    await publish(stack, names, a as InputRecord[]);
    await produce(producer, names, poisons.filter((_, i) => i % 2 === 0));
    await publish(stack, names, b as InputRecord[]);
    await produce(producer, names, poisons.filter((_, i) => i % 2 === 1));

    // Over the limit: the publisher's error, and nothing written.
    const order = load.rest.find((r) => r.topic === 'order.created')?.value as Record<string, unknown>;
    const line = (order.lines as Record<string, unknown>[])[0] as Record<string, unknown>;
    // An order with lines enough to be over the limit (a line's size depends on the workload's codes).
    const orderWith = (lines: number) => ({ ...order, meta: { ...(order.meta as object), eventId: 'HUGE-ORDER' }, orderId: 'HUGE-ORDER', lines: Array.from({ length: lines }, (_, i) => ({ ...line, lineNo: i + 1 })) });
    let lines = 40_000;
    while (encodeEvent(catalogue, 'order.created', orderWith(lines)).avro.length <= maxBytes + 10_000) lines = Math.ceil(lines * 1.25);
    const huge = orderWith(lines);
    const before = await endOffsets(admin, names.topic('order.created'));
    const refused = await publish(stack, names, [{ topic: 'order.created', value: huge } as InputRecord]).then(() => undefined, (error: unknown) => error);
    expect(refused, 'publishing a record over max.message.bytes').toMatchObject({ code: 'TRB_RECORD_TOO_LARGE', message: expect.stringMatching(/MESSAGE_TOO_LARGE.*its largest event \(\S+order\.created, key HUGE-ORDER\) is [\d,]+ bytes; raise the topic's max\.message\.bytes/) });
    expect(await endOffsets(admin, names.topic('order.created')), 'records written by the refused publish').toBe(before);

    // Everything so far worked off, every poison record dead-lettered, before the registry fails.
    const dlqs = TOPICS.map((t) => names.topic(`${t}.dlq`));
    await waitFor(async () => (await Promise.all(dlqs.map((t) => endOffsets(admin, t)))).reduce((x, y) => x + y, 0) >= poisons.length, {
      what: `${poisons.length} dead letters`,
      timeoutMs: 60_000,
    });
    await waitCaughtUp(stack, deployed, 60_000);

    // Registry outage: new schema versions the processors never fetched.
    proxy.fail(503);
    const refusedFrom = proxy.requests().length;
    const versions = new Map<PoisonTopic, { id: number; type: ReturnType<typeof parseAvroSchema> }>();
    for (const topic of TOPICS) {
      const { id, schema } = await registerNextVersion(`${names.topic(topic)}-value`);
      expect(id, `the new ${topic} version has a new id`).not.toBe(ids.get(topic));
      versions.set(topic, { id, type: parseAvroSchema(schema) });
    }
    const written: { topic: PoisonTopic; partition: number; offset: bigint }[] = [];
    for (const record of evolved) {
      const topic = record.topic as PoisonTopic;
      const { id, type } = versions.get(topic)!;
      const encoded = encodeEvent(catalogue, topic, record.value);
      const [meta] = await producer.send({
        topic: names.topic(topic),
        acks: -1,
        messages: [{ key: encoded.key, value: frame(id, type.toBuffer({ ...(record.value as object), trialNote: 'registered during the outage' })), headers: encoded.headers }],
      });
      written.push({ topic, partition: meta!.partition, offset: BigInt(meta!.baseOffset as string) });
    }
    await publish(stack, names, (c as InputRecord[]).filter((r) => !(TOPICS as string[]).includes(r.topic)));
    const askedFor = (id: number) => proxy!.requests().slice(refusedFrom).filter((r) => r.path === `/schemas/ids/${id}` && r.status === 503).length;
    await waitFor(() => TOPICS.every((t) => askedFor(versions.get(t)!.id) >= REFUSALS), {
      what: `each processor to ask for its new schema id ${REFUSALS} times while the registry answers 503`,
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    // Paused, not dead-lettered: the first record of the new version on each partition is not applied.
    const redis = new Redis(redisUrl);
    try {
      for (const topic of TOPICS) {
        const firstPerPartition = new Map<number, bigint>();
        for (const w of written.filter((x) => x.topic === topic)) if (!firstPerPartition.has(w.partition)) firstPerPartition.set(w.partition, w.offset);
        for (const [partition, offset] of firstPerPartition) {
          expect(await watermark(redis, names.store(PROCESSOR_OF[topic]), partition, topic), `${topic}[${partition}] applied past a record whose schema it could not fetch`).toBeLessThan(offset);
        }
      }
    } finally {
      redis.disconnect();
    }
    expect((await Promise.all(dlqs.map((t) => endOffsets(admin, t)))).reduce((x, y) => x + y, 0), 'dead letters while the registry fails').toBe(poisons.length);
    const retries = await counterSum(await child.url(), 'tributary_retries_total', { code: 'TRB_REGISTRY_UNAVAILABLE' });
    expect(retries, 'batches retried for the registry').toBeGreaterThan(0);

    proxy.pass();
    await waitCaughtUp(stack, deployed, 120_000);

    // The dead letters: exactly the poison, each once, with its code and its original bytes.
    for (const topic of TOPICS) {
      const mine = poisons.filter((p) => p.topic === topic);
      const letters = await readTopic(stack, admin, names.topic(`${topic}.dlq`));
      expect(letters.map(sourceOf).sort(), `${topic}.dlq holds the poison and nothing else`).toEqual(mine.map((p) => `${p.partition}@${p.offset}`).sort());
      for (const poison of mine) {
        const letter = letters.find((l) => sourceOf(l) === `${poison.partition}@${poison.offset}`) as TopicRecord;
        expect({ code: letter.headers['tributary.error.code'], processor: letter.headers['tributary.error.processor'], case: letter.headers['x-poison-case'] }, `${topic} ${poison.name}`).toEqual({
          code: poison.code,
          processor: PROCESSOR_OF[topic],
          case: poison.name,
        });
        expect(poison.value === null ? letter.value === null : letter.value?.equals(poison.value), `${topic} ${poison.name}: original value bytes`).toBe(true);
      }
    }
    expect(runtimeWarnings(child).filter((m) => m !== 'record dead-lettered'), 'warnings other than dead letters and registry retries').toEqual([]);
    // SPEC §11: the log names each one by topic, partition and offset (no payload can: none decodes).
    for (const poison of poisons) {
      const line = child.lines.find((l) => l.msg === 'record dead-lettered' && l.topic === names.topic(poison.topic) && l.partition === poison.partition && l.offset === poison.offset);
      expect(line, `${poison.name}: a log line names the dead letter`).toMatchObject({ processor: PROCESSOR_OF[poison.topic], code: poison.code });
    }

    const report = await check({ stack, deployment: deployed, label: `[scenario 6 ${PROFILE}]`, records: load.records, redisUrl });
    console.info(`  (${poisons.length} poison records, ${evolved.length} records of new schema versions held back while the registry answered 503: ${TOPICS.map((t) => `${t} id asked ${askedFor(versions.get(t)!.id)} times`).join(', ')}; ${retries} batch retries)`);
    expectExact(report);
    expect(report.counts.deadLettered, 'dead-lettered in the ledger').toBe(poisons.length);

    // For the next test, after the checker (its outputs stay stuck): the largest record the
    // broker takes, to the byte — one byte more is refused —, read by the processor.
    const key = Buffer.from(encodeEvent(catalogue, 'order.created', order).key);
    const headers = { 'x-poison-case': 'largest' };
    const size = largestValue(maxBytes, key, headers);
    const garbage = (bytes: number) => poisonValue('oversized', { schemaId: ids.get('order.created') as number, avro: Buffer.alloc(0), size: bytes });
    const send = (bytes: number) => producer.send({ topic: names.topic('order.created'), acks: -1, messages: [{ key, value: garbage(bytes), headers }] });
    await expect(send(size + 1), 'one byte over the limit').rejects.toMatchObject({ type: 'MESSAGE_TOO_LARGE' });
    const [meta] = await send(size);
    largest = { partition: meta!.partition, offset: meta!.baseOffset as string };
    const state = new Redis(redisUrl);
    try {
      await waitFor(async () => (await watermark(state, names.store('orders'), largest!.partition, 'order.created')) >= BigInt(largest!.offset), {
        what: 'orders to read the largest record',
        timeoutMs: 30_000,
      });
    } finally {
      state.disconnect();
    }
  }, sized(180_000, 600_000));

  // A dead letter is its record plus error headers: `<topic>.dlq` takes the source's limit plus
  // 64 KiB (runtime/topology/load.ts), so even the largest record the broker takes is
  // dead-lettered, and the partition's later outputs are not held behind it.
  it('the largest record the broker takes is dead-lettered and the partition produces on', async () => {
    expect(largest, 'the largest record was written by the test above').toBeDefined();
    const names = (deployment as Deployment).naming;
    const dlq = names.topic('order.created.dlq');
    const before = poisonCount.get('order.created') as number;
    await waitFor(async () => (await endOffsets(admin, dlq)) > before, { what: 'a dead letter more in order.created.dlq', timeoutMs: 10_000, intervalMs: 500 });
    const letters = await readTopic(stack, admin, dlq);
    expect(letters.map(sourceOf)).toContain(`${largest!.partition}@${largest!.offset}`);
    const redis = new Redis(redisUrl);
    try {
      expect(await redis.hlen(`trb:{${names.store('orders')}:${largest!.partition}}:outbox`), 'outputs of the partition not produced').toBe(0);
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});
