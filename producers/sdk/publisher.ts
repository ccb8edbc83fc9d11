/**
 * The typed producer SDK (SPEC §4): `createPublisher(config)` → `publish(topic, value)` and
 * `publishMany(records)` for the source topics, each value validated (validate.ts), keyed
 * (`recordKey`), framed in Confluent wire format and given CloudEvents headers (envelope.ts).
 *
 * - Idempotent kafkajs producer (acks all, one request in flight per broker, Java-compatible
 *   partitioner), so a retried send never duplicates and a key's records keep their order.
 * - Records are accumulated and sent with `sendBatch` in chunks of `batchSize` (or after
 *   `lingerMs`), one chunk at a time; `publishMany` never awaits per record, only when two chunks
 *   are already waiting (back-pressure keeps memory bounded on endless streams).
 * - `publish` resolves once its record is acknowledged; `flush()` resolves once everything
 *   handed over so far is acknowledged and rejects if any of it failed; `close()` flushes first.
 * - A topic outside the catalogue's source topics is an UnknownTopicError; a Kafka topic that
 *   does not exist is a TRB_UNKNOWN_TOPIC error saying to run `tributary topology apply`
 *   (topics are never auto-created: partitions and retention come from topology.yaml).
 * - `topicPrefix` publishes catalogue-typed events to `<prefix><topic>` (tests, tenants); the
 *   subject follows the Kafka topic (`<prefix><topic>-value`, TopicNameStrategy) so consumers
 *   find the schema the usual way; `ce_type` stays the catalogue topic.
 */
import kafkajs, { type Admin, type Kafka, type Producer, type RecordMetadata } from 'kafkajs';
import { resolveConnection } from '../../runtime/config/connection';
import { TributaryError, ValidationError, type FieldProblem } from '../../runtime/errors';
import { createKafka } from '../../runtime/kafka/client';
import { brokerErrorType } from '../../runtime/kafka/transient';
import { loadCatalogue, type Catalogue } from '../../runtime/schemas/catalogue';
import { encodeEvent, problemsOf, publishableSchema, type EncodedEvent, type EncodeOptions } from './encode';
import { confluentFrame } from './envelope';
import { schemaIds } from './schema-ids';
import type { EventInputs, PublishableTopic } from './types';

export type { EncodedEvent } from './encode';
export type PublishOptions = EncodeOptions;

export interface PublisherConfig {
  brokers?: string[];
  registryUrl?: string;
  clientId?: string;
  /** Kafka topic = topicPrefix + catalogue topic. Default ''. */
  topicPrefix?: string;
  /** Records per sendBatch. Default 2000. */
  batchSize?: number;
  /** How long a partial chunk waits for more records. Default 5 ms. */
  lingerMs?: number;
  catalogue?: Catalogue;
}

export type PublishRecord = { [T in PublishableTopic]: { topic: T; value: EventInputs[T]; traceparent?: string } }[PublishableTopic];

export interface PublishSummary {
  /** Records acknowledged. */
  sent: number;
  /** Kafka topic → partitions written to, ascending. */
  partitions: Record<string, number[]>;
}

export interface ManyOptions {
  /** Called after each acknowledged chunk with the running count. */
  onProgress?: (sent: number) => void;
}

export interface Publisher {
  /** The Kafka topic a catalogue topic is published to. */
  topicName(topic: PublishableTopic): string;
  /** Every problem with `value` for `topic`; empty when it may be sent. */
  validate(topic: string, value: unknown): FieldProblem[];
  /** Validates and encodes without sending; throws ValidationError listing every problem. */
  encode<T extends PublishableTopic>(topic: T, value: EventInputs[T], options?: PublishOptions): EncodedEvent;
  publish<T extends PublishableTopic>(topic: T, value: EventInputs[T], options?: PublishOptions): Promise<void>;
  /**
   * An array is validated whole before anything is sent (problem paths start `[i].`); an
   * iterable is validated as it streams: the records before an invalid one are sent, then its
   * ValidationError is thrown.
   */
  publishMany(records: Iterable<PublishRecord> | AsyncIterable<PublishRecord>, options?: ManyOptions): Promise<PublishSummary>;
  /** Sends events `encode` produced (the CLI validates a whole file first, then sends). */
  publishEncoded(events: Iterable<EncodedEvent> | AsyncIterable<EncodedEvent>, options?: ManyOptions): Promise<PublishSummary>;
  /** Throws one TRB_UNKNOWN_TOPIC error naming every Kafka topic of `topics` that does not exist. */
  ensureTopics(topics: readonly PublishableTopic[]): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Everything acknowledged since the publisher was created. */
  summary(): PublishSummary;
}

interface Pending {
  kafkaTopic: string;
  message: { key: string; value: Buffer; headers: Record<string, string> };
  done?: (error?: unknown) => void;
}

interface TopicReady {
  kafkaTopic: string;
  schemaId: number;
}

const MAX_QUEUED_CHUNKS = 2;
// kafkajs is CommonJS; its default export is the one shape every loader agrees on.
const { Partitioners } = kafkajs;

export function createPublisher(config: PublisherConfig = {}): Publisher {
  const needsConnection = !config.brokers || !config.registryUrl;
  const connection = needsConnection ? resolveConnection() : undefined;
  const brokers = config.brokers ?? connection!.brokers;
  const registryUrl = config.registryUrl ?? connection!.registryUrl;
  const prefix = config.topicPrefix ?? '';
  const batchSize = config.batchSize ?? 2000;
  const lingerMs = config.lingerMs ?? 5;
  const catalogue = config.catalogue ?? loadCatalogue();
  const ids = schemaIds(registryUrl);

  // The local stack's own broker is plaintext: the user's SASL/TLS settings are for theirs.
  const security = config.brokers ? 'env' : connection!.security;
  const kafka: Kafka = createKafka(brokers, config.clientId ?? 'tributary-publisher', {}, { security });
  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;
  const ready = new Map<string, Promise<TopicReady>>();
  const readyNow = new Map<string, TopicReady>();
  let knownTopics: Set<string> | undefined;

  let pending: Pending[] = [];
  let linger: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  /** Completion of each chunk handed to the chain and not yet acknowledged, oldest first. */
  const queued: Promise<void>[] = [];
  let failure: unknown;
  let closed = false;
  let closing = false;
  /** publish() calls still waiting for their topic to be ready: flush and close wait for them. */
  const preparing = new Set<Promise<unknown>>();
  let sent = 0;
  const partitions = new Map<string, Set<number>>();
  const onAck = new Set<(written: RecordMetadata[]) => void>();

  const topicName = (topic: PublishableTopic) => `${prefix}${topic}`;

  const validate = (topic: string, value: unknown) => problemsOf(catalogue, topic, value);
  const encode = <T extends PublishableTopic>(topic: T, value: EventInputs[T], options: PublishOptions = {}) =>
    encodeEvent(catalogue, topic, value, options);

  async function connect(): Promise<Producer> {
    if (closed) throw new TributaryError('TRB_CONFIG', 'the publisher is closed: create a new one');
    connecting ??= (async () => {
      const created = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        // A topic created moments ago may not have a leader the broker admits to yet (a busy
        // broker takes seconds): retry sends for ~30 s rather than kafkajs' ~10 s before failing.
        retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 5_000 },
      });
      await created.connect();
      producer = created;
      return created;
    })();
    connecting.catch(() => (connecting = undefined));
    return connecting;
  }

  async function refreshTopics(): Promise<Set<string>> {
    const admin: Admin = kafka.admin();
    await admin.connect();
    try {
      knownTopics = new Set(await admin.listTopics());
    } finally {
      await admin.disconnect();
    }
    return knownTopics;
  }

  async function topicExists(kafkaTopic: string): Promise<boolean> {
    if (knownTopics?.has(kafkaTopic)) return true;
    return (await refreshTopics()).has(kafkaTopic);
  }

  async function ensureTopics(topics: readonly PublishableTopic[]): Promise<void> {
    for (const topic of topics) publishableSchema(catalogue, topic);
    const existing = await refreshTopics();
    const missing = topics.map(topicName).filter((t) => !existing.has(t));
    if (missing.length > 0) {
      const which = missing.length === 1 ? `topic ${missing[0]} does not` : `topics ${missing.join(', ')} do not`;
      throw new TributaryError('TRB_UNKNOWN_TOPIC', `${which} exist in Kafka: run \`tributary topology apply\` to create them`);
    }
  }

  function prepareTopic(topic: PublishableTopic): Promise<TopicReady> {
    let found = ready.get(topic);
    if (!found) {
      found = (async () => {
        const schema = publishableSchema(catalogue, topic);
        const kafkaTopic = topicName(topic);
        await connect();
        if (!(await topicExists(kafkaTopic))) {
          throw new TributaryError('TRB_UNKNOWN_TOPIC', `topic ${kafkaTopic} does not exist in Kafka: run \`tributary topology apply\` to create it`);
        }
        const schemaId = await ids.idFor(`${kafkaTopic}-value`, schema.schema);
        const done = { kafkaTopic, schemaId };
        readyNow.set(topic, done);
        return done;
      })();
      found.catch(() => ready.delete(topic));
      ready.set(topic, found);
    }
    return found;
  }

  function enqueue(target: TopicReady, event: EncodedEvent, done?: (error?: unknown) => void): void {
    if (closed) throw new TributaryError('TRB_CONFIG', 'the publisher is closed: create a new one');
    pending.push({
      kafkaTopic: target.kafkaTopic,
      message: { key: event.key, value: confluentFrame(target.schemaId, event.avro), headers: event.headers },
      done,
    });
    if (pending.length >= batchSize) dispatch();
    else linger ??= setTimeout(dispatch, lingerMs);
  }

  function dispatch(): void {
    if (linger) clearTimeout(linger);
    linger = undefined;
    if (pending.length === 0) return;
    const chunk = pending;
    pending = [];
    const sentChunk = chain.then(() => sendChunk(chunk));
    queued.push(sentChunk);
    chain = sentChunk.finally(() => queued.splice(queued.indexOf(sentChunk), 1));
  }

  async function sendChunk(chunk: Pending[]): Promise<void> {
    const byTopic = new Map<string, Pending['message'][]>();
    for (const entry of chunk) {
      let messages = byTopic.get(entry.kafkaTopic);
      if (!messages) byTopic.set(entry.kafkaTopic, (messages = []));
      messages.push(entry.message);
    }
    let result: RecordMetadata[];
    try {
      const active = producer ?? (await connect());
      result = await active.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    } catch (caught) {
      const error = brokerErrorType(caught) === 'MESSAGE_TOO_LARGE' ? tooLarge(chunk, caught) : caught;
      failure ??= error;
      for (const entry of chunk) entry.done?.(error);
      return;
    }
    for (const meta of result) {
      let set = partitions.get(meta.topicName);
      if (!set) partitions.set(meta.topicName, (set = new Set()));
      set.add(meta.partition);
    }
    sent += chunk.length;
    for (const listener of onAck) listener(result);
    for (const entry of chunk) entry.done?.();
  }

  /** Waits while too many chunks are queued, so a fast source cannot outrun the broker. */
  async function backpressure(): Promise<void> {
    while (queued.length >= MAX_QUEUED_CHUNKS) await queued[0];
  }

  function summary(): PublishSummary {
    return {
      sent,
      partitions: Object.fromEntries([...partitions].map(([topic, set]) => [topic, [...set].sort((a, b) => a - b)])),
    };
  }

  async function flush(): Promise<void> {
    while (preparing.size > 0) await Promise.allSettled([...preparing]);
    dispatch();
    await chain;
    if (failure !== undefined) {
      const error = failure;
      failure = undefined;
      throw error;
    }
  }

  async function streamEncoded(events: Iterable<EncodedEvent> | AsyncIterable<EncodedEvent>, options: ManyOptions): Promise<PublishSummary> {
    const before = sent;
    let reported = sent;
    const progress = () => {
      if (options.onProgress && sent !== reported) {
        reported = sent;
        options.onProgress(sent - before);
      }
    };
    const touched = new Map<string, Set<number>>();
    const collect = (written: RecordMetadata[]) => {
      for (const meta of written) {
        let set = touched.get(meta.topicName);
        if (!set) touched.set(meta.topicName, (set = new Set()));
        set.add(meta.partition);
      }
    };
    onAck.add(collect);
    try {
      try {
        for await (const event of events) {
          const target = readyNow.get(event.topic) ?? (await prepareTopic(event.topic));
          enqueue(target, event);
          if (queued.length >= MAX_QUEUED_CHUNKS) {
            await backpressure();
            progress();
          }
          if (failure !== undefined) break;
        }
      } catch (error) {
        // The source failed (an invalid record in a stream): what was handed over still goes out.
        await flush().catch(() => undefined);
        throw error;
      }
      await flush();
      progress();
    } finally {
      onAck.delete(collect);
    }
    return {
      sent: sent - before,
      partitions: Object.fromEntries([...touched].map(([topic, set]) => [topic, [...set].sort((a, b) => a - b)])),
    };
  }


  return {
    topicName,
    validate,
    encode,
    async publish(topic, value, options) {
      if (closing) throw new TributaryError('TRB_CONFIG', 'the publisher is closed: create a new one');
      const event = encode(topic, value, options);
      let target = readyNow.get(topic);
      if (!target) {
        const ready = prepareTopic(topic);
        preparing.add(ready);
        try {
          target = await ready;
        } finally {
          preparing.delete(ready);
        }
      }
      const acked = new Promise<void>((resolve, reject) => enqueue(target, event, (error) => (error === undefined ? resolve() : reject(error))));
      await acked;
    },
    async publishMany(records, options = {}) {
      if (Array.isArray(records)) {
        const problems: FieldProblem[] = [];
        const events: EncodedEvent[] = [];
        records.forEach((record: PublishRecord, i: number) => {
          try {
            events.push(encode(record.topic, record.value as never, { traceparent: record.traceparent }));
          } catch (error) {
            if (!(error instanceof ValidationError)) throw error;
            for (const p of error.problems) problems.push({ ...p, path: `[${i}].${p.path}` });
          }
        });
        if (problems.length > 0) throw new ValidationError(problems, 'publishMany (nothing was sent)');
        return streamEncoded(events, options);
      }
      const source = records as Iterable<PublishRecord> | AsyncIterable<PublishRecord>;
      async function* encoded(): AsyncGenerator<EncodedEvent> {
        for await (const record of source) yield encode(record.topic, record.value as never, { traceparent: record.traceparent });
      }
      return streamEncoded(encoded(), options);
    },
    publishEncoded: (events, options = {}) => streamEncoded(events, options),
    ensureTopics,
    flush,
    async close() {
      if (closed) return;
      closing = true;
      try {
        await flush();
      } finally {
        closed = true;
        await producer?.disconnect();
      }
    },
    summary,
  };
}

/** The broker's MESSAGE_TOO_LARGE, said with the size of the largest record and what to do. */
function tooLarge(chunk: Pending[], cause: unknown): TributaryError {
  let largest: { bytes: number; topic: string; key: string } | undefined;
  for (const { kafkaTopic, message } of chunk) {
    const headers = Object.entries(message.headers).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    const bytes = Buffer.byteLength(message.key) + message.value.length + headers;
    if (!largest || bytes > largest.bytes) largest = { bytes, topic: kafkaTopic, key: message.key };
  }
  const what = largest ? `its largest event (${largest.topic}, key ${largest.key}) is ${largest.bytes.toLocaleString('en-US')} bytes` : 'a record is too large';
  return new TributaryError('TRB_RECORD_TOO_LARGE', `the broker refused the batch as too large (MESSAGE_TOO_LARGE), nothing of it was written: ${what}; raise the topic's max.message.bytes (broker default 1,048,588) or publish smaller events`, { cause });
}
