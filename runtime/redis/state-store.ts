/**
 * The Redis state store of the processor runtime: per-key processor state (runtime/processor/types.ts)
 * kept per input partition together with a record of what was applied, written atomically.
 *
 * Contract, per partition batch (the runtime calls these; key layout in ./keys.ts):
 *  1. `watermarks(p)`: the last applied offset per input topic; the consumer resumes after them.
 *  2. `seenAmong(p, topic, ids)`: which event ids were already applied (SPEC §5 duplicates; ids are
 *     remembered `retentionMs`, default 7 days, never less than the 24 h grace).
 *  3. `load(p, keys)`: current states (fresh JSON copies; the fold may mutate them).
 *  (2+3. `readBatch(p, seen, keys)`: both, for several input topics, in one pipeline: one write,
 *     one round trip.)
 *  4. `applyBatch(p, batch)`: ONE Lua call (scripts/apply-batch-5.lua) that checks the stored
 *     watermarks still equal `expectedWatermarks` and the partition belongs to this store's epoch,
 *     then writes puts/deletes, records seen ids, advances watermarks and prunes old seen ids.
 *     'fenced' = another instance (or a rebuild, or a flush) moved the partition on since step 1:
 *     nothing was written; a stale instance (e.g. resumed after SIGSTOP) must drop the partition.
 *     One call even for big batches: splitting it would give up atomicity; a 5,000-key batch is
 *     measured in test/runtime/state-store.int.test.ts.
 * Lost state: `ensureEpoch()` stamps a time-ordered random id per processor when its state starts; every
 * applied partition carries it, and `checkIntegrity(p, committed)` compares Redis with the
 * group's committed offsets (./integrity.ts) so a flushed or replaced Redis is noticed, not served.
 * `wipe(partitions?)` deletes partitions (SCAN, never KEYS) for a rebuild; wiping everything also
 * drops the epoch so the next start stamps a new one.
 * Redis failures surface as TributaryError: TRB_REDIS_UNAVAILABLE (retriable) or TRB_STATE_INVALID.
 * Redis Cluster: every script touches one partition's hash slot; `wipe` scans the one node of the
 * given client (with a Cluster, run it per master).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ReplyError } from 'ioredis';
import { TributaryError } from '../errors';
import { chunks, encodeApplyArgs, type PartitionBatch } from './apply-args';
import { withRedis } from './failure';
import { judgeIntegrity, type IntegrityReport } from './integrity';
import { allPartitionsPattern, assertProcessorName, CATCHUP_FIELD, EPOCH_FIELD, epochKey, partitionKeys, partitionPattern, seenMember, topicsOf, viewKey } from './keys';

export type { PartitionBatch, SeenEvent, ViewWrite, Watermarks } from './apply-args';
export type { IntegrityReport, IntegrityStatus } from './integrity';

export const DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** SPEC §5: duplicates are remembered at least as long as the grace period (default 24 h). */
export const MIN_RETENTION_MS = 24 * 60 * 60 * 1000;
const DEFAULT_PRUNE_LIMIT = 10_000;
const READ_CHUNK = 1_000;
const SCAN_COUNT = 1_000;

const APPLY_BATCH = readFileSync(new URL('./scripts/apply-batch-5.lua', import.meta.url), 'utf8');
const APPLY_BATCH_SHA = createHash('sha1').update(APPLY_BATCH).digest('hex');

export type ApplyOutcome = 'applied' | 'fenced';

/** An applied batch names the outbox field its records were stored under (null: it had none). */
export type ApplyResult = { outcome: 'applied'; outboxSeq: string | null } | { outcome: 'fenced'; outboxSeq: null };

export interface StateStoreOptions {
  redis: Redis;
  processor: string;
  /** How long applied event ids are remembered for dedupe; at least MIN_RETENTION_MS. */
  retentionMs?: number;
  /** Most seen ids one applyBatch prunes (keeps the script short after a long pause). */
  pruneLimit?: number;
  /** Clock for pruning; tests move it instead of waiting. */
  now?: () => number;
}

export interface StateStore<S> {
  readonly processor: string;
  /** Reads the processor epoch, creating it if absent; applyBatch needs it. */
  ensureEpoch(): Promise<string>;
  /** The processor epoch in Redis, or null if none (never initialised, or lost). */
  readEpoch(): Promise<string | null>;
  load(partition: number, keys: readonly string[]): Promise<Map<string, S>>;
  /** load, plus the JSON each state was parsed from (a batch keeps it to re-fold a key from). */
  loadWithJson(partition: number, keys: readonly string[]): Promise<{ states: Map<string, S>; json: Map<string, string> }>;
  seenAmong(partition: number, topic: string, eventIds: readonly string[]): Promise<Set<string>>;
  /**
   * seenAmong for each topic and loadWithJson, in one pipeline. `seen` answers with
   * `seenMember(topic, eventId)` strings of the ids already applied.
   */
  readBatch(partition: number, eventIds: ReadonlyMap<string, readonly string[]>, keys: readonly string[]): Promise<{ seen: Set<string>; states: Map<string, S>; json: Map<string, string> }>;
  watermarks(partition: number): Promise<Record<string, string>>;
  applyBatch(partition: number, batch: PartitionBatch<S>): Promise<ApplyOutcome>;
  /** applyBatch, also naming the outbox field the batch's records went to (to delete it once produced). */
  apply(partition: number, batch: PartitionBatch<S>): Promise<ApplyResult>;
  /** Compares Redis with the group's committed offsets (input topic → offset) for one partition. */
  checkIntegrity(partition: number, committedOffsets: Readonly<Record<string, string | null | undefined>>): Promise<IntegrityReport>;
  /** Deletes the named partitions, or every partition and the epoch; returns the number of keys deleted. */
  wipe(partitions?: readonly number[]): Promise<number>;
  /** The partition's meta fields ('@epoch', '@catchup', ...) as stored. */
  meta(partition: number): Promise<Record<string, string>>;
  /** The partition's watermark hash as stored: input topics and meta fields. */
  stamp(partition: number): Promise<Record<string, string>>;
  /** Every state key of a partition (HSCAN, in pages), e.g. to refresh rows after a table changed. */
  stateKeys(partition: number): Promise<string[]>;
  /** Outbox entries of applied batches not yet produced, in apply order (runtime/processor/outbox.ts bytes). */
  outbox(partition: number): Promise<{ seq: string; records: Buffer }[]>;
  /** Removes produced outbox entries. */
  clearOutbox(partition: number, seqs: readonly string[]): Promise<void>;
  /** Whether an applied batch's outbox entry is still waiting to be produced (not produced and cleared by another instance, not wiped). */
  holdsOutbox(partition: number, seq: string): Promise<boolean>;
}

export function createStateStore<S = unknown>(options: StateStoreOptions): StateStore<S> {
  const { redis, processor } = options;
  assertProcessorName(processor);
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  if (!Number.isFinite(retentionMs) || retentionMs < MIN_RETENTION_MS) {
    throw new TributaryError('TRB_CONFIG', `retentionMs ${retentionMs} is below the ${MIN_RETENTION_MS} ms grace period; duplicates must be remembered at least that long`);
  }
  const pruneLimit = options.pruneLimit ?? DEFAULT_PRUNE_LIMIT;
  const now = options.now ?? Date.now;
  let epoch: string | null = null;

  async function evalApply(keys: string[], args: (string | Buffer)[]): Promise<string> {
    try {
      return (await redis.evalsha(APPLY_BATCH_SHA, keys.length, ...keys, ...args)) as string;
    } catch (error) {
      // After a restart or SCRIPT FLUSH the cache is empty: EVAL loads it again.
      if (!(error instanceof ReplyError) || !(error as Error).message.startsWith('NOSCRIPT')) throw error;
      return (await redis.eval(APPLY_BATCH, keys.length, ...keys, ...args)) as string;
    }
  }

  async function apply(partition: number, batch: PartitionBatch<S>): Promise<ApplyResult> {
    if (epoch === null) throw new TypeError(`state store ${processor}: call ensureEpoch() before applyBatch()`);
    const keys = partitionKeys(processor, partition);
    const { viewNames, args } = encodeApplyArgs(batch, { epoch, cutoff: now() - retentionMs, pruneLimit });
    const views = viewNames.map((name) => viewKey(processor, partition, name));
    const result = await withRedis(`apply a batch to ${processor} partition ${partition}`, () =>
      evalApply([keys.state, keys.watermark, keys.seen, keys.outbox, ...views], args),
    );
    if (result === 'applied') return { outcome: 'applied', outboxSeq: null };
    if (result.startsWith('applied:')) return { outcome: 'applied', outboxSeq: result.slice('applied:'.length) };
    if (result.startsWith('fenced')) return { outcome: 'fenced', outboxSeq: null };
    throw new TributaryError('TRB_STATE_INVALID', `apply-batch-5.lua answered ${JSON.stringify(result)}; the deployed script does not match this runtime`);
  }

  async function loadWithJson(partition: number, keys: readonly string[]): Promise<{ states: Map<string, S>; json: Map<string, string> }> {
    const { state } = partitionKeys(processor, partition);
    const unique = [...new Set(keys)];
    const slices = chunks(unique, READ_CHUNK);
    const values = await withRedis(`load ${processor} state of partition ${partition}`, () =>
      Promise.all(slices.map((slice) => redis.hmget(state, ...slice))),
    );
    return parseStates(state, slices, values);
  }

  /** The states HMGET answered for `slices` of keys (absent ones left out), with their JSON. */
  function parseStates(state: string, slices: readonly string[][], values: readonly (readonly (string | null)[] | undefined)[]): { states: Map<string, S>; json: Map<string, string> } {
    const states = new Map<string, S>();
    const json = new Map<string, string>();
    slices.forEach((slice, i) => {
      slice.forEach((key, j) => {
        const text = values[i]?.[j];
        if (text === null || text === undefined) return;
        try {
          states.set(key, JSON.parse(text) as S);
        } catch (error) {
          throw new TributaryError('TRB_STATE_INVALID', `state of "${key}" in ${state} is not JSON; rebuild the ${processor} state`, { cause: error });
        }
        json.set(key, text);
      });
    });
    return { states, json };
  }

  async function readBatch(partition: number, eventIds: ReadonlyMap<string, readonly string[]>, keys: readonly string[]): Promise<{ seen: Set<string>; states: Map<string, S>; json: Map<string, string> }> {
    const { seen: seenKey, state } = partitionKeys(processor, partition);
    const members: string[][] = [];
    for (const [topic, ids] of eventIds) for (const slice of chunks([...ids], READ_CHUNK)) members.push(slice.map((id) => seenMember(topic, id)));
    const slices = chunks([...new Set(keys)], READ_CHUNK);
    const answers = await withRedis(`read seen ids and states of ${processor} partition ${partition}`, async () => {
      const pipeline = redis.pipeline();
      for (const slice of members) pipeline.zmscore(seenKey, ...slice);
      for (const slice of slices) pipeline.hmget(state, ...slice);
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
      return results.map(([, value]) => value);
    });
    const seen = new Set<string>();
    members.forEach((slice, i) => {
      const scores = answers[i] as (string | null)[];
      slice.forEach((member, j) => {
        if (scores[j] != null) seen.add(member);
      });
    });
    return { seen, ...parseStates(state, slices, answers.slice(members.length) as (string | null)[][]) };
  }

  async function scanDelete(pattern: string): Promise<number> {
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      cursor = next;
      for (const slice of chunks(found, 500)) deleted += await redis.unlink(...slice);
    } while (cursor !== '0');
    return deleted;
  }

  return {
    processor,

    ensureEpoch: () =>
      withRedis(`initialise the ${processor} state epoch`, async () => {
        await redis.set(epochKey(processor), newEpoch(now()), 'NX');
        const current = await redis.get(epochKey(processor));
        if (current === null) throw new TributaryError('TRB_REDIS_UNAVAILABLE', `the ${processor} epoch vanished while it was created; retry`, { retriable: true });
        epoch = current;
        return current;
      }),

    readEpoch: () => withRedis(`read the ${processor} state epoch`, () => redis.get(epochKey(processor))),

    load: async (partition, keys) => (await loadWithJson(partition, keys)).states,

    loadWithJson,

    readBatch,

    async seenAmong(partition, topic, eventIds) {
      if (eventIds.length === 0) return new Set();
      const { seen } = partitionKeys(processor, partition);
      const slices = chunks([...eventIds], READ_CHUNK);
      const scores = await withRedis(`read seen event ids of ${processor} partition ${partition}`, () =>
        Promise.all(slices.map((slice) => redis.zmscore(seen, ...slice.map((id) => seenMember(topic, id))))),
      );
      const found = new Set<string>();
      slices.forEach((slice, i) => slice.forEach((id, j) => {
        if (scores[i]?.[j] != null) found.add(id);
      }));
      return found;
    },

    async watermarks(partition) {
      const { watermark } = partitionKeys(processor, partition);
      const stored = await withRedis(`read watermarks of ${processor} partition ${partition}`, () => redis.hgetall(watermark));
      return topicsOf(stored);
    },

    applyBatch: async (partition, batch) => (await apply(partition, batch)).outcome,

    apply,

    async checkIntegrity(partition, committedOffsets) {
      const { watermark } = partitionKeys(processor, partition);
      const [current, stored] = await withRedis(`check ${processor} state of partition ${partition}`, () =>
        Promise.all([redis.get(epochKey(processor)), redis.hgetall(watermark)]),
      );
      return judgeIntegrity({ processor, partition, epoch: current, stored, committed: committedOffsets });
    },

    async meta(partition) {
      const { watermark } = partitionKeys(processor, partition);
      const stored = await withRedis(`read meta of ${processor} partition ${partition}`, () => redis.hgetall(watermark));
      const meta: Record<string, string> = {};
      for (const [field, value] of Object.entries(stored)) if (field.startsWith('@')) meta[field] = value;
      return meta;
    },

    async stamp(partition) {
      const { watermark } = partitionKeys(processor, partition);
      return withRedis(`read the watermarks of ${processor} partition ${partition}`, () => redis.hgetall(watermark));
    },

    async stateKeys(partition) {
      const { state } = partitionKeys(processor, partition);
      return withRedis(`list ${processor} state keys of partition ${partition}`, async () => {
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, page] = await redis.hscan(state, cursor, 'COUNT', SCAN_COUNT);
          cursor = next;
          for (let i = 0; i < page.length; i += 2) keys.push(page[i] as string);
        } while (cursor !== '0');
        return [...new Set(keys)];
      });
    },

    async outbox(partition) {
      const { outbox } = partitionKeys(processor, partition);
      const entries = await withRedis(`read the ${processor} outbox of partition ${partition}`, () => redis.hgetallBuffer(outbox));
      return Object.entries(entries)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([seq, records]) => ({ seq, records }));
    },

    async clearOutbox(partition, seqs) {
      if (seqs.length === 0) return;
      const { outbox } = partitionKeys(processor, partition);
      await withRedis(`clear the ${processor} outbox of partition ${partition}`, () => redis.hdel(outbox, ...seqs));
    },

    async holdsOutbox(partition, seq) {
      const { outbox } = partitionKeys(processor, partition);
      return (await withRedis(`read the ${processor} outbox of partition ${partition}`, () => redis.hexists(outbox, seq))) === 1;
    },

    async wipe(partitions) {
      return withRedis(`wipe ${processor} state`, async () => {
        if (partitions === undefined) {
          const deleted = await scanDelete(allPartitionsPattern(processor));
          epoch = null;
          return deleted + (await redis.unlink(epochKey(processor)));
        }
        let deleted = 0;
        for (const partition of partitions) deleted += await scanDelete(partitionPattern(processor, partition));
        return deleted;
      });
    },
  };
}

/**
 * A new epoch: time-ordered (zero-padded milliseconds, then random), so a later generation of a
 * processor's state compares greater as a string (atp prefers reservations of a newer orders
 * generation). Two stores racing to create one agree through SET NX.
 */
export function newEpoch(atMs: number): string {
  return `${String(Math.floor(atMs)).padStart(15, '0')}-${randomBytes(4).toString('hex')}`;
}

/**
 * Whether another processor's state is complete and serving: its epoch exists, and every
 * partition it stamped belongs to that epoch and is not catching up (`@catchup`). A downstream
 * processor waits for this before it serves what it derived from that processor's outputs
 * (atp from orders' reservations), so a rebuild upstream is never served half-done.
 */
export async function storeSettled(redis: Redis, processor: string): Promise<{ settled: boolean; detail: string; epoch: string | null }> {
  assertProcessorName(processor);
  return withRedis(`check the ${processor} state`, async () => {
    const epoch = await redis.get(epochKey(processor));
    if (epoch === null) return { settled: false, epoch, detail: `${processor} has no state yet (not started, or its state was lost)` };
    const watermarks: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${allPartitionsPattern(processor)}}:watermark`, 'COUNT', SCAN_COUNT);
      cursor = next;
      watermarks.push(...found);
    } while (cursor !== '0');
    if (watermarks.length === 0) return { settled: false, epoch, detail: `${processor} has stamped no partition yet` };
    const marks = await Promise.all(watermarks.map((key) => redis.hmget(key, EPOCH_FIELD, CATCHUP_FIELD)));
    const busy = marks.filter(([partitionEpoch, catchup]) => partitionEpoch !== epoch || catchup !== null).length;
    return busy === 0
      ? { settled: true, epoch, detail: `${processor}: ${watermarks.length} partitions serving` }
      : { settled: false, epoch, detail: `${processor}: ${busy} of ${watermarks.length} partitions catching up` };
  });
}
