/**
 * Redis key names of the processor state store (./state-store.ts), and the SCAN patterns that
 * find them again. One place, so the store, `wipe` and the future view writer agree.
 *
 *   trb:{<processor>}:epoch                       string  random id of the current state generation
 *   trb:{<processor>:<partition>}:state           hash    state key → JSON state
 *   trb:{<processor>:<partition>}:watermark       hash    input topic → last applied offset,
 *                                                         plus `@epoch` → the epoch it was written under
 *   trb:{<processor>:<partition>}:seen            zset    `<topic>|<eventId>` scored by its time (ms)
 *   trb:{<processor>:<partition>}:outbox          hash    `<seq>` → records of an applied batch not yet
 *                                                         produced (written with the state, deleted once sent)
 *   trb:{<processor>:<partition>}:view:<name>     hash    the read model the API serves, written in the
 *                                                         same Lua call as the state (processor `view`):
 *                                                         atp:    view:sku:<sku>  warehouse → AtpRow JSON
 *                                                         orders: view:status     orderId → order.status JSON
 *   watermark field `@catchup`                            present while the partition replays towards a
 *                                                         target (fresh start, rebuild, lost state): the
 *                                                         API must not serve it yet (JSON {topic: offset});
 *                                                         `tributary rebuild` sets it (with `{}`) on the
 *                                                         partitions it wipes and on their downstream
 *   watermark field `@gen`                                the generation the partition's state was built
 *                                                         in (a time-ordered id, newer for every rebuild
 *                                                         of it); folds stamp it on order-dependent outputs
 *
 * Redis Cluster: a Lua script may only touch keys of one hash slot, and one batch touches one
 * partition, so the hash tag is `{<processor>:<partition>}`: a partition's keys share a slot while
 * partitions spread over the cluster. The epoch has its own tag; nothing writes it together with
 * partition keys. Kafka topic names are [a-zA-Z0-9._-], so neither `@epoch` nor the `|` separator
 * can collide with a topic.
 */

// Letters, digits, '.', '_', '-' (a Kafka topic prefix may be part of the name): never braces,
// colons or glob characters.
const PROCESSOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The watermark hash field holding the epoch the partition's state belongs to. */
export const EPOCH_FIELD = '@epoch';
/** The watermark hash field present while the partition catches up (see the header). */
export const CATCHUP_FIELD = '@catchup';
/** The watermark hash field holding the partition's generation (see the header). */
export const GEN_FIELD = '@gen';
/** Watermark hash fields that are not input topics start with this (topics cannot). */
export const META_FIELD_PREFIX = '@';

export interface PartitionKeys {
  state: string;
  watermark: string;
  seen: string;
  outbox: string;
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

/** The keys one applyBatch touches, in the script's KEYS order (scripts/apply-batch-5.lua). */
export function partitionKeys(processor: string, partition: number): PartitionKeys {
  const prefix = partitionPrefix(processor, partition);
  return { state: `${prefix}state`, watermark: `${prefix}watermark`, seen: `${prefix}seen`, outbox: `${prefix}outbox` };
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

/** A view hash of one partition, `trb:{<processor>:<partition>}:view:<name>`. */
export function viewKey(processor: string, partition: number, name: string): string {
  if (!/^[A-Za-z0-9._:@-]+$/.test(name)) throw new TypeError(`view name "${name}" may hold only letters, digits and . _ : @ -`);
  return `${partitionPrefix(processor, partition)}view:${name}`;
}

/** Member of the seen set: one event id per input topic (SPEC §5 duplicates are per topic). */
export function seenMember(topic: string, eventId: string): string {
  return `${topic}|${eventId}`;
}

/** The input-topic watermarks of a stored watermark hash (meta fields such as '@epoch' left out). */
export function topicsOf(stored: Readonly<Record<string, string>>): Record<string, string> {
  const topics: Record<string, string> = {};
  for (const [field, offset] of Object.entries(stored)) if (!field.startsWith(META_FIELD_PREFIX)) topics[field] = offset;
  return topics;
}
