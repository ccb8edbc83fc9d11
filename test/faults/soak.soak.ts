/**
 * Reliability scenario 9 (issue 8): the soak. `npm run test:soak` (its own vitest config,
 * ./soak.config.ts; never part of `npm test`) streams simulator events at 1,000 events/s for
 * TRIBUTARY_SOAK_MINUTES (default 15) into the whole pipeline while the other scenarios' faults
 * come and go, then heals, drains and ends with the shared checker (./checker.ts):
 *
 *  - `tributary run orders atp` as a child, SIGKILLed every DURATION/12 (30 to 90 s, jittered),
 *    and about a third of its restarts carrying TRIBUTARY_FAULT=after-apply:N so that instance
 *    kills itself between a Redis write and its produce/commit (scenario 1);
 *  - its Redis, a redis-server of this file's own (./redis-server.ts), shut down (AOF written),
 *    left down 5 s and started again from the AOF, once, at 45 % of the run (scenario 5a);
 *  - `tributary run erp` and `tributary run crm` as children (SINK_INSTANCES of each) against stand-in receivers answering 0.5 % 500 and 0.5 % 429 with Retry-After
 *    throughout, both receivers down (connection refused) for DURATION/8 (10 to 60 s) every 4
 *    minutes, from 30 % of the run (scenario 7).
 *    The sinks run with the shipped topology but 32 keys in flight instead of 4 and no rate limit
 *    to speak of: at 1,000 events/s the receivers get ~1,800 commands/s, which the shipped
 *    settings (20 requests/s, 4 in flight) are not meant for;
 *  - a poison record every DURATION/40 (3 to 20 s), rotating through not-magic, short, cut-body,
 *    tombstone and unknown-schema on order.created and stock.adjusted (scenario 6).
 *
 * At the end: the view equals the fold of every event published; the ledger has every input
 * offset applied, skipped as a duplicate or (exactly the poison) dead-lettered; every command took
 * effect once at its receiver, in order per key, never with two bodies; every processor death was
 * one the test caused. It prints the ledger, the rate reached, the faults and the lag seen.
 * The seed is printed; TRIBUTARY_TEST_SEED=<seed> replays the workload and the schedule.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import kafkajs, { type Admin, type Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { createPublisher, encodeEvent, type PublishRecord, type Publisher } from '../../producers/sdk';
import { createKafka } from '../../runtime/kafka/client';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { DEFAULT_TOPOLOGY_FILE } from '../../runtime/topology/model';
import { startReceiver, type Receiver } from '../../sinks/receivers/receiver';
import type { InputRecord } from '../reference/types';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { evictGroupMembers, killAllChildren, ROOT, startTributary, type Exit, type RunningChild } from '../e2e/child-process';
import { deploy, prng, totalLag, waitCaughtUp, workload, type Deployment } from '../e2e/pipeline-harness';
import { check, expectExact } from './checker';
import { sinkLag, waitSinksDrained } from './harness';
import { POISON_CODE, poisonValue, type PoisonKind } from './poison-records';
import { seed } from './profile';
import { readTopic, sourceOf } from './read-topic';
import { startOwnRedis, type OwnRedis } from './redis-server';

const { Partitioners } = kafkajs;
const stack = testStack();
const SEED = seed();
const catalogue = loadCatalogue();
const MINUTES = Number(process.env.TRIBUTARY_SOAK_MINUTES ?? 15);
const RATE = 1_000;
const DURATION_MS = Math.round(MINUTES * 60_000);
const clamp = (ms: number, low: number, high: number) => Math.min(high, Math.max(low, ms));
// Not more often than every 30 s: a restart costs the processors ~5-10 s of a loaded box, and a
// backlog they never work off would bury the sinks (see DRAIN_MS) instead of testing them.
const KILL_EVERY_MS = clamp(DURATION_MS / 12, 30_000, 90_000);
const POISON_EVERY_MS = clamp(DURATION_MS / 40, 3_000, 20_000);
const OUTAGE_MS = clamp(DURATION_MS / 8, 10_000, 60_000);
const OUTAGE_EVERY_MS = 240_000;
const REDIS_DOWN_MS = 5_000;
/**
 * After the traffic: how long the pipeline may take to work off its backlog. The sinks drain a
 * backlog far slower than they take traffic (a few hundred commands/s on a busy 2-core box: the
 * README's soak figures), hence the margin.
 */
const DRAIN_MS = Math.max(1_800_000, 3 * DURATION_MS);
const PROCESSORS = ['orders', 'atp'] as const;
const SINKS = ['erp', 'crm'] as const;
const SINK_INSTANCES = 1;
const POISON_ROTATION: PoisonKind[] = ['not-magic', 'short', 'cut-body', 'tombstone', 'unknown-schema'];
const POISON_TOPICS = ['order.created', 'stock.adjusted'] as const;
const FAULT_LINE = 'tributary: fault point reached';

if (!(MINUTES > 0)) throw new Error(`TRIBUTARY_SOAK_MINUTES=${process.env.TRIBUTARY_SOAK_MINUTES} must be a number of minutes above 0`);

let redis: OwnRedis | undefined;
const receivers: Partial<Record<(typeof SINKS)[number], Receiver>> = {};
const clients: { disconnect(): Promise<void> }[] = [];
let publisher: Publisher | undefined;
let scratch: string | undefined;

/** The shipped topology with more keys in flight per sink, in a scratch file for `run -f`. */
function sinkTopology(concurrency: number): string {
  const doc = parseDocument(readFileSync(join(ROOT, DEFAULT_TOPOLOGY_FILE), 'utf8'));
  for (const sink of SINKS) doc.setIn(['sinks', sink, 'concurrency'], concurrency);
  scratch ??= mkdtempSync(join(tmpdir(), 'tributary-soak-'));
  const file = join(scratch, 'topology.yaml');
  writeFileSync(file, doc.toString());
  return file;
}

afterAll(async () => {
  await killAllChildren();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  await publisher?.close().catch(() => undefined);
  for (const client of clients.splice(0)) await client.disconnect().catch(() => undefined);
  await Promise.all(Object.values(receivers).map((r) => r.close()));
  await redis?.remove();
});

interface Death {
  instance: number;
  fault: string;
  exit: Exit;
  /**
   * SIGKILLed by the test; killed itself at its fault point; exited 3 (unavailable) because it
   * was (re)started while Redis was down — `run` does not wait for Redis at start-up, a process
   * supervisor restarts it, as this test's does; or none of these (a failure).
   */
  how: 'killed' | 'fault point' | 'redis down at start-up' | 'unplanned';
  atS: number;
}

interface WrittenPoison {
  topic: string;
  kind: PoisonKind;
  partition: number;
  offset: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

describe(`scenario 9: a ${MINUTES}-minute soak at ${RATE} events/s with kills, a Redis restart, receiver outages and poison`, () => {
  it('ends equal to the fold with nothing lost, doubled or reordered, and only the poison dead-lettered', async () => {
    console.info(`soak.soak.ts: seed ${SEED} (TRIBUTARY_TEST_SEED=${SEED} reproduces it), ${MINUTES} min at ${RATE} events/s`);
    const random = prng(SEED);
    const restarts = prng(SEED + 1);
    const load = workload({ seed: SEED, events: Math.round((RATE * DURATION_MS) / 1000), duplicateRate: 0.01, repeatRate: 0.01 });
    const deployment: Deployment = await deploy(stack, 'f-soak');
    const names = deployment.naming;
    redis = await startOwnRedis();
    receivers.erp = await startReceiver({ name: 'erp', failure: { errorRate: 0.005, rate429: 0.005, retryAfterSeconds: 1, seed: SEED } });
    receivers.crm = await startReceiver({ name: 'crm', failure: { errorRate: 0.005, rate429: 0.005, retryAfterSeconds: 1, seed: SEED + 1 } });
    const kafka = createKafka(stack.brokers, 'faults-soak');
    const admin: Admin = kafka.admin();
    const producer: Producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await Promise.all([admin.connect(), producer.connect()]);
    clients.push(admin, producer);
    publisher = createPublisher({ brokers: stack.brokers, registryUrl: stack.registryUrl, topicPrefix: names.prefix, clientId: 'faults-soak' });
    const toPublish = (records: readonly InputRecord[]) => records.map((r) => ({ topic: r.topic, value: r.value }) as PublishRecord);
    await publisher.publishMany(toPublish(load.items));

    // Processors: a supervisor restarts every death (evicting the dead member first), a third of
    // the restarts with a fault point.
    const deaths: Death[] = [];
    let processors: RunningChild | undefined;
    let instance = 0;
    let stopping = false;
    let faultPoints = true;
    /** The fault point the running instance was started with (it will kill itself there). */
    let processorsFault: string | undefined;
    let t0 = Date.now();
    const seconds = () => Math.round((Date.now() - t0) / 1000);
    const startProcessors = (): void => {
      const n = instance++;
      const fault = faultPoints && n > 0 && restarts() < 1 / 3 ? `after-apply:${5 + Math.floor(restarts() * 60)}` : undefined;
      const child = startTributary({ stack, prefix: names.prefix, names: PROCESSORS, label: `run#${n}`, env: { REDIS_URL: redis!.url, ...(fault ? { TRIBUTARY_FAULT: fault } : {}) } });
      processors = child;
      processorsFault = fault;
      const startedAt = Date.now();
      void child.exited.then(async (exit) => {
        const how: Death['how'] = child.lines.some((l) => l.msg.startsWith(FAULT_LINE))
          ? 'fault point'
          : exit.signal === 'SIGKILL'
            ? 'killed'
            : exit.code === 3 && child.lines.some((l) => l.msg.startsWith('tributary: TRB_REDIS_UNAVAILABLE'))
              ? 'redis down at start-up'
              : 'unplanned';
        deaths.push({ instance: n, fault: fault ?? 'none', exit, how, atS: seconds() });
        if (how === 'unplanned') console.info(`[soak] ${child.label} died unplanned ${JSON.stringify(exit)}\n${child.tail(15)}`);
        if (stopping) return;
        await evictGroupMembers(stack, deployment.groups).catch(() => undefined);
        // An instance dying at start-up must not turn into a hot loop.
        if (how !== 'killed' && how !== 'fault point' && Date.now() - startedAt < 5_000) await sleep(1_000);
        if (!stopping) startProcessors();
      });
    };
    startProcessors();
    await processors!.started(PROCESSORS);
    // SINK_INSTANCES processes per sink, sharing its group. One each since the sink's scheduler
    // stopped scanning every queued key per command (it took three to drain a backlog at a few
    // hundred commands/s); every process more takes CPU from the processors on a 2-core box.
    const topologyFile = sinkTopology(32);
    const sinks = SINKS.flatMap((sink) =>
      Array.from({ length: SINK_INSTANCES }, (_, i) =>
        startTributary({
          stack,
          prefix: names.prefix,
          names: [sink],
          label: `sink ${sink}#${i}`,
          env: { REDIS_URL: redis!.url, [`${sink.toUpperCase()}_URL`]: (receivers[sink] as Receiver).url, [`${sink.toUpperCase()}_RATE_LIMIT`]: '10000', TRIBUTARY_TOPOLOGY: topologyFile },
        }),
      ),
    );
    await Promise.all(sinks.map((child) => child.url()));

    const ids = new Map<string, number>();
    for (const topic of POISON_TOPICS) {
      const response = await fetch(`${stack.registryUrl.replace(/\/+$/, '')}/subjects/${encodeURIComponent(`${names.topic(topic)}-value`)}/versions/latest`);
      ids.set(topic, ((await response.json()) as { id: number }).id);
    }

    // The schedule, fixed up front from the seed.
    const kills: number[] = [];
    for (let at = KILL_EVERY_MS * (0.7 + 0.6 * random()); at < DURATION_MS - 10_000; at += KILL_EVERY_MS * (0.7 + 0.6 * random())) kills.push(Math.round(at));
    const outages: number[] = [];
    for (let at = DURATION_MS * 0.3; at + OUTAGE_MS < DURATION_MS; at += OUTAGE_EVERY_MS) outages.push(Math.round(at));
    const redisRestartAt = Math.round(DURATION_MS * 0.45);
    const poisonAt: number[] = [];
    for (let at = POISON_EVERY_MS; at < DURATION_MS; at += POISON_EVERY_MS) poisonAt.push(at);
    // Poison goes on the keys of live events, so it sits among real state.
    const pick = prng(SEED + 2);
    const byTopic = new Map(POISON_TOPICS.map((t) => [t, load.rest.filter((r) => r.topic === t)]));
    const poisonKeys = poisonAt.map((_, n) => {
      const events = byTopic.get(POISON_TOPICS[n % POISON_TOPICS.length] as (typeof POISON_TOPICS)[number]) as InputRecord[];
      return (events[Math.floor(pick() * events.length)] as InputRecord).value;
    });
    console.info(`[soak] schedule: kills at ${kills.map((k) => `${Math.round(k / 1000)}s`).join(' ')}; receiver outages of ${OUTAGE_MS / 1000}s at ${outages.map((o) => `${Math.round(o / 1000)}s`).join(' ')}; Redis restart at ${Math.round(redisRestartAt / 1000)}s; ${poisonAt.length} poison records`);

    const poisons: WrittenPoison[] = [];
    let outageMs = 0;
    let redisDownMs = 0;
    let maxProcessorLag = 0;
    let maxSinkLag = 0;
    let published = 0;
    t0 = Date.now();
    const faults: Promise<void>[] = [
      ...kills.map(async (at) => {
        await sleep(at - (Date.now() - t0));
        processors?.signal('SIGKILL');
      }),
      ...outages.map(async (at) => {
        await sleep(at - (Date.now() - t0));
        const down = Date.now();
        await Promise.all(SINKS.map((s) => (receivers[s] as Receiver).setDown(true)));
        await sleep(OUTAGE_MS);
        await Promise.all(SINKS.map((s) => (receivers[s] as Receiver).setDown(false)));
        outageMs += Date.now() - down;
      }),
      (async () => {
        await sleep(redisRestartAt - (Date.now() - t0));
        const down = Date.now();
        await redis!.shutdown();
        await sleep(REDIS_DOWN_MS);
        await redis!.start();
        redisDownMs += Date.now() - down;
      })(),
      ...poisonAt.map(async (at, n) => {
        await sleep(at - (Date.now() - t0));
        const topic = POISON_TOPICS[n % POISON_TOPICS.length] as (typeof POISON_TOPICS)[number];
        const kind = POISON_ROTATION[Math.floor(n / POISON_TOPICS.length) % POISON_ROTATION.length] as PoisonKind;
        const live = poisonKeys[n] as Record<string, unknown>;
        // A fresh event: visible in the view if it were ever applied (a new order, or +777 on a row).
        const meta = { ...(live.meta as Record<string, unknown>), eventId: `SOAK-POISON-${n}` };
        const avro = encodeEvent(catalogue, topic, topic === 'order.created' ? { ...live, meta, orderId: `SOAK-POISON-ORDER-${n}` } : { ...live, meta, delta: 777 }).avro;
        const [written] = await producer.send({
          topic: names.topic(topic),
          acks: -1,
          messages: [{ key: encodeEvent(catalogue, topic, live).key, value: poisonValue(kind, { schemaId: ids.get(topic) as number, avro }), headers: { 'x-poison-case': kind } }],
        });
        poisons.push({ topic, kind, partition: written!.partition, offset: written!.baseOffset as string });
      }),
    ];
    const sampler = setInterval(() => {
      void (async () => {
        const [lag, commands] = await Promise.all([totalLag(admin, deployment), sinkLag(stack, deployment, SINKS)]);
        maxProcessorLag = Math.max(maxProcessorLag, lag);
        maxSinkLag = Math.max(maxSinkLag, commands);
        if (seconds() % 30 < 5) console.info(`[soak] ${seconds()}s: published ${published} (${Math.round(published / Math.max(1, seconds()))}/s), processor lag ${lag}, sink lag ${commands}, deaths ${deaths.length}, poison ${poisons.length}`);
      })().catch(() => undefined);
    }, 5_000);

    // The traffic: one second's worth of events per second.
    try {
      for (let i = 0; i < load.rest.length; i += RATE) {
        await sleep(t0 + (i / RATE) * 1000 - Date.now());
        const slice = load.rest.slice(i, i + RATE);
        await publisher.publishMany(toPublish(slice));
        published += slice.length;
      }
      const trafficMs = Date.now() - t0;
      await Promise.all(faults);

      // Heal and drain: the faults are over; the instance that finishes the work has no fault point.
      faultPoints = false;
      if (processorsFault !== undefined) processors?.signal('SIGKILL');
      await waitFor(() => processors?.exit() === undefined && processorsFault === undefined && processors, { what: 'an instance without a fault point', timeoutMs: 60_000 });
      await (processors as RunningChild).started(PROCESSORS);
      const drainFrom = Date.now();
      await waitCaughtUp(stack, deployment, DRAIN_MS);
      // Committed offsets may pass records whose outputs are still in an outbox (a kill right
      // after the commit): wait until every applied batch was produced, then for atp again.
      await waitFor(async () => (await outboxEntries(redis!.url, names, PROCESSORS)) === 0, { what: 'every outbox produced', timeoutMs: DRAIN_MS });
      await waitCaughtUp(stack, deployment, DRAIN_MS);
      const processorsDrainMs = Date.now() - drainFrom;
      await waitSinksDrained(stack, deployment, SINKS, DRAIN_MS);
      const sinksDrainMs = Date.now() - drainFrom;
      clearInterval(sampler);
      console.info(
        `[soak] traffic: ${published} events in ${Math.round(trafficMs / 1000)} s (${Math.round(published / (trafficMs / 1000))}/s); ` +
          `processor deaths ${deaths.length} (${deaths.filter((d) => d.how === 'fault point').length} at a fault point, ${deaths.filter((d) => d.how === 'redis down at start-up').length} started while Redis was down), ` +
          `Redis down ${Math.round(redisDownMs / 1000)} s, receivers down ${Math.round(outageMs / 1000)} s in all, ${poisons.length} poison records; ` +
          `max lag: processors ${maxProcessorLag}, sinks ${maxSinkLag}; drained after the traffic in ${Math.round(processorsDrainMs / 1000)} s (processors), ${Math.round(sinksDrainMs / 1000)} s (sinks)`,
      );

      expect(deaths.filter((d) => d.how === 'unplanned'), 'processor deaths the test did not cause').toEqual([]);
      expect(deaths.length, 'processor deaths').toBeGreaterThanOrEqual(Math.min(kills.length, 2));
      expect(sinks.map((child) => child.exit()), 'the sink processes kept running').toEqual(sinks.map(() => undefined));
      expect(redisDownMs, 'Redis was restarted').toBeGreaterThan(0);
      expect(published, 'events published').toBe(load.rest.length);

      // The DLQs hold the poison and nothing else, each with its code. A dead letter is an output
      // of its batch: produced at least once, like every output (README "Kafka → Kafka"), so a kill
      // between its produce and the outbox clear repeats it; repeats are counted, not refused.
      let repeatedLetters = 0;
      for (const topic of POISON_TOPICS) {
        const mine = poisons.filter((p) => p.topic === topic);
        const letters = await readTopic(stack, admin, names.topic(`${topic}.dlq`));
        const sources = letters.map(sourceOf);
        repeatedLetters += sources.length - new Set(sources).size;
        expect([...new Set(sources)].sort(), `${topic}.dlq`).toEqual(mine.map((p) => `${p.partition}@${p.offset}`).sort());
        for (const letter of letters) {
          const poison = mine.find((p) => `${p.partition}@${p.offset}` === sourceOf(letter)) as WrittenPoison;
          expect(letter.headers['tributary.error.code'], `${topic} ${poison.kind} at ${sourceOf(letter)}`).toBe(POISON_CODE[poison.kind]);
        }
      }
      console.info(`  (${repeatedLetters} dead letters written twice)`);
      for (const sink of SINKS) expect((await readTopic(stack, admin, names.topic(`${sink}.commands.dlq`))).length, `${sink}.commands.dlq`).toBe(0);

      const report = await check({ stack, deployment, label: `[scenario 9 soak ${MINUTES} min]`, records: load.records, redisUrl: redis.url, receivers: receivers as Record<string, Receiver> });
      console.info(`  (heap ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB after the checker)`);
      expectExact(report);
      expect(report.counts.deadLettered, 'dead-lettered in the ledger: the poison').toBe(poisons.length);
    } finally {
      clearInterval(sampler);
      stopping = true;
    }
  }, DURATION_MS + 2 * DRAIN_MS + 900_000);
});

/** Outbox entries (applied batches not yet produced) over every partition of the processors. */
async function outboxEntries(redisUrl: string, names: Deployment['naming'], processors: readonly string[]): Promise<number> {
  const client = new Redis(redisUrl);
  try {
    let entries = 0;
    for (const processor of processors) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `trb:{${names.store(processor)}:*}:outbox`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) entries += await client.hlen(key);
      } while (cursor !== '0');
    }
    return entries;
  } finally {
    client.disconnect();
  }
}
