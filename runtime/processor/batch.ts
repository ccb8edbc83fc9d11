/**
 * The pure heart of the streaming runtime: one partition batch of decoded records folded into the
 * states of the keys it touches. No Kafka, no Redis: the runner (./runner.ts) loads the states
 * and the seen ids, calls `foldBatch`, produces the outputs and applies the result atomically.
 *
 *  - A record whose (topic, eventId) was applied before (`alreadySeen`) or earlier in the batch
 *    is a duplicate (SPEC §5): skipped, counted.
 *  - A record the fold throws on is a dead letter (SPEC §8). The fold may have changed the key's
 *    state in place before throwing (folds own their state, ./types.ts), so that key is folded
 *    again from its loaded JSON with the batch's earlier good records: their outputs were
 *    already kept, and folds are deterministic, so the state comes out as if the poison record
 *    had never been there. The JSON is the one the state was read from (`loadedJson`) when the
 *    caller has it: serialising every touched state again just in case was a tenth of a chunk.
 *  - Everything else is applied: its eventId is recorded, its outputs are collected in order.
 */
import { seenMember } from '../redis/keys';
import type { Output, ProcessorDeclaration } from './types';

/** A decoded record of one input topic, ready to fold. */
export interface BatchRecord {
  /** Logical (catalogue) topic. */
  topic: string;
  offset: string;
  value: unknown;
  eventId: string;
  /** The state key (`declaration.keyOf`). */
  key: string;
  occurredAt: number;
}

export interface FoldedBatch<S, O = Output> {
  /** New state per touched key; undefined = delete. */
  states: Map<string, S | undefined>;
  /** The outputs of the applied records, in order, as `encode` made them. */
  outputs: O[];
  /** Records applied (their eventIds are recorded as seen). */
  applied: BatchRecord[];
  duplicates: BatchRecord[];
  failed: { record: BatchRecord; error: unknown }[];
  lateBeyondGrace: number;
}

export interface FoldBatchInput<S, Ctx, O = Output> {
  declaration: ProcessorDeclaration<S, Ctx>;
  ctx: Ctx;
  records: readonly BatchRecord[];
  /** The states loaded for the batch's keys; the fold may mutate them. */
  loaded: ReadonlyMap<string, S>;
  /** The JSON each loaded state was parsed from; absent, the states are serialised before they are folded. */
  loadedJson?: ReadonlyMap<string, string>;
  /**
   * The records already applied before, as `seenMember(topic, eventId)` (runtime/redis/keys.ts):
   * a batch may hold records of several input topics, and an eventId is unique per topic.
   */
  alreadySeen: ReadonlySet<string>;
  /**
   * Turns an output into what the caller produces (Avro encoding); runs inside the record's
   * try, so an output that cannot be encoded dead-letters the record that caused it.
   */
  encode?: (output: Output) => O;
  /** The state generation handed to the fold (FoldInput.generation). */
  generation?: string;
}

export function foldBatch<S, Ctx, O = Output>({ declaration, ctx, records, loaded, loadedJson, alreadySeen, encode, generation }: FoldBatchInput<S, Ctx, O>): FoldedBatch<S, O> {
  const states = new Map<string, S | undefined>();
  const pristine = new Map<string, string>();
  const outputs: O[] = [];
  const applied: BatchRecord[] = [];
  const duplicates: BatchRecord[] = [];
  const failed: { record: BatchRecord; error: unknown }[] = [];
  const seenNow = new Set<string>();
  let lateBeyondGrace = 0;

  const current = (key: string): S | undefined => (states.has(key) ? states.get(key) : loaded.get(key));

  for (const record of records) {
    const id = seenMember(record.topic, record.eventId);
    if (alreadySeen.has(id) || seenNow.has(id)) {
      duplicates.push(record);
      continue;
    }
    const before = current(record.key);
    // First time the key is folded in this batch: `before` is still the loaded state, untouched.
    if (!pristine.has(record.key)) pristine.set(record.key, loadedJson ? (loadedJson.get(record.key) ?? 'null') : JSON.stringify(before ?? null));
    try {
      const step = declaration.fold(before, { topic: record.topic, value: record.value, offset: record.offset, generation }, ctx);
      const made = encode ? step.outputs.map(encode) : (step.outputs as unknown as O[]);
      states.set(record.key, step.state);
      outputs.push(...made);
      lateBeyondGrace += step.lateBeyondGrace ?? 0;
      seenNow.add(id);
      applied.push(record);
    } catch (error) {
      failed.push({ record, error });
      states.set(record.key, refold(declaration, ctx, record.key, pristine.get(record.key) as string, applied, generation));
    }
  }
  return { states, outputs, applied, duplicates, failed, lateBeyondGrace };
}

/** The key's state from its JSON at the start of the batch plus the batch's applied records for it. */
function refold<S, Ctx>(declaration: ProcessorDeclaration<S, Ctx>, ctx: Ctx, key: string, json: string, applied: readonly BatchRecord[], generation: string | undefined): S | undefined {
  let state = (JSON.parse(json) ?? undefined) as S | undefined;
  for (const record of applied) {
    if (record.key !== key) continue;
    state = declaration.fold(state, { topic: record.topic, value: record.value, offset: record.offset, generation }, ctx).state;
  }
  return state;
}
