/**
 * Global tables (like a Kafka Streams GlobalKTable): every instance reads every partition of a
 * table topic (item.upserted) into a LatestTable, from the beginning, and is `bootstrapped` once it
 * reached the end offsets taken at start; only then may the processor fold inputs, so a restart
 * never judges an order against a half-read item master. It keeps following the topic; each
 * record that becomes current is announced through `onUpdate`.
 *
 * kafkajs has no manual partition assignment, so the feed uses a consumer group of its own per
 * instance (`<group>.table.<random>`), never commits, and lets the group vanish when it leaves.
 * A record that cannot be decoded is dead-lettered like any input (SPEC §8), and never stops the
 * table. `position()` is the offset vector read so far, to tell whether a partition's derived
 * state saw the table as it is now.
 *
 * `catchUp(at)` is the barrier between the table and the inputs: an order published right after
 * its item must not be judged while the item is still in flight on the table's own consumer (SPEC
 * §5 judges a version by the items known "at the time it is processed", and the item was produced
 * first). It resolves once the table holds every record appended before `at` (the record time of
 * the input about to be folded): it takes the table topics' end offsets now and waits until the
 * feed has read up to them. One catch-up serves every caller whose time it covers, so under live
 * traffic it costs one offsets request per batch, and nothing while inputs are older than the last
 * catch-up (a replay, a backlog).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { classifyForDeadLetter, deadLetterOf, deadLetterTopic, toDeadLetterMessage } from '../dlq';
import type { Decoder } from '../kafka/decode';
import type { SerialProducer } from '../kafka/serial-producer';
import { untilAvailable } from '../kafka/transient';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { toEvent, type Meta } from '../../processors/types';
import { LatestTable } from './table';

/** How long a batch waits for the tables to catch up before it is folded with them as they are. */
const CATCH_UP_TIMEOUT_MS = 5_000;

export interface TableFeedOptions {
  kafka: Kafka;
  /** Where the table's dead letters go: the processor's producer. */
  producer: Pick<SerialProducer, 'send'>;
  decoder: Decoder;
  processor: string;
  group: string;
  /** Logical topic → record key of the table. */
  tables: ReadonlyMap<string, (value: unknown) => string>;
  kafkaTopic: (topic: string) => string;
  log: Logger;
  metrics: Metrics;
  onUpdate?: (topic: string, value: unknown) => Promise<void>;
}

export interface TableFeed {
  readonly tables: ReadonlyMap<string, LatestTable<{ meta: Meta }>>;
  /** Resolves once every table reached the end offsets it had at start. */
  bootstrapped(): Promise<void>;
  isBootstrapped(): boolean;
  /** JSON of {kafkaTopic: {partition: next offset}} read so far. */
  position(): string;
  /** Resolves once every table record appended before `at` (epoch ms) has been read; see the header. */
  catchUp(at: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTableFeed(options: TableFeedOptions): Promise<TableFeed> {
  const { kafka, processor, log } = options;
  const tables = new Map<string, LatestTable<{ meta: Meta }>>();
  const logicalOf = new Map<string, string>();
  for (const [topic, keyOf] of options.tables) {
    tables.set(topic, new LatestTable((value) => keyOf(value)));
    logicalOf.set(options.kafkaTopic(topic), topic);
  }
  const position = new Map<string, Map<number, bigint>>();
  const targets = new Map<string, bigint>();
  // Few, quick retries: a catch-up that cannot ask gives up rather than hold a batch past the session timeout.
  const admin = kafka.admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 } });
  await admin.connect();
  // Everything appended before this was in the end offsets bootstrap reads to.
  let caughtUpAsOf = Date.now();
  try {
    for (const kafkaTopic of logicalOf.keys()) {
      position.set(kafkaTopic, new Map());
      for (const { partition, high } of await untilAvailable(() => admin.fetchTopicOffsets(kafkaTopic))) {
        if (BigInt(high) > 0n) targets.set(`${kafkaTopic}:${partition}`, BigInt(high));
      }
    }
  } catch (error) {
    await admin.disconnect();
    throw error;
  }
  if (logicalOf.size === 0) await admin.disconnect();
  const read = (kafkaTopic: string, partition: number) => position.get(kafkaTopic)?.get(partition) ?? 0n;

  // catchUp(): the catch-up in flight (shared), and the callers waiting for the feed to read on.
  let inFlight: { from: number; done: Promise<void> } | undefined;
  const readers = new Set<() => void>();
  let stopped = false;
  // Set when a catch-up gave up: the feed is not reading (its consumer restarting, the broker
  // away). Until its position moves again, batches are folded with the table as it is.
  let stalledAt: string | undefined;
  async function catchUpOnce(): Promise<void> {
    const from = Date.now();
    let ends: { kafkaTopic: string; partition: number; high: bigint }[];
    try {
      ends = [];
      for (const kafkaTopic of logicalOf.keys()) {
        for (const { partition, high } of await admin.fetchTopicOffsets(kafkaTopic)) ends.push({ kafkaTopic, partition, high: BigInt(high) });
      }
    } catch (error) {
      // The broker will answer the inputs' fetch no better: fold with the table as it is.
      log.debug({ err: error }, 'could not read the table end offsets; folding with the table as read so far');
      return;
    }
    const behind = () => !stopped && ends.some(({ kafkaTopic, partition, high }) => read(kafkaTopic, partition) < high);
    if (behind()) {
      let timer: NodeJS.Timeout | undefined;
      const reached = await new Promise<boolean>((resolve) => {
        const check = () => {
          if (behind()) return;
          readers.delete(check);
          resolve(true);
        };
        readers.add(check);
        timer = setTimeout(() => {
          readers.delete(check);
          resolve(false);
        }, CATCH_UP_TIMEOUT_MS);
      });
      clearTimeout(timer);
      if (!reached) {
        stalledAt = positionJson();
        log.warn({ tables: [...tables.keys()] }, `the global tables did not catch up within ${CATCH_UP_TIMEOUT_MS / 1000} s; folding with the table as read so far until they read on`);
        return;
      }
    }
    stalledAt = undefined;
    caughtUpAsOf = Math.max(caughtUpAsOf, from);
  }
  async function catchUp(at: number): Promise<void> {
    // A record time ahead of this clock (another machine's) asks no more than "up to now".
    const needed = Math.min(at, Date.now());
    if (caughtUpAsOf >= needed) return;
    if (stalledAt !== undefined) {
      if (stalledAt === positionJson()) return;
      stalledAt = undefined; // it reads again: worth waiting for
    }
    // One that started at or after `needed` answers this caller too; an older one is let finish first.
    if (inFlight && inFlight.from < needed) await inFlight.done;
    if (caughtUpAsOf >= needed || stalledAt !== undefined) return;
    if (!inFlight) {
      const from = Date.now();
      const done = catchUpOnce().finally(() => {
        if (inFlight?.done === done) inFlight = undefined;
      });
      inFlight = { from, done };
    }
    await inFlight.done;
  }

  /** The offsets read so far, as JSON {kafkaTopic: {partition: next offset}}, sorted. */
  function positionJson(): string {
    const out: Record<string, Record<string, string>> = {};
    for (const [topic, partitions] of [...position].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out[topic] = {};
      for (const [partition, offset] of [...partitions].sort(([a], [b]) => a - b)) out[topic][partition] = offset.toString();
    }
    return JSON.stringify(out);
  }

  let resolveBootstrap!: () => void;
  const bootstrap = new Promise<void>((resolve) => (resolveBootstrap = resolve));
  let done = false;
  const checkDone = () => {
    if (done || targets.size > 0) return;
    done = true;
    log.info({ tables: [...tables].map(([t, table]) => ({ topic: t, rows: table.size })) }, 'global tables caught up');
    resolveBootstrap();
  };
  checkDone();

  if (logicalOf.size === 0) return feed(undefined);
  const tableGroup = `${options.group}.table.${randomUUID().slice(0, 8)}`;
  const consumer: Consumer = kafka.consumer({ groupId: tableGroup, allowAutoTopicCreation: false, maxWaitTimeInMs: 1_000 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [...logicalOf.keys()], fromBeginning: true });
    await run(consumer);
  } catch (error) {
    await Promise.all([consumer.disconnect(), admin.disconnect()]).catch(() => undefined);
    throw error;
  }
  return feed(consumer);

  function run(consumer: Consumer): Promise<void> {
    return consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        const topic = logicalOf.get(batch.topic) as string;
        const table = tables.get(topic) as LatestTable<{ meta: Meta }>;
        const deadLetters = [];
        for (const message of batch.messages) {
          let value: { meta: Meta } | undefined;
          try {
            value = toEvent(topic, (await options.decoder.decode(message.value, batch.topic)).value) as { meta: Meta };
          } catch (error) {
            const verdict = classifyForDeadLetter(error);
            if ('retry' in verdict) throw error;
            deadLetters.push(toDeadLetterMessage(deadLetterOf({ topic: batch.topic, partition: batch.partition, message }, error, processor, verdict.code)));
            options.metrics.deadLetters.inc({ processor, topic, code: verdict.code });
            log.warn({ processor, topic: batch.topic, partition: batch.partition, offset: message.offset, code: verdict.code }, 'table record dead-lettered');
          }
          position.get(batch.topic)?.set(batch.partition, BigInt(message.offset) + 1n);
          if (value && table.upsert(value) && done) await options.onUpdate?.(topic, value);
          for (const check of [...readers]) check();
          const target = `${batch.topic}:${batch.partition}`;
          if (targets.has(target) && BigInt(message.offset) + 1n >= (targets.get(target) as bigint)) {
            targets.delete(target);
            checkDone();
          }
        }
        if (deadLetters.length > 0) await options.producer.send([{ topic: deadLetterTopic(batch.topic), messages: deadLetters }]);
        await heartbeat();
      },
    });
  }

  function feed(consumer: Consumer | undefined): TableFeed {
    return {
      tables,
      bootstrapped: () => bootstrap,
      isBootstrapped: () => done,
      catchUp: (at) => (consumer ? catchUp(at) : Promise.resolve()),
      position: positionJson,
      stop: async () => {
        if (!consumer) return;
        stopped = true;
        for (const check of [...readers]) check();
        await Promise.all([consumer.disconnect(), admin.disconnect()]);
        // The group was this instance's alone: remove it rather than leave it for `lag` listings
        // (the broker would drop it after offsets.retention.check.interval.ms anyway).
        const cleanup = kafka.admin();
        await cleanup.connect();
        await cleanup.deleteGroups([tableGroup]).catch(() => undefined);
        await cleanup.disconnect();
      },
    };
  }
}
