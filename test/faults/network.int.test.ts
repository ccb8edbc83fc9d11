/**
 * Reliability scenario 4 (issue 8): the network between the parts stalls and blackholes, through
 * a TCP proxy the test controls (./tcp-proxy.ts), then heals.
 *
 *  (a) processors ↔ broker. A broker of this file's own (./kafka-broker.ts) whose PROXIED
 *      listener is advertised at the proxy's port, so `tributary run orders atp api`, bootstrapped
 *      through the proxy, reaches the broker only through it, for every connection it opens; the
 *      test's publisher, checker and embedded registry use the DIRECT listener and are not cut
 *      off. While events stream in, the proxy
 *        - stalls past the session timeout (KAFKA_SESSION_TIMEOUT_MS=6000): held bytes, no loss;
 *          the broker sees the member's session expire and empties the group; on healing the held
 *          requests arrive late and the instance finds itself evicted and joins again;
 *        - blackholes for some seconds: bytes dropped, sockets left open; on healing the
 *          connections that lost bytes are reset, as a TCP stack that gave up would.
 *  (b) erp sink ↔ its stand-in receiver, on the shared stack: ERP_URL points at the proxy. The
 *      proxy blackholes while commands flow — past the sink's 10 s request timeout — with
 *      requests the receiver holds for a moment (a slow answer), so some commands take effect and
 *      their answers are dropped — then heals. The sink must send those again (the receiver
 *      answers "duplicate") and lose, double, reorder or dead-letter nothing.
 *
 * Neither instance is restarted. Judged by the checker (./checker.ts): the view and the API equal
 * the reference fold, the ledger exact, every erp command in effect exactly once, in order per key.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import { startRegistry, type RunningRegistry } from '../../runtime/registry/server';
import { startReceiver, type Receiver } from '../../sinks/receivers/receiver';
import { testStack, type TestStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { killAllChildren, startTributary } from '../e2e/child-process';
import { deploy, publish, totalLag, waitCaughtUp, workload, type Deployment } from '../e2e/pipeline-harness';
import { check, expectExact } from './checker';
import { dropState, faultsRedisUrl, waitSinksDrained } from './harness';
import { deployOn, startOwnKafka, type OwnKafka } from './kafka-broker';
import { PROFILE, seed, sized } from './profile';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

const shared = testStack();
const SEED = seed();
const redisUrl = faultsRedisUrl(shared);
const PROCESSORS = ['orders', 'atp'] as const;
const SESSION_TIMEOUT_MS = 6_000;
/** Longer than the session timeout, so the broker evicts the member meanwhile. */
const STALL_MS = sized(10_000, 20_000);
const KAFKA_BLACKHOLE_MS = sized(5_000, 15_000);
/** Longer than the erp sink's request timeout (topology.yaml timeoutMs 10 s): requests time out. */
const SINK_BLACKHOLE_MS = sized(12_000, 30_000);

let kafka: OwnKafka | undefined;
let registry: RunningRegistry | undefined;
const proxies: TcpProxy[] = [];
const receivers: Receiver[] = [];
const deployments: Deployment[] = [];

afterEach(async () => {
  await killAllChildren();
  await Promise.all([...proxies.splice(0).map((p) => p.close()), ...receivers.splice(0).map((r) => r.close())]);
  await registry?.close();
  registry = undefined;
  await kafka?.remove();
  kafka = undefined;
});

afterAll(async () => {
  for (const deployment of deployments) await dropState(redisUrl, deployment);
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function thirds<T>(items: readonly T[]): [T[], T[], T[]] {
  const third = Math.ceil(items.length / 3);
  return [items.slice(0, third), items.slice(third, 2 * third), items.slice(2 * third)];
}

describe(`scenario 4 (${PROFILE}): network stall and blackhole through a proxy`, () => {
  it('(a) processors ↔ broker: a stall past the session timeout, then a blackhole; the view and the ledger exact', async () => {
    console.info(`network.int.test.ts: seed ${SEED} (TRIBUTARY_TEST_SEED=${SEED} reproduces it), profile ${PROFILE}`);
    const t0 = Date.now();
    const phases: string[] = [];
    const phase = (name: string) => phases.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const proxy = await startTcpProxy();
    proxies.push(proxy);
    kafka = await startOwnKafka({ advertiseThrough: proxy.port });
    proxy.forwardTo(kafka.proxiedPort as number);
    registry = await startRegistry({ brokers: kafka.brokers, host: '127.0.0.1', port: 0 });
    const direct: TestStack = { brokers: kafka.brokers, registryUrl: registry.url, redisUrl: shared.redisUrl, mode: shared.mode };
    const throughProxy: TestStack = { ...direct, brokers: [proxy.address] };
    phase('broker and registry up');

    const deployment = await deployOn(direct, 'f-net-kafka');
    deployments.push(deployment);
    const names = deployment.naming;
    const load = workload({ seed: SEED, events: sized(2_000, 12_000), duplicateRate: 0.02, repeatRate: 0.03 });
    const [backlog, during, after] = thirds(load.rest);
    await publish(direct, names, load.items);
    await publish(direct, names, backlog);

    const child = startTributary({
      stack: throughProxy,
      prefix: names.prefix,
      names: [...PROCESSORS, 'api'],
      label: 'run (through the proxy)',
      env: { REDIS_URL: redisUrl, PORT: '0', KAFKA_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS) },
    });
    await child.started(PROCESSORS);
    const apiUrl = await child.url();
    phase('run started');
    const admin = createKafka(direct.brokers, 'faults-network').admin();
    await admin.connect();
    try {
      const before = await totalLag(admin, deployment);
      await waitFor(async () => (await totalLag(admin, deployment)) <= before - Math.min(200, Math.ceil(before / 10)), { what: 'the processors to make progress', timeoutMs: 60_000, intervalMs: 100 });
      const publishing = publish(direct, names, during);
      phase('into its work');

      // Stall: held, not lost. The broker hears nothing from the member and evicts it.
      const ordersGroup = names.group(deployment.topology.processors.find((p) => p.name === 'orders')!.group);
      const stalledAt = Date.now();
      proxy.set('stall');
      await waitFor(async () => (await admin.describeGroups([ordersGroup])).groups[0]?.members.length === 0, {
        what: "the broker to evict the stalled member (its session expired)",
        timeoutMs: STALL_MS + 30_000,
        intervalMs: 250,
      });
      const evictedAfterMs = Date.now() - stalledAt;
      // The rest of the fault's duration (not a wait for readiness).
      await delay(Math.max(0, STALL_MS - evictedAfterMs));
      const linesBeforeHeal = child.lines.length;
      proxy.set('pass');
      const stalledForMs = Date.now() - stalledAt;
      const held = proxy.stats().held;
      await child.waitForLine((l) => l.msg === 'partitions assigned' && l.processor === 'orders', { what: 'orders back in its group after the stall', timeoutMs: 60_000, from: linesBeforeHeal });
      await publishing;
      phase('stalled, healed, rejoined');

      // Blackhole: dropped, sockets open; the holed connections are reset on healing.
      const publishingAfter = publish(direct, names, after);
      const lagAtBlackhole = await totalLag(admin, deployment);
      proxy.set('blackhole');
      await delay(KAFKA_BLACKHOLE_MS);
      proxy.set('pass');
      await publishingAfter;
      phase('blackholed and healed');

      await waitCaughtUp(direct, deployment, sized(120_000, 300_000)).catch((error: Error) => {
        throw new Error(`${error.message}\n${child.label}:\n${child.tail(40)}`);
      });
      await waitFor(async () => (await fetch(`${apiUrl}/readyz`)).status === 200, { what: '/readyz 200 after healing', timeoutMs: 60_000 });
      phase('caught up');
      const stats = proxy.stats();
      console.info(
        `network.int.test.ts (a): stalled ${stalledForMs} ms (member evicted after ${evictedAfterMs} ms, ${held} bytes held and delivered late), ` +
          `blackholed ${KAFKA_BLACKHOLE_MS} ms with ${lagAtBlackhole} records to process (${stats.dropped} bytes dropped, ${stats.reset} connections reset on healing); ` +
          `${stats.connections} connections through the proxy; consumer crashes logged ${child.lines.filter((l) => l.msg === 'consumer crashed').length}`,
      );
      expect(held, 'bytes the stall held').toBeGreaterThan(0);
      expect(stats.dropped, 'bytes the blackhole dropped').toBeGreaterThan(0);
      expect(child.exit(), 'the run child is still running').toBeUndefined();
      expect(child.lines.filter((l) => l.msg.startsWith('partition stopped')).map((l) => l.msg)).toEqual([]);
    } finally {
      await admin.disconnect();
    }

    const report = await check({ stack: direct, deployment, label: `[scenario 4a ${PROFILE}]`, records: load.records, redisUrl, apiUrl });
    phase('checked');
    console.info(`network.int.test.ts (a) phases: ${phases.join(', ')}`);
    expectExact(report);
    expect(report.counts.deadLettered, 'records dead-lettered (a cut-off broker must pause, never dead-letter)').toBe(0);
  }, sized(180_000, 600_000));

  it('(b) erp sink ↔ receiver: a blackhole, then healed; every command in effect exactly once, in order, none dead-lettered', async () => {
    const erp = await startReceiver({ name: 'erp' });
    receivers.push(erp);
    const proxy = await startTcpProxy({ target: Number(new URL(erp.url).port) });
    proxies.push(proxy);
    const deployment = await deploy(shared, 'f-net-sink');
    deployments.push(deployment);
    const names = deployment.naming;
    const load = workload({ seed: SEED + 1, events: sized(1_500, 8_000), duplicateRate: 0.02, repeatRate: 0.03 });
    await publish(shared, names, load.records);

    const child = startTributary({
      stack: shared,
      prefix: names.prefix,
      names: [...PROCESSORS, 'erp'],
      label: 'run (erp through the proxy)',
      // A rate that keeps commands flowing over the fault (about 1,000 erp commands quick).
      env: { REDIS_URL: redisUrl, ERP_URL: `http://${proxy.address}`, ERP_RATE_LIMIT: String(sized(100, 200)) },
    });
    await child.started(PROCESSORS);
    await waitFor(() => erp.applied().length >= 50, { what: 'the erp sink to deliver', timeoutMs: 60_000 });

    // Requests held at the receiver when the route drops: they take effect, their answers are lost.
    erp.setFailure({ slowRate: 1, slowMs: 1_500 });
    await waitFor(async () => ((await (await fetch(`${erp.url}/_receiver`)).json()) as { slowPending: number }).slowPending > 0, { what: 'requests waiting at the receiver', timeoutMs: 30_000, intervalMs: 20 });
    const appliedBefore = erp.applied().length;
    proxy.set('blackhole');
    erp.setFailure({});
    await delay(SINK_BLACKHOLE_MS);
    proxy.set('pass');
    const stats = proxy.stats();

    await waitCaughtUp(shared, deployment, sized(120_000, 300_000));
    await waitSinksDrained(shared, deployment, ['erp'], sized(120_000, 300_000)).catch((error: Error) => {
      throw new Error(`${error.message}\n${child.label}:\n${child.tail(40)}`);
    });
    const answeredDuplicate = erp.attempts().filter((a) => a.status === 200).length;
    console.info(
      `network.int.test.ts (b): blackholed ${SINK_BLACKHOLE_MS} ms after ${appliedBefore} commands took effect (${stats.dropped} bytes dropped, ${stats.reset} connections reset on healing); ` +
        `${answeredDuplicate} commands sent again after their answer was lost, answered as duplicates`,
    );
    expect(stats.dropped, 'bytes the blackhole dropped').toBeGreaterThan(0);
    expect(answeredDuplicate, 'commands that took effect while their answers were dropped, sent again').toBeGreaterThan(0);
    expect(child.exit(), 'the run child is still running').toBeUndefined();

    const report = await check({ stack: shared, deployment, label: `[scenario 4b ${PROFILE}]`, records: load.records, redisUrl, receivers: { erp } });
    expectExact(report);
    expect(report.counts.deadLettered, 'commands dead-lettered (a receiver cut off must be retried, never dead-lettered)').toBe(0);
  }, sized(180_000, 600_000));
});
