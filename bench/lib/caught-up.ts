/**
 * When have `orders` and `atp` caught up? Read from where the truth is (README "How a processor
 * applies each record exactly once"): each partition's Redis watermarks, not Kafka's committed
 * offsets, which are only a hint written after the produce.
 *
 *   applied  every input partition's watermark is at its end offset − 1 and the outbox is empty
 *            (the outputs, orders.movements among them, are in Kafka)
 *   served   applied, stamped with an epoch and no `@catchup` mark: the API answers from it
 *
 * Processors are checked in order (orders, then atp) and each one's end offsets are read after
 * the one before it was found applied, so atp is judged against every movement orders produced.
 */
import type { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { isTransient, untilAvailable } from '../../runtime/kafka/transient';
import { CATCHUP_FIELD, EPOCH_FIELD, partitionKeys } from '../../runtime/redis/keys';
import type { Deployment } from '../../test/e2e/pipeline-harness';

export interface Progress {
  applied: boolean;
  served: boolean;
  /** What is still missing, for timeouts. */
  detail: string;
}

export const PIPELINE = ['orders', 'atp'] as const;

export async function progressOf(redis: Redis, admin: Admin, deployment: Deployment, processors: readonly string[] = PIPELINE): Promise<Progress> {
  let served = true;
  for (const name of processors) {
    const spec = deployment.topology.processors.find((p) => p.name === name);
    if (!spec) throw new Error(`no processor ${name} in the topology`);
    const ends = await Promise.all(spec.inputs.map(async (topic) => ({ topic, partitions: await untilAvailable(() => admin.fetchTopicOffsets(deployment.naming.topic(topic))) })));
    const partitions = Math.max(...ends.map((e) => e.partitions.length));
    const store = deployment.naming.store(name);
    const batch = redis.pipeline();
    for (let p = 0; p < partitions; p++) {
      const keys = partitionKeys(store, p);
      batch.hgetall(keys.watermark);
      batch.hlen(keys.outbox);
    }
    const answers = ((await batch.exec()) ?? []).map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    for (let p = 0; p < partitions; p++) {
      const marks = answers[2 * p] as Record<string, string>;
      const outbox = answers[2 * p + 1] as number;
      for (const { topic, partitions: offsets } of ends) {
        const end = offsets.find((o) => o.partition === p);
        if (!end || BigInt(end.high) <= BigInt(end.low)) continue;
        const at = marks[topic];
        if (at === undefined || BigInt(at) < BigInt(end.high) - 1n) {
          return { applied: false, served: false, detail: `${name} partition ${p} has applied ${topic} up to ${at ?? 'nothing'} of ${BigInt(end.high) - 1n}` };
        }
      }
      if (outbox > 0) return { applied: false, served: false, detail: `${name} partition ${p} still has outputs to produce` };
      if (marks[EPOCH_FIELD] === undefined || marks[CATCHUP_FIELD] !== undefined) served = false;
    }
  }
  return { applied: true, served, detail: served ? 'served' : 'applied, some partition still marked catching up' };
}

export interface CaughtUp {
  /** When every input was applied (ms since epoch, the first poll that saw it). */
  appliedAt: number;
  /** When every partition was also served. */
  servedAt: number;
}

/** Two minutes without any change in what is missing: stuck, not slow (a full run would otherwise wait out its whole deadline). */
const STALL_MS = 120_000;

/** Polls until served; the times are those of the first polls that saw each state. */
export async function waitCaughtUp(
  redis: Redis,
  admin: Admin,
  deployment: Deployment,
  { timeoutMs, intervalMs = 100, processors = PIPELINE }: { timeoutMs: number; intervalMs?: number; processors?: readonly string[] },
): Promise<CaughtUp> {
  const deadline = Date.now() + timeoutMs;
  let appliedAt: number | undefined;
  let last = { detail: '', since: Date.now() };
  for (;;) {
    const asked = Date.now();
    const progress = await progressOf(redis, admin, deployment, processors).catch((error: unknown) => {
      // Leadership settling on fresh topics, a broker blip: ask again at the next poll.
      if (isTransient(error)) return { applied: false, served: false, detail: `Kafka: ${(error as Error).message}` };
      throw error;
    });
    if (progress.applied) appliedAt ??= asked;
    if (progress.served) return { appliedAt: appliedAt ?? asked, servedAt: asked };
    if (Date.now() > deadline) throw new Error(`not caught up within ${Math.round(timeoutMs / 1000)} s: ${progress.detail}`);
    if (progress.detail !== last.detail) last = { detail: progress.detail, since: Date.now() };
    else if (Date.now() - last.since > STALL_MS) throw new Error(`no progress for ${STALL_MS / 1000} s: ${progress.detail}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Partitions of a topic, waiting out the moments after its creation when no leader answers yet. */
export async function partitionCount(admin: Admin, topic: string): Promise<number> {
  return (await untilAvailable(() => admin.fetchTopicOffsets(topic))).length;
}
