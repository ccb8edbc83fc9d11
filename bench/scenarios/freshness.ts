/**
 * Scenario 3, freshness: simulator traffic published at a fixed rate (a token bucket topped up
 * every 10 ms) into a fresh deployment that `tributary run orders atp` (its own process) keeps up
 * with; the latency from `meta.occurredAt` — set to the wall clock when the event is handed to the
 * publisher — to the moment the ATP view in Redis reflects it.
 *
 * What is timed: probes, a twentieth of the traffic at most, mixed into it and travelling the same
 * topics, partitions and processors as everything else, on rows nothing else touches, so their
 * effect can be recognised exactly:
 *   stock   `stock.adjusted` +1 on one of 12 rows spread over every partition (atp alone): the
 *           k-th probe of a row is reflected when the row's onHand reaches k (one partition, in
 *           Kafka order);
 *   order   `order.created` of one unit on a row of its own (orders → orders.movements → atp):
 *           reflected when the row's `reserved` reaches the probes sent to it; a row gets its next
 *           probe only once its last one was seen (two orders of one row may reach atp through
 *           different partitions in either order), so rows are added as needed.
 * An observer polls the outstanding probes' rows (one pipelined HGET each) every millisecond or
 * so — a probe waiting longer, every 2 % of its age; a probe's latency is the time its reflecting
 * answer came back − occurredAt (both read from one clock, in this process, to the microsecond),
 * so the polling adds about 1 ms, or 2 % for latencies above 50 ms. Probes sent during the warm-up are not counted. At the end
 * the view must equal the reference fold of everything published.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import kafkajs from 'kafkajs';
import { createPublisher } from '../../producers/sdk';
import { simulate, type SimEvent } from '../../producers/simulator';
import { createKafka } from '../../runtime/kafka/client';
import { viewKey } from '../../runtime/redis/keys';
import type { InputRecord } from '../../test/reference/types';
import { expected, undeploy } from '../../test/e2e/pipeline-harness';
import { waitFor } from '../../test/harness/wait';
import { childTrouble, deployReady, type BenchContext } from '../context';
import { partitionCount, waitCaughtUp } from '../lib/caught-up';
import { cpuBetween, processCpuSeconds } from '../lib/cpu';
import { checkAgainstFold, type FoldCheck } from '../lib/fold-check';
import { percentiles, type Percentiles } from '../lib/percentiles';
import { processorStats, type ProcessorStats } from '../lib/processor-stats';

export interface FreshnessResult extends Percentiles {
  rate: number;
  seconds: number;
  warmupSeconds: number;
  /** Events published in the measured window and the warm-up. */
  published: number;
  /** Events per second the publisher actually reached. */
  achievedRate: number;
  stock: Percentiles;
  order: Percentiles;
  /** Share of one core `run orders atp` used while the traffic was published (1 = one core busy). */
  processCoresBusy: number | null;
  /** Each processor's own account of the run, warm-up and tail included (bench/lib/processor-stats.ts). */
  processors: Record<string, ProcessorStats>;
  fold: FoldCheck;
}

const PROBE_SKUS = ['BENCH-PROBE-0', 'BENCH-PROBE-1', 'BENCH-PROBE-2', 'BENCH-PROBE-3'];
const STOCK_ROWS_PER_PARTITION = 2;
const TICK_MS = 10;

interface Row {
  sku: string;
  warehouse: string;
  /** atp's partition for the row (the movement and stock key `sku@warehouse`). */
  partition: number;
  sent: number;
  /** Probes published and not yet seen, oldest first. */
  waiting: Probe[];
  /** Not asked again before this time (clock()): see observe(). */
  nextPollAt: number;
}

interface Probe {
  kind: 'stock' | 'order';
  /** The row's onHand (stock) or reserved (order) once this probe is applied. */
  expect: number;
  /** When its occurredAt was stamped, to the microsecond (occurredAt itself is whole ms). */
  sentAt: number;
  counted: boolean;
}

/** Wall-clock milliseconds with a fraction: the probes' latencies are a few ms, whole ms would blur them. */
const clock = () => performance.timeOrigin + performance.now();

export async function runFreshness(context: BenchContext): Promise<FreshnessResult> {
  const { freshnessRate: rate, freshnessSeconds: seconds, freshnessWarmupSeconds: warmupSeconds, probeRate } = context.options;
  const { stack } = context;
  const deployment = await deployReady(stack, 'bench-fresh');
  const redis = new Redis(stack.redisUrl);
  const admin = createKafka(stack.brokers, 'bench-freshness').admin();
  await admin.connect();
  const publisher = createPublisher({ brokers: stack.brokers, registryUrl: stack.registryUrl, topicPrefix: deployment.naming.prefix, clientId: 'bench-freshness', lingerMs: 1 });
  const child = context.run(deployment, ['orders', 'atp']);
  try {
    const partitions = await partitionCount(admin, deployment.naming.topic('stock.adjusted'));
    const partitionOf = keyPartitioner(partitions);
    const published: InputRecord[] = [];
    let failure: unknown;
    const send = (topic: SimEvent['topic'], value: SimEvent['value']) => {
      published.push({ topic, value });
      publisher.publish(topic, value as never).catch((error: unknown) => (failure ??= error));
    };

    // The item master first (the processors read it whole before folding), the probes' items too.
    const traffic = simulate({ seed: context.options.seed + 1, duplicateRate: context.options.duplicateRate })[Symbol.iterator]();
    const occurredAt = new Map<string, number>();
    const stamp = (event: SimEvent, now: number) => {
      // A re-sent event is the same bytes: it keeps the time of its first sending.
      const meta = event.value.meta;
      meta.occurredAt = occurredAt.get(meta.eventId) ?? now;
      occurredAt.set(meta.eventId, meta.occurredAt);
    };
    let first = traffic.next();
    while (!first.done && first.value.topic === 'item.upserted') {
      stamp(first.value, Date.now());
      send(first.value.topic, first.value.value);
      first = traffic.next();
    }
    for (const sku of PROBE_SKUS) {
      send('item.upserted', { meta: meta(Date.now()), sku, description: 'benchmark probe', baseUom: 'EA', uomConversions: {}, safetyStock: {} });
    }
    await publisher.flush();
    await child.started(['orders', 'atp']);
    const health = await child.url();
    await waitFor(async () => (await fetch(`${health}/readyz`)).status === 200, { timeoutMs: 60_000, intervalMs: 100, what: 'orders and atp to be ready' });

    const stockRows = spreadRows(STOCK_ROWS_PER_PARTITION, partitions, partitionOf);
    const orderRows: Row[] = [];
    const freeOrderRows: Row[] = [];
    const orderRow = () => {
      const free = freeOrderRows.pop();
      if (free) return free;
      const n = orderRows.length;
      const sku = PROBE_SKUS[n % PROBE_SKUS.length] as string;
      const warehouse = `PROBE-${Math.floor(n / PROBE_SKUS.length)}`;
      const row: Row = { sku, warehouse, partition: partitionOf(`${sku}@${warehouse}`), sent: 0, waiting: [], nextPollAt: 0 };
      orderRows.push(row);
      return row;
    };

    const samples = { stock: [] as number[], order: [] as number[] };
    let stopped = false;
    const observer = observe(redis, deployment.naming.store('atp'), [stockRows, orderRows], () => stopped, (row, probe, seenAt) => {
      if (probe.counted) samples[probe.kind].push(seenAt - probe.sentAt);
      if (probe.kind === 'order') freeOrderRows.push(row);
    });
    // Awaited after the traffic; until then a failure must not count as an unhandled rejection.
    observer.catch(() => undefined);

    let pending: IteratorResult<SimEvent> = first;
    const nextBackground = (): SimEvent => {
      while (!pending.done && pending.value.topic === 'customer.upserted') pending = traffic.next();
      if (pending.done) throw new Error('the simulator ran out of events');
      const event = pending.value;
      pending = traffic.next();
      return event;
    };
    const total = Math.round(rate * (warmupSeconds + seconds));
    const probeEvery = Math.max(1, Math.round(rate / probeRate));
    const cpuBefore = processCpuSeconds(child.pid);
    const startedAt = performance.now();
    const countFrom = Date.now() + warmupSeconds * 1000;
    let sent = 0;
    let probes = 0;
    context.say(`freshness: publishing ${rate} events/s for ${warmupSeconds} + ${seconds} s (${probeRate} probes/s)`);
    while (sent < total) {
      if (failure) throw failure;
      const due = Math.min(total, Math.floor((rate * (performance.now() - startedAt)) / 1000));
      const sentAt = clock();
      const now = Math.floor(sentAt);
      for (; sent < due; sent++) {
        if (sent % probeEvery !== 0) {
          const event = nextBackground();
          stamp(event, now);
          send(event.topic, event.value);
          continue;
        }
        const kind = probes++ % 2 === 0 ? 'stock' : 'order';
        const row = kind === 'stock' ? (stockRows[(probes >> 1) % stockRows.length] as Row) : orderRow();
        row.sent += 1;
        row.waiting.push({ kind, expect: row.sent, sentAt, counted: now >= countFrom });
        if (kind === 'stock') send('stock.adjusted', { meta: meta(now), sku: row.sku, warehouse: row.warehouse, delta: 1, reason: 'FOUND' });
        else send('order.created', orderCreated(now, row));
      }
      await new Promise((resolve) => setTimeout(resolve, TICK_MS - ((performance.now() - startedAt) % TICK_MS)));
    }
    const publishSeconds = (performance.now() - startedAt) / 1000;
    const cpu = cpuBetween(cpuBefore, processCpuSeconds(child.pid));
    await publisher.flush();
    stopped = true;
    await observer.catch((error: Error) => {
      throw new Error(`${error.message}${childTrouble(child)}`);
    });

    await waitCaughtUp(redis, admin, deployment, { timeoutMs: 120_000 }).catch((error: Error) => {
      throw new Error(`${error.message}${childTrouble(child)}`);
    });
    const processors = Object.fromEntries(await Promise.all(['orders', 'atp'].map(async (name) => [name, await processorStats(health, name)] as const)));
    const fold = await checkAgainstFold(stack.redisUrl, deployment.naming, expected(published), partitions);
    if (!fold.equal) {
      // Unlike the pipeline's, this traffic depends on the clock: keep it, so the case can be replayed.
      const file = join(dirname(context.options.out), 'freshness-events.ndjson');
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, published.map((r) => JSON.stringify(r)).join('\n') + '\n');
      context.say(`freshness: the events published are in ${file}`);
    }
    context.say(`freshness: p99 ${percentiles([...samples.stock, ...samples.order]).p99} ms; the view ${fold.equal ? 'equals' : 'DIFFERS from'} the fold`);
    const all = percentiles([...samples.stock, ...samples.order]);
    return {
      ...all,
      rate,
      seconds,
      warmupSeconds,
      published: published.length,
      achievedRate: sent / publishSeconds,
      stock: percentiles(samples.stock),
      order: percentiles(samples.order),
      processCoresBusy: cpu === null ? null : Math.round((100 * cpu) / publishSeconds) / 100,
      processors,
      fold,
    };
  } finally {
    child.signal('SIGTERM');
    await child.exited;
    await publisher.close().catch(() => undefined);
    await admin.disconnect();
    redis.disconnect();
    await undeploy(stack, deployment);
  }
}

/**
 * Polls the rows with probes outstanding until `stopped()` and none is left; calls `seen` for
 * each probe reflected, with the time the answer arrived. Gives up 60 s after the stop.
 */
async function observe(redis: Redis, store: string, groups: Row[][], stopped: () => boolean, seen: (row: Row, probe: Probe, at: number) => void): Promise<void> {
  let deadline = Infinity;
  for (;;) {
    const waiting = groups.flat().filter((r) => r.waiting.length > 0);
    if (stopped()) {
      if (waiting.length === 0) return;
      deadline = Math.min(deadline, Date.now() + 60_000);
      if (Date.now() > deadline) throw new Error(`${waiting.reduce((n, r) => n + r.waiting.length, 0)} probes never reached the view`);
    }
    const now = clock();
    const rows = waiting.filter((r) => r.nextPollAt <= now);
    if (rows.length > 0) {
      const batch = redis.pipeline();
      for (const row of rows) batch.hget(viewKey(store, row.partition, `sku:${row.sku}`), row.warehouse);
      const answers = (await batch.exec()) ?? [];
      const at = clock();
      rows.forEach((row, i) => {
        const [error, json] = answers[i] ?? [];
        if (error) throw error;
        const view = typeof json === 'string' ? (JSON.parse(json) as { onHand: number; reserved: number }) : undefined;
        while (view && row.waiting.length > 0) {
          const probe = row.waiting[0] as Probe;
          if ((probe.kind === 'stock' ? view.onHand : view.reserved) < probe.expect) break;
          row.waiting.shift();
          seen(row, probe, at);
        }
        // A probe waiting long is asked less often (2 % of its age): the error stays within 2 %,
        // and a slow pipeline with hundreds of probes waiting does not turn into a Redis load test.
        const oldest = row.waiting[0];
        row.nextPollAt = oldest ? at + Math.max(1, 0.02 * (at - oldest.sentAt)) : 0;
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function meta(now: number) {
  return { eventId: randomUUID(), occurredAt: now, source: 'BENCH', correlationId: null, causationId: null };
}

let orderNo = 0;
function orderCreated(now: number, row: Row) {
  return {
    meta: meta(now),
    orderId: `BENCH-O-${++orderNo}`,
    customerId: 'BENCH-C',
    channel: 'ECOMMERCE' as const,
    currency: 'USD',
    requestedShipDate: null,
    lines: [{ lineNo: 1, sku: row.sku, warehouse: row.warehouse, quantity: 1, uom: null, unitPriceMinor: null }],
  };
}

/** The partition Kafka's (Java-compatible murmur2) partitioner gives a key, as the SDK and orders do. */
function keyPartitioner(partitions: number): (key: string) => number {
  const partitioner = kafkajs.Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  return (key) => partitioner({ topic: 'probe', partitionMetadata, message: { key, value: null } });
}

/** `count` stock probe rows on every partition. */
function spreadRows(count: number, partitions: number, partitionOf: (key: string) => number): Row[] {
  const rows: Row[] = [];
  const per = new Array<number>(partitions).fill(0);
  for (let i = 0; rows.length < count * partitions; i++) {
    const sku = `BENCH-STOCK-${i}`;
    const partition = partitionOf(`${sku}@PROBE`);
    if ((per[partition] as number) >= count) continue;
    per[partition] = (per[partition] as number) + 1;
    rows.push({ sku, warehouse: 'PROBE', partition, sent: 0, waiting: [], nextPollAt: 0 });
  }
  return rows;
}
