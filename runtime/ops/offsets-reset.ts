/**
 * The plan of `tributary offsets reset` (SPEC §9), as pure arithmetic over offsets the command
 * fetched: for each topic-partition the group's current committed offset, the target, and what
 * moving there means — records read again (`replay`) or passed over (`skip`).
 *
 * Targets are clamped to what the partition still holds ([log start, end]); a clamp is reported,
 * never silent. A partition the group never committed on starts where Tributary's consumers
 * start without a commit: the log start (`fromBeginning`).
 */
import { UsageError } from '../errors';

export type ResetTarget =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'datetime'; at: Date }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'shift'; by: bigint };

export interface PartitionOffsets {
  topic: string;
  partition: number;
  /** Committed offset (next record to read); null when the group never committed here. */
  committed: bigint | null;
  /** Log start and end offsets. */
  low: bigint;
  high: bigint;
  /** For a datetime target: the first offset whose timestamp is at or after it, null if none. */
  atTime?: bigint | null;
}

export interface ResetRow {
  topic: string;
  partition: number;
  current: string | null;
  target: string;
  low: string;
  high: string;
  /** Records between target and current that will be read again. */
  replay: number;
  /** Records between current and target that will not be read. */
  skip: number;
  /** Why the target differs from the one asked for, if it does. */
  note?: string;
}

export interface ResetFlags {
  toEarliest?: boolean;
  toLatest?: boolean;
  toDatetime?: string;
  toOffset?: string;
  shiftBy?: string;
}

/** Exactly one of the --to-* / --shift-by options, parsed. */
export function resetTargetOf(flags: ResetFlags): ResetTarget {
  const given: ResetTarget[] = [];
  if (flags.toEarliest) given.push({ kind: 'earliest' });
  if (flags.toLatest) given.push({ kind: 'latest' });
  if (flags.toDatetime !== undefined) given.push({ kind: 'datetime', at: parseDatetime(flags.toDatetime) });
  if (flags.toOffset !== undefined) given.push({ kind: 'offset', offset: parseInteger(flags.toOffset, '--to-offset', false) });
  if (flags.shiftBy !== undefined) given.push({ kind: 'shift', by: parseInteger(flags.shiftBy, '--shift-by', true) });
  if (given.length !== 1) {
    throw new UsageError('give exactly one of --to-earliest, --to-latest, --to-datetime ISO, --to-offset N, --shift-by N');
  }
  return given[0] as ResetTarget;
}

function parseDatetime(text: string): Date {
  // An ISO-8601 date-time with a zone (Z or ±hh:mm), or epoch milliseconds: never local time.
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
  const at = /^\d+$/.test(text) ? new Date(Number(text)) : iso.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) {
    throw new UsageError(`--to-datetime "${text}": expected an ISO-8601 time with a zone, e.g. 2026-11-20T10:00:00Z, or epoch milliseconds`);
  }
  return at;
}

function parseInteger(text: string, option: string, signed: boolean): bigint {
  if (!(signed ? /^[+-]?\d+$/ : /^\d+$/).test(text)) {
    throw new UsageError(`${option} "${text}": expected ${signed ? 'an integer such as -500 or 200' : 'a non-negative offset'}`);
  }
  return BigInt(text);
}

export function planReset(partitions: readonly PartitionOffsets[], target: ResetTarget): ResetRow[] {
  return partitions
    .map((facts) => planOne(facts, target))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

function planOne(facts: PartitionOffsets, target: ResetTarget): ResetRow {
  const { low, high } = facts;
  const from = facts.committed ?? low;
  let wanted: bigint;
  let note: string | undefined;
  switch (target.kind) {
    case 'earliest':
      wanted = low;
      break;
    case 'latest':
      wanted = high;
      break;
    case 'datetime':
      if (facts.atTime === undefined) throw new TypeError(`no offset for ${target.at.toISOString()} was looked up for ${facts.topic}/${facts.partition}`);
      wanted = facts.atTime ?? high;
      if (facts.atTime === null) note = 'no record at or after that time: the end';
      break;
    case 'offset':
      wanted = target.offset;
      break;
    case 'shift':
      wanted = from + target.by;
      break;
  }
  let chosen = wanted;
  if (wanted < low) {
    chosen = low;
    note = `${wanted} is before the log start: the log start`;
  } else if (wanted > high) {
    chosen = high;
    note = `${wanted} is past the end: the end`;
  }
  return {
    topic: facts.topic,
    partition: facts.partition,
    current: facts.committed === null ? null : facts.committed.toString(),
    target: chosen.toString(),
    low: low.toString(),
    high: high.toString(),
    replay: Number(from > chosen ? from - chosen : 0n),
    skip: Number(chosen > from ? chosen - from : 0n),
    ...(note ? { note } : {}),
  };
}
