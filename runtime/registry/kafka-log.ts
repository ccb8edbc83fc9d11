/**
 * The registry's durable log: a compacted Kafka topic (default `_schemas`; 1 partition,
 * cleanup.policy=compact, replication factor min(3, brokers)), created when missing.
 *
 * `open()` reads the topic to its end offset before resolving (readiness), then keeps tailing it,
 * so records written by another instance are applied here too. `append()` produces with acks=-1
 * from an idempotent producer and resolves once the tail has applied the records, so a write is
 * visible to the next read.
 *
 * Ids are one more than the greatest id in the log. Once compaction has dropped every record of
 * a permanently deleted version, a restarted registry no longer knows that id and could hand it
 * out again; soft-deleted versions keep their ids for good.
 *
 * Assumption: one writer per topic. Ids and versions are allocated from local state; two
 * instances writing at the same moment could both allocate the same id. Readers of any number
 * of instances converge.
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
const APPLY_TIMEOUT_MS = 30_000;

export interface KafkaLogOptions {
  brokers: string[];
  topic?: string;
  state: RegistryState;
  readyTimeoutMs?: number;
}

interface Waiter {
  offset: bigint;
  resolve: () => void;
}

export class KafkaSchemaLog implements SchemaLog {
  private applied = -1n;
  private waiters: Waiter[] = [];
  private readonly logger;

  private constructor(
    readonly topic: string,
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly consumer: Consumer,
    private readonly state: RegistryState,
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
    const store = new KafkaSchemaLog(topic, kafka, admin, producer, consumer, options.state);
    try {
      await admin.connect();
      await store.ensureTopic();
      await producer.connect();
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      consumer.on(consumer.events.CRASH, ({ payload }) =>
        store.logger.error({ err: payload.error, restart: payload.restart }, 'the schemas topic reader crashed'),
      );
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => store.applyMessage(message.key, message.value, BigInt(message.offset)),
      });
      const [partition] = await admin.fetchTopicOffsets(topic);
      const end = BigInt(partition?.high ?? '0');
      if (end > 0n) await store.waitApplied(end - 1n, options.readyTimeoutMs ?? 60_000);
      return store;
    } catch (error) {
      await store.close();
      if (error instanceof TributaryError) throw error;
      throw new TributaryError(
        'TRB_STACK_START_FAILED',
        `cannot read the schemas topic ${topic} from ${options.brokers.join(',')}: ${(error as Error).message}; check that Kafka is running`,
        { retriable: true, cause: error },
      );
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

  private waitApplied(offset: bigint, timeoutMs: number): Promise<void> {
    if (this.applied >= offset) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new RegistryError(
            `timed out after ${timeoutMs} ms reading ${this.topic} up to offset ${offset}: check the Kafka brokers`,
            500,
            ERROR.STORE,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async append(records: LogRecord[]): Promise<void> {
    if (records.length === 0) return;
    const [result] = await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: records.map((r) => ({ key: r.key, value: r.value, partition: 0 })),
    });
    const last = BigInt(result?.baseOffset ?? '0') + BigInt(records.length - 1);
    await this.waitApplied(last, APPLY_TIMEOUT_MS);
  }

  async close(): Promise<void> {
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
    await Promise.allSettled([this.consumer.disconnect(), this.producer.disconnect(), this.admin.disconnect()]);
  }
}
