/**
 * Crashes and stops of real `tributary run orders atp` processes while events stream in (issue 4,
 * SPEC §12), judged against the independent reference fold (test/reference/fold.ts):
 *
 *  - kill -9 at random moments, restart, seven times: each instance dies a random 100–1500 ms
 *    after both processors joined their groups — in five rounds right as a batch of the chunk
 *    streaming in lands, in two before its chunk, which then waits as the next start's backlog.
 *    One replacement waits out the dead member's session timeout, the others find it evicted.
 *    A last instance catches up: every ATP row (onHand, reserved, …) and order status equals
 *    the fold's — no reservation duplicated by a replay, none lost by a crash between produce,
 *    Redis and commit — and no instance ever judged its state lost or stopped a partition.
 *  - SIGTERM mid-stream: exit code 0 within 10 s, and the groups' committed offsets are exactly
 *    one past what Redis applied (the watermarks), so a restart neither skips nor re-reads; the
 *    restart ends equal to the fold.
 *
 * The moments come from a seeded PRNG: the seed is printed, and TRIBUTARY_TEST_SEED=<seed>
 * replays the same workload and the same moments (the scheduler's exact interleaving aside).
 */
import type { Admin } from 'kafkajs';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createPublisher, type PublishRecord } from '../../producers/sdk';
import { createKafka } from '../../runtime/kafka/client';
import type { InputRecord } from '../reference/types';
import { testStack } from '../harness/stack';
import { evictGroupMembers, killAllChildren, runtimeWarnings, startTributary, type RunningChild } from './child-process';
import { deploy, expected, prng, publish, servedFromRedis, totalLag, waitCaughtUp, workload, type Deployment, type ServedView } from './pipeline-harness';

const stack = testStack();
const SEED = Number(process.env.TRIBUTARY_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PROCESSORS = ['orders', 'atp'] as const;
const KILLS = 7;
const KILL_ON_WORK = 3;
const CHUNKS = 8;
/** Batches a chunk is streamed in. */
const STREAM_STEPS = 20;
let admin: Admin;

beforeAll(async () => {
  console.info(`crash.int.test.ts: seed ${SEED} (TRIBUTARY_TEST_SEED=${SEED} reproduces it)`);
  admin = createKafka(stack.brokers, 'e2e-crash').admin();
  await admin.connect();
});

afterEach(killAllChildren);

afterAll(async () => {
  await killAllChildren();
  await admin?.disconnect();
});

describe('kill -9 at random moments while events stream in, then restart', () => {
  it('ends equal to the fold; no reservation duplicated or lost', async () => {
    const random = prng(SEED);
    const load = workload({ seed: SEED, events: 5_000, duplicateRate: 0.02, repeatRate: 0.03 });
    const deployment = await deploy(stack, 'crash');
    await publish(stack, deployment.naming, load.items);
    const chunks = split(load.rest, CHUNKS);
    // One kill waits out the dead member's real session timeout (the path production takes);
    // after the others the dead member is evicted at once (child-process.ts evictGroupMembers).
    const waitsForSession = Math.floor(random() * KILLS);
    // Two kills come before their chunk, which then waits as the next start's backlog; in the
    // other rounds the chunk streams in across the kill.
    const backlogRounds = new Set<number>();
    while (backlogRounds.size < 2) backlogRounds.add(Math.floor(random() * KILLS));
    const publisher = streamingPublisher(deployment);
    onTestFinished(() => publisher.close());
    const kills: KillRecord[] = [];
    const children: RunningChild[] = [];

    let child = start(deployment, 0);
    children.push(child);
    for (let round = 0; round < CHUNKS; round++) {
      await child.started(PROCESSORS);
      // Fault timing, not readiness: the moments are the point of the test.
      const killAfterMs = 100 + Math.floor(random() * 1400);
      const across = !backlogRounds.has(round);
      const publishAfterMs = across ? Math.floor(random() * killAfterMs) : killAfterMs + 100;
      const published = publisher.add(chunks[round] as InputRecord[], publishAfterMs, across ? killAfterMs - publishAfterMs + 500 : 1_000);
      if (round >= KILLS) {
        await published;
        continue;
      }
      await delay(killAfterMs);
      // Streaming across the kill: it lands right as a batch of events arrives.
      if (across) await publisher.nextBatch();
      await publisher.hold();
      const midPublish = publisher.busy();
      child.signal('SIGKILL');
      const exit = await child.exited;
      // Nothing lands while held: this is exactly what the dead instance left uncommitted.
      const lag = await totalLag(admin, deployment);
      publisher.release();
      expect(exit, `${child.label} should die of the SIGKILL`).toEqual({ code: null, signal: 'SIGKILL' });
      const evicted = round === waitsForSession ? 0 : await evictGroupMembers(stack, deployment.groups);
      kills.push({ child: child.label, killAfterMs, across, lag, midPublish, evicted });
      child = start(deployment, round + 1);
      children.push(child);
    }
    await publisher.idle();
    await child.started(PROCESSORS);
    await waitCaughtUp(stack, deployment);
    console.info(`crash.int.test.ts seed ${SEED}: kills\n${kills.map((k) => JSON.stringify(k)).join('\n')}`);

    expect(kills.length).toBeGreaterThanOrEqual(6);
    // The kills must land on records still to process, or they test nothing (each kill's lag is
    // printed; a kill right as a batch lands leaves some, whatever the machine's speed).
    expect(kills.filter((k) => k.lag > 0).length, 'kills with records still to process').toBeGreaterThanOrEqual(KILL_ON_WORK);
    expect(children.map((c) => [c.label, runtimeWarnings(c)])).toEqual(children.map((c) => [c.label, []]));

    const want = expected(load.records);
    const served = await servedFromRedis(stack.redisUrl, deployment.naming, await partitionCount(deployment));
    expect(reservations(served.atp)).toEqual(reservations(want.atp));
    expect(served.atp).toEqual(want.atp);
    expect(served.orders).toEqual(want.orders);
  }, 240_000);
});

describe('SIGTERM while events stream in', () => {
  it('exits 0 within 10 s with the committed offsets exactly one past what Redis applied; a restart ends equal to the fold', async () => {
    const random = prng(SEED + 1);
    const load = workload({ seed: SEED + 1, events: 4_000, duplicateRate: 0.02, repeatRate: 0.03 });
    const deployment = await deploy(stack, 'sigterm');
    await publish(stack, deployment.naming, load.items);
    const [first, second] = split(load.rest, 2) as [InputRecord[], InputRecord[]];
    await publish(stack, deployment.naming, first);

    const child = start(deployment, 0);
    await child.started(PROCESSORS);
    const publishing = publish(stack, deployment.naming, second);
    // Fault timing: while the first half is being worked through and the second arrives.
    await delay(100 + Math.floor(random() * 900));
    const lag = await totalLag(admin, deployment);
    const signalled = Date.now();
    child.signal('SIGTERM');
    const exit = await child.exited;
    const stoppedInMs = Date.now() - signalled;
    console.info(`crash.int.test.ts seed ${SEED}: SIGTERM with ${lag} records to go; exited ${JSON.stringify(exit)} after ${stoppedInMs} ms`);
    expect(lag, 'records still to process when the signal came').toBeGreaterThan(0);
    expect({ exit, tail: exit.code === 0 ? '' : child.tail() }).toEqual({ exit: { code: 0, signal: null }, tail: '' });
    expect(stoppedInMs).toBeLessThanOrEqual(10_000);
    await publishing;

    const applied = await watermarks(deployment);
    const committed = await committedOffsets(deployment);
    expect(Object.keys(applied).length, 'partitions with something applied').toBeGreaterThan(0);
    const nextToRead = Object.fromEntries(Object.entries(applied).map(([at, offset]) => [at, (BigInt(offset) + 1n).toString()]));
    const committedThere = Object.fromEntries(Object.keys(applied).map((at) => [at, committed[at] ?? 'none']));
    expect(committedThere).toEqual(nextToRead);

    const restarted = start(deployment, 1);
    await restarted.started(PROCESSORS);
    await waitCaughtUp(stack, deployment);
    const want = expected(load.records);
    const served = await servedFromRedis(stack.redisUrl, deployment.naming, await partitionCount(deployment));
    expect(served.atp).toEqual(want.atp);
    expect(served.orders).toEqual(want.orders);
    expect([child, restarted].map((c) => [c.label, runtimeWarnings(c)])).toEqual([child, restarted].map((c) => [c.label, []]));
  }, 120_000);
});

interface KillRecord {
  child: string;
  killAfterMs: number;
  /** The chunk streamed in across the kill (else it came after, as the next start's backlog). */
  across: boolean;
  /** Records the groups had not committed when the instance died. */
  lag: number;
  midPublish: boolean;
  /** Dead members removed at once (0: the kill that waited for the session timeout). */
  evicted: number;
}

function start(deployment: Deployment, n: number): RunningChild {
  return startTributary({ stack, prefix: deployment.naming.prefix, names: PROCESSORS, label: `run#${n}` });
}

function split<T>(items: readonly T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  return Array.from({ length: parts }, (_, i) => items.slice(i * size, (i + 1) * size));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Streams chunks in small batches on one long-lived publisher, one chunk after another, each
 * starting after its own delay and spread over `spreadMs`, while the test goes on killing. The
 * test can wait for the next batch to land (to kill right as events arrive) and hold the stream
 * while it kills and measures (so the lag it reads is what the dead instance left, nothing newer).
 */
function streamingPublisher(deployment: Deployment) {
  const publisher = createPublisher({ brokers: stack.brokers, registryUrl: stack.registryUrl, topicPrefix: deployment.naming.prefix, clientId: 'e2e-crash-publisher' });
  let queue: Promise<void> = Promise.resolve();
  let pending = 0;
  let closed = false;
  let sending: Promise<unknown> = Promise.resolve();
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  let landed: (() => void)[] = [];
  const notify = () => {
    for (const resolve of landed) resolve();
    landed = [];
  };
  return {
    add(records: readonly InputRecord[], afterMs: number, spreadMs: number): Promise<void> {
      pending += 1;
      queue = queue.then(async () => {
        await delay(afterMs);
        const size = Math.ceil(records.length / STREAM_STEPS);
        for (let i = 0; i < records.length && !closed; i += size) {
          while (gate) await gate.promise;
          sending = publisher.publishMany(records.slice(i, i + size).map((r) => ({ topic: r.topic, value: r.value }) as PublishRecord));
          await sending;
          notify();
          await delay(spreadMs / STREAM_STEPS);
        }
        pending -= 1;
        if (pending === 0) notify();
      });
      return queue;
    },
    busy: () => pending > 0,
    /** Resolves when the next batch has landed, or at once when nothing is streaming. */
    nextBatch(): Promise<void> {
      return pending === 0 ? Promise.resolve() : new Promise((resolve) => landed.push(resolve));
    },
    /** No batch is sent until release(); resolves once the one in flight (if any) has landed. */
    async hold(): Promise<void> {
      let open = () => undefined as void;
      gate = { promise: new Promise<void>((resolve) => (open = resolve)), open };
      await sending.catch(() => undefined);
    },
    release(): void {
      gate?.open();
      gate = undefined;
    },
    idle: () => queue,
    /** Stops streaming (a failed test leaves chunks queued) and disconnects. */
    async close() {
      closed = true;
      this.release();
      await queue.catch(() => undefined);
      await publisher.close();
    },
  };
}

/** sku@warehouse → reserved: the reservations alone, so a duplicated or lost one is named first. */
function reservations(rows: ServedView['atp']): Record<string, number> {
  return Object.fromEntries(rows.map(([key, row]) => [key, row.reserved]));
}

/** `<processor>/<logical topic>/<partition>` → last offset applied, from the watermark hashes in Redis. */
async function watermarks(deployment: Deployment): Promise<Record<string, string>> {
  const redis = new Redis(stack.redisUrl);
  try {
    const found: Record<string, string> = {};
    const partitions = await partitionCount(deployment);
    for (const spec of deployment.topology.processors) {
      for (let p = 0; p < partitions; p++) {
        const hash = await redis.hgetall(`trb:{${deployment.naming.store(spec.name)}:${p}}:watermark`);
        for (const [field, offset] of Object.entries(hash)) if (!field.startsWith('@')) found[`${spec.name}/${field}/${p}`] = offset;
      }
    }
    return found;
  } finally {
    redis.disconnect();
  }
}

/** `<processor>/<logical topic>/<partition>` → the group's committed offset (next to read). */
async function committedOffsets(deployment: Deployment): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for (const spec of deployment.topology.processors) {
    const topics = spec.inputs.map((t) => deployment.naming.topic(t));
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId: deployment.naming.group(spec.group), topics })) {
      for (const { partition, offset } of partitions) if (BigInt(offset) >= 0n) found[`${spec.name}/${deployment.naming.logical(topic)}/${partition}`] = offset;
    }
  }
  return found;
}

/** Partitions of the processors' stores: every input topic has the topology's default count. */
async function partitionCount(deployment: Deployment): Promise<number> {
  return (await admin.fetchTopicOffsets(deployment.naming.topic('order.created'))).length;
}
