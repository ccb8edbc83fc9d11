/**
 * The contract between a processor (a pure fold plus a declaration) and the runtime that runs it
 * (STYLE.md "A processor is a pure function plus a declaration").
 *
 * State is per KEY (`keyOf`), so the runtime can load the keys a batch touches, fold in memory
 * and write the changed keys atomically with the partition's offset watermark. A fold:
 *  - is deterministic: no clock, no randomness, no I/O; times come from events;
 *  - returns the key's new state (`undefined` = delete the key) and the records to produce;
 *  - gives every output that is an event a deterministic id derived from its cause
 *    (`deterministicId`), so a replay re-emits byte-identical records;
 *  - does not dedupe by eventId: the runtime does that (by topic + meta.eventId) before folding.
 *  - OWNS the state it is given: it may update that object in place and return it (hot ATP rows
 *    hold hundreds of open orders; copying them on every record would dominate the cost). The
 *    caller must not reuse the object it passed in: the runtime decodes a fresh copy from Redis
 *    per batch and keeps only the returned state; a test that wants the "before" clones first.
 *
 * Global tables (`tables`, e.g. item.upserted) are read whole by every instance and reach folds
 * through `ctx`; a table update that changes derived rows is announced to the processor through
 * `onTableUpdate`: the runtime asks which of the keys it owns are affected and re-folds them with
 * `refresh`.
 */

import type { TableView } from './table';

export interface Output {
  topic: string;
  key: string;
  value: unknown;
}

export interface Step<S> {
  /** The key's new state; undefined deletes it (or keeps it absent). */
  state: S | undefined;
  outputs: Output[];
  /**
   * Events that arrived later than the grace period allows (SPEC §5), applied as of their arrival;
   * the runtime adds them to the late-events metric. Absent = 0.
   */
  lateBeyondGrace?: number;
}

export interface FoldInput {
  topic: string;
  /** The decoded, normalized value (processors/types.ts `toEvent`). */
  value: unknown;
  partition?: number;
  offset?: string;
  /**
   * The generation (epoch) of the processor's state, new after every rebuild; a fold stamps it on
   * outputs whose content depends on the order records were folded in (orders' reservations).
   */
  generation?: string;
}

export type Fold<S, Ctx> = (state: S | undefined, input: FoldInput, ctx: Ctx) => Step<S>;

export interface TableUpdateHandler<S, Ctx> {
  /** True if the state under `key` depends on this table record (e.g. a sku's item → its sku@warehouse rows). */
  affects(table: string, value: unknown, key: string): boolean;
  /** Recompute a key's outputs after the table changed; the table in `ctx` already holds the new record (`table`, the cause). */
  refresh(state: S, key: string, ctx: Ctx, table?: { topic: string; value: unknown }): Step<S>;
}

/** The global tables by topic, as the runtime has bootstrapped them. */
export type Tables = ReadonlyMap<string, TableView<unknown>>;

/** Processor settings from topology.yaml (`settings:`), e.g. `{ graceMs: 86400000 }`. */
export type Settings = Readonly<Record<string, unknown>>;

export interface ProcessorDeclaration<S, Ctx> {
  name: string;
  /** Co-partitioned input topics (same key space, same partition count). */
  inputs: readonly string[];
  /** Global tables, bootstrapped to their end offsets before any input is folded. */
  tables: readonly string[];
  outputs: readonly string[];
  /**
   * Outputs that are internal repartition topics, read only by other processors (orders →
   * orders.movements → atp): their records carry the content type but no CloudEvents headers.
   * The value's `meta` holds the same facts, and Kafka clients encode and decode every header of
   * every record (seven more per record, the largest share of producing one).
   */
  internalOutputs?: readonly string[];
  /** The state key an input record belongs to (normally its record key). */
  keyOf(topic: string, value: unknown): string;
  fold: Fold<S, Ctx>;
  /** Builds the fold context once per run from the tables and settings (defaults applied here). */
  createContext(tables: Tables, settings: Settings): Ctx;
  onTableUpdate?: TableUpdateHandler<S, Ctx>;
  /**
   * Processors whose outputs this one reads (atp reads orders' reservations): its partitions do
   * not serve while one of them is catching up or rebuilding, and catch up again after it was.
   */
  upstream?: readonly string[];
  /**
   * The read model the API serves, from a key's state after a batch: hash fields of the
   * partition's `view:<name>` hashes (runtime/redis/keys.ts), written in the same atomic call as
   * the state. JSON values; null deletes the field.
   */
  view?(key: string, state: S | undefined): ViewField[];
  /**
   * The identity under which only the newest output matters (a compacted topic's key, a record
   * holding an absolute value), or undefined: of the outputs of one applied batch sharing an
   * identity, only the last is produced (./coalesce.ts). Absent: every output is produced.
   */
  latestOnly?(output: Output): string | undefined;
}

export interface ViewField {
  name: string;
  field: string;
  value: string | null;
}

/** Identity helper that keeps the state and context types of a declaration. */
export function defineProcessor<S, Ctx>(declaration: ProcessorDeclaration<S, Ctx>): ProcessorDeclaration<S, Ctx> {
  return declaration;
}
