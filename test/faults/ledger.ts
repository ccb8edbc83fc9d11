/**
 * The pure part of the reliability suite's checker (issue 8; test/faults/checker.ts does the
 * reading): given every record of every input topic, what Redis says was applied, what the dead
 * letter topics name and what the stand-in receivers say took effect, it gives each input offset
 * one verdict and counts what went wrong. No I/O, so the definitions below are unit-tested
 * (ledger.test.ts) on hand-made cases.
 *
 * VERDICTS — one per input record (topic, partition, offset), first match wins:
 *
 *  processor inputs (source topics and orders.movements; global tables such as item.upserted are
 *  read whole by every instance and kept in memory, so they are not in the ledger: the view diff
 *  covers them through safety stock and order validation):
 *    dead-lettered  a record of `<topic>.dlq` names it (tributary.source.topic/partition/offset)
 *    unseen         its partition's Redis watermark for the topic is below its offset (or absent):
 *                   the processor never got there
 *    lost           it has no eventId (undecodable) and was not dead-lettered, or its eventId is
 *                   not in the partition's seen set `<topic>|<eventId>` although the watermark
 *                   passed it
 *    duplicate      an earlier offset of the same topic partition, not dead-lettered, carried the
 *                   same eventId, and that eventId is in the seen set (SPEC §5: one event)
 *    applied        its eventId is in the seen set and the watermark is at or past it
 *
 *  sink inputs (erp.commands, crm.commands):
 *    dead-lettered  a record of `<topic>.dlq` names it (400/422, retries exhausted, unreadable)
 *    lost/unseen    it has no commandId (undecodable) and was not dead-lettered
 *    duplicate      an earlier offset of the same partition carried the same commandId and that
 *                   one was done with (the processor's outbox was produced twice: at-least-once
 *                   into Kafka); a repeat of a lost or unfinished command is lost or unseen too
 *    applied        its commandId took effect at the receiver
 *    coalesced      an UpdateAvailability that did not take effect while a later UpdateAvailability
 *                   of the same key (sku@warehouse) follows it: superseded (SPEC §7 coalescing)
 *    unseen         at or past the sink group's committed offset: not finished yet
 *    lost           anything else: the sink passed it and the receiver never saw it take effect
 *
 * DUPLICATED — each counts once:
 *    a commandId that took effect twice at a receiver, or that a receiver recorded as a conflict
 *    (one Idempotency-Key, two bodies), or that the command topic carries with two bodies; an
 *    eventId of orders.movements carried with two bodies within one generation (a rebuild refolds
 *    under a newer generation and may legitimately restate a movement).
 * REORDERED — a command that took effect at a receiver before a command of the same key (the
 *    Kafka record key) that precedes it in the topic: per key, the receiver's order of effect must
 *    be a subsequence of the order of first appearance in the topic (coalescing may drop some,
 *    nothing may swap). Counted per command that came too early.
 * PHANTOM — a commandId that took effect at a receiver but is on no command topic (asserted empty;
 *    not in the ledger line).
 */

export type Verdict = 'applied' | 'duplicate' | 'coalesced' | 'dead-lettered' | 'lost' | 'unseen';

/** One record of a processor input topic, as read back from Kafka. */
export interface ProcessorInput {
  /** Logical topic (no prefix). */
  topic: string;
  partition: number;
  offset: bigint;
  /** meta.eventId of the decoded value; undefined when it cannot be decoded. */
  eventId?: string;
}

/** What Redis holds for one processor partition. */
export interface PartitionApplied {
  /** Logical topic → last applied offset. */
  watermarks: ReadonlyMap<string, bigint>;
  /** Members `<topic>|<eventId>` of the partition's seen set. */
  seen: ReadonlySet<string>;
}

/** One record of a command topic. */
export interface CommandInput {
  topic: string;
  partition: number;
  offset: bigint;
  key: string;
  commandId?: string;
  type?: string;
  /** Canonical JSON of type and payload. */
  body?: string;
}

export interface DeadLetterRef {
  topic: string;
  partition: number;
  offset: bigint;
}

export interface Judged<R> {
  record: R;
  verdict: Verdict;
}

export const UPDATE_AVAILABILITY = 'UpdateAvailability';

const at = (topic: string, partition: number, offset: bigint) => `${topic}\u0000${partition}\u0000${offset}`;
const partitionOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

function byPartitionInOrder<R extends { topic: string; partition: number; offset: bigint }>(records: readonly R[]): R[][] {
  const groups = new Map<string, R[]>();
  for (const record of records) {
    const id = partitionOf(record.topic, record.partition);
    (groups.get(id) ?? groups.set(id, []).get(id)!).push(record);
  }
  return [...groups.values()].map((list) => [...list].sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0)));
}

/**
 * Verdicts of processor inputs. `applied(topic, partition)` is the Redis record of the processor
 * partition that reads the topic.
 */
export function judgeProcessorInputs(
  records: readonly ProcessorInput[],
  applied: (topic: string, partition: number) => PartitionApplied | undefined,
  deadLetters: readonly DeadLetterRef[],
): Judged<ProcessorInput>[] {
  const dead = new Set(deadLetters.map((d) => at(d.topic, d.partition, d.offset)));
  const judged: Judged<ProcessorInput>[] = [];
  for (const list of byPartitionInOrder(records)) {
    const earlier = new Set<string>();
    for (const record of list) {
      const state = applied(record.topic, record.partition);
      const watermark = state?.watermarks.get(record.topic);
      const verdict = ((): Verdict => {
        if (dead.has(at(record.topic, record.partition, record.offset))) return 'dead-lettered';
        if (watermark === undefined || watermark < record.offset) return 'unseen';
        if (record.eventId === undefined) return 'lost';
        if (!state?.seen.has(`${record.topic}|${record.eventId}`)) return 'lost';
        return earlier.has(record.eventId) ? 'duplicate' : 'applied';
      })();
      if (verdict !== 'dead-lettered' && record.eventId !== undefined) earlier.add(record.eventId);
      judged.push({ record, verdict });
    }
  }
  return judged;
}

/**
 * Verdicts of command records. `inEffect` holds the commandIds that took effect at the receiver
 * of the topic; `committed(topic, partition)` is the sink group's committed offset (next to read).
 */
export function judgeCommandInputs(
  records: readonly CommandInput[],
  inEffect: (topic: string) => ReadonlySet<string>,
  committed: (topic: string, partition: number) => bigint | undefined,
  deadLetters: readonly DeadLetterRef[],
): Judged<CommandInput>[] {
  const dead = new Set(deadLetters.map((d) => at(d.topic, d.partition, d.offset)));
  const judged: Judged<CommandInput>[] = [];
  for (const list of byPartitionInOrder(records)) {
    // The verdict of each commandId's first (not dead-lettered) record.
    const first = new Map<string, Verdict>();
    // Keys with an UpdateAvailability at a later offset than the one being judged.
    const lastAvailability = new Map<string, bigint>();
    for (const record of list) if (record.type === UPDATE_AVAILABILITY) lastAvailability.set(record.key, record.offset);
    for (const record of list) {
      const next = committed(record.topic, record.partition);
      const pending = next === undefined || next <= record.offset;
      const verdict = ((): Verdict => {
        if (dead.has(at(record.topic, record.partition, record.offset))) return 'dead-lettered';
        if (record.commandId === undefined) return pending ? 'unseen' : 'lost';
        const before = first.get(record.commandId);
        // A repeat shares the fate of the first: skipped if that one was done with, else as unfinished or lost.
        if (before !== undefined) return before === 'lost' || before === 'unseen' ? before : 'duplicate';
        if (inEffect(record.topic).has(record.commandId)) return 'applied';
        if (record.type === UPDATE_AVAILABILITY && (lastAvailability.get(record.key) ?? -1n) > record.offset) return 'coalesced';
        return pending ? 'unseen' : 'lost';
      })();
      if (record.commandId !== undefined && verdict !== 'dead-lettered' && !first.has(record.commandId)) first.set(record.commandId, verdict);
      judged.push({ record, verdict });
    }
  }
  return judged;
}

/** Ids carried with more than one distinct body (`bodies` pairs an id with a canonical body). */
export function idsWithTwoBodies(bodies: Iterable<readonly [id: string, body: string]>): string[] {
  const seen = new Map<string, Set<string>>();
  for (const [id, body] of bodies) (seen.get(id) ?? seen.set(id, new Set()).get(id)!).add(body);
  return [...seen].filter(([, set]) => set.size > 1).map(([id]) => id).sort();
}

/** commandIds that took effect more than once in one receiver's list of effects. */
export function appliedTwice(applied: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const id of applied) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([id]) => id).sort();
}

/**
 * Commands that took effect before a command of their key that precedes them in the topic.
 * `topicOrder` is the command records in offset order per partition; `applied` the commandIds in
 * the order they took effect at the receiver.
 */
export function reorderedCommands(topicOrder: readonly CommandInput[], applied: readonly string[]): string[] {
  const keyOf = new Map<string, string>();
  const position = new Map<string, number>();
  const perKey = new Map<string, number>();
  for (const record of byPartitionInOrder(topicOrder).flat()) {
    if (record.commandId === undefined || position.has(record.commandId)) continue;
    const n = perKey.get(record.key) ?? 0;
    perKey.set(record.key, n + 1);
    keyOf.set(record.commandId, record.key);
    position.set(record.commandId, n);
  }
  const highest = new Map<string, number>();
  const early: string[] = [];
  for (const id of applied) {
    const key = keyOf.get(id);
    if (key === undefined) continue; // a phantom, counted apart
    const mine = position.get(id) as number;
    const before = highest.get(key);
    if (before !== undefined && mine < before) early.push(id);
    else highest.set(key, mine);
  }
  return early;
}

export interface LedgerCounts {
  inputs: number;
  applied: number;
  duplicatesSkipped: number;
  coalesced: number;
  deadLettered: number;
  lost: number;
  unseen: number;
  duplicated: number;
  reordered: number;
}

export function countVerdicts(judged: readonly { verdict: Verdict }[], duplicated: number, reordered: number): LedgerCounts {
  const n = (verdict: Verdict) => judged.filter((j) => j.verdict === verdict).length;
  return {
    inputs: judged.length,
    applied: n('applied'),
    duplicatesSkipped: n('duplicate'),
    coalesced: n('coalesced'),
    deadLettered: n('dead-lettered'),
    lost: n('lost'),
    unseen: n('unseen'),
    duplicated,
    reordered,
  };
}

/** The one line each scenario prints (README "Reliability" quotes them). */
export function ledgerLine(counts: LedgerCounts): string {
  const c = counts;
  return `ledger: inputs ${c.inputs}, applied ${c.applied}, duplicates-skipped ${c.duplicatesSkipped}, coalesced ${c.coalesced}, dead-lettered ${c.deadLettered}, lost ${c.lost}, unseen ${c.unseen}, duplicated ${c.duplicated}, reordered ${c.reordered}`;
}
