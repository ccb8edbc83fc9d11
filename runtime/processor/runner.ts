/**
 * The streaming runtime of one processor, written once for all (issue 4, SPEC §5, §8, §11, §12):
 *
 *   global tables bootstrapped → consume (kafkajs eachBatch, per topic-partition, in chunks;
 *   a partition's chunks of one fetch grouped: `submit`) → decode → dedupe by (topic,
 *   meta.eventId) → fold (./batch.ts) → apply state + seen ids + view + watermarks + the group's
 *   outputs and dead letters (an outbox) in ONE Redis Lua call that first checks the watermarks
 *   it started from → produce the outputs from memory behind the processing and delete the
 *   outbox entry (`produceApplied`) → commit (once a second, a hint).
 *
 * Why this order is safe (README "How a processor applies each record exactly once"):
 *  - a crash before the Redis call leaves nothing behind: the records are read again and folded
 *    afresh. A crash after it skips them — every record at or below the partition's Redis
 *    watermark counts as applied, whatever Kafka's committed offset says — and the outbox they
 *    left is produced when the partition is next opened. So exactly the applied history reaches
 *    Kafka (a repeat of a record is possible, never a record of a history that was not applied:
 *    re-folding after a crash may interleave topics differently and pass through other
 *    intermediate states).
 *  - two instances believing they own a partition (rebalance, a paused process resuming) can
 *    both fold, but only the one whose expected watermarks still match writes; the other is
 *    'fenced', forgets what it knew and re-reads Redis.
 *  - kafkajs rebalances eagerly and forgets resolved offsets: each partition is re-opened from
 *    Redis after every join, which is cheap (one integrity check).
 *
 * Lost state (a flushed or replaced Redis): the partition's epoch or watermarks no longer match
 * the group's commits (runtime/redis/integrity.ts). The partition is then rebuilt: wiped, marked
 * `@catchup` (the API answers 503 for it, never a wrong number) and replayed from the earliest
 * offset; the mark is cleared when the replay reached the end offsets and every upstream
 * processor (`upstream`: atp reads orders' outputs) is settled. A timer notices a flush on idle
 * partitions, and an upstream rebuild (its epoch changed), which puts partitions back to
 * catching up. The epoch is also the `generation` folds stamp on order-dependent outputs.
 *
 * Global tables (item.upserted): after a table record becomes current, the keys it affects are
 * refreshed (`onTableUpdate`) on the partitions this instance owns; a partition whose state was
 * last reconciled with another table position (`@tables`) is refreshed whole when opened, so an
 * update that arrived while no instance owned it is not missed.
 *
 * Failures: a record the runtime cannot read or the fold throws on is dead-lettered and
 * processing goes on; a dependency that is down (registry, Redis, Kafka) pauses the partition
 * and retries with capped backoff, heartbeating (kafkajs has no background heartbeat); anything
 * else (a bug, state Redis refuses) stops that partition and makes the processor not ready,
 * rather than crash-looping.
 */
import type { Redis } from 'ioredis';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, TopicMessages } from 'kafkajs';
import { classifyForDeadLetter, deadLetterOf, deadLetterTopic, toDeadLetterMessage } from '../dlq';
import { TributaryError } from '../errors';
import { faultPoint } from '../fault';
import type { Decoder } from '../kafka/decode';
import { cachedDefaultPartitioner } from '../kafka/cached-partitioner';
import { groupTimeouts } from '../kafka/client';
import { copartitionedAssigner } from '../kafka/copartitioned-assigner';
import { serialProducer, type SerialProducer } from '../kafka/serial-producer';
import { brokerErrorType, isTransient, untilAvailable } from '../kafka/transient';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { CATCHUP_FIELD, EPOCH_FIELD, epochKey, GEN_FIELD, topicsOf } from '../redis/keys';
import { createStateStore, DEFAULT_RETENTION_MS, newEpoch, storeSettled, type StateStore, type ViewWrite } from '../redis/state-store';
import type { Catalogue } from '../schemas/catalogue';
import { toEvent } from '../../processors/types';
import { foldBatch, type BatchRecord } from './batch';
import { keepLatest } from './coalesce';
import type { Naming } from './naming';
import { byTopic, decodeOutbox, encodeOutbox, type OutboxRecord } from './outbox';
import { createOutputEncoder } from './outputs';
import { startTableFeed, type TableFeed } from './table-feed';
import type { Output, ProcessorDeclaration, Settings } from './types';


const TABLES_FIELD = '@tables';
const DEFAULT_CHUNK = 2_000;
const EPOCH_CHECK_MS = 2_000;
/**
 * Offsets are committed at most this often, by the batches themselves or by a timer when idle, and
 * on stop. kafkajs' autoCommit sent one OffsetCommit per topic-partition batch — thousands per
 * minute under a steady trickle, each holding its batch (and so the next fetch) for a round trip —
 * for offsets that are only a hint: the Redis watermark says what was applied.
 */
const COMMIT_INTERVAL_MS = 1_000;
/** Applied batches of one partition whose produce may still be under way before it applies another. */
const MAX_PENDING_PRODUCES = 2;
const MAX_BACKOFF_MS = 30_000;
export const FETCH_WAIT_MS = 1_000;

// Declarations of different state types run through the same runtime.
type AnyDeclaration = ProcessorDeclaration<any, any>;

export interface RunnerOptions {
  declaration: AnyDeclaration;
  /** The processor's consumer group, without the topic prefix (topology `group`). */
  group: string;
  settings: Settings;
  /** Record key of each global table topic (processors/tables.ts). */
  tableKeys: Readonly<Record<string, (value: unknown) => string>>;
  naming: Naming;
  kafka: Kafka;
  redis: Redis;
  decoder: Decoder;
  catalogue: Catalogue;
  registryUrl: string;
  metrics: Metrics;
  log: Logger;
  /** Records folded and applied per Redis call (bounded script time, regular heartbeats). */
  chunkSize?: number;
  /** Consumer group session timeout (KAFKA_SESSION_TIMEOUT_MS); default 10 s. */
  sessionTimeoutMs?: number;
}

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface RunningProcessor {
  readonly name: string;
  readonly store: StateStore<unknown>;
  readiness(): ReadinessCheck;
  /** Partitions this instance owns now. */
  assigned(): number[];
  /** Finishes the batch in flight, commits and disconnects. */
  stop(): Promise<void>;
}

interface OpenPartition {
  watermarks: Record<string, string>;
  /** Next offset to read per logical topic when nothing was applied from it (log start). */
  start: Record<string, bigint>;
  /** Target end offsets while catching up, null when serving. */
  catchup: Record<string, string> | null;
  /**
   * Reaching `catchup` means serving: it was taken after every upstream processor was settled, or
   * there is none. Otherwise the end offsets are taken once more when upstream is settled.
   */
  catchupFinal?: boolean;
  /** The generation the partition's state was built in: folds stamp it on order-dependent outputs. */
  generation: string;
  /** Why a caught-up partition still waits (an upstream processor catching up), for readiness. */
  waiting?: string | null;
  /** The upstream epochs this partition's state was caught up with (store → epoch). */
  upstreamSeen?: Record<string, string | null>;
}

/**
 * The produce of one partition's applied batches, behind its processing (see produceApplied).
 * Per partition number, not per OpenPartition: a partition opened again after a rebalance waits
 * for what its previous opening still had in flight.
 */
interface ProduceLine {
  /** The last queued produce; each one starts when the one before it is done. */
  tail: Promise<void>;
  /** Batches queued and not done yet. */
  pending: number;
  /**
   * A produce (or the deletion of a produced outbox entry) failed: the outbox in Redis holds
   * batches not known to be produced. Later queued batches do not send; the partition's next
   * batch first produces the stored outbox, oldest first (settleOutbox).
   */
  dirty: boolean;
}

/** One chunk of one topic-partition batch, waiting to be processed with its partition's others. */
interface Submitted {
  kafkaTopic: string;
  /** Logical (catalogue) topic. */
  topic: string;
  messages: KafkaMessage[];
  resolve(outcome: 'done' | 'stop'): void;
  reject(error: unknown): void;
}

interface Decoded {
  message: KafkaMessage;
  record?: BatchRecord;
  error?: unknown;
  code?: string;
}

export async function startProcessor(options: RunnerOptions): Promise<RunningProcessor> {
  const { declaration, naming, kafka, redis, decoder, metrics } = options;
  const name = declaration.name as string;
  const log = options.log.child({ processor: name });
  const group = naming.group(options.group);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  // A connection of its own: another processor's or the API's traffic on the shared client does
  // not queue in front of this one's reads and applies. (Not ioredis' auto-pipelining: it keeps
  // one pipeline in flight per connection, so concurrent partitions waited for each other.)
  const stateRedis = redis.duplicate();
  // A duplicate has no listeners: without one, ioredis prints "Unhandled error event" while Redis is down.
  stateRedis.on('error', (error) => log.debug({ err: error }, 'redis connection error'));
  // SPEC §5: a repeated eventId is recognised at least as long as the grace period, when a setting makes it longer than the default.
  const graceMs = typeof options.settings.graceMs === 'number' && Number.isFinite(options.settings.graceMs) ? options.settings.graceMs : 0;
  const store = createStateStore<unknown>({ redis: stateRedis, processor: naming.store(name), retentionMs: Math.max(DEFAULT_RETENTION_MS, graceMs) });
  const inputs = declaration.inputs as readonly string[];
  const kafkaInputs = inputs.map((t) => naming.topic(t));
  const logicalOf = new Map(inputs.map((t) => [naming.topic(t), t]));

  const producer: SerialProducer = await untilAvailable(() =>
    serialProducer(() => kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: cachedDefaultPartitioner() }), {
      onReplaced: (error) => log.warn({ err: error }, 'the idempotent producer lost its sequence: replaced it; the unsent outputs go out again under a new producer id'),
    }),
  );
  const encoder = createOutputEncoder({ registryUrl: options.registryUrl, catalogue: options.catalogue, kafkaTopic: naming.topic, internalTopics: declaration.internalOutputs });
  await untilAvailable(() => encoder.prepare(declaration.outputs as readonly string[]));
  const admin = kafka.admin();
  await admin.connect();
  // Redis not up yet (started side by side, restarting) is waited out like Kafka is, not an exit.
  let warnedRedis = false;
  let epoch = await untilAvailable(() =>
    store.ensureEpoch().catch((error: unknown) => {
      if (!warnedRedis && isTransient(error)) log.warn({ err: error }, 'waiting for Redis');
      warnedRedis = true;
      throw error;
    }),
  );

  const open = new Map<number, OpenPartition>();
  const failed = new Map<number, string>();
  const locks = new Map<number, Promise<unknown>>();
  const lines = new Map<number, ProduceLine>();
  const waiting = new Map<number, Submitted[]>();
  let assigned: number[] = [];
  let joined = false;
  let stopping = false;
  let batchesInFlight = 0;
  /** Commits every resolved offset not committed yet (kafkajs' own bookkeeping; set by the first batch). */
  let commitResolved: (() => Promise<void>) | null = null;
  const onTableUpdate = declaration.onTableUpdate;
  const upstream = (declaration.upstream ?? []).map((other: string) => naming.store(other));

  // Tables first: no input is folded before the item master is read to its end.
  const tableKeys = new Map((declaration.tables as readonly string[]).map((t) => [t, options.tableKeys[t] as (value: unknown) => string]));
  for (const [topic, keyOf] of tableKeys) if (!keyOf) throw new TributaryError('TRB_CONFIG', `${name}: no record key is known for table ${topic}`);
  const feed: TableFeed = await startTableFeed({
    kafka,
    producer,
    decoder,
    processor: name,
    group,
    tables: tableKeys,
    kafkaTopic: naming.topic,
    log,
    metrics,
    onUpdate: onTableUpdate ? (topic, value) => refreshOwned((key) => onTableUpdate.affects(topic, value, key), { topic, value }) : undefined,
  });
  await feed.bootstrapped();
  const ctx = declaration.createContext(feed.tables, options.settings);

  // A short fetch wait keeps SIGTERM quick: stopping waits for the fetch in flight (SPEC §12: 10 s).
  const consumer: Consumer = kafka.consumer({
    groupId: group,
    allowAutoTopicCreation: false,
    retry: { retries: 10 },
    maxWaitTimeInMs: FETCH_WAIT_MS,
    // Partition p of every input to one instance: the state of partition p spans all inputs.
    partitionAssigners: [copartitionedAssigner],
    ...groupTimeouts(options.sessionTimeoutMs),
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // Eager rebalancing: every partition was revoked; whatever this instance knew may be stale.
    open.clear();
    const owned = new Set<number>();
    for (const topic of kafkaInputs) for (const p of payload.memberAssignment[topic] ?? []) owned.add(p);
    assigned = [...owned].sort((a, b) => a - b);
    joined = true;
    metrics.keepLagOf({ processor: name, group }, payload.memberAssignment);
    log.info({ partitions: assigned }, 'partitions assigned');
    // Open (and stamp or rebuild) every owned partition now, so idle ones are servable too.
    for (const p of assigned) void withPartition(p, () => ensureOpen(p)).catch((error) => partitionFailed(p, error));
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    joined = false;
    log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
  });
  await consumer.connect();
  await consumer.subscribe({ topics: kafkaInputs, fromBeginning: true });
  await consumer.run({
    eachBatchAutoResolve: false,
    autoCommit: false,
    autoCommitInterval: COMMIT_INTERVAL_MS,
    // Every topic-partition of a fetch may start at once: batches of one partition wait for each
    // other on its lock, those of different partitions overlap their Redis and Kafka round trips.
    partitionsConsumedConcurrently: Math.min(64, inputs.length * 12),
    eachBatch: (payload) => handleBatch(payload),
  });
  const commitTimer = setInterval(() => {
    if (batchesInFlight === 0 && !stopping && commitResolved) {
      void commitResolved().catch((error) => {
        // The group is rebalancing (an instance joins or leaves): the next commit after it goes through.
        const level = REBALANCING.has(brokerErrorType(error) ?? '') ? 'debug' : 'warn';
        log[level]({ err: error }, 'could not commit offsets (a hint only); retrying');
      });
    }
  }, COMMIT_INTERVAL_MS);
  commitTimer.unref();

  const epochWatch = setInterval(() => void watchEpoch(), EPOCH_CHECK_MS);
  epochWatch.unref();
  log.info({ group, inputs: kafkaInputs, tables: [...tableKeys.keys()] }, 'processor started');

  /** Runs work for one partition after the work queued before it (batches of different topics, refreshes). */
  function withPartition<T>(p: number, work: () => Promise<T>): Promise<T> {
    const before = locks.get(p) ?? Promise.resolve();
    const run = before.then(work, work);
    locks.set(p, run.catch(() => undefined));
    return run;
  }

  function partitionFailed(p: number, error: unknown): void {
    if (stopping) return;
    if (isTransient(error)) {
      log.warn({ partition: p, err: error }, 'partition not opened yet; it opens with its next batch');
      return;
    }
    failed.set(p, (error as Error).message);
    log.error({ partition: p, err: error }, 'partition stopped: fix the cause (see the error), then restart or rebuild');
    consumer.pause(kafkaInputs.map((topic) => ({ topic, partitions: [p] })));
  }

  async function offsetsAt(p: number): Promise<{ low: Record<string, bigint>; high: Record<string, string> }> {
    const low: Record<string, bigint> = {};
    const high: Record<string, string> = {};
    for (const topic of inputs) {
      const found = (await untilAvailable(() => admin.fetchTopicOffsets(naming.topic(topic)))).find((o) => o.partition === p);
      low[topic] = BigInt(found?.low ?? '0');
      if (found && BigInt(found.high) > 0n) high[topic] = found.high;
    }
    return { low, high };
  }

  async function committedAt(p: number): Promise<Record<string, string>> {
    const committed: Record<string, string> = {};
    for (const entry of await untilAvailable(() => admin.fetchOffsets({ groupId: group, topics: kafkaInputs }))) {
      const found = entry.partitions.find((o) => o.partition === p);
      if (found) committed[logicalOf.get(entry.topic) as string] = found.offset;
    }
    return committed;
  }

  async function ensureOpen(p: number): Promise<OpenPartition> {
    return open.get(p) ?? openPartition(p);
  }

  /** Judges Redis against Kafka for one partition; stamps a fresh one, rebuilds a lost one. */
  async function openPartition(p: number): Promise<OpenPartition> {
    epoch = await store.ensureEpoch();
    const report = await store.checkIntegrity(p, await committedAt(p));
    const { low, high } = await offsetsAt(p);
    let part: OpenPartition;
    if (report.status === 'fresh' || report.status === 'lost') {
      if (report.status === 'lost') {
        log.warn({ partition: p, detail: report.detail }, 'derived state lost: rebuilding the partition from the earliest offset; the API answers 503 for it until caught up');
        metrics.rebuilds.inc({ processor: name, reason: 'lost' });
        await store.wipe([p]);
      }
      const catchup = Object.keys(high).length > 0 ? high : null;
      // A rebuilt partition may fold its history in another interleaving than before: its outputs
      // carry a newer generation so downstream prefers them to what the old state emitted.
      const generation = laterOf(newEpoch(Date.now()), epoch);
      const metaSet: Record<string, string> = { [TABLES_FIELD]: feed.position(), [GEN_FIELD]: generation };
      if (catchup) metaSet[CATCHUP_FIELD] = JSON.stringify(catchup);
      const outcome = await setMarks(p, {}, { metaSet, metaDelete: catchup ? [] : [CATCHUP_FIELD] });
      if (outcome === 'fenced') throw new TributaryError('TRB_REDIS_UNAVAILABLE', `${name} partition ${p} was stamped by another instance at the same time; retrying`, { retriable: true });
      part = { watermarks: {}, start: low, catchup, catchupFinal: upstream.length === 0, generation };
      // 'fresh' too: a flush before the group's first commit (they are a second apart) looks
      // fresh while the consumer already read past records the state no longer holds, and a
      // topic-partition that gets no new record would never deliver them again (it stayed
      // catching up for ever). Reading a partition's first records twice at a real first start is
      // the price: the second time they are below the watermark and skipped.
      for (const topic of inputs) consumer.seek({ topic: naming.topic(topic), partition: p, offset: low[topic]?.toString() ?? '0' });
    } else {
      if (report.status === 'behind') log.warn({ partition: p, detail: report.detail }, 'Redis is older than the committed offsets: resuming from Redis');
      const meta = await store.meta(p);
      const catchup = meta[CATCHUP_FIELD] ? (JSON.parse(meta[CATCHUP_FIELD]) as Record<string, string>) : null;
      part = { watermarks: report.watermarks, start: low, catchup, catchupFinal: upstream.length === 0, generation: meta[GEN_FIELD] ?? epoch };
      // A batch applied just before a crash or a rebalance may not have been produced yet.
      const line = lineOf(p);
      await line.tail;
      await flushOutbox(p);
      line.dirty = false;
      if (onTableUpdate && meta[TABLES_FIELD] !== feed.position()) {
        open.set(p, part);
        await refreshPartition(p, () => true);
      }
    }
    open.set(p, part);
    metrics.partitionReady.set({ processor: name, partition: String(p) }, part.catchup ? 0 : 1);
    return part;
  }

  async function watchEpoch(): Promise<void> {
    if (stopping || !joined) return;
    try {
      const current = await store.readEpoch();
      if (current !== epoch) {
        log.warn({ epoch: current }, 'the state epoch in Redis changed or vanished (flushed, replaced or rebuilt): re-opening every owned partition');
        open.clear();
        for (const p of assigned) void withPartition(p, () => ensureOpen(p)).catch((error) => partitionFailed(p, error));
        return;
      }
      // An upstream rebuilt since a serving partition caught up: what it derived may be mid-way.
      const upstreamNow: Record<string, string | null> = {};
      for (const other of upstream) upstreamNow[other] = await redis.get(epochKey(other));
      for (const [p, part] of open) {
        if (part.catchup !== null || upstream.length === 0) continue;
        if (part.upstreamSeen === undefined) {
          part.upstreamSeen = upstreamNow;
          continue;
        }
        const rebuilt = upstream.filter((other) => part.upstreamSeen?.[other] !== upstreamNow[other]);
        if (rebuilt.length > 0) {
          log.warn({ partition: p, upstream: rebuilt }, 'an upstream state was rebuilt: catching up again before serving');
          void withPartition(p, () => markCatchingUp(p)).catch((error) => partitionFailed(p, error));
        }
      }
      for (const p of open.keys()) void withPartition(p, () => recheck(p)).catch((error) => partitionFailed(p, error));
      // An owned partition whose opening failed on a dependency that was down, and that gets no batch to open it.
      for (const p of assigned) if (!open.has(p) && !failed.has(p)) void withPartition(p, () => ensureOpen(p)).catch((error) => partitionFailed(p, error));
      // An idle partition whose last produce failed has no next batch to produce its outbox.
      for (const [p, line] of lines) {
        if (line.dirty && open.has(p) && !failed.has(p)) {
          void withPartition(p, () => drainOutbox(p)).catch((error) => (isTransient(error) ? log.warn({ partition: p, err: error }, 'outbox still not produced; retrying') : partitionFailed(p, error)));
        }
      }
    } catch (error) {
      log.warn({ err: error }, 'cannot check the state epoch');
    }
  }

  /**
   * Compares an open partition with what Redis holds, so an idle partition notices too: wiped or
   * moved on (`tributary rebuild`, another instance) → open it again (and rebuild it); marked as
   * catching up by a rebuild of an upstream → stop serving until caught up again.
   */
  async function recheck(p: number): Promise<void> {
    const part = open.get(p);
    if (!part) return;
    const stamp = await store.stamp(p);
    if (stamp[EPOCH_FIELD] !== epoch || !sameOffsets(topicsOf(stamp), part.watermarks)) {
      log.warn({ partition: p }, 'the partition was wiped or moved on elsewhere (a rebuild, another instance): opening it again');
      open.delete(p);
      await ensureOpen(p);
      return;
    }
    const marked = stamp[CATCHUP_FIELD];
    if (marked !== undefined && part.catchup === null) {
      log.warn({ partition: p }, 'asked to catch up again (an upstream processor is being rebuilt): not serving until then');
      part.catchup = JSON.parse(marked) as Record<string, string>;
      part.catchupFinal = upstream.length === 0;
      metrics.partitionReady.set({ processor: name, partition: String(p) }, 0);
    }
    if (part.catchup !== null) await tryServe(p, part);
  }

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { commitOffsetsIfNecessary, uncommittedOffsets, isRunning } = payload;
    commitResolved = () => commitOffsetsIfNecessary(uncommittedOffsets());
    batchesInFlight++;
    try {
      await consumeBatch(payload);
    } finally {
      batchesInFlight--;
      // Stopping (SIGTERM, SPEC §12): what was applied is committed before kafkajs leaves the group.
      if (!isRunning()) await commitOffsetsIfNecessary(appliedOffsets()).catch((error) => log.warn({ err: error }, 'could not commit offsets on stop'));
    }
  }

  /**
   * One past what Redis says each owned partition applied, per input: what a stop commits. Not
   * kafkajs' resolved offsets: a chunk can be applied with another topic's chunk of its partition
   * (processGroup) while its own batch ends unresolved, stale or cut by the stop.
   */
  function appliedOffsets(): { topics: { topic: string; partitions: { partition: number; offset: string }[] }[] } {
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const [partition, part] of open) {
      for (const [topic, offset] of Object.entries(part.watermarks)) {
        const kafkaTopic = naming.topic(topic);
        (byTopic.get(kafkaTopic) ?? byTopic.set(kafkaTopic, []).get(kafkaTopic) as { partition: number; offset: string }[]).push({ partition, offset: (BigInt(offset) + 1n).toString() });
      }
    }
    return { topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) };
  }

  async function consumeBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const p = batch.partition;
    const topic = logicalOf.get(batch.topic) as string;
    const lag = Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n);
    metrics.noteLag({ processor: name, group, topic: batch.topic, partition: p }, lag);
    if (failed.has(p)) return;
    for (let i = 0; i < batch.messages.length; i += chunkSize) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + chunkSize);
      const outcome = await retrying(() => submit(p, { kafkaTopic: batch.topic, topic, messages: chunk }), heartbeat, isRunning);
      if (outcome !== 'done') return;
      resolveOffset((chunk[chunk.length - 1] as KafkaMessage).offset);
      await commitOffsetsIfNecessary(); // at most every COMMIT_INTERVAL_MS
      await heartbeat();
    }
    const last = batch.messages[batch.messages.length - 1];
    metrics.groupLagSeconds.set({ consumergroup: group, topic: batch.topic, partition: String(p) }, lag > 0 && last ? Math.max(0, (Date.now() - Number(last.timestamp)) / 1000) : 0);
  }

  async function retrying<T>(work: () => Promise<T>, heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<T | 'stopped'> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (!isTransient(error)) throw error;
        if (!isRunning() || stopping) return 'stopped';
        const code = error instanceof TributaryError ? error.code : 'TRB_KAFKA_UNAVAILABLE';
        metrics.retries.inc({ processor: name, code });
        const wait = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
        log.warn({ code, attempt, waitMs: Math.round(wait), err: error }, 'dependency unavailable: pausing this partition and retrying');
        const until = Date.now() + wait;
        while (Date.now() < until && isRunning() && !stopping) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, until - Date.now())));
          await heartbeat();
        }
      }
    }
  }

  /**
   * Hands one chunk of one topic-partition batch to its partition; resolves 'done' when applied
   * (or nothing to do), 'stop' to re-fetch. The chunks of a partition's topics that arrive
   * together (kafkajs hands over every topic-partition of a fetch at once) are processed as ONE
   * group: one read of seen ids and states, one fold, one Lua apply advancing each topic's
   * watermark, one produce. Under a steady trickle a fetch brings a few records on each of
   * orders' six inputs; per topic-partition that was six times the round trips and applies for
   * the same records. Folding them together is one more interleaving of the topics, which the
   * folds accept by design (README "How a processor applies …"); within a topic, Kafka's order.
   */
  function submit(p: number, chunk: Omit<Submitted, 'resolve' | 'reject'>): Promise<'done' | 'stop'> {
    return new Promise((resolve, reject) => {
      const queued = waiting.get(p);
      if (queued) {
        queued.push({ ...chunk, resolve, reject });
        return;
      }
      waiting.set(p, [{ ...chunk, resolve, reject }]);
      // The other topic-partitions of the same fetch are dispatched in this turn: let them join.
      setImmediate(() => void withPartition(p, () => drain(p)));
    });
  }

  /** Processes the chunks waiting for a partition (under its lock), a group at a time. */
  async function drain(p: number): Promise<void> {
    const queued = waiting.get(p);
    if (!queued) return;
    // At most chunkSize records and one chunk per topic (a topic's next chunk follows its first).
    const group: Submitted[] = [];
    const topics = new Set<string>();
    let records = 0;
    for (let i = 0; i < queued.length; ) {
      const chunk = queued[i] as Submitted;
      if (!topics.has(chunk.topic) && (group.length === 0 || records + chunk.messages.length <= chunkSize)) {
        group.push(chunk);
        topics.add(chunk.topic);
        records += chunk.messages.length;
        queued.splice(i, 1);
      } else i++;
    }
    if (queued.length === 0) waiting.delete(p);
    else setImmediate(() => void withPartition(p, () => drain(p)));
    try {
      const outcomes = await processGroup(p, group);
      group.forEach((chunk, i) => chunk.resolve(outcomes[i] as 'done' | 'stop'));
    } catch (error) {
      for (const chunk of group) chunk.reject(error);
    }
  }

  /** One group of chunks of one partition (one per topic): an outcome per chunk. */
  async function processGroup(p: number, group: readonly Submitted[]): Promise<('done' | 'stop')[]> {
    const outcomes = group.map((): 'done' | 'stop' => 'done');
    if (failed.has(p)) return outcomes.map(() => 'stop');
    const started = process.hrtime.bigint();
    const part = await ensureOpen(p);
    await settleOutbox(p);
    const parts: { index: number; kafkaTopic: string; topic: string; pending: KafkaMessage[] }[] = [];
    group.forEach(({ kafkaTopic, topic, messages }, index) => {
      const applied = part.watermarks[topic];
      const next = applied === undefined ? (part.start[topic] ?? 0n) : BigInt(applied) + 1n;
      const pending = messages.filter((m) => BigInt(m.offset) >= next);
      if (pending.length === 0) return;
      if (BigInt((pending[0] as KafkaMessage).offset) > next) {
        // Kafka's position is past what Redis holds (Redis restored older, or a rebuild): read again from there.
        consumer.seek({ topic: kafkaTopic, partition: p, offset: next.toString() });
        outcomes[index] = 'stop';
        return;
      }
      parts.push({ index, kafkaTopic, topic, pending });
    });
    if (parts.length === 0) return outcomes;

    const decoded = await Promise.all(parts.map(({ kafkaTopic, topic, pending }) => Promise.all(pending.map((message) => decodeOne(kafkaTopic, topic, p, message)))));
    // The global tables hold what was appended before these records (an item published just before
    // its order). Not for a processor that re-folds on table updates (atp): a late table record fixes
    // its outputs anyway, and its refresh waits for this partition, which would wait for the feed.
    if (tableKeys.size > 0 && !onTableUpdate) await feed.catchUp(newestTimestamp(parts));
    const good = decoded.flatMap((list) => list.filter((d) => d.record).map((d) => d.record as BatchRecord));
    const eventIds = new Map<string, string[]>();
    for (const record of good) (eventIds.get(record.topic) ?? eventIds.set(record.topic, []).get(record.topic) as string[]).push(record.eventId);
    const { seen, states: loaded, json: loadedJson } = await store.readBatch(p, eventIds, good.map((r) => r.key));
    const folded = foldBatch<unknown, unknown, { output: Output; message: Message }>({
      declaration,
      ctx,
      records: good,
      loaded,
      loadedJson,
      alreadySeen: seen,
      encode: (output) => ({ output, message: encoder.encode(output) }),
      generation: part.generation,
    });

    const produced = coalesce(folded.outputs, ({ output }) => output);
    const outbox: OutboxRecord[] = produced.map(({ output, message }) => ({ topic: naming.topic(output.topic), message }));
    const dead: { kafkaTopic: string; topic: string; message: KafkaMessage; error: unknown; code: string; record?: BatchRecord }[] = [];
    parts.forEach(({ kafkaTopic, topic }, i) => {
      for (const d of decoded[i] as Decoded[]) if (d.error !== undefined) dead.push({ kafkaTopic, topic, message: d.message, error: d.error, code: d.code as string });
    });
    for (const { record, error } of folded.failed) {
      const from = parts.find((x) => x.topic === record.topic) as (typeof parts)[number];
      const verdict = classifyForDeadLetter(error);
      dead.push({ kafkaTopic: from.kafkaTopic, topic: from.topic, message: messageOf(from.pending, record), error, code: 'code' in verdict ? verdict.code : 'TRB_PROCESSING', record });
    }
    for (const { kafkaTopic, topic, message, error, code, record } of dead) {
      outbox.push({ topic: deadLetterTopic(kafkaTopic), message: toDeadLetterMessage(deadLetterOf({ topic: kafkaTopic, partition: p, message }, error, name, code)) });
      metrics.deadLetters.inc({ processor: name, topic, code });
      // An undecodable record has no meta: its CloudEvents id header, when there is one, names it.
      const ids = record ? recordIds(record) : { eventId: ceId(message) };
      log.warn({ topic: kafkaTopic, partition: p, offset: message.offset, ...ids, code }, 'record dead-lettered');
    }

    const newWatermarks = { ...part.watermarks };
    for (const { topic, pending } of parts) newWatermarks[topic] = (pending[pending.length - 1] as KafkaMessage).offset;
    const puts = new Map<string, unknown>();
    const deletes: string[] = [];
    const views: ViewWrite[] = [];
    for (const [key, state] of folded.states) {
      if (state === undefined) {
        if (loaded.has(key)) deletes.push(key);
      } else puts.set(key, state);
      if (declaration.view) views.push(...declaration.view(key, state));
    }
    const now = Date.now();
    // The outputs are stored with the state (./outbox.ts): exactly the applied batches' records
    // reach Kafka, whatever crashes or rebalances happen in between.
    faultPoint('before-apply'); // test-only (runtime/fault.ts): a batch folded, not yet written — what a zombie holds
    const { outcome, outboxSeq } = await store.apply(p, {
      expectedWatermarks: part.watermarks,
      newWatermarks,
      puts,
      deletes,
      seen: folded.applied.map((r) => ({ topic: r.topic, eventId: r.eventId, at: now })),
      views,
      outbox: encodeOutbox(outbox),
    });
    if (outcome === 'fenced') {
      fenced(p, parts.map((x) => x.kafkaTopic).join(','));
      for (const { index } of parts) outcomes[index] = 'stop';
      return outcomes;
    }
    part.watermarks = newWatermarks;
    if (log.isLevelEnabled('debug')) {
      for (const record of folded.applied) log.debug({ topic: record.topic, partition: p, offset: record.offset, ...recordIds(record) }, 'record applied');
      for (const record of folded.duplicates) log.debug({ topic: record.topic, partition: p, offset: record.offset, ...recordIds(record) }, 'record skipped: its eventId was applied before');
    }
    faultPoint('after-apply'); // test-only (runtime/fault.ts): between the Redis write and produce/commit
    // Counted as applied now: a failed produce below is retried from the outbox, not re-applied.
    for (const { topic, pending } of parts) metrics.recordsIn.inc({ processor: name, topic }, pending.length);
    for (const [topic, count] of countBy(folded.duplicates, (r) => r.topic)) metrics.duplicates.inc({ processor: name, topic }, count);
    if (folded.lateBeyondGrace > 0) metrics.lateEvents.inc({ processor: name }, folded.lateBeyondGrace);
    // One labelled update per topic, not per record: prom-client hashes the labels on every call.
    for (const [outTopic, count] of countBy(produced, ({ output }) => output.topic)) {
      metrics.recordsOut.inc({ processor: name, topic: outTopic }, count);
      if (outTopic === 'order.rejected') metrics.rejections.inc({ processor: name }, count);
    }
    for (const { topic } of parts) {
      const endToEnd = metrics.endToEndSeconds.labels({ processor: name, topic });
      for (const record of folded.applied) {
        if (record.topic !== topic) continue;
        endToEnd.observe(Math.max(0, (now - record.occurredAt) / 1000));
        metrics.noteApplied(name, record.occurredAt);
      }
    }
    if (outboxSeq !== null) produceApplied(p, outbox, outboxSeq);
    if (part.catchup !== null && isCaughtUp(newWatermarks, part.catchup)) await tryServe(p, part);
    metrics.batchSeconds.observe({ processor: name }, Number(process.hrtime.bigint() - started) / 1e9);
    return outcomes;
  }

  /** Sets or clears a partition's meta fields alone, fenced like a batch (nothing else changes). */
  function setMarks(p: number, watermarks: Record<string, string>, marks: { metaSet?: Record<string, string>; metaDelete?: string[] }) {
    return store.applyBatch(p, { expectedWatermarks: watermarks, newWatermarks: watermarks, puts: new Map(), deletes: [], seen: [], ...marks });
  }

  /**
   * Clears a partition's catch-up mark once it has read its inputs to their end offsets AND every
   * upstream processor (whose outputs it reads: atp ← orders) is settled; the end offsets are
   * taken again once upstream is settled, so what upstream produced while rebuilding is read too,
   * and that target is final. (Taking them again at every batch chased the live traffic: under a
   * steady load a partition almost never sat exactly at the end of all its inputs, and stayed
   * catching up — not served — as long as the traffic lasted.) Called (under the partition's
   * lock) after a batch reaches the target and by the watch timer.
   */
  async function tryServe(p: number, part: OpenPartition): Promise<void> {
    if (part.catchup === null || !isCaughtUp(part.watermarks, part.catchup)) return;
    // Settled means produced too: a downstream processor (atp) takes this partition's outputs
    // as complete once it serves.
    await drainOutbox(p);
    const seen: Record<string, string | null> = {};
    for (const other of upstream) {
      const { settled, detail, epoch: otherEpoch } = await storeSettled(redis, other);
      if (!settled) {
        part.waiting = detail;
        return;
      }
      seen[other] = otherEpoch;
    }
    part.waiting = null;
    let target: Record<string, string> | null = null;
    if (!part.catchupFinal) {
      const { high } = await offsetsAt(p);
      if (!isCaughtUp(part.watermarks, high)) target = high;
    }
    const done = target === null;
    const outcome = await setMarks(p, part.watermarks, done ? { metaDelete: [CATCHUP_FIELD] } : { metaSet: { [CATCHUP_FIELD]: JSON.stringify(target) } });
    if (outcome === 'fenced') {
      open.delete(p);
      return;
    }
    part.catchup = target;
    part.catchupFinal = true;
    if (done) {
      part.upstreamSeen = seen;
      metrics.partitionReady.set({ processor: name, partition: String(p) }, 1);
      log.info({ partition: p }, 'partition caught up: serving');
    }
  }

  /** Marks a partition as catching up again (an upstream state was rebuilt: what it derived may be mid-way). */
  async function markCatchingUp(p: number): Promise<void> {
    const part = open.get(p);
    if (!part || part.catchup !== null) return;
    const { high } = await offsetsAt(p);
    const outcome = await setMarks(p, part.watermarks, { metaSet: { [CATCHUP_FIELD]: JSON.stringify(high) } });
    if (outcome === 'fenced') open.delete(p);
    else {
      part.catchup = high;
      part.catchupFinal = upstream.length === 0;
      metrics.partitionReady.set({ processor: name, partition: String(p) }, 0);
    }
  }

  function fenced(p: number, kafkaTopic: string): 'stop' {
    open.delete(p);
    metrics.fenced.inc({ processor: name });
    log.info({ topic: kafkaTopic, partition: p }, 'batch fenced: another instance or a rebuild moved this partition on; re-reading its state');
    return 'stop';
  }

  async function decodeOne(kafkaTopic: string, topic: string, p: number, message: KafkaMessage): Promise<Decoded> {
    let value: unknown;
    try {
      value = toEvent(topic, (await decoder.decode(message.value, kafkaTopic)).value);
    } catch (error) {
      const verdict = classifyForDeadLetter(error);
      if ('retry' in verdict) throw error;
      return { message, error, code: verdict.code };
    }
    const meta = (value as { meta?: { eventId?: string; occurredAt?: number } }).meta;
    if (!meta || typeof meta.eventId !== 'string' || meta.eventId === '') {
      return { message, error: new TributaryError('TRB_VALIDATION', `record on ${kafkaTopic} has no meta.eventId`), code: 'TRB_VALIDATION' };
    }
    let key: string;
    try {
      key = declaration.keyOf(topic, value);
    } catch (error) {
      return { message, error, code: 'TRB_PROCESSING' };
    }
    const recordKey = message.key?.toString('utf8');
    if (recordKey !== key) {
      // A record under another key may sit on another partition than its state: folding it here would split that state.
      const error = new TributaryError('TRB_VALIDATION', `record key ${JSON.stringify(recordKey ?? null)} on ${kafkaTopic} partition ${p} is not the key its value names (${JSON.stringify(key)}): publish it keyed as the catalogue says`);
      return { message, error, code: 'TRB_VALIDATION' };
    }
    return { message, record: { topic, offset: message.offset, value, eventId: meta.eventId, key, occurredAt: Number(meta.occurredAt) } };
  }

  /** Produces what applied batches left in the partition's outbox, oldest first, then clears it. */
  async function flushOutbox(p: number): Promise<void> {
    const entries = await store.outbox(p);
    for (const entry of entries) await send(decodeOutbox(entry.records));
    await store.clearOutbox(p, entries.map((e) => e.seq));
  }

  function lineOf(p: number): ProduceLine {
    let line = lines.get(p);
    if (!line) lines.set(p, (line = { tail: Promise.resolve(), pending: 0, dirty: false }));
    return line;
  }

  /**
   * Produces the batch just applied from memory, behind the partition's processing: the caller
   * goes on to its next batch (and kafkajs to its next fetch) while Kafka acknowledges these.
   * The records are the ones the Lua call stored under `seq`; reading them back would only cost
   * time. Why this keeps the guarantees of the README ("How a processor applies …"):
   *  - Exactly the applied history: the batch is in the outbox in Redis, atomically with its
   *    state, before it is queued here. A crash, a failed send or a failed HDEL leaves it there,
   *    and it is produced from there (partition opened, or the partition's next batch after
   *    `dirty`). Offsets may be committed before the produce is acknowledged: the committed
   *    offset is only a hint, the Redis watermark (written with the outbox) is the truth.
   *  - Order: one partition's batches are produced one after the other (each link waits for the
   *    one before it, its send AND the deletion of its entry). After a failure no later batch of
   *    the partition is sent from memory: the stored outbox goes out oldest first, so a batch
   *    never lands after a newer one (a repeat of an older batch can only come before the newer
   *    batch's own copy, so compacted topics still end on the newest value).
   *  - Fencing is unchanged: only batches this instance applied are queued, and an instance that
   *    re-opens the partition first waits for what is queued here (openPartition).
   * At most MAX_PENDING_PRODUCES batches per partition wait here (settleOutbox) before it applies
   * another: a broker slower than Redis slows processing down instead of filling memory.
   */
  function produceApplied(p: number, records: readonly OutboxRecord[], seq: string): void {
    const line = lineOf(p);
    line.pending++;
    line.tail = line.tail
      .then(async () => {
        if (line.dirty) return;
        try {
          // An instance paused (GC, SIGSTOP, a VM stall) past its session timeout wakes up with
          // batches queued here that the partition's new owner already produced from the outbox,
          // followed by newer ones: sending them now would end a compacted topic (order.status)
          // on a stale value. Gone from the outbox means produced (or wiped by a rebuild): skip.
          // A pause between this check and the send still slips through (README "Reliability").
          if (!(await store.holdsOutbox(p, seq))) {
            metrics.fenced.inc({ processor: name });
            log.info({ partition: p }, 'an applied batch was produced by another instance (or wiped by a rebuild) while this one was paused: not producing it again');
            return;
          }
          await send(byTopic(records));
          await store.clearOutbox(p, [seq]);
        } catch (error) {
          line.dirty = true;
          if (stopping) return;
          if (!isTransient(error)) {
            partitionFailed(p, error);
            return;
          }
          metrics.retries.inc({ processor: name, code: error instanceof TributaryError ? error.code : 'TRB_REDIS_UNAVAILABLE' });
          log.warn({ partition: p, err: error }, 'could not produce (or clear) an applied batch: the partition produces its stored outbox before its next batch (or within seconds if idle)');
        }
      })
      .finally(() => {
        line.pending--;
      });
  }

  /** Before a partition applies: not too much queued, and whatever failed is produced from Redis first. */
  async function settleOutbox(p: number): Promise<void> {
    const line = lineOf(p);
    if (line.pending >= MAX_PENDING_PRODUCES) await line.tail;
    if (line.dirty) await drainOutbox(p);
  }

  /** Everything the partition applied is produced: the queue done, a failed part sent again from Redis (throws if Kafka is still down). */
  async function drainOutbox(p: number): Promise<void> {
    const line = lineOf(p);
    await line.tail;
    if (line.dirty) {
      await flushOutbox(p);
      line.dirty = false;
    }
  }

  async function send(topicMessages: TopicMessages[]): Promise<void> {
    if (topicMessages.length === 0) return;
    try {
      await producer.send(topicMessages);
    } catch (error) {
      // MESSAGE_TOO_LARGE, INVALID_RECORD, a topic deleted under it: asking again cannot help.
      if (refusedForGood(error)) {
        throw new TributaryError(
          'TRB_OUTPUT_REFUSED',
          `${name} cannot produce its outputs: the broker refused them (${(error as Error).message}); they stay in the Redis outbox — fix the cause (e.g. the topic's max.message.bytes) and restart`,
          { cause: error },
        );
      }
      throw new TributaryError('TRB_KAFKA_UNAVAILABLE', `${name} could not produce its outputs (${(error as Error).message}); retrying`, { retriable: true, cause: error });
    }
  }

  /** The outputs worth producing: the newest of each `latestOnly` identity (./coalesce.ts); the others counted. */
  function coalesce<T>(items: readonly T[], outputOf: (item: T) => Output): T[] {
    const latestOnly = declaration.latestOnly;
    if (!latestOnly) return [...items];
    const { kept, dropped } = keepLatest(items, (item) => latestOnly(outputOf(item)));
    for (const [outTopic, count] of countBy(dropped, (item) => outputOf(item).topic)) metrics.outputsCoalesced.inc({ processor: name, topic: outTopic }, count);
    return kept;
  }

  /** Re-folds the table-dependent outputs of the keys `affects` selects, on one partition. */
  async function refreshPartition(p: number, affects: (key: string) => boolean, cause?: { topic: string; value: unknown }): Promise<void> {
    if (!onTableUpdate || failed.has(p)) return;
    const part = open.get(p);
    if (!part) return; // opening it reconciles it
    const keys = (await store.stateKeys(p)).filter(affects);
    for (let i = 0; i <= keys.length; i += chunkSize) {
      const slice = keys.slice(i, i + chunkSize);
      const loaded = await store.load(p, slice);
      const puts = new Map<string, unknown>();
      const views: ViewWrite[] = [];
      const outbox: OutboxRecord[] = [];
      for (const [key, state] of loaded) {
        const step = onTableUpdate.refresh(state, key, ctx, cause);
        if (step.state !== undefined) puts.set(key, step.state);
        if (declaration.view) views.push(...declaration.view(key, step.state));
        for (const output of step.outputs) {
          outbox.push({ topic: naming.topic(output.topic), message: encoder.encode(output) });
          metrics.recordsOut.inc({ processor: name, topic: output.topic });
        }
      }
      const last = i + chunkSize > keys.length;
      await settleOutbox(p);
      const { outcome, outboxSeq } = await store.apply(p, {
        expectedWatermarks: part.watermarks,
        newWatermarks: part.watermarks,
        puts,
        deletes: [],
        seen: [],
        views,
        metaSet: last ? { [TABLES_FIELD]: feed.position() } : {},
        outbox: encodeOutbox(outbox),
      });
      if (outcome === 'fenced') {
        open.delete(p);
        return;
      }
      if (outboxSeq !== null) produceApplied(p, outbox, outboxSeq);
    }
  }

  async function refreshOwned(affects: (key: string) => boolean, cause: { topic: string; value: unknown }): Promise<void> {
    for (const p of assigned) {
      await retrying(() => withPartition(p, () => refreshPartition(p, affects, cause)), async () => undefined, () => !stopping).catch((error) => partitionFailed(p, error));
    }
  }

  return {
    name,
    store,
    assigned: () => [...assigned],
    readiness() {
      const catchingUp = [...open].filter(([, part]) => part.catchup !== null).map(([p]) => p);
      const problems: string[] = [];
      if (!feed.isBootstrapped()) problems.push('global tables still loading');
      if (!joined) problems.push('not in its consumer group yet');
      // Between a rebalance or a lost epoch and the re-opening, nothing is known about a partition.
      const opening = assigned.filter((p) => !open.has(p) && !failed.has(p));
      if (joined && opening.length > 0) problems.push(`partitions ${opening.join(',')} opening`);
      if (failed.size > 0) problems.push(`stopped partitions ${[...failed.keys()].join(',')}: ${[...failed.values()][0]}`);
      if (catchingUp.length > 0) {
        const waiting = [...open.values()].map((part) => part.waiting).find((w) => w);
        const behind = catchingUp.map((p) => `${p}: ${toGo(open.get(p) as OpenPartition)}`).join(', ');
        problems.push(`partitions ${catchingUp.join(',')} catching up (records to go ${behind})${waiting ? ` (waiting for ${waiting})` : ''}`);
      }
      return {
        name: `processor ${name}`,
        ok: problems.length === 0,
        detail: problems.length === 0 ? `group ${group}, partitions ${assigned.join(',') || 'none'}` : problems.join('; '),
      };
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(epochWatch);
      clearInterval(commitTimer);
      // Batches in flight commit as they end (handleBatch); an idle consumer commits here.
      const applied = appliedOffsets().topics.flatMap(({ topic, partitions }) => partitions.map((at) => ({ topic, ...at })));
      if (batchesInFlight === 0 && joined && applied.length > 0) await consumer.commitOffsets(applied).catch((error) => log.warn({ err: error }, 'could not commit offsets on stop'));
      await Promise.all([consumer.disconnect(), feed.stop()]);
      await Promise.allSettled([...locks.values()]);
      await Promise.allSettled([...lines.values()].map((line) => line.tail));
      await producer.disconnect();
      await admin.disconnect();
      stateRedis.disconnect();
      log.info('processor stopped');
    },
  };
}

function sameOffsets(a: Record<string, string>, b: Record<string, string>): boolean {
  const topics = Object.keys(a);
  return topics.length === Object.keys(b).length && topics.every((topic) => a[topic] === b[topic]);
}

/** The later of two time-ordered ids (a clock behind the one that stamped the epoch must not go back). */
function laterOf(a: string, b: string): string {
  return a > b ? a : b;
}

function isCaughtUp(watermarks: Record<string, string>, target: Record<string, string>): boolean {
  return Object.entries(target).every(([topic, end]) => {
    const applied = watermarks[topic];
    return applied !== undefined && BigInt(applied) + 1n >= BigInt(end);
  });
}

/** kafkajs errors a retry cannot fix; everything else (leadership moves, timeouts, a broker down) is retried. */
const REFUSED_FOR_GOOD = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'TOPIC_AUTHORIZATION_FAILED', 'INVALID_REQUIRED_ACKS']);

function refusedForGood(error: unknown): boolean {
  const type = brokerErrorType(error);
  return type !== undefined && REFUSED_FOR_GOOD.has(type);
}

/** What a catching-up partition still has to read before its target, per topic (for readiness). */
function toGo(part: OpenPartition): string {
  const left = Object.entries(part.catchup ?? {})
    .map(([topic, end]) => [topic, BigInt(end) - (part.watermarks[topic] === undefined ? BigInt(part.start[topic] ?? 0n) : BigInt(part.watermarks[topic] as string) + 1n)] as const)
    .filter(([, n]) => n > 0n);
  return left.length === 0 ? 'none' : left.map(([topic, n]) => `${topic} ${n}`).join(' ');
}

function countBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(keyOf(item), (counts.get(keyOf(item)) ?? 0) + 1);
  return counts;
}

function messageOf(messages: readonly KafkaMessage[], record: BatchRecord): KafkaMessage {
  return messages.find((m) => m.offset === record.offset) as KafkaMessage;
}

/** The ids SPEC §11 has logs carry (never the payload). */
function recordIds(record: BatchRecord): { eventId: string; correlationId: string | null } {
  const meta = (record.value as { meta?: { correlationId?: string | null } }).meta;
  return { eventId: record.eventId, correlationId: meta?.correlationId ?? null };
}

function ceId(message: KafkaMessage): string | undefined {
  const header = message.headers?.ce_id;
  const value = Array.isArray(header) ? header[0] : header;
  return value === undefined ? undefined : value.toString();
}

/** The newest record time of a group's chunks (producer CreateTime, or the broker's LogAppendTime). */
function newestTimestamp(parts: readonly { pending: readonly KafkaMessage[] }[]): number {
  let newest = 0;
  for (const { pending } of parts) for (const message of pending) newest = Math.max(newest, Number(message.timestamp));
  return newest;
}

/** Broker answers to a commit that mean "the group is rebalancing", not a fault. */
const REBALANCING = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE']);
