/**
 * Reliability scenario 2 (issue 8): a processor instance paused past its session timeout while a
 * second instance takes its partitions over and works on, then resumed — a zombie. It must not
 * write: its batches in flight were folded from state that moved on, and the watermark
 * compare-and-set of the Lua apply (README "How a processor applies each record exactly once")
 * refuses them ('batch fenced', tributary_fenced_batches_total).
 *
 *  A  `tributary run orders atp` with KAFKA_SESSION_TIMEOUT_MS=6000 and
 *     TRIBUTARY_FAULT=before-apply:2:SIGSTOP (runtime/fault.ts): into a backlog, it stops itself
 *     with its second batch decoded and folded but not yet written to Redis — exactly what a
 *     zombie holds (stopped after an apply, it often held nothing once a partition's topics
 *     were applied together).
 *  B  the same command, started while A is stopped; it gets every partition once A's session
 *     expired, and works through the backlog and the events published meanwhile.
 *  A is resumed (SIGCONT) once B has caught up: its batches in flight meet watermarks B moved on
 *  and are fenced. Both then share the partitions for a last part of the events.
 *
 * Judged by the checker (./checker.ts): the view, the ledger and the API are exact. Measured and
 * printed, not asserted: whether the compacted topics (order.status, atp.changed) ended with a
 * stale last value per key — a zombie may produce an outbox it read before B cleared it, after
 * B produced newer records (README "Reliability", the compacted-topic caveat).
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { killAllChildren, startTributary, type RunningChild } from '../e2e/child-process';
import { deploy, publish, waitCaughtUp, workload, type Deployment } from '../e2e/pipeline-harness';
import { check, expectExact } from './checker';
import { dropState, faultsRedisUrl } from './harness';
import { PROFILE, seed, sized } from './profile';

const stack = testStack();
const SEED = seed();
const redisUrl = faultsRedisUrl(stack);
const PROCESSORS = ['orders', 'atp'] as const;
const SESSION_TIMEOUT_MS = 6_000;
const FAULT_LINE = 'tributary: fault point reached';
let deployment: Deployment | undefined;

afterEach(killAllChildren);

afterAll(async () => {
  await killAllChildren();
  if (deployment) await dropState(redisUrl, deployment);
});

/** The state letter of a process (/proc/<pid>/stat): 'T' when stopped. */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

function fencedLines(child: RunningChild, from = 0): number {
  return child.lines.slice(from).filter((l) => l.msg.startsWith('batch fenced')).length;
}

describe(`scenario 2 (${PROFILE}): a processor paused past its session timeout, then resumed`, () => {
  it('the stale instance writes nothing: its batches are fenced, and the view and the ledger are exact', async () => {
    console.info(`fencing.int.test.ts: seed ${SEED} (TRIBUTARY_TEST_SEED=${SEED} reproduces it), profile ${PROFILE}`);
    const load = workload({ seed: SEED, events: sized(3_000, 12_000), duplicateRate: 0.02, repeatRate: 0.03 });
    deployment = await deploy(stack, 'f-fence');
    const names = deployment.naming;
    const env = { REDIS_URL: redisUrl, KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) };
    const [backlog, meanwhile, together] = [load.rest.slice(0, Math.floor(load.rest.length * 0.6)), load.rest.slice(Math.floor(load.rest.length * 0.6), Math.floor(load.rest.length * 0.85)), load.rest.slice(Math.floor(load.rest.length * 0.85))];
    await publish(stack, names, load.items);
    await publish(stack, names, backlog);

    const stale = startTributary({ stack, prefix: names.prefix, names: PROCESSORS, label: 'A (to be stale)', env: { ...env, TRIBUTARY_FAULT: 'before-apply:2:SIGSTOP' } });
    await stale.waitForLine((l) => l.msg.startsWith(FAULT_LINE), { what: 'its SIGSTOP fault point', timeoutMs: 90_000 });
    await waitFor(() => processState(stale.pid) === 'T', { what: 'A to be stopped', timeoutMs: 5_000 });
    const stoppedAt = Date.now();

    const fresh = startTributary({ stack, prefix: names.prefix, names: PROCESSORS, label: 'B', env });
    await fresh.started(PROCESSORS);
    await publish(stack, names, meanwhile);
    await waitCaughtUp(stack, deployment, 180_000);
    const stoppedForMs = Date.now() - stoppedAt;
    expect(stoppedForMs, 'A stopped past its session timeout').toBeGreaterThan(SESSION_TIMEOUT_MS);
    expect(processState(stale.pid), 'A still stopped when B had caught up').toBe('T');
    const staleLinesBefore = stale.lines.length;

    stale.signal('SIGCONT');
    // Its batches in flight go on and meet the watermarks B moved.
    await stale.waitForLine((l) => l.msg.startsWith('batch fenced'), { what: "A's first fenced batch after SIGCONT", timeoutMs: 60_000, from: staleLinesBefore });
    // Then it rejoins: both share the partitions for the rest.
    await stale.waitForLine((l) => l.msg === 'partitions assigned' && l.processor === 'orders', { what: 'A back in the group', timeoutMs: 60_000, from: staleLinesBefore });
    await publish(stack, names, together);
    await waitCaughtUp(stack, deployment, 180_000);

    const fenced = { A: fencedLines(stale, staleLinesBefore), B: fencedLines(fresh) };
    stale.signal('SIGTERM');
    fresh.signal('SIGTERM');
    const exits = await Promise.all([stale.exited, fresh.exited]);
    expect(exits).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }]);

    const report = await check({ stack, deployment, label: `[scenario 2 ${PROFILE}]`, records: load.records, redisUrl, compacted: true });
    const stale2 = report.compacted as NonNullable<typeof report.compacted>;
    console.info(
      `fencing.int.test.ts seed ${SEED}: A stopped ${stoppedForMs} ms; fenced batches after SIGCONT: A ${fenced.A}, B ${fenced.B}; ` +
        `compacted topics with a stale last value: order.status ${stale2.statusStale.length} of ${report.want.orders.length} orders, atp.changed ${stale2.atpStale.length} of ${report.want.atp.length} rows` +
        (stale2.statusStale.length + stale2.atpStale.length > 0 ? ` (e.g. ${[...stale2.statusStale, ...stale2.atpStale].slice(0, 5).join(', ')})` : ''),
    );
    expect(fenced.A, 'batches A had in flight were fenced').toBeGreaterThan(0);
    expectExact(report);
  }, sized(240_000, 600_000));
});
