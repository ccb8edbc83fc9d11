/**
 * One idempotent producer shared by all of a processor's partitions, used safely and cheaply.
 *
 * kafkajs' idempotent producer keeps one sequence number per partition and assumes sends do not
 * overlap: two `sendBatch` calls in flight at once (partitions of one instance finishing chunks
 * together) can reach the broker out of sequence, and from then on every retry of the same
 * batch fails with OUT_OF_ORDER_SEQUENCE_NUMBER — a partition that never produces again (kafkajs
 * issue #598; found by the benchmark). So:
 *  - sends are serialised; the ones queued while a send is in flight go out together as ONE
 *    `sendBatch` (fewer round trips under load), and each caller learns the outcome of the send
 *    that carried its records;
 *  - one `sendBatch` carries at most `maxRequestBytes` of keys, values and headers: a record
 *    batch of one partition above the broker's `message.max.bytes` (1 MiB by default) is refused
 *    whole (MESSAGE_TOO_LARGE, and kafkajs' sequence bookkeeping breaks after it), and coalescing
 *    chunks of several partitions got there. A single send above the budget goes out as several
 *    `sendBatch` calls in order; if one fails the caller's retry sends all of it again (repeats,
 *    never a gap or a reordering within a topic);
 *  - a send that fails with an error meaning the producer's sequence or identity is broken
 *    (out-of-order sequence, unknown producer id, invalid epoch) replaces the producer before the
 *    error is passed on: the caller's retry goes out under a new producer id. Records sent twice
 *    that way are repeats with the same event ids, which consumers already drop.
 */
import type { Message, Producer, ProducerBatch, TopicMessages } from 'kafkajs';

/** Broker errors after which an idempotent producer cannot go on (kafkajs error `type`s). */
const BROKEN_SEQUENCE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);

/** Half the broker's default message.max.bytes: headroom for record overhead (varints, CRC, batch header). */
export const DEFAULT_MAX_REQUEST_BYTES = 512 * 1024;

export interface SerialProducer {
  send(topicMessages: TopicMessages[]): Promise<void>;
  /** Replacements made so far (for logs and tests). */
  replacements(): number;
  /** `sendBatch` calls made so far: fewer than `send` calls when sends were carried together. */
  batches(): number;
  disconnect(): Promise<void>;
}

interface Waiting {
  topicMessages: TopicMessages[];
  bytes: number;
  resolve(): void;
  reject(error: unknown): void;
}

export function isBrokenSequence(error: unknown): boolean {
  for (let e = error as { type?: string; cause?: unknown; originalError?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.type === 'string' && BROKEN_SEQUENCE.has(e.type)) return true;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return /out of order sequence|unknown producer id|invalid producer epoch/i.test(String((error as Error)?.message ?? ''));
}

/** `create` makes an unconnected producer; the first one is connected by the caller's first send. */
export async function serialProducer(
  create: () => Producer,
  options: { acks?: ProducerBatch['acks']; maxRequestBytes?: number; onReplaced?: (error: unknown) => void } = {},
): Promise<SerialProducer> {
  const maxBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  let producer = create();
  await producer.connect();
  let queue: Waiting[] = [];
  let sending = false;
  let replaced = 0;
  let batches = 0;

  async function replace(cause: unknown): Promise<void> {
    const old = producer;
    producer = create();
    replaced++;
    options.onReplaced?.(cause);
    await old.disconnect().catch(() => undefined);
    await producer.connect();
  }

  async function drain(): Promise<void> {
    sending = true;
    while (queue.length > 0) {
      // The waiting sends that fit the budget together (at least one), oldest first.
      let take = 1;
      let bytes = (queue[0] as Waiting).bytes;
      while (take < queue.length && bytes + (queue[take] as Waiting).bytes <= maxBytes) bytes += (queue[take++] as Waiting).bytes;
      const carried = queue.slice(0, take);
      queue = queue.slice(take);
      try {
        for (const part of splitBySize(merge(carried.flatMap((w) => w.topicMessages)), maxBytes)) {
          batches++;
          await producer.sendBatch({ topicMessages: part, acks: options.acks ?? -1 });
        }
        for (const w of carried) w.resolve();
      } catch (error) {
        if (isBrokenSequence(error)) await replace(error).catch(() => undefined);
        for (const w of carried) w.reject(error);
      }
    }
    sending = false;
  }

  return {
    send(topicMessages) {
      if (topicMessages.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ topicMessages, bytes: topicMessages.reduce((sum, t) => sum + t.messages.reduce((n, m) => n + messageBytes(m), 0), 0), resolve, reject });
        if (!sending) void drain();
      });
    },
    replacements: () => replaced,
    batches: () => batches,
    async disconnect() {
      await producer.disconnect();
    },
  };
}

/** One entry per topic, messages in the order they were queued. */
function merge(topicMessages: TopicMessages[]): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages['messages']>();
  for (const { topic, messages } of topicMessages) {
    const list = byTopic.get(topic);
    if (list) list.push(...messages);
    else byTopic.set(topic, [...messages]);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

// String length, not UTF-8 bytes: counting bytes cost more than the budget's headroom is worth
// (keys and header values are codes, ids and timestamps; a string is at most 3 bytes a character).
const lengthOf = (value: Buffer | string | null | undefined): number => (value == null ? 0 : value.length);

/** What a message adds to a produce request, near enough: key, value, header names and values, plus record overhead. */
export function messageBytes(message: Message): number {
  let bytes = 16 + lengthOf(message.key) + lengthOf(message.value as Buffer | string | null);
  const headers = message.headers;
  if (headers) {
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) bytes += 4 + name.length + lengthOf(one);
    }
  }
  return bytes;
}

/** Consecutive parts of at most `maxBytes` each (a message bigger than that alone), order kept within each topic. */
export function splitBySize(topicMessages: TopicMessages[], maxBytes: number): TopicMessages[][] {
  const parts: TopicMessages[][] = [];
  let part: TopicMessages[] = [];
  let bytes = 0;
  for (const { topic, messages } of topicMessages) {
    let run: Message[] = [];
    for (const message of messages) {
      const size = messageBytes(message);
      if (bytes > 0 && bytes + size > maxBytes) {
        if (run.length > 0) part.push({ topic, messages: run });
        parts.push(part);
        part = [];
        run = [];
        bytes = 0;
      }
      run.push(message);
      bytes += size;
    }
    if (run.length > 0) part.push({ topic, messages: run });
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
