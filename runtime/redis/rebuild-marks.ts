/**
 * What `tributary rebuild` writes to a processor's Redis state so that its instances — running
 * elsewhere, or started by the command — rebuild it, and what the command reads to follow them.
 *
 *  - `requestRebuild(redis, store, p)`: deletes every key of the partition (state, seen ids, view,
 *    outbox) and, when the store has an epoch, leaves the watermark hash stamped with it and
 *    `@catchup` = `{}` in the same MULTI. From then on the API answers 503 for the partition (it
 *    is catching up), a batch in flight is fenced (its watermarks are gone), and the owner's
 *    two-second check or its next batch finds a partition whose group committed offsets that
 *    Redis does not hold: it is rebuilt from the earliest offset (runtime/processor/runner.ts).
 *  - `requestCatchUp(redis, store, p)`: on a downstream processor (atp reads orders' outputs),
 *    sets `@catchup` = `{}` on a stamped partition, so it stops serving until it has read what the
 *    rebuilt upstream re-emits and the upstream is settled again. A partition never stamped is left
 *    alone: it catches up when it first opens anyway.
 *  - `readStamps(redis, store, ps)`: the epoch and each partition's watermark hash, for progress.
 * Key layout in ./keys.ts. The SCAN is not atomic with the MULTI; a key written in between by an
 * instance still running the old state is fenced or wiped again when the owner rebuilds.
 */
import type { Redis } from 'ioredis';
import { withRedis } from './failure';
import { CATCHUP_FIELD, EPOCH_FIELD, epochKey, partitionKeys, partitionPattern } from './keys';

const SCAN_COUNT = 1_000;
/** `{}`: no target yet; the instance that rebuilds the partition sets the real end offsets. */
const NO_TARGET = '{}';

const MARK_CATCHUP = `
if redis.call('HEXISTS', KEYS[1], '${EPOCH_FIELD}') == 1 then
  return redis.call('HSETNX', KEYS[1], '${CATCHUP_FIELD}', ARGV[1])
end
return 0`;

async function partitionKeysFound(redis: Redis, store: string, partition: number): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', partitionPattern(store, partition), 'COUNT', SCAN_COUNT);
    cursor = next;
    for (const key of keys) found.add(key);
  } while (cursor !== '0');
  return [...found];
}

/** Wipes the partitions and marks them as catching up; returns the number of keys deleted. */
export async function requestRebuild(redis: Redis, store: string, partitions: readonly number[]): Promise<number> {
  return withRedis(`wipe ${store} partitions ${partitions.join(',')} for a rebuild`, async () => {
    const epoch = await redis.get(epochKey(store));
    let deleted = 0;
    for (const partition of partitions) {
      const keys = await partitionKeysFound(redis, store, partition);
      const tx = redis.multi();
      if (keys.length > 0) tx.unlink(...keys);
      if (epoch !== null) tx.hset(partitionKeys(store, partition).watermark, EPOCH_FIELD, epoch, CATCHUP_FIELD, NO_TARGET);
      await tx.exec();
      deleted += keys.length;
    }
    return deleted;
  });
}

/** Marks the stamped ones of the partitions as catching up; returns how many were marked. */
export async function requestCatchUp(redis: Redis, store: string, partitions: readonly number[]): Promise<number> {
  return withRedis(`mark ${store} partitions as catching up`, async () => {
    let marked = 0;
    for (const partition of partitions) {
      marked += Number(await redis.eval(MARK_CATCHUP, 1, partitionKeys(store, partition).watermark, NO_TARGET));
    }
    return marked;
  });
}

export interface Stamps {
  epoch: string | null;
  /** Partition → its watermark hash as stored (empty when absent). */
  partitions: Map<number, Record<string, string>>;
}

export async function readStamps(redis: Redis, store: string, partitions: readonly number[]): Promise<Stamps> {
  return withRedis(`read the ${store} watermarks`, async () => {
    const tx = redis.multi().get(epochKey(store));
    for (const partition of partitions) tx.hgetall(partitionKeys(store, partition).watermark);
    const replies = (await tx.exec()) ?? [];
    const [epochReply, ...hashes] = replies;
    const result: Stamps = { epoch: (epochReply?.[1] as string | null) ?? null, partitions: new Map() };
    partitions.forEach((partition, i) => result.partitions.set(partition, (hashes[i]?.[1] as Record<string, string>) ?? {}));
    return result;
  });
}
