/**
 * Reads chosen partitions of topics from chosen offsets, for the operations commands (`consume`,
 * `dlq show|list|redrive`). kafkajs has no manual assignment, so the reader joins a consumer group
 * (a throwaway `<groupPrefix>consume.<random>` unless the caller names one) and, on every join,
 * seeks each wanted partition to the next offset it has not delivered yet and pauses the others:
 * a rebalance can neither skip nor repeat a record. It never commits (`autoCommit: false`);
 * callers that track progress commit through `ReadControl.commit`.
 *
 * Reads are `read_committed` (kafkajs' default), so ends are last stable offsets.
 *
 * Without `follow` a partition is done once its position reaches `end` (taken by the caller at
 * start; a batch of only transaction markers moves the position too), and `readTopics` resolves
 * when every partition is done; with `follow` it runs until `signal` aborts. `onRecord` returning
 * `false` stops the read (a `--limit` reached). An error thrown by `onRecord`, or a consumer
 * crash, stops it and rejects. Records arrive in offset order per partition, one at a time.
 * `finish` runs after a read that ended without error, before the consumer leaves the group.
 */
import type { Admin, Consumer, ConsumerGroupJoinEvent, Kafka, KafkaMessage } from 'kafkajs';
import { TributaryError, UnknownTopicError } from '../errors';
import { startOffset, type FromSpec, type PartitionBounds } from './consume';

export interface PartitionRange {
  /** First offset to deliver. */
  start: bigint;
  /** Stop before this offset (ignored with `follow`). */
  end: bigint;
}

export interface ReadTarget {
  topic: string;
  /** Only these partitions are read; the topic's others are paused. */
  partitions: ReadonlyMap<number, PartitionRange>;
}

export interface ReadControl {
  /** Commits offsets (with metadata) for the reader's group; only for callers that own the group. */
  commit(offsets: { topic: string; partition: number; offset: string; metadata: string | null }[]): Promise<void>;
  heartbeat(): Promise<void>;
}

export interface ReadOptions {
  kafka: Kafka;
  groupId: string;
  targets: readonly ReadTarget[];
  follow: boolean;
  /** Aborting ends the read cleanly (Ctrl-C with --follow). */
  signal?: AbortSignal;
  onRecord(topic: string, partition: number, message: KafkaMessage, control: ReadControl): Promise<boolean | void>;
  /** Runs once the read ended without error, while still in the group (a last commit). */
  finish?(control: ReadControl): Promise<void>;
  /** Delete the group afterwards (throwaway groups). */
  deleteGroup?: boolean;
}

export async function readTopics(options: ReadOptions): Promise<void> {
  const { kafka, groupId, targets, follow } = options;
  const position = new Map<string, bigint>();
  const pending = new Set<string>();
  const id = (topic: string, partition: number) => `${topic}\u0000${partition}`;
  for (const { topic, partitions } of targets) {
    for (const [partition, range] of partitions) {
      position.set(id(topic, partition), range.start);
      if (follow || range.start < range.end) pending.add(id(topic, partition));
    }
  }
  const endOf = (topic: string, partition: number) => targets.find((t) => t.topic === topic)?.partitions.get(partition)?.end;
  if (pending.size === 0 || options.signal?.aborted) return;

  const consumer: Consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500, readUncommitted: false });
  let settle!: (error?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    let settled = false;
    settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      if (error === undefined) resolve();
      else reject(error);
    };
  });
  const onAbort = () => settle();
  options.signal?.addEventListener('abort', onAbort);

  const advance = (topic: string, partition: number, next: bigint) => {
    const key = id(topic, partition);
    if (next > (position.get(key) ?? 0n)) position.set(key, next);
    const end = endOf(topic, partition);
    if (follow || end === undefined || (position.get(key) as bigint) < end || !pending.delete(key)) return;
    if (pending.size === 0) settle();
    else consumer.pause([{ topic, partitions: [partition] }]);
  };

  consumer.on(consumer.events.GROUP_JOIN, (event: ConsumerGroupJoinEvent) => {
    try {
      for (const { topic, partitions } of targets) {
        const assigned: number[] = event.payload.memberAssignment[topic] ?? [];
        const missing = [...partitions.keys()].filter((p) => !assigned.includes(p));
        if (missing.length > 0) {
          throw new TributaryError('TRB_GROUP_ACTIVE', `another member joined consumer group ${groupId} and took ${topic} partitions ${missing.join(', ')}: run one reader at a time`);
        }
        // Partitions not asked for, or already read to their end, are not fetched.
        const idle = assigned.filter((p) => !pending.has(id(topic, p)));
        if (idle.length > 0) consumer.pause([{ topic, partitions: idle }]);
        for (const partition of partitions.keys()) {
          if (pending.has(id(topic, partition))) consumer.seek({ topic, partition, offset: String(position.get(id(topic, partition))) });
        }
      }
    } catch (error) {
      settle(error);
    }
  });
  // A batch of only transaction markers (or aborted records) delivers nothing but moves the
  // partition on; batches with records move it as they are delivered, above.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize === 0 && position.has(id(payload.topic, payload.partition))) advance(payload.topic, payload.partition, BigInt(payload.lastOffset) + 1n);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => settle(payload.error));

  await consumer.connect();
  try {
    await consumer.subscribe({ topics: targets.map((t) => t.topic), fromBeginning: true });
    const control: ReadControl = {
      commit: (offsets) => consumer.commitOffsets(offsets),
      heartbeat: async () => undefined,
    };
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        const key = id(batch.topic, batch.partition);
        if (!position.has(key)) return;
        control.heartbeat = heartbeat;
        try {
          for (const message of batch.messages) {
            if (!isRunning() || isStale() || !pending.has(key)) return;
            const offset = BigInt(message.offset);
            // Already delivered (a batch fetched before a re-seek): skip it. Resolving moves the
            // fetch position only (nothing is committed); unresolved, the batch would come again.
            if (offset < (position.get(key) as bigint)) {
              resolveOffset(message.offset);
              continue;
            }
            const end = endOf(batch.topic, batch.partition);
            if (!follow && end !== undefined && offset >= end) {
              advance(batch.topic, batch.partition, end);
              return;
            }
            const more = await options.onRecord(batch.topic, batch.partition, message, control);
            resolveOffset(message.offset);
            advance(batch.topic, batch.partition, offset + 1n);
            if (more === false) {
              settle();
              return;
            }
          }
          // The whole batch is delivered: a transaction marker after its last record counts too.
          resolveOffset(batch.lastOffset());
          advance(batch.topic, batch.partition, BigInt(batch.lastOffset()) + 1n);
          await heartbeat();
        } catch (error) {
          settle(error);
        }
      },
    });
    await finished;
    await options.finish?.(control);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
    if (options.deleteGroup) await deleteGroup(kafka, groupId);
  }
}

/** Removes a throwaway group (the broker would drop it after offsets.retention anyway). */
async function deleteGroup(kafka: Kafka, groupId: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect().catch(() => undefined);
  try {
    await admin.deleteGroups([groupId]);
  } catch {
    // Best effort: an empty group with no offsets expires by itself.
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * Low and end offsets of every partition of a topic that must exist. Missing: TRB_UNKNOWN_TOPIC,
 * saying to apply the topology when `known` (the names the user may type) has it, else listing them.
 */
export async function topicBounds(admin: Admin, topic: string, known: () => readonly string[], typed = topic): Promise<Map<number, PartitionBounds>> {
  if (!(await admin.listTopics()).includes(topic)) {
    const names = known();
    if (!names.includes(typed)) throw new UnknownTopicError(topic, names);
    throw new TributaryError('TRB_UNKNOWN_TOPIC', `topic "${topic}" is not in Kafka: create it with \`tributary topology apply\` (with the same topic prefix)`);
  }
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
}

/** The range to read of each chosen partition for a `--from` spec, up to the ends taken now. */
export async function rangesFrom(
  admin: Admin,
  topic: string,
  bounds: ReadonlyMap<number, PartitionBounds>,
  partitions: readonly number[],
  spec: FromSpec,
): Promise<Map<number, PartitionRange>> {
  const atTimestamp = new Map<number, bigint>();
  if (spec.kind === 'timestamp') {
    for (const { partition, offset } of await admin.fetchTopicOffsetsByTimestamp(topic, spec.ms)) atTimestamp.set(partition, BigInt(offset));
  }
  const ranges = new Map<number, PartitionRange>();
  for (const partition of partitions) {
    const partitionBounds = bounds.get(partition) as PartitionBounds;
    ranges.set(partition, { start: startOffset(spec, partitionBounds, atTimestamp.get(partition)), end: partitionBounds.high });
  }
  return ranges;
}
