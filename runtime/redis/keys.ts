/**
 * Redis key names of the processor state store (./state-store.ts), and the SCAN patterns that
 * find them again. One place, so the store, `wipe` and the future view writer agree.
 *
 *   trb:{<processor>}:epoch                       string  random id of the current state generation
 *   trb:{<processor>:<partition>}:state           hash    state key → JSON state
 *   trb:{<processor>:<partition>}:watermark       hash    input topic → last applied offset,
 *                                                         plus `@epoch` → the epoch it was written under
 *   trb:{<processor>:<partition>}:seen            zset    `<topic>|<eventId>` scored by its time (ms)
 *   trb:{<processor>:<partition>}:view:...        reserved for the read model the API serves
 *
 * Redis Cluster: a Lua script may only touch keys of one hash slot, and one batch touches one
 * partition, so the hash tag is `{<processor>:<partition>}`: a partition's keys share a slot while
 * partitions spread over the cluster. The epoch has its own tag; nothing writes it together with
 * partition keys. Kafka topic names are [a-zA-Z0-9._-], so neither `@epoch` nor the `|` separator
 * can collide with a topic.
 */

const PROCESSOR_NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** The watermark hash field holding the epoch the partition's state belongs to. */
export const EPOCH_FIELD = '@epoch';

export interface PartitionKeys {
  state: string;
  watermark: string;
  seen: string;
}

/** Throws on a name that would break hash tags or SCAN patterns (braces, colons, glob characters). */
export function assertProcessorName(processor: string): void {
  if (!PROCESSOR_NAME.test(processor)) {
    throw new TypeError(`processor name "${processor}" must match ${PROCESSOR_NAME} to be used in Redis keys`);
  }
}

function assertPartition(partition: number): void {
  if (!Number.isInteger(partition) || partition < 0) {
    throw new TypeError(`partition must be a non-negative integer, got ${partition}`);
  }
}

export function epochKey(processor: string): string {
  assertProcessorName(processor);
  return `trb:{${processor}}:epoch`;
}

export function partitionPrefix(processor: string, partition: number): string {
  assertProcessorName(processor);
  assertPartition(partition);
  return `trb:{${processor}:${partition}}:`;
}

/** The keys one applyBatch touches, in the script's KEYS order (scripts/apply-batch-3.lua). */
export function partitionKeys(processor: string, partition: number): PartitionKeys {
  const prefix = partitionPrefix(processor, partition);
  return { state: `${prefix}state`, watermark: `${prefix}watermark`, seen: `${prefix}seen` };
}

/** SCAN MATCH pattern for every key of one partition (state, watermark, seen, view). */
export function partitionPattern(processor: string, partition: number): string {
  return `${partitionPrefix(processor, partition)}*`;
}

/** SCAN MATCH pattern for every partition key of a processor (not its epoch). */
export function allPartitionsPattern(processor: string): string {
  assertProcessorName(processor);
  return `trb:{${processor}:*`;
}

/** Member of the seen set: one event id per input topic (SPEC §5 duplicates are per topic). */
export function seenMember(topic: string, eventId: string): string {
  return `${topic}|${eventId}`;
}
