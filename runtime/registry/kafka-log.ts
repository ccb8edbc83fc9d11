/**
 * The registry's durable log: a compacted Kafka topic (default `_schemas`; 1 partition,
 * cleanup.policy=compact, replication factor min(3, brokers)), created when missing.
 *
 * `open()` reads the topic to its end before resolving (readiness), then keeps tailing it, so
 * records written by another instance are applied here too. `catchUp()` marks the end of the log
 * with a NOOP record (a tombstone, as Confluent's registry does) and resolves once the tail has
 * applied it: offsets read from the broker could point past records compaction removed, a record
 * of our own never does. `append()` produces with acks=-1 from an idempotent producer and resolves
 * once the tail has applied the records, so a write is visible to the next read.
 *
 * Failure policy: a write or catch-up whose records are not applied within `writeTimeoutMs`
 * fails with 500/50002 (retriable; the record may be stored) and nothing else changes, because
 * the next write catches up first. A reader that crashes for good (kafkajs will not restart it)
 * leaves the state stale forever: from then on every write fails with 500/50001 and `onFatal`
 * is called once, so the process can exit and the stack sees the registry down.
 *
 * Ids are one more than the greatest id in the log. Once compaction has dropped every record of
 * a permanently deleted version, a restarted registry no longer knows that id and could hand it
 * out again; soft-deleted versions keep their ids for good.
 *
 * Assumption: one writer at a time per topic. Ids and versions are allocated from local state
 * after catching up, so instances writing in turn see each other's writes; two instances writing
 * at the same instant (no leader election here) could still both allocate the same id.
 */
import { randomUUID } from 'node:crypto';
import kafkajs, { type Admin, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { RegistryError, TributaryError } from '../errors';
import { createKafka } from '../kafka/client';
import { log } from '../log';
import { ERROR, type SchemaLog } from './service';
import type { LogRecord, RegistryState } from './state';

// kafkajs is CommonJS: its enums are reached through the default export under ESM.
const { ConfigResourceTypes, Partitioners } = kafkajs;

export const DEFAULT_SCHEMAS_TOPIC = '_schemas';
export const DEFAULT_READ_TIMEOUT_MS = 60_000;
const CLOSE_ON_FAILURE_MS = 2_000;
const DEFAULT_WRITE_TIMEOUT_MS = 30_000;
// Confluent's NOOP key: ignored by every reader, and a tombstone so compaction drops it.
const NOOP_RECORD: LogRecord = { key: JSON.stringify({ keytype: 'NOOP', magic: 0 }), value: null };

export interface KafkaLogOptions {
  brokers: string[];
  topic?: string;
  state: RegistryState;
  /** How long `open()` may take to read the topic to its end. */
  readTimeoutMs?: number;
  /** How long a write or catch-up may wait for the reader to apply it. */
  writeTimeoutMs?: number;
  /** Called once when the reader has stopped for good: the state will not change any more. */
  onFatal?: (error: RegistryError) => void;
}

interface Waiter {
  offset: bigint;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class KafkaSchemaLog implements SchemaLog {
  private applied = -1n;
  private waiters: Waiter[] = [];
  private failure: RegistryError | undefined;
  private readonly logger;

  private constructor(
    readonly topic: string,
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly consumer: Consumer,
    private readonly state: RegistryState,
    private readonly writeTimeoutMs: number,
    private readonly onFatal: ((error: RegistryError) => void) | undefined,
  ) {
    this.logger = log.child({ component: 'registry', topic });
  }

  static async open(options: KafkaLogOptions): Promise<KafkaSchemaLog> {
    const topic = options.topic ?? DEFAULT_SCHEMAS_TOPIC;
    const kafka = createKafka(options.brokers, 'tributary-registry');
    const admin = kafka.admin();
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    // A fresh group each start: the log is always read from the beginning and nothing is committed.
    // A short fetch wait bounds shutdown (disconnect waits for the fetch in flight); new records
    // still arrive at once.
    const consumer = kafka.consumer({
      groupId: `tributary-registry-${randomUUID()}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 500,
    });
    const store = new KafkaSchemaLog(
      topic,
      kafka,
      admin,
      producer,
      consumer,
      options.state,
      options.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS,
      options.onFatal,
    );
    const readTimeoutMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    try {
      await admin.connect();
      await store.ensureTopic();
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        store.logger.error({ err: payload.error, restart: payload.restart }, 'the schemas topic reader crashed');
        if (!payload.restart) store.fail(payload.error);
      });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => store.applyMessage(message.key, message.value, BigInt(message.offset)),
      });
      await store.catchUp(readTimeoutMs);
      return store;
    } catch (error) {
      // Closing a consumer caught mid-join can wait for the join to end: say what failed first.
      await Promise.race([store.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, CLOSE_ON_FAILURE_MS).unref())]);
      const timedOut = error instanceof RegistryError && error.errorCode === ERROR.TIMEOUT;
      const why = timedOut
        ? `did not read it to its end within ${readTimeoutMs / 1000} s; raise --read-timeout or check the brokers`
        : `${oneLine((error as Error).message)}; check that Kafka is running`;
      throw new TributaryError('TRB_STACK_START_FAILED', `cannot read the schemas topic ${topic} from ${options.brokers.join(',')}: ${why}`, {
        retriable: true,
        cause: error,
      });
    }
  }

  private async ensureTopic(): Promise<void> {
    const topics = await this.admin.listTopics();
    if (topics.includes(this.topic)) {
      await this.warnIfNotCompacted();
      return;
    }
    const { brokers } = await this.admin.describeCluster();
    try {
      await this.admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: this.topic,
            numPartitions: 1,
            replicationFactor: Math.min(3, brokers.length),
            configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
          },
        ],
      });
      this.logger.info({ replicationFactor: Math.min(3, brokers.length) }, 'created the schemas topic');
    } catch (error) {
      // Another instance may have created it between our list and create.
      if ((error as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw error;
    }
  }

  /** A non-compacted topic loses schemas to retention: say so loudly, but keep serving. */
  private async warnIfNotCompacted(): Promise<void> {
    const described = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: this.topic, configNames: ['cleanup.policy'] }],
    });
    const policy = described.resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue;
    if (policy !== 'compact') {
      this.logger.warn({ cleanupPolicy: policy }, `topic ${this.topic} is not compacted: set cleanup.policy=compact or schemas will expire`);
    }
  }

  private applyMessage(key: Buffer | null, value: Buffer | null, offset: bigint): void {
    // After a consumer restart (nothing is committed) the log is read again from the start;
    // replaying records already applied would briefly roll the state back.
    if (offset <= this.applied) return;
    try {
      this.state.apply(key?.toString('utf8') ?? null, value === null ? null : value.toString('utf8'));
    } catch (error) {
      this.logger.warn({ offset: offset.toString(), err: error }, 'skipped a schemas record that does not parse');
    }
    this.applied = offset;
    const ready = this.waiters.filter((w) => w.offset <= offset);
    this.waiters = this.waiters.filter((w) => w.offset > offset);
    for (const waiter of ready) waiter.resolve();
  }

  /** The reader stopped for good: refuse every write from now on and tell the owner once. */
  private fail(cause: Error): void {
    if (this.failure) return;
    this.failure = new RegistryError(
      `the reader of ${this.topic} stopped (${oneLine(cause.message)}), so this registry's state is stale: restart the registry`,
      500,
      ERROR.STORE,
      cause,
    );
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) waiter.reject(this.failure);
    this.onFatal?.(this.failure);
  }

  private waitApplied(offset: bigint, timeoutMs: number): Promise<void> {
    if (this.applied >= offset) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const settle = () => clearTimeout(timer);
      const waiter: Waiter = {
        offset,
        resolve: () => {
          settle();
          resolve();
        },
        reject: (error) => {
          settle();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new RegistryError(
            `timed out after ${timeoutMs} ms waiting to read ${this.topic} up to offset ${offset}; the write may be stored: retry, and check the Kafka brokers`,
            500,
            ERROR.TIMEOUT,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private async produce(records: LogRecord[]): Promise<bigint> {
    if (this.failure) throw this.failure;
    const [result] = await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: records.map((r) => ({ key: r.key, value: r.value, partition: 0 })),
    });
    return BigInt(result?.baseOffset ?? '0') + BigInt(records.length - 1);
  }

  /** Resolves once every record written to the topic before this call has been applied here. */
  async catchUp(timeoutMs = this.writeTimeoutMs): Promise<void> {
    await this.waitApplied(await this.produce([NOOP_RECORD]), timeoutMs);
  }

  async append(records: LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.waitApplied(await this.produce(records), this.writeTimeoutMs);
  }

  async close(): Promise<void> {
    // Pending writes were stored or not; either way nobody will see them applied here any more.
    for (const waiter of this.waiters) waiter.reject(new RegistryError(`the registry is closing`, 503, ERROR.STORE));
    this.waiters = [];
    await Promise.allSettled([this.consumer.disconnect(), this.producer.disconnect(), this.admin.disconnect()]);
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
