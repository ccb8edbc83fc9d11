/**
 * The checker every reliability scenario ends with (issue 8), once the faults are healed and the
 * pipeline drained. It reads everything back and judges it against independent expectations:
 *
 *  1. the view: every ATP row and order status in Redis equals the reference fold of the events
 *     published (test/reference/fold.ts), and — given the API's URL — every GET of a row, a sku
 *     and an order answers the fold's value;
 *  2. the ledger (./ledger.ts defines each verdict): every record of every processor input topic
 *     (the source topics and orders.movements) is applied, skipped as a duplicate or
 *     dead-lettered, read from the Redis seen sets and watermarks and the `.dlq` topics; with
 *     receivers given, every record of the command topics took effect at its receiver once, was a
 *     repeat, coalesced or dead-lettered;
 *  3. duplicated and reordered (defined in ./ledger.ts): no commandId in effect twice or with two
 *     bodies, no movement eventId with two bodies in one generation, no key's commands taking
 *     effect out of topic order; no command in effect that is on no topic (phantom);
 *  4. optionally (`compacted`), the compacted topics: whether the last order.status per order and
 *     the last atp.changed per row equal the fold — measured and reported, for the known caveat
 *     that a stale instance may produce an outbox again after a newer one (README "Reliability").
 *
 * It prints one line per scenario, `<label> ledger: inputs N, applied A, …`, and `expectExact`
 * asserts it all with the offending records named.
 */
import { Redis } from 'ioredis';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { expect } from 'vitest';
import { canonicalJson } from '../../sinks/receivers/ledger';
import type { Receiver } from '../../sinks/receivers/receiver';
import { DLQ_HEADERS } from '../../runtime/dlq';
import { createKafka } from '../../runtime/kafka/client';
import { createDecoder, type Decoder } from '../../runtime/kafka/decode';
import { dlqTopicOf } from '../../runtime/topology/model';
import type { InputRecord } from '../reference/types';
import { uniqueName } from '../harness/names';
import type { TestStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { wrongAnswers, type Want } from '../e2e/api-probes';
import { expected, servedFromRedis, type Deployment, type ServedView } from '../e2e/pipeline-harness';
import {
  appliedTwice,
  countVerdicts,
  idsWithTwoBodies,
  judgeCommandInputs,
  judgeProcessorInputs,
  ledgerLine,
  reorderedCommands,
  type CommandInput,
  type DeadLetterRef,
  type Judged,
  type LedgerCounts,
  type PartitionApplied,
  type ProcessorInput,
} from './ledger';

export interface CheckOptions {
  stack: TestStack;
  deployment: Deployment;
  /** The scenario, printed in front of the ledger line. */
  label: string;
  /** Every event published, items included: the reference fold's input. */
  records: readonly InputRecord[];
  /** The Redis the processors used (default the stack's). */
  redisUrl?: string;
  /** Where the API answers, to check every GET against the fold. */
  apiUrl?: string;
  /** Processors whose inputs are in the ledger (default orders and atp). */
  processors?: readonly string[];
  /** Sink name → its stand-in receiver: the sink's command topic joins the ledger. */
  receivers?: Readonly<Record<string, Receiver>>;
  /** Also measure the compacted topics (order.status, atp.changed) against the fold. */
  compacted?: boolean;
}

export interface CheckReport {
  label: string;
  counts: LedgerCounts;
  line: string;
  /** Records whose verdict is lost or unseen, as `topic/partition@offset verdict`. */
  missing: string[];
  /** Published events of the ledger's topics not found back in Kafka. */
  notInKafka: number;
  duplicated: string[];
  reordered: string[];
  phantom: string[];
  served: ServedView;
  want: Want;
  apiWrong: string[];
  compacted?: { statusStale: string[]; atpStale: string[] };
}

interface RawRecord {
  topic: string;
  partition: number;
  offset: bigint;
  message: KafkaMessage;
}

export async function check(options: CheckOptions): Promise<CheckReport> {
  const { stack, deployment, label } = options;
  const names = deployment.naming;
  const processors = deployment.topology.processors.filter((p) => (options.processors ?? ['orders', 'atp']).includes(p.name));
  const sinks = deployment.topology.sinks.filter((s) => options.receivers?.[s.name] !== undefined);
  const processorTopics = [...new Set(processors.flatMap((p) => p.inputs))];
  const sinkTopics = sinks.map((s) => s.input);
  const compactedTopics = options.compacted ? ['order.status', 'atp.changed'] : [];
  const logical = [...processorTopics, ...sinkTopics, ...compactedTopics];
  const dlqs = [...processorTopics, ...sinkTopics].map(dlqTopicOf);

  const kafka = createKafka(stack.brokers, 'faults-checker');
  const admin = kafka.admin();
  await admin.connect();
  try {
    const raw = await readWhole(kafka, admin, [...logical, ...dlqs].map((t) => names.topic(t)));
    const decoder = createDecoder({ registryUrl: stack.registryUrl, catalogueTopic: (t) => names.logical(t) });
    const of = (topic: string) => raw.get(names.topic(topic)) ?? [];
    const deadLetters = (topics: readonly string[]) => topics.flatMap((t) => of(dlqTopicOf(t)).map((r) => sourceOf(r, names.logical)));
    const partitions = (await admin.fetchTopicOffsets(names.topic('order.created'))).length;

    // Processor inputs against Redis.
    const redis = new Redis(options.redisUrl ?? stack.redisUrl);
    const applied = new Map<string, PartitionApplied>();
    try {
      for (const spec of processors) {
        for (let p = 0; p < partitions; p++) {
          const prefix = `trb:{${names.store(spec.name)}:${p}}:`;
          const [watermarks, seen] = await Promise.all([redis.hgetall(`${prefix}watermark`), redis.zrange(`${prefix}seen`, 0, -1)]);
          const state = { watermarks: new Map(Object.entries(watermarks).filter(([t]) => !t.startsWith('@')).map(([t, o]) => [t, BigInt(o)])), seen: new Set(seen) };
          for (const topic of spec.inputs) applied.set(`${topic}/${p}`, state);
        }
      }
    } finally {
      redis.disconnect();
    }
    // What the test published must all be in Kafka, or the ledger would not know it was lost.
    const publishedTopics = new Set(options.records.map((r) => r.topic));
    const inputs: ProcessorInput[] = [];
    const movements: [string, string][] = [];
    for (const topic of processorTopics) {
      for (const record of of(topic)) {
        const value = await decodeOrUndefined(decoder, record);
        const eventId = (value as { meta?: { eventId?: unknown } } | undefined)?.meta?.eventId;
        inputs.push({ topic, partition: record.partition, offset: record.offset, eventId: typeof eventId === 'string' ? eventId : undefined });
        if (topic === 'orders.movements' && typeof eventId === 'string') movements.push([`${(value as { generation?: unknown }).generation}|${eventId}`, canonicalJson(value)]);
      }
    }
    const judged: Judged<{ topic: string; partition: number; offset: bigint }>[] = judgeProcessorInputs(inputs, (t, p) => applied.get(`${t}/${p}`), deadLetters(processorTopics));

    // Sink inputs against the receivers.
    const duplicated = idsWithTwoBodies(movements).map((id) => `orders.movements eventId ${id} with two bodies`);
    const reordered: string[] = [];
    const phantom: string[] = [];
    for (const sink of sinks) {
      const receiver = options.receivers?.[sink.name] as Receiver;
      const commands: CommandInput[] = [];
      for (const record of of(sink.input)) {
        const value = (await decodeOrUndefined(decoder, record)) as { commandId?: string; type?: string; payload?: unknown } | undefined;
        commands.push({
          topic: sink.input,
          partition: record.partition,
          offset: record.offset,
          key: record.message.key?.toString('utf8') ?? '',
          commandId: value?.commandId,
          type: value?.type,
          body: value ? canonicalJson({ type: value.type, payload: value.payload }) : undefined,
        });
      }
      const effects = receiver.applied().map((d) => d.commandId);
      const inEffect = new Set(effects);
      const committed = new Map<number, bigint>();
      for (const { partitions: list } of await admin.fetchOffsets({ groupId: names.group(sink.group), topics: [names.topic(sink.input)] })) {
        for (const { partition, offset } of list) if (BigInt(offset) >= 0n) committed.set(partition, BigInt(offset));
      }
      append(judged, judgeCommandInputs(commands, () => inEffect, (_t, p) => committed.get(p), deadLetters([sink.input])));
      append(duplicated, appliedTwice(effects).map((id) => `${sink.name}: ${id} took effect twice`));
      append(duplicated, receiver.conflicts().map((c) => `${sink.name}: ${c.commandId} sent with two bodies`));
      append(duplicated, idsWithTwoBodies(commands.filter((c) => c.commandId && c.body).map((c) => [c.commandId, c.body] as [string, string])).map((id) => `${sink.input}: ${id} carried with two bodies`));
      append(reordered, reorderedCommands(commands, effects).map((id) => `${sink.name}: ${id} took effect before an earlier command of its key`));
      const onTopic = new Set(commands.map((c) => c.commandId));
      append(phantom, effects.filter((id) => !onTopic.has(id)).map((id) => `${sink.name}: ${id}`));
    }

    const counts = countVerdicts(judged, duplicated.length, reordered.length);
    const line = `${label} ${ledgerLine(counts)}`;
    // Per leg: what the processors read (the source topics into the Redis view, orders.movements
    // from Kafka to Kafka) and what the sinks delivered (Kafka to the HTTP receivers).
    const legs = [
      ['source topics → processors', judged.filter((j) => publishedTopics.has(j.record.topic))],
      ['orders.movements (Kafka → Kafka) → atp', judged.filter((j) => j.record.topic === 'orders.movements')],
      ...sinks.map((s) => [`${s.input} → ${s.name} receiver`, judged.filter((j) => j.record.topic === s.input)] as const),
    ] as const;
    console.info([line, ...legs.filter(([, list]) => list.length > 0).map(([leg, list]) => `  ${leg}: ${ledgerLine(countVerdicts(list, 0, 0)).replace(/^ledger: /, '').replace(/, duplicated 0, reordered 0$/, '')}`)].join('\n'));

    const published = options.records.filter((r) => processorTopics.includes(r.topic)).length;
    const notInKafka = Math.max(0, published - inputs.filter((i) => publishedTopics.has(i.topic)).length);
    const want = expected(options.records);
    const served = await servedFromRedis(options.redisUrl ?? stack.redisUrl, names, partitions);
    const apiWrong = options.apiUrl ? await wrongAnswers(options.apiUrl, want) : [];
    const report: CheckReport = {
      label,
      counts,
      line,
      missing: judged.filter((j) => j.verdict === 'lost' || j.verdict === 'unseen').map((j) => `${j.record.topic}/${j.record.partition}@${j.record.offset} ${j.verdict}`),
      notInKafka,
      duplicated,
      reordered,
      phantom,
      served,
      want,
      apiWrong,
    };
    if (options.compacted) report.compacted = await compactedAgainstFold(decoder, of('order.status'), of('atp.changed'), want);
    return report;
  } finally {
    await admin.disconnect();
  }
}

/** `target.push(...items)` for lists of any length (a spread of ~100,000+ arguments overflows the stack). */
function append<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

/** Asserts a report: the ledger clean, the view and the API equal to the fold. */
export function expectExact(report: CheckReport): void {
  const sample = (list: readonly string[]) => list.slice(0, 20);
  expect(
    { missing: sample(report.missing), notInKafka: report.notInKafka, duplicated: sample(report.duplicated), reordered: sample(report.reordered), phantom: sample(report.phantom) },
    report.line,
  ).toEqual({ missing: [], notInKafka: 0, duplicated: [], reordered: [], phantom: [] });
  expect(report.counts.inputs, 'records in the ledger').toBeGreaterThan(0);
  expect(report.served.atp, `${report.label}: ATP rows in Redis`).toEqual(report.want.atp);
  expect(report.served.orders, `${report.label}: order statuses in Redis`).toEqual(report.want.orders);
  expect(sample(report.apiWrong), `${report.label}: API answers other than the fold's`).toEqual([]);
}

/** Reads every record of the topics from their log start to the end offsets taken now. */
async function readWhole(kafka: Kafka, admin: Admin, topics: readonly string[]): Promise<Map<string, RawRecord[]>> {
  const ends = new Map<string, bigint>();
  let records = 0;
  for (const topic of topics) {
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(high) <= BigInt(low)) continue;
      ends.set(`${topic}/${partition}`, BigInt(high));
      records += Number(BigInt(high) - BigInt(low));
    }
  }
  const read = new Map<string, RawRecord[]>(topics.map((t) => [t, []]));
  if (ends.size === 0) return read;
  const pending = new Set(ends.keys());
  const groupId = uniqueName('faults-checker');
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...new Set(topics.filter((t) => [...ends.keys()].some((k) => k.startsWith(`${t}/`))))], fromBeginning: true });
    // A rebalance re-delivers from the start (nothing is committed); a partition's records come in
    // offset order, so keeping each offset once is keeping those past the last one kept.
    const next = new Map<string, bigint>();
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        const id = `${batch.topic}/${batch.partition}`;
        const end = ends.get(id) ?? 0n;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          if (offset < end && offset >= (next.get(id) ?? 0n)) {
            next.set(id, offset + 1n);
            read.get(batch.topic)!.push({ topic: batch.topic, partition: batch.partition, offset, message });
          }
          resolveOffset(message.offset);
          if (offset + 1n >= end) pending.delete(id);
        }
        await heartbeat();
      },
    });
    // At least 10,000 records a second (a bare consumer reads ~50,000 here): the soak's millions of records take minutes.
    const timeoutMs = Math.max(90_000, Math.ceil(records / 10));
    await waitFor(() => pending.size === 0, { timeoutMs, intervalMs: 100, what: `every record of ${topics.length} topics (${pending.size} partitions left)` });
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  for (const list of read.values()) list.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  return read;
}

async function decodeOrUndefined(decoder: Decoder, record: RawRecord): Promise<unknown> {
  try {
    return (await decoder.decode(record.message.value, record.topic)).value;
  } catch {
    return undefined;
  }
}

function header(message: KafkaMessage, name: string): string | undefined {
  const value = message.headers?.[name];
  const one = Array.isArray(value) ? value[0] : value;
  return one === undefined ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

/** The source record a dead letter names (runtime/dlq.ts headers), with the logical topic. */
function sourceOf(record: RawRecord, logical: (topic: string) => string | undefined): DeadLetterRef {
  const topic = header(record.message, DLQ_HEADERS.topic) ?? '';
  return { topic: logical(topic) ?? topic, partition: Number(header(record.message, DLQ_HEADERS.partition)), offset: BigInt(header(record.message, DLQ_HEADERS.offset) ?? '-1') };
}

/**
 * Keys of order.status and atp.changed whose LAST record (what compaction keeps) differs from the
 * fold, as `key: last <partition>@<offset> (producer id), the fold's value last at <offset> (producer id) | never`.
 * The producer id (kafkajs' record batch context) tells which instance wrote what.
 */
async function compactedAgainstFold(decoder: Decoder, status: readonly RawRecord[], atp: readonly RawRecord[], want: Want): Promise<{ statusStale: string[]; atpStale: string[] }> {
  const byKey = async (records: readonly RawRecord[]) => {
    const keyed = new Map<string, { record: RawRecord; value: Record<string, unknown> | undefined }[]>();
    for (const record of records) {
      const key = record.message.key?.toString('utf8') ?? '';
      (keyed.get(key) ?? keyed.set(key, []).get(key)!).push({ record, value: (await decodeOrUndefined(decoder, record)) as Record<string, unknown> | undefined });
    }
    return keyed;
  };
  const stale = (keyed: Map<string, { record: RawRecord; value: Record<string, unknown> | undefined }[]>, key: string, same: (value: Record<string, unknown> | undefined) => boolean): string | undefined => {
    const list = keyed.get(key) ?? [];
    const last = list[list.length - 1];
    if (last && same(last.value)) return undefined;
    const right = [...list].reverse().find((r) => same(r.value));
    const producer = (r: { record: RawRecord } | undefined) => (r?.record.message as { batchContext?: { producerId?: string } } | undefined)?.batchContext?.producerId ?? '?';
    return `${key}: last ${last ? `${last.record.partition}@${last.record.offset}` : 'none'} (producer ${producer(last)}), the fold's value last at ${right ? `${right.record.offset} (producer ${producer(right)})` : 'never'}`;
  };
  const statuses = await byKey(status);
  const rows = await byKey(atp);
  const statusStale = want.orders
    .map(([orderId, s]) => stale(statuses, orderId, (got) => !!got && canonicalJson({ status: got.status, lines: got.lines }) === canonicalJson({ status: s.status, lines: s.lines })))
    .filter((line): line is string => line !== undefined);
  const numbers = (row: Record<string, unknown> | undefined) => row && canonicalJson(['onHand', 'reserved', 'safetyStock', 'atp', 'available'].map((f) => row[f]));
  const atpStale = want.atp
    .map(([key, row]) => stale(rows, key, (got) => numbers(got) === numbers(row as unknown as Record<string, unknown>)))
    .filter((line): line is string => line !== undefined);
  return { statusStale, atpStale };
}
