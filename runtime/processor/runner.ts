/**
 * The streaming runtime of one processor, written once for all (issue 4, SPEC §5, §8, §11, §12):
 *
 *   global tables bootstrapped → consume (kafkajs eachBatch, per topic-partition, in chunks)
 *   → decode → dedupe by (topic, meta.eventId) → fold (./batch.ts) → apply state + seen ids +
 *   view + watermark + the batch's outputs and dead letters (an outbox) in ONE Redis Lua call that
 *   first checks the watermarks it started from → produce the outbox (idempotent producer) and
 *   clear it → commit.
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
import kafkajs, { type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage, type Message, type Producer, type TopicMessages } from 'kafkajs';
import { classifyForDeadLetter, deadLetterOf, deadLetterTopic, toDeadLetterMessage } from '../dlq';
import { TributaryError } from '../errors';
import type { Decoder } from '../kafka/decode';
import { copartitionedAssigner } from '../kafka/copartitioned-assigner';
import { isTransient, untilAvailable } from '../kafka/transient';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import { CATCHUP_FIELD, epochKey } from '../redis/keys';
import { createStateStore, storeSettled, type StateStore, type ViewWrite } from '../redis/state-store';
import type { Catalogue } from '../schemas/catalogue';
import { toEvent } from '../../processors/types';
import { foldBatch, type BatchRecord } from './batch';
import type { Naming } from './naming';
import { parseOutbox, serializeOutbox, type OutboxRecord } from './outbox';
import { createOutputEncoder } from './outputs';
import { startTableFeed, type TableFeed } from './table-feed';
import type { Output, ProcessorDeclaration, Settings } from './types';

const { Partitioners } = kafkajs;

const TABLES_FIELD = '@tables';
const DEFAULT_CHUNK = 2_000;
const EPOCH_CHECK_MS = 2_000;
const MAX_BACKOFF_MS = 30_000;
export const FETCH_WAIT_MS = 1_000;
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

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
  /** Why a caught-up partition still waits (an upstream processor catching up), for readiness. */
  waiting?: string | null;
  /** The upstream epochs this partition's state was caught up with (store → epoch). */
  upstreamSeen?: Record<string, string | null>;
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
  const store = createStateStore<unknown>({ redis, processor: naming.store(name) });
  const inputs = declaration.inputs as readonly string[];
  const kafkaInputs = inputs.map((t) => naming.topic(t));
  const logicalOf = new Map(inputs.map((t) => [naming.topic(t), t]));

  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await untilAvailable(() => producer.connect());
  const encoder = createOutputEncoder({ registryUrl: options.registryUrl, catalogue: options.catalogue, kafkaTopic: naming.topic });
  await untilAvailable(() => encoder.prepare(declaration.outputs as readonly string[]));
  const admin = kafka.admin();
  await admin.connect();
  let epoch = await store.ensureEpoch();

  const open = new Map<number, OpenPartition>();
  const failed = new Map<number, string>();
  const locks = new Map<number, Promise<unknown>>();
  let assigned: number[] = [];
  let joined = false;
  let stopping = false;
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
    // A crashed instance's partitions move after this long (kafkajs' 30 s default is slow to heal).
    sessionTimeout: options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
    heartbeatInterval: Math.max(500, Math.floor((options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS) / 5)),
  });
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    // Eager rebalancing: every partition was revoked; whatever this instance knew may be stale.
    open.clear();
    const owned = new Set<number>();
    for (const topic of kafkaInputs) for (const p of payload.memberAssignment[topic] ?? []) owned.add(p);
    assigned = [...owned].sort((a, b) => a - b);
    joined = true;
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
    partitionsConsumedConcurrently: Math.max(1, Math.min(6, inputs.length * 2)),
    eachBatch: (payload) => handleBatch(payload),
  });

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
      const metaSet: Record<string, string> = { [TABLES_FIELD]: feed.position() };
      if (catchup) metaSet[CATCHUP_FIELD] = JSON.stringify(catchup);
      const outcome = await setMarks(p, {}, { metaSet });
      if (outcome === 'fenced') throw new TributaryError('TRB_REDIS_UNAVAILABLE', `${name} partition ${p} was stamped by another instance at the same time; retrying`, { retriable: true });
      part = { watermarks: {}, start: low, catchup };
      if (report.status === 'lost') {
        for (const topic of inputs) consumer.seek({ topic: naming.topic(topic), partition: p, offset: low[topic]?.toString() ?? '0' });
      }
    } else {
      if (report.status === 'behind') log.warn({ partition: p, detail: report.detail }, 'Redis is older than the committed offsets: resuming from Redis');
      const meta = await store.meta(p);
      const catchup = meta[CATCHUP_FIELD] ? (JSON.parse(meta[CATCHUP_FIELD]) as Record<string, string>) : null;
      part = { watermarks: report.watermarks, start: low, catchup };
      // A batch applied just before a crash or a rebalance may not have been produced yet.
      await flushOutbox(p);
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
      for (const [p, part] of open) {
        if (part.catchup !== null) void withPartition(p, () => tryServe(p, part)).catch((error) => partitionFailed(p, error));
      }
    } catch (error) {
      log.warn({ err: error }, 'cannot check the state epoch');
    }
  }

  async function handleBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const p = batch.partition;
    const topic = logicalOf.get(batch.topic) as string;
    const lag = Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n);
    metrics.consumerLag.set({ processor: name, topic: batch.topic, partition: String(p) }, Math.max(0, lag));
    metrics.groupLag.set({ consumergroup: group, topic: batch.topic, partition: String(p) }, Math.max(0, lag));
    if (failed.has(p)) return;
    for (let i = 0; i < batch.messages.length; i += chunkSize) {
      if (!isRunning() || isStale()) return;
      const chunk = batch.messages.slice(i, i + chunkSize);
      const outcome = await retrying(() => withPartition(p, () => processChunk(p, batch.topic, topic, chunk)), heartbeat, isRunning);
      if (outcome !== 'done') return;
      resolveOffset((chunk[chunk.length - 1] as KafkaMessage).offset);
      await commitOffsetsIfNecessary();
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

  /** One chunk of one topic-partition batch: 'done' when applied (or nothing to do), 'stop' to re-fetch. */
  async function processChunk(p: number, kafkaTopic: string, topic: string, messages: KafkaMessage[]): Promise<'done' | 'stop'> {
    if (failed.has(p)) return 'stop';
    const started = process.hrtime.bigint();
    const part = await ensureOpen(p);
    const applied = part.watermarks[topic];
    const next = applied === undefined ? (part.start[topic] ?? 0n) : BigInt(applied) + 1n;
    const pending = messages.filter((m) => BigInt(m.offset) >= next);
    if (pending.length === 0) return 'done';
    if (BigInt((pending[0] as KafkaMessage).offset) > next) {
      // Kafka's position is past what Redis holds (Redis restored older, or a rebuild): read again from there.
      consumer.seek({ topic: kafkaTopic, partition: p, offset: next.toString() });
      return 'stop';
    }

    const decoded = await Promise.all(pending.map((message) => decodeOne(kafkaTopic, topic, p, message)));
    const good = decoded.filter((d) => d.record).map((d) => d.record as BatchRecord);
    const seen = await store.seenAmong(p, topic, good.map((r) => r.eventId));
    const loaded = await store.load(p, good.map((r) => r.key));
    const folded = foldBatch<unknown, unknown, { output: Output; message: Message }>({
      declaration,
      ctx,
      records: good,
      loaded,
      alreadySeen: seen,
      encode: (output) => ({ output, message: encoder.encode(output) }),
      generation: epoch,
    });

    const outbox: OutboxRecord[] = folded.outputs.map(({ output, message }) => ({ topic: naming.topic(output.topic), message }));
    const dead = [
      ...decoded.filter((d) => d.error !== undefined).map((d) => ({ message: d.message, error: d.error, code: d.code as string })),
      ...folded.failed.map(({ record, error }) => {
        const verdict = classifyForDeadLetter(error);
        return { message: messageOf(pending, record), error, code: 'code' in verdict ? verdict.code : 'TRB_PROCESSING' };
      }),
    ];
    for (const { message, error, code } of dead) {
      outbox.push({ topic: deadLetterTopic(kafkaTopic), message: toDeadLetterMessage(deadLetterOf({ topic: kafkaTopic, partition: p, message }, error, name, code)) });
      metrics.deadLetters.inc({ processor: name, topic, code });
      log.warn({ topic: kafkaTopic, partition: p, offset: message.offset, code }, 'record dead-lettered');
    }

    const last = (pending[pending.length - 1] as KafkaMessage).offset;
    const newWatermarks = { ...part.watermarks, [topic]: last };
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
    // The outputs are stored with the state and produced from there (./outbox.ts): exactly the
    // applied batches' records reach Kafka, whatever crashes or rebalances happen in between.
    const outcome = await store.applyBatch(p, {
      expectedWatermarks: part.watermarks,
      newWatermarks,
      puts,
      deletes,
      seen: folded.applied.map((r) => ({ topic, eventId: r.eventId, at: now })),
      views,
      outbox: serializeOutbox(outbox),
    });
    if (outcome === 'fenced') return fenced(p, kafkaTopic);
    part.watermarks = newWatermarks;
    if (outbox.length > 0) await flushOutbox(p);
    if (part.catchup !== null && isCaughtUp(newWatermarks, part.catchup)) await tryServe(p, part);

    metrics.recordsIn.inc({ processor: name, topic }, pending.length);
    if (folded.duplicates.length > 0) metrics.duplicates.inc({ processor: name, topic }, folded.duplicates.length);
    if (folded.lateBeyondGrace > 0) metrics.lateEvents.inc({ processor: name }, folded.lateBeyondGrace);
    for (const { output } of folded.outputs) {
      metrics.recordsOut.inc({ processor: name, topic: output.topic });
      if (output.topic === 'order.rejected') metrics.rejections.inc({ processor: name });
    }
    for (const record of folded.applied) {
      metrics.endToEndSeconds.observe({ processor: name, topic }, Math.max(0, (now - record.occurredAt) / 1000));
      metrics.noteApplied(name, record.occurredAt);
    }
    metrics.batchSeconds.observe({ processor: name }, Number(process.hrtime.bigint() - started) / 1e9);
    return 'done';
  }

  /** Sets or clears a partition's meta fields alone, fenced like a batch (nothing else changes). */
  function setMarks(p: number, watermarks: Record<string, string>, marks: { metaSet?: Record<string, string>; metaDelete?: string[] }) {
    return store.applyBatch(p, { expectedWatermarks: watermarks, newWatermarks: watermarks, puts: new Map(), deletes: [], seen: [], ...marks });
  }

  /**
   * Clears a partition's catch-up mark once it has read its inputs to their end offsets AND every
   * upstream processor (whose outputs it reads: atp ← orders) is settled; the end offsets are
   * taken again at that moment, so what upstream produced while rebuilding is read too. Called
   * (under the partition's lock) after a batch reaches the target and by the watch timer.
   */
  async function tryServe(p: number, part: OpenPartition): Promise<void> {
    if (part.catchup === null || !isCaughtUp(part.watermarks, part.catchup)) return;
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
    const { high } = await offsetsAt(p);
    const done = isCaughtUp(part.watermarks, high);
    const outcome = await setMarks(p, part.watermarks, done ? { metaDelete: [CATCHUP_FIELD] } : { metaSet: { [CATCHUP_FIELD]: JSON.stringify(high) } });
    if (outcome === 'fenced') {
      open.delete(p);
      return;
    }
    part.catchup = done ? null : high;
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
    for (const entry of entries) await send(parseOutbox(entry.records));
    await store.clearOutbox(p, entries.map((e) => e.seq));
  }

  async function send(topicMessages: TopicMessages[]): Promise<void> {
    if (topicMessages.length === 0) return;
    try {
      await producer.sendBatch({ topicMessages, acks: -1 });
    } catch (error) {
      throw new TributaryError('TRB_KAFKA_UNAVAILABLE', `${name} could not produce its outputs (${(error as Error).message}); retrying`, { retriable: true, cause: error });
    }
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
      const outcome = await store.applyBatch(p, {
        expectedWatermarks: part.watermarks,
        newWatermarks: part.watermarks,
        puts,
        deletes: [],
        seen: [],
        views,
        metaSet: last ? { [TABLES_FIELD]: feed.position() } : {},
        outbox: serializeOutbox(outbox),
      });
      if (outcome === 'fenced') {
        open.delete(p);
        return;
      }
      if (outbox.length > 0) await flushOutbox(p);
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
      if (failed.size > 0) problems.push(`stopped partitions ${[...failed.keys()].join(',')}: ${[...failed.values()][0]}`);
      if (catchingUp.length > 0) {
        const waiting = [...open.values()].map((part) => part.waiting).find((w) => w);
        problems.push(`partitions ${catchingUp.join(',')} catching up${waiting ? ` (waiting for ${waiting})` : ''}`);
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
      await Promise.all([consumer.disconnect(), feed.stop()]);
      await Promise.allSettled([...locks.values()]);
      await producer.disconnect();
      await admin.disconnect();
      log.info('processor stopped');
    },
  };
}

function isCaughtUp(watermarks: Record<string, string>, target: Record<string, string>): boolean {
  return Object.entries(target).every(([topic, end]) => {
    const applied = watermarks[topic];
    return applied !== undefined && BigInt(applied) + 1n >= BigInt(end);
  });
}

function messageOf(messages: readonly KafkaMessage[], record: BatchRecord): KafkaMessage {
  return messages.find((m) => m.offset === record.offset) as KafkaMessage;
}
