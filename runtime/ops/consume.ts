/**
 * The pure parts of `tributary consume` (SPEC §9), shared by `dlq show` and `dlq redrive`:
 *
 * - `--from WHERE` in kcat/rpk shapes → a start offset per partition:
 *     beginning | start | oldest     the partition's low offset (the default)
 *     end | newest                   its end offset (only new records, with --follow)
 *     N | +N                         offset N (clamped into [low, end])
 *     -N                             the last N records of each partition
 *     @2026-11-20T10:00:00Z | @1763632800000 | @-1h | @-1h30m
 *                                    the first record at or after that time (Kafka's
 *                                    offset-for-timestamp lookup); a duration is back from now
 * - `--partition 0,2` → partition numbers.
 * - `--where path=value` / `path!=value` (repeatable, ANDed) on the printed record: a dotted path
 *   from the record's top level; a path whose first segment is not a top-level field is looked up
 *   in the fallback roots (`value` for consume); an array met without an index matches when any
 *   element does (`lines.sku=SKU-1`), a numeric segment indexes it (`lines.0.sku`); a field whose
 *   name has dots is reached by its name (`headers.tributary.redrive.from`). Values compare
 *   as strings; `null` matches a null; a missing path never equals (so `!=` holds).
 * - CSV (RFC 4180, CRLF line ends): nested objects flattened into dotted columns
 *   (`value.customer.id`), arrays as one JSON cell so each record stays on one line, null as an
 *   empty cell.
 *
 * Everything here is synchronous and broker-free; runtime/ops/read-topics.ts reads Kafka.
 */
import { UsageError } from '../errors';

export type FromSpec =
  | { kind: 'beginning' }
  | { kind: 'end' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'tail'; count: bigint }
  | { kind: 'timestamp'; ms: number };

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(\d+(?:ms|s|m|h|d|w))+$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

const FROM_SHAPES = 'beginning, end, an offset N, -N (last N per partition), @<ISO-8601 time>, @<epoch ms> or @-<duration> such as @-1h or @-1h30m';

/** `--from`'s argument; `now` is the clock for `@-1h`. */
export function parseFrom(text: string, now: number = Date.now()): FromSpec {
  const where = text.trim();
  if (['beginning', 'start', 'oldest', 'earliest'].includes(where)) return { kind: 'beginning' };
  if (['end', 'newest', 'latest'].includes(where)) return { kind: 'end' };
  if (/^\+?\d+$/.test(where)) return { kind: 'offset', offset: BigInt(where) };
  if (/^-\d+$/.test(where)) return { kind: 'tail', count: BigInt(where.slice(1)) };
  if (where.startsWith('@')) {
    const at = where.slice(1);
    if (at.startsWith('-') && DURATION.test(at.slice(1))) return { kind: 'timestamp', ms: now - durationMs(at.slice(1)) };
    if (/^\d{10,}$/.test(at)) return { kind: 'timestamp', ms: Number(at) };
    if (ISO_TIME.test(at)) {
      // A date alone is midnight UTC, as Date.parse reads it; a date-time must name its zone.
      const ms = Date.parse(at);
      if (!Number.isNaN(ms)) return { kind: 'timestamp', ms };
    }
  }
  throw new UsageError(`--from ${JSON.stringify(text)} is not a start position: use ${FROM_SHAPES}`);
}

function durationMs(text: string): number {
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(amount) * (DURATION_UNITS[unit as string] as number);
  return total;
}

export interface PartitionBounds {
  low: bigint;
  /** The end offset: the next offset to be written (read_committed: the last stable offset). */
  high: bigint;
}

/**
 * Where to start reading one partition. `atTimestamp` is the broker's answer for a timestamp spec
 * (the first offset at or after it, or the end when none is).
 */
export function startOffset(spec: FromSpec, bounds: PartitionBounds, atTimestamp?: bigint): bigint {
  const clamp = (offset: bigint) => (offset < bounds.low ? bounds.low : offset > bounds.high ? bounds.high : offset);
  switch (spec.kind) {
    case 'beginning':
      return bounds.low;
    case 'end':
      return bounds.high;
    case 'offset':
      return clamp(spec.offset);
    case 'tail':
      return clamp(bounds.high - spec.count);
    case 'timestamp':
      return clamp(atTimestamp ?? bounds.high);
  }
}

/** `--partition 0,2` (repeatable: the lists join); each must exist among `available`. */
export function parsePartitions(lists: readonly string[], available: readonly number[]): number[] {
  const chosen = new Set<number>();
  for (const list of lists) {
    for (const part of list.split(',')) {
      const text = part.trim();
      if (!/^\d+$/.test(text)) throw new UsageError(`--partition ${JSON.stringify(list)}: "${text}" is not a partition number (e.g. --partition 0,2)`);
      const partition = Number(text);
      if (!available.includes(partition)) {
        throw new UsageError(`--partition ${partition} does not exist: the topic has partitions ${[...available].sort((a, b) => a - b).join(', ')}`);
      }
      chosen.add(partition);
    }
  }
  return [...chosen].sort((a, b) => a - b);
}

/** A positive whole number for `--limit`. */
export function parseLimit(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new UsageError(`--limit ${JSON.stringify(text)} is not a positive whole number`);
  return Number(text);
}

export interface Condition {
  path: string[];
  op: '=' | '!=';
  value: string;
  /** As typed, for messages. */
  text: string;
}

export function parseWhere(text: string): Condition {
  const at = text.indexOf('=');
  const negated = at > 0 && text[at - 1] === '!';
  const pathText = text.slice(0, negated ? at - 1 : at).trim();
  const segments = pathText.split('.');
  if (at < 0 || pathText === '' || segments.some((s) => s === '')) {
    throw new UsageError(`--where ${JSON.stringify(text)} is not field=value or field!=value (a dotted path, e.g. --where lines.sku=SKU-1)`);
  }
  return { path: segments, op: negated ? '!=' : '=', value: text.slice(at + 1), text };
}

/**
 * Do all conditions hold for `record`? `fallbacks` are dotted paths of the roots a path is looked
 * up in when its first segment is not a top-level field; the first root holding that segment wins.
 */
export function matchesAll(record: Record<string, unknown>, conditions: readonly Condition[], fallbacks: readonly string[] = []): boolean {
  return conditions.every((condition) => matches(record, condition, fallbacks));
}

function matches(record: Record<string, unknown>, condition: Condition, fallbacks: readonly string[]): boolean {
  const [first] = condition.path;
  let root: unknown = record;
  if (!Object.prototype.hasOwnProperty.call(record, first as string)) {
    for (const fallback of fallbacks) {
      const [candidate] = resolve(record, fallback.split('.'));
      if (isObject(candidate) && Object.prototype.hasOwnProperty.call(candidate, first as string)) {
        root = candidate;
        break;
      }
    }
  }
  const found = resolve(root, condition.path).some((leaf) => asText(leaf) === condition.value);
  return condition.op === '=' ? found : !found;
}

/** Every value the path reaches: arrays without an index fan out to their elements. */
function resolve(value: unknown, path: readonly string[]): unknown[] {
  if (path.length === 0) return [value];
  const [segment, ...rest] = path as [string, ...string[]];
  if (Array.isArray(value)) {
    if (/^\d+$/.test(segment)) return Number(segment) < value.length ? resolve(value[Number(segment)], rest) : [];
    return value.flatMap((element) => resolve(element, path));
  }
  if (!isObject(value)) return [];
  if (Object.prototype.hasOwnProperty.call(value, segment)) return resolve(value[segment], rest);
  // Names with dots of their own (headers such as tributary.redrive.from) take several segments.
  for (let take = 2; take <= path.length; take++) {
    const name = path.slice(0, take).join('.');
    if (Object.prototype.hasOwnProperty.call(value, name)) return resolve(value[name], path.slice(take));
  }
  return [];
}

function asText(value: unknown): string | undefined {
  if (value === null) return 'null';
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** Dotted column → cell text, in the record's field order. */
export function flatten(record: Record<string, unknown>): Map<string, string> {
  const cells = new Map<string, string>();
  const walk = (value: unknown, column: string) => {
    if (isObject(value) && Object.keys(value).length > 0) {
      for (const [name, inner] of Object.entries(value)) walk(inner, column === '' ? name : `${column}.${name}`);
    } else {
      cells.set(column, cellText(value));
    }
  };
  walk(record, '');
  return cells;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  // Arrays (and empty objects) stay in one cell so a record stays on one line.
  return JSON.stringify(value);
}

/** The union of the columns of flattened records, in order of first appearance. */
export class Columns {
  private readonly seen = new Set<string>();

  constructor(initial: Iterable<string> = []) {
    for (const column of initial) this.seen.add(column);
  }

  add(names: Iterable<string>): string[] {
    const added: string[] = [];
    for (const column of names) {
      if (this.seen.has(column)) continue;
      this.seen.add(column);
      added.push(column);
    }
    return added;
  }

  has(column: string): boolean {
    return this.seen.has(column);
  }

  list(): string[] {
    return [...this.seen];
  }
}

export function csvLine(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(columns: readonly string[], cells: Map<string, string>): string {
  return csvLine(columns.map((column) => cells.get(column) ?? ''));
}

/** A record as consume prints it. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  /** ISO-8601 UTC. */
  timestamp: string;
  key: string | null;
  headers: Record<string, string | string[]>;
  schemaId: number;
  value: unknown;
  [field: string]: unknown;
}

/** The fields `--where` resolves from the top of a consumed record; other first segments mean `value.…`. */
export const CONSUME_FALLBACKS = ['value'];

/** The parts of a kafkajs message a printed record needs. */
export interface RawMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  offset: string;
  timestamp: string;
}

export function consumedRecord(topic: string, partition: number, message: RawMessage, decoded: { schemaId: number; value: unknown }): ConsumedRecord {
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: isoTime(message.timestamp),
    key: message.key === null ? null : message.key.toString('utf8'),
    headers: headerText(message.headers),
    schemaId: decoded.schemaId,
    value: decoded.value,
  };
}

/** Kafka's record timestamp (epoch ms as kafkajs gives it) as ISO-8601 UTC. */
export function isoTime(epochMs: string | number): string {
  const date = new Date(Number(epochMs));
  return Number.isNaN(date.getTime()) ? String(epochMs) : date.toISOString();
}

/** Header values as UTF-8 text; a header repeated in one record keeps every value, as an array. */
export function headerText(headers: RawMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const text = (value: Buffer | string) => (Buffer.isBuffer(value) ? value.toString('utf8') : value);
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? (value.length === 1 ? text(value[0] as Buffer | string) : value.map(text)) : text(value);
  }
  return out;
}
