/**
 * The records of one applied batch, as stored in the partition's outbox (runtime/redis/keys.ts)
 * by the same Lua call that applies the state, and produced from there. Why: a batch's outputs
 * then exist exactly when its state was applied. Without it, a crash between producing and
 * applying re-folds the records — possibly interleaved differently across topics — and emits a
 * second, different picture of the same cause under the same ids.
 *
 * JSON with base64 bytes: keys and header values may be arbitrary bytes (dead letters keep the
 * original ones).
 */
import type { IHeaders, Message, TopicMessages } from 'kafkajs';

export interface OutboxRecord {
  /** Kafka topic. */
  topic: string;
  message: Message;
}

interface Stored {
  t: string;
  k: string | null;
  v: string | null;
  h: Record<string, string[]>;
}

const bytes = (value: Buffer | string | null | undefined): string | null =>
  value === null || value === undefined ? null : (Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8')).toString('base64');

export function serializeOutbox(records: readonly OutboxRecord[]): string {
  if (records.length === 0) return '';
  const stored: Stored[] = records.map(({ topic, message }) => {
    const headers: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      if (value === undefined) continue;
      headers[name] = (Array.isArray(value) ? value : [value]).map((v) => bytes(v) as string);
    }
    return { t: topic, k: bytes(message.key), v: bytes(message.value as Buffer | string | null), h: headers };
  });
  return JSON.stringify(stored);
}

/** The stored records grouped per topic, each topic's records in their original order. */
export function parseOutbox(serialized: string): TopicMessages[] {
  const byTopic = new Map<string, Message[]>();
  for (const record of JSON.parse(serialized) as Stored[]) {
    const headers: IHeaders = {};
    for (const [name, values] of Object.entries(record.h)) {
      const decoded = values.map((v) => Buffer.from(v, 'base64'));
      headers[name] = decoded.length === 1 ? decoded[0] : decoded;
    }
    const message: Message = {
      key: record.k === null ? null : Buffer.from(record.k, 'base64'),
      value: record.v === null ? null : Buffer.from(record.v, 'base64'),
      headers,
    };
    (byTopic.get(record.t) ?? byTopic.set(record.t, []).get(record.t) as Message[]).push(message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
