/**
 * Pure encoding of one partition batch into the KEYS and ARGV of scripts/apply-batch-5.lua (see its header
 * for the layout), with the checks that belong to the caller's side of the contract: offsets are
 * non-negative integers written as Kafka strings, watermarks only move forward, a key is either
 * put or deleted, an event id is recorded once.
 */
import { seenMember } from './keys';

/** Input topic → offset of the last record applied from that topic on this partition. */
export type Watermarks = Readonly<Record<string, string>>;

export interface SeenEvent {
  topic: string;
  eventId: string;
  /** Milliseconds; pruned once older than the store's retention. Use the time it was applied. */
  at: number;
}

export interface PartitionBatch<S> {
  /** The watermarks the caller read (`watermarks()`) before folding; {} for a fresh partition. */
  expectedWatermarks: Watermarks;
  /** The watermarks after this batch (topics not named keep their stored value). */
  newWatermarks: Watermarks;
  puts: ReadonlyMap<string, S>;
  deletes: readonly string[];
  seen: readonly SeenEvent[];
  /** Read-model writes: hash `view:<name>` of the partition, field → JSON (null deletes the field). */
  views?: readonly ViewWrite[];
  /** Meta fields of the watermark hash to set (names start with '@', e.g. '@catchup'). */
  metaSet?: Readonly<Record<string, string>>;
  /** Meta fields of the watermark hash to delete. */
  metaDelete?: readonly string[];
  /** The records the batch produces, serialized (runtime/processor/outbox.ts); stored with the state. */
  outbox?: Buffer | string;
}

export interface ViewWrite {
  name: string;
  field: string;
  /** JSON; null deletes the field. */
  value: string | null;
}

export interface EncodedApply {
  /** View names in KEYS order after the four fixed keys (KEYS[5] is viewNames[0]). */
  viewNames: string[];
  /** Strings, and the outbox as the bytes it was given (Redis arguments are binary-safe). */
  args: (string | Buffer)[];
}

export interface ApplyArgsOptions {
  epoch: string;
  /** Seen ids scored below this are pruned. */
  cutoff: number;
  pruneLimit: number;
}

const OFFSET = /^(0|[1-9][0-9]*)$/;

function assertOffset(topic: string, offset: string, which: string): void {
  if (typeof offset !== 'string' || !OFFSET.test(offset)) {
    throw new TypeError(`${which} watermark for ${topic} must be a non-negative integer string, got ${JSON.stringify(offset)}`);
  }
}

function assertMetaField(field: string): void {
  if (!field.startsWith('@') || field === '@epoch') throw new TypeError(`meta field "${field}" must start with '@' and is not '@epoch'`);
}

export function encodeApplyArgs<S>(batch: PartitionBatch<S>, options: ApplyArgsOptions): EncodedApply {
  const expected = Object.entries(batch.expectedWatermarks);
  const next = Object.entries(batch.newWatermarks);
  for (const [topic, offset] of expected) assertOffset(topic, offset, 'expected');
  for (const [topic, offset] of next) {
    assertOffset(topic, offset, 'new');
    const before = batch.expectedWatermarks[topic];
    if (before !== undefined && BigInt(offset) < BigInt(before)) {
      throw new RangeError(`new watermark ${offset} for ${topic} is behind the expected ${before}; watermarks only move forward`);
    }
  }
  for (const key of batch.deletes) {
    if (batch.puts.has(key)) throw new TypeError(`state key "${key}" is both put and deleted in one batch`);
  }
  const members = new Set<string>();
  const seen: string[] = [];
  for (const event of batch.seen) {
    if (!Number.isFinite(event.at)) throw new TypeError(`seen ${event.topic} ${event.eventId}: at must be a number of milliseconds`);
    const member = seenMember(event.topic, event.eventId);
    if (members.has(member)) throw new TypeError(`event ${event.eventId} on ${event.topic} is recorded twice in one batch`);
    members.add(member);
    seen.push(String(event.at), member);
  }
  const puts: string[] = [];
  for (const [key, state] of batch.puts) {
    const json = JSON.stringify(state);
    if (json === undefined) throw new TypeError(`state of "${key}" is not JSON-serializable`);
    puts.push(key, json);
  }
  const viewNames: string[] = [];
  const viewIndex = new Map<string, number>();
  const views: string[] = [];
  for (const write of batch.views ?? []) {
    let index = viewIndex.get(write.name);
    if (index === undefined) {
      index = 5 + viewNames.length;
      viewIndex.set(write.name, index);
      viewNames.push(write.name);
    }
    if (write.value === '') throw new TypeError(`view ${write.name} field ${write.field}: an empty value is reserved for deletion`);
    views.push(String(index), write.field, write.value ?? '');
  }
  const metaSet = Object.entries(batch.metaSet ?? {});
  for (const [field] of metaSet) assertMetaField(field);
  const metaDelete = batch.metaDelete ?? [];
  for (const field of metaDelete) {
    assertMetaField(field);
    if (batch.metaSet && Object.prototype.hasOwnProperty.call(batch.metaSet, field)) throw new TypeError(`meta field ${field} is both set and deleted`);
  }
  const args = [
    options.epoch,
    String(options.cutoff),
    String(options.pruneLimit),
    String(expected.length),
    String(next.length),
    String(batch.puts.size),
    String(batch.deletes.length),
    String(batch.seen.length),
    String(views.length / 3),
    String(metaSet.length),
    String(metaDelete.length),
    batch.outbox ?? '',
    ...expected.flat(),
    ...next.flat(),
    ...puts,
    ...batch.deletes,
    ...seen,
    ...views,
    ...metaSet.flat(),
    ...metaDelete,
  ];
  return { viewNames, args };
}

/** Splits a list into slices of at most `size` (HMGET loads, UNLINK during wipes). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
