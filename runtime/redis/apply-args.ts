/**
 * Pure encoding of one partition batch into the ARGV of scripts/apply-batch-3.lua (see its header
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

export function encodeApplyArgs<S>(batch: PartitionBatch<S>, options: ApplyArgsOptions): string[] {
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
  return [
    options.epoch,
    String(options.cutoff),
    String(options.pruneLimit),
    String(expected.length),
    String(next.length),
    String(batch.puts.size),
    String(batch.deletes.length),
    String(batch.seen.length),
    ...expected.flat(),
    ...next.flat(),
    ...puts,
    ...batch.deletes,
    ...seen,
  ];
}

/** Splits a list into slices of at most `size` (HMGET loads, UNLINK during wipes). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
