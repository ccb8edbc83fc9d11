/**
 * Reliability scenario 1 (issue 8): SIGKILL of processors again and again while events stream in,
 * some of the kills exactly between the Redis write and the offset commit, and of a sink exactly
 * after the receiver said yes and before the offset was committed. Then heal, drain and check
 * (./checker.ts): the view equals the reference fold, every input offset is applied, skipped as a
 * duplicate or dead-lettered, and every command took effect once, in order per key.
 *
 *  - `tributary run orders atp` as a child, killed round after round (4 quick, 12 full). Half the
 *    rounds kill it from outside at a random moment (0–1.5 s) once it has worked off part of its
 *    backlog; the others start it with TRIBUTARY_FAULT=after-apply:N (N up to 12 quick, 40 full;
 *    runtime/fault.ts), so it SIGKILLs itself right after its N-th batch was written to Redis —
 *    state, seen ids, watermarks, outbox — and before the outbox is produced and the offsets are
 *    committed. The next instance must produce that
 *    outbox, skip those records and apply nothing twice.
 *  - `tributary run erp crm` as a child against stand-in receivers, started with
 *    TRIBUTARY_FAULT=after-delivery:K (1 kill quick, 3 full): it dies right after a receiver took a
 *    command, before its offset is finished; the next instance delivers it again, the receiver
 *    answers "duplicate", and nothing takes effect twice.
 *
 * Dead members are evicted at once (test/e2e/child-process.ts evictGroupMembers; the crash test
 * covers waiting out the session timeout). The seed is printed; TRIBUTARY_TEST_SEED=<seed> replays
 * the workload and the moments.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../../sinks/receivers/receiver';
import { createKafka } from '../../runtime/kafka/client';
import type { InputRecord } from '../reference/types';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { evictGroupMembers, killAllChildren, runtimeWarnings, startTributary, type Exit, type RunningChild } from '../e2e/child-process';
import { deploy, prng, publish, totalLag, waitCaughtUp, workload, type Deployment } from '../e2e/pipeline-harness';
import { check, expectExact } from './checker';
import { dropState, faultsRedisUrl, waitSinksDrained } from './harness';
import { PROFILE, seed, sized } from './profile';

const stack = testStack();
const SEED = seed();
const redisUrl = faultsRedisUrl(stack);
const PROCESSORS = ['orders', 'atp'] as const;
const SINKS = ['erp', 'crm'] as const;
const ROUNDS = sized(4, 12);
const SINK_KILLS = sized(1, 3);
const EVENTS = sized(2_000, 12_000);
const FAULT_LINE = 'tributary: fault point reached';

const receivers: Partial<Record<(typeof SINKS)[number], Receiver>> = {};
let deployment: Deployment | undefined;

afterEach(killAllChildren);

afterAll(async () => {
  await killAllChildren();
  await Promise.all(Object.values(receivers).map((r) => r.close()));
  if (deployment) await dropState(redisUrl, deployment);
});

interface Kill {
  round: number;
  how: string;
  exit: Exit;
  /** Records the processor groups had not committed when the instance died. */
  lag: number;
}

describe(`scenario 1 (${PROFILE}): SIGKILL of processors and a sink, at random moments and between the state write and the commit`, () => {
  it('ends equal to the fold; every input offset applied, skipped or dead-lettered; every command in effect once, in order', async () => {
    console.info(`sigkill.int.test.ts: seed ${SEED} (TRIBUTARY_TEST_SEED=${SEED} reproduces it), profile ${PROFILE}`);
    const random = prng(SEED);
    const load = workload({ seed: SEED, events: EVENTS, duplicateRate: 0.02, repeatRate: 0.03 });
    const deployed = await deploy(stack, 'f-kill');
    deployment = deployed;
    const names = deployed.naming;
    receivers.erp = await startReceiver({ name: 'erp' });
    receivers.crm = await startReceiver({ name: 'crm' });
    await publish(stack, names, load.items);
    const admin = createKafka(stack.brokers, 'faults-kill').admin();
    await admin.connect();

    const sinkEnv = (fault?: string): Record<string, string> => ({
      REDIS_URL: redisUrl,
      ERP_URL: (receivers.erp as Receiver).url,
      CRM_URL: (receivers.crm as Receiver).url,
      ERP_RATE_LIMIT: '500',
      CRM_RATE_LIMIT: '500',
      ...(fault ? { TRIBUTARY_FAULT: fault } : {}),
    });
    // The sink is restarted by itself whenever it dies; its planned deaths are counted.
    const sinkDeaths: { fault: string; exit: Exit; planned: boolean }[] = [];
    let sinkStopping = false;
    const startSink = (n: number): RunningChild => {
      const fault = n < SINK_KILLS ? `after-delivery:${5 + Math.floor(random() * 40)}` : undefined;
      const child = startTributary({ stack, prefix: names.prefix, names: SINKS, label: `sink#${n}`, env: sinkEnv(fault) });
      void child.exited.then(async (exit) => {
        if (sinkStopping) return;
        sinkDeaths.push({ fault: fault ?? 'none', exit, planned: child.lines.some((l) => l.msg.startsWith(FAULT_LINE)) });
        // Its session would hold the partitions for kafkajs' 30 s default: it is dead, say so now.
        await evictGroupMembers(stack, deployment!.topology.sinks.map((s) => names.group(s.group)));
        sink = startSink(n + 1);
      });
      return child;
    };
    let sink = startSink(0);

    const chunks = split(load.rest, ROUNDS);
    const kills: Kill[] = [];
    const children: RunningChild[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const precise = round % 2 === 0;
      const fault = precise ? `after-apply:${1 + Math.floor(random() * sized(12, 40))}` : undefined;
      const child = startTributary({ stack, prefix: names.prefix, names: PROCESSORS, label: `run#${round}`, env: { REDIS_URL: redisUrl, ...(fault ? { TRIBUTARY_FAULT: fault } : {}) } });
      children.push(child);
      const publishing = publish(stack, names, chunks[round] as InputRecord[]);
      let exit: Exit;
      if (precise) {
        await child.waitForLine((l) => l.msg.startsWith(FAULT_LINE), { what: `its fault point ${fault}`, timeoutMs: 90_000 });
        exit = await child.exited;
      } else {
        await child.started(PROCESSORS);
        // Into its work: once it has worked off some of the backlog (not right at start-up)…
        const before = await totalLag(admin, deployed);
        await waitFor(async () => (await totalLag(admin, deployed)) <= before - Math.min(200, Math.ceil(before / 10)), {
          what: `${child.label} to make progress`,
          timeoutMs: 60_000,
          intervalMs: 100,
        });
        // …then a random moment (fault timing, not readiness: the moment is the point of this round).
        await delay(Math.floor(random() * 1_500));
        child.signal('SIGKILL');
        exit = await child.exited;
      }
      await publishing;
      expect(exit, `${child.label} should die of SIGKILL`).toEqual({ code: null, signal: 'SIGKILL' });
      kills.push({ round, how: fault ?? 'from outside', exit, lag: await totalLag(admin, deployment) });
      await evictGroupMembers(stack, deployment.groups);
    }

    const last = startTributary({ stack, prefix: names.prefix, names: PROCESSORS, label: 'run#last', env: { REDIS_URL: redisUrl } });
    children.push(last);
    await last.started(PROCESSORS);
    await waitCaughtUp(stack, deployment, 180_000);
    await waitSinksDrained(stack, deployment, SINKS, 180_000);
    sinkStopping = true;
    await admin.disconnect();
    console.info(`sigkill.int.test.ts seed ${SEED}: processor kills\n${kills.map((k) => JSON.stringify(k)).join('\n')}\nsink deaths\n${sinkDeaths.map((d) => JSON.stringify(d)).join('\n')}`);

    expect(kills).toHaveLength(ROUNDS);
    expect(kills.filter((k) => k.lag > 0).length, 'kills that left records to process').toBeGreaterThanOrEqual(Math.ceil(ROUNDS / 2));
    expect(sinkDeaths.filter((d) => d.planned && d.exit.signal === 'SIGKILL'), 'sink deaths at after-delivery').toHaveLength(SINK_KILLS);
    // Each sink death left a delivered command unfinished: its next instance sent it again.
    const duplicatesAnswered = Object.values(receivers).reduce((n, r) => n + r.attempts().filter((a) => a.status === 200).length, 0);
    expect(duplicatesAnswered, 'commands delivered again after a sink death (answered as duplicates)').toBeGreaterThanOrEqual(SINK_KILLS);
    expect([...children, sink].map((c) => [c.label, runtimeWarnings(c)])).toEqual([...children, sink].map((c) => [c.label, []]));

    const report = await check({ stack, deployment, label: `[scenario 1 ${PROFILE}]`, records: load.records, redisUrl, receivers: receivers as Record<string, Receiver> });
    expectExact(report);
  }, sized(300_000, 1_200_000));
});

function split<T>(items: readonly T[], parts: number): T[][] {
  const size = Math.ceil(items.length / parts);
  return Array.from({ length: parts }, (_, i) => items.slice(i * size, (i + 1) * size));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
