/**
 * Scaling out and back in mid-stream (issue 4, SPEC §12 "scaling one processor from 1 to 2
 * instances and back"), with real `tributary run orders atp` processes: instance A runs; a third
 * of the events is published; instance B joins and must really take partitions of both
 * processors (A keeps the rest, none shared) and process records; the next third streams in and
 * B leaves — stopped with SIGTERM, or killed with SIGKILL so that A only gets its partitions back
 * once B's session expires; the last third goes to A alone. A ends owning every partition of
 * both processors, and the served view equals the independent reference fold.
 *
 * The moment B leaves comes from a seeded PRNG: the seed is printed, and TRIBUTARY_TEST_SEED=<seed>
 * replays the same workload and moment.
 */
import type { Admin } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import type { InputRecord } from '../reference/types';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { counterSum, killAllChildren, lastAssignment, runtimeWarnings, startTributary, type RunningChild } from './child-process';
import { deploy, expected, prng, publish, servedFromRedis, waitCaughtUp, workload, type Deployment } from './pipeline-harness';

const stack = testStack();
const SEED = Number(process.env.TRIBUTARY_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PROCESSORS = ['orders', 'atp'] as const;
let admin: Admin;

beforeAll(async () => {
  console.info(`rebalance.int.test.ts: seed ${SEED} (TRIBUTARY_TEST_SEED=${SEED} reproduces it)`);
  admin = createKafka(stack.brokers, 'e2e-rebalance').admin();
  await admin.connect();
});

afterEach(killAllChildren);

afterAll(async () => {
  await killAllChildren();
  await admin?.disconnect();
});

describe('a second instance of orders and atp joins mid-stream and leaves again', () => {
  it('leaving with SIGTERM: ends equal to the fold, A owning every partition again', () => scaleOutAndIn('SIGTERM', SEED), 120_000);

  it('killed with SIGKILL: ends equal to the fold once A has taken B\'s partitions back', () => scaleOutAndIn('SIGKILL', SEED + 1), 150_000);
});

async function scaleOutAndIn(leave: 'SIGTERM' | 'SIGKILL', seed: number): Promise<void> {
  const random = prng(seed);
  const load = workload({ seed, events: 4_000, duplicateRate: 0.02, repeatRate: 0.03 });
  const deployment = await deploy(stack, 'rebalance');
  await publish(stack, deployment.naming, load.items);
  const { topics } = await admin.fetchTopicMetadata({ topics: [deployment.naming.topic('order.created')] });
  const partitions = [...Array(topics[0]!.partitions.length).keys()];
  const [first, second, third] = split(load.rest, 3) as [InputRecord[], InputRecord[], InputRecord[]];

  const a = start(deployment, 'A');
  await a.started(PROCESSORS);
  await publish(stack, deployment.naming, first);

  const b = start(deployment, 'B');
  for (const processor of PROCESSORS) {
    const line = await b.waitForLine((l) => l.msg === 'partitions assigned' && l.processor === processor && (l.partitions?.length ?? 0) > 0, {
      what: `B's first non-empty assignment of ${processor}`,
    });
    expect(line.partitions!.length, `B took part of ${processor}, not all of it`).toBeLessThan(partitions.length);
  }
  // Same generation on both sides: A holds exactly the partitions B does not.
  for (const processor of PROCESSORS) {
    await waitFor(
      () => {
        const mine = lastAssignment(a, processor) ?? [];
        const theirs = lastAssignment(b, processor) ?? [];
        return theirs.length > 0 && mine.every((p) => !theirs.includes(p)) && sorted([...mine, ...theirs]).join() === partitions.join();
      },
      { timeoutMs: 60_000, what: `A and B to split the partitions of ${processor} between them` },
    );
  }
  const bUrl = await b.url();
  const publishing = publish(stack, deployment.naming, second);
  // B must have folded and applied records of its own, or it joined for nothing.
  for (const processor of PROCESSORS) {
    await waitFor(async () => (await counterSum(bUrl, 'tributary_records_in_total', { processor })) > 0, {
      timeoutMs: 60_000,
      what: `B to process records of ${processor}`,
    });
  }
  // Fault timing, not readiness: B leaves at a random moment while the second third streams in.
  await delay(Math.floor(random() * 1_000));
  const bAssigned = Object.fromEntries(PROCESSORS.map((p) => [p, lastAssignment(b, p)]));
  const aLinesBeforeLeave = a.lines.length;
  const signalled = Date.now();
  b.signal(leave);
  const exit = await b.exited;
  const stoppedInMs = Date.now() - signalled;
  console.info(`rebalance.int.test.ts seed ${seed}: B held ${JSON.stringify(bAssigned)}; ${leave} → ${JSON.stringify(exit)} after ${stoppedInMs} ms`);
  if (leave === 'SIGTERM') {
    expect({ exit, tail: exit.code === 0 ? '' : b.tail() }).toEqual({ exit: { code: 0, signal: null }, tail: '' });
    expect(stoppedInMs).toBeLessThanOrEqual(10_000);
  } else {
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
  }
  await publishing;
  await publish(stack, deployment.naming, third);

  // Killed: B's partitions wait for its session to expire (kafkajs' 30 s) before A takes them.
  await waitCaughtUp(stack, deployment, 120_000);
  for (const processor of PROCESSORS) {
    expect(lastAssignment(a, processor, aLinesBeforeLeave), `A's assignment of ${processor} after B left`).toEqual(partitions);
  }
  const want = expected(load.records);
  const served = await servedFromRedis(stack.redisUrl, deployment.naming, partitions.length);
  expect(served.atp).toEqual(want.atp);
  expect(served.orders).toEqual(want.orders);
  expect(a.exit(), 'A still running').toBeUndefined();
  expect([a, b].map((c) => [c.label, runtimeWarnings(c)])).toEqual([['A', []], ['B', []]]);
}

function start(deployment: Deployment, label: string): RunningChild {
  return startTributary({ stack, prefix: deployment.naming.prefix, names: PROCESSORS, label });
}

function split<T>(items: readonly T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  return Array.from({ length: parts }, (_, i) => items.slice(i * size, (i + 1) * size));
}

function sorted(values: number[]): number[] {
  return [...values].sort((x, y) => x - y);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
