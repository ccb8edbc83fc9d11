/**
 * The records of one applied batch, as stored in the partition's outbox (runtime/redis/keys.ts)
 * by the same Lua call that applies the state. Why: a batch's outputs then exist exactly when its
 * state was applied. Without it, a crash between producing and applying re-folds the records —
 * possibly interleaved differently across topics — and emits a second, different picture of the
 * same cause under the same ids.
 *
 * The runner produces a batch's records from memory right after its apply succeeded and deletes
 * the stored copy once Kafka acknowledged them; the stored copy is read back only when that did
 * not happen (a crash, a failed produce, a partition opened by another instance).
 *
 * Binary, one Redis string per batch (keys and header values may be arbitrary bytes: dead letters
 * keep the original ones; Redis strings are binary-safe). All integers big-endian:
 *
 *   outbox   = version:u8 (1)  nTopics:u16  topic*  nRecords:u32  record*
 *   topic    = len:u16 utf8
 *   record   = topicIndex:u16  key:bytes  value:bytes  nHeaders:u16  (name:str16 value:bytes)*
 *   bytes    = len:i32 (−1 = null) raw
 *   str16    = len:u16 utf8
 *
 * A header with several values is stored as several headers of that name, in order. Entries
 * written by earlier versions (a JSON array with base64 bytes, first byte '[') are still read.
 */
import type { IHeaders, Message, TopicMessages } from 'kafkajs';

export interface OutboxRecord {
  /** Kafka topic. */
  topic: string;
  message: Message;
}

const VERSION = 1;
const LEGACY_JSON = 0x5b; // '['

type Bytes = Buffer | string | null | undefined;

const sizeOf = (value: Bytes): number => 4 + (value === null || value === undefined ? 0 : typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length);

function writeBytes(out: Buffer, at: number, value: Bytes): number {
  if (value === null || value === undefined) {
    out.writeInt32BE(-1, at);
    return at + 4;
  }
  const length = typeof value === 'string' ? out.write(value, at + 4, 'utf8') : value.copy(out, at + 4);
  out.writeInt32BE(length, at);
  return at + 4 + length;
}

function writeStr16(out: Buffer, at: number, value: string): number {
  const length = out.write(value, at + 2, 'utf8');
  out.writeUInt16BE(length, at);
  return at + 2 + length;
}

/** The batch's records as one outbox entry; an empty buffer for none (the script stores nothing then). */
export function encodeOutbox(records: readonly OutboxRecord[]): Buffer {
  if (records.length === 0) return Buffer.alloc(0);
  const topicIndex = new Map<string, number>();
  let size = 1 + 2 + 4;
  for (const { topic, message } of records) {
    if (!topicIndex.has(topic)) {
      topicIndex.set(topic, topicIndex.size);
      size += 2 + Buffer.byteLength(topic, 'utf8');
    }
    size += 2 + sizeOf(message.key) + sizeOf(message.value as Bytes) + 2;
    const headers = message.headers;
    if (headers) {
      for (const name in headers) {
        const value = headers[name];
        if (value === undefined) continue;
        for (const one of Array.isArray(value) ? value : [value]) size += 2 + Buffer.byteLength(name, 'utf8') + sizeOf(one);
      }
    }
  }
  if (topicIndex.size > 0xffff) throw new RangeError('an outbox entry names more than 65,535 topics');
  const out = Buffer.allocUnsafe(size);
  let at = out.writeUInt8(VERSION, 0);
  at = out.writeUInt16BE(topicIndex.size, at);
  for (const topic of topicIndex.keys()) at = writeStr16(out, at, topic);
  at = out.writeUInt32BE(records.length, at);
  for (const { topic, message } of records) {
    at = out.writeUInt16BE(topicIndex.get(topic) as number, at);
    at = writeBytes(out, at, message.key);
    at = writeBytes(out, at, message.value as Bytes);
    const countAt = at;
    at += 2;
    let count = 0;
    const headers = message.headers;
    if (headers) {
      for (const name in headers) {
        const value = headers[name];
        if (value === undefined) continue;
        for (const one of Array.isArray(value) ? value : [value]) {
          at = writeStr16(out, at, name);
          at = writeBytes(out, at, one);
          count++;
        }
      }
    }
    if (count > 0xffff) throw new RangeError('an output record has more than 65,535 headers');
    out.writeUInt16BE(count, countAt);
  }
  return out;
}

/** The stored records grouped per topic, each topic's records in their original order. */
export function decodeOutbox(stored: Buffer): TopicMessages[] {
  if (stored.length === 0) return [];
  if (stored[0] === LEGACY_JSON) return parseLegacy(stored.toString('utf8'));
  if (stored[0] !== VERSION) throw new TypeError(`outbox entry of version ${stored[0]}: written by a newer runtime`);
  let at = 1;
  const readStr16 = (): string => {
    const length = stored.readUInt16BE(at);
    const value = stored.toString('utf8', at + 2, at + 2 + length);
    at += 2 + length;
    return value;
  };
  const readBytes = (): Buffer | null => {
    const length = stored.readInt32BE(at);
    at += 4;
    if (length < 0) return null;
    const value = stored.subarray(at, at + length);
    at += length;
    return value;
  };
  const topics: string[] = [];
  const nTopics = stored.readUInt16BE(at);
  at += 2;
  for (let i = 0; i < nTopics; i++) topics.push(readStr16());
  const byTopic = new Map<string, Message[]>();
  const nRecords = stored.readUInt32BE(at);
  at += 4;
  for (let i = 0; i < nRecords; i++) {
    const topic = topics[stored.readUInt16BE(at)] as string;
    at += 2;
    const key = readBytes();
    const value = readBytes();
    const nHeaders = stored.readUInt16BE(at);
    at += 2;
    const headers: IHeaders = {};
    for (let h = 0; h < nHeaders; h++) {
      const name = readStr16();
      const one = readBytes() as Buffer;
      const before = headers[name];
      headers[name] = before === undefined ? one : Array.isArray(before) ? [...before, one] : [before as Buffer, one];
    }
    const list = byTopic.get(topic);
    const message: Message = { key, value, headers };
    if (list) list.push(message);
    else byTopic.set(topic, [message]);
  }
  if (at !== stored.length) throw new TypeError(`outbox entry has ${stored.length - at} bytes after its last record`);
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/** The records of a batch grouped per topic, in order (what the runner produces from memory). */
export function byTopic(records: readonly OutboxRecord[]): TopicMessages[] {
  const grouped = new Map<string, Message[]>();
  for (const { topic, message } of records) {
    const list = grouped.get(topic);
    if (list) list.push(message);
    else grouped.set(topic, [message]);
  }
  return [...grouped].map(([topic, messages]) => ({ topic, messages }));
}

interface LegacyStored {
  t: string;
  k: string | null;
  v: string | null;
  h: Record<string, string[]>;
}

/** Entries of the JSON format (before the binary one): produced after an upgrade, never written. */
function parseLegacy(serialized: string): TopicMessages[] {
  const records: OutboxRecord[] = (JSON.parse(serialized) as LegacyStored[]).map((record) => {
    const headers: IHeaders = {};
    for (const [name, values] of Object.entries(record.h)) {
      const decoded = values.map((v) => Buffer.from(v, 'base64'));
      headers[name] = decoded.length === 1 ? decoded[0] : decoded;
    }
    return {
      topic: record.t,
      message: { key: record.k === null ? null : Buffer.from(record.k, 'base64'), value: record.v === null ? null : Buffer.from(record.v, 'base64'), headers },
    };
  });
  return byTopic(records);
}
