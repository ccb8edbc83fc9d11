/**
 * Shared pieces of the end-to-end tests of the streaming pipeline (issue 4): a deployment under a
 * unique topic prefix on the test stack, workloads (simulator events, duplicated and shuffled),
 * publishing, waiting for every processor group to reach the end of its inputs, and reading the
 * served view back — from Redis (every row, to catch extra ones) and through the HTTP API — in the
 * shape of the independent reference fold (test/reference/fold.ts), which is the oracle.
 */
import { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { afterAll } from 'vitest';
import { createPublisher, type PublishRecord } from '../../producers/sdk';
import { simulate, type SimulateOptions } from '../../producers/simulator';
import { createKafka } from '../../runtime/kafka/client';
import { partitionProgress, type InputOffsets } from '../../runtime/ops/rebuild';
import { naming, type Naming } from '../../runtime/processor/naming';
import { readStamps } from '../../runtime/redis/rebuild-marks';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { applyTopology, withApplyContext } from '../../runtime/topology/apply';
import { DEFAULT_TOPOLOGY_FILE, type Topology } from '../../runtime/topology/model';
import { prefixTopology } from '../../runtime/topology/prefix';
import { validateTopologyFile } from '../../runtime/topology/validate';
import { canonicalResult, referenceFold, type AtpRow, type OrderStatus } from '../reference/fold';
import type { InputRecord } from '../reference/types';
import { uniqueName } from '../harness/names';
import type { TestStack } from '../harness/stack';
import { waitFor } from '../harness/wait';

export interface Deployment {
  naming: Naming;
  /** The shipped topology with logical names (what components take). */
  topology: Topology;
  groups: string[];
}

const deployed: { stack: TestStack; deployment: Deployment }[] = [];

// Every test file importing this module drops its deployments' topics when it ends. Outside
// vitest (the benchmark, bench/, uses these helpers too) there is no file end: the caller undeploys.
if (process.env.VITEST) {
  afterAll(async () => {
    for (const { stack, deployment } of deployed.splice(0)) await undeploy(stack, deployment).catch(() => undefined);
  });
}

/** Applies the shipped topology under a fresh prefix (topics, DLQs, subjects); its topics are deleted after the file. */
export async function deploy(stack: TestStack, label: string): Promise<Deployment> {
  const names = naming(`${uniqueName(label)}.`);
  const { topology, problems } = validateTopologyFile(DEFAULT_TOPOLOGY_FILE, { catalogue: loadCatalogue() });
  if (problems.length > 0) throw new Error(`shipped topology invalid: ${problems[0]?.message}`);
  const connection = { brokers: stack.brokers, registryUrl: stack.registryUrl, security: 'none' as const };
  await withApplyContext(connection, (context) => applyTopology(prefixTopology(topology, names), loadCatalogue(), context, {}));
  const deployment = { naming: names, topology, groups: topology.processors.map((p) => names.group(p.group)) };
  deployed.push({ stack, deployment });
  return deployment;
}

export interface Workload {
  /** What is published, in publish order: items first, then everything else shuffled, with repeats. */
  records: InputRecord[];
  items: InputRecord[];
  rest: InputRecord[];
}

/** A small seeded PRNG (mulberry32): workloads are reproducible from their seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Simulator events plus extra exact repeats (`repeatRate`), shuffled across topics. Items go
 * first: the orders processor validates against the item master it bootstrapped, and the
 * reference fold takes every item of the set as known (its choice 3).
 */
export function workload(options: SimulateOptions & { seed: number; repeatRate?: number }): Workload {
  const random = prng(options.seed * 7919 + 17);
  const all: InputRecord[] = [...simulate(options)].map((e) => ({ topic: e.topic, value: e.value }));
  const items = all.filter((r) => r.topic === 'item.upserted');
  const rest = all.filter((r) => r.topic !== 'item.upserted' && r.topic !== 'customer.upserted');
  const repeats = rest.filter(() => random() < (options.repeatRate ?? 0));
  const shuffled = [...rest, ...repeats];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as InputRecord, shuffled[i] as InputRecord];
  }
  return { records: [...items, ...shuffled], items, rest: shuffled };
}

export async function publish(stack: TestStack, names: Naming, records: readonly InputRecord[]): Promise<void> {
  const publisher = createPublisher({ brokers: stack.brokers, registryUrl: stack.registryUrl, topicPrefix: names.prefix, clientId: 'e2e-publisher' });
  try {
    await publisher.publishMany(records.map((r) => ({ topic: r.topic, value: r.value }) as PublishRecord));
  } finally {
    await publisher.close();
  }
}

/** Every input of the named processors' groups fully consumed and committed, three polls in a row (orders feeds atp). */
export async function waitCaughtUp(stack: TestStack, deployment: Deployment, timeoutMs = 120_000, processors: readonly string[] = ['orders', 'atp']): Promise<void> {
  const admin = createKafka(stack.brokers, 'e2e-lag').admin();
  await admin.connect();
  try {
    let quietPolls = 0;
    await waitFor(
      async () => {
        const lag = await totalLag(admin, deployment, processors);
        quietPolls = lag === 0 ? quietPolls + 1 : 0;
        return quietPolls >= 3;
      },
      { timeoutMs, intervalMs: 500, what: 'every processor group to reach the end of its inputs' },
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every partition of the named processors rebuilt from Redis' point of view: stamped with the
 * store's epoch, no longer catching up, and applied to the end offset of each input (three polls
 * in a row). After a FLUSHDB the committed offsets still say "at the end", so `waitCaughtUp`
 * proves nothing about a rebuild; this does (and a partition serves only once its outputs are
 * produced, runner.ts `tryServe`).
 */
export async function waitRebuilt(stack: TestStack, deployment: Deployment, redisUrl: string, processors: readonly string[], timeoutMs = 120_000): Promise<void> {
  const admin = createKafka(stack.brokers, 'e2e-rebuilt').admin();
  const redis = new Redis(redisUrl);
  await admin.connect();
  try {
    let quietPolls = 0;
    await waitFor(
      async () => {
        const behind: string[] = [];
        for (const spec of deployment.topology.processors.filter((p) => processors.includes(p.name))) {
          const inputs = new Map<number, Map<string, InputOffsets>>();
          for (const topic of spec.inputs) {
            for (const { partition, low, high } of await admin.fetchTopicOffsets(deployment.naming.topic(topic))) {
              (inputs.get(partition) ?? inputs.set(partition, new Map()).get(partition) as Map<string, InputOffsets>).set(topic, { low: BigInt(low), high: BigInt(high) });
            }
          }
          const stamps = await readStamps(redis, deployment.naming.store(spec.name), [...inputs.keys()]);
          for (const [partition, offsets] of inputs) {
            const progress = partitionProgress(partition, stamps.epoch, stamps.partitions.get(partition) ?? {}, offsets);
            if (!progress.done || progress.applied < progress.total) behind.push(`${spec.name}[${partition}] ${progress.applied}/${progress.total}${progress.done ? '' : ' catching up'}`);
          }
        }
        quietPolls = behind.length === 0 ? quietPolls + 1 : 0;
        if (behind.length > 0) throw new Error(`not rebuilt: ${behind.join(', ')}`);
        return quietPolls >= 3;
      },
      { timeoutMs, intervalMs: 250, what: `${processors.join(', ')} to be rebuilt to the end of their inputs` },
    );
  } finally {
    redis.disconnect();
    await admin.disconnect();
  }
}

export async function totalLag(admin: Admin, deployment: Deployment, processors: readonly string[] = ['orders', 'atp']): Promise<number> {
  let lag = 0;
  for (const spec of deployment.topology.processors.filter((p) => processors.includes(p.name))) {
    const topics = spec.inputs.map((t) => deployment.naming.topic(t));
    const committed = await admin.fetchOffsets({ groupId: deployment.naming.group(spec.group), topics });
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const mine = committed.find((c) => c.topic === topic)?.partitions ?? [];
      for (const { partition, high } of ends) {
        const at = mine.find((p) => p.partition === partition)?.offset ?? '-1';
        const consumed = BigInt(at) < 0n ? 0n : BigInt(at);
        lag += Number(BigInt(high) - consumed);
      }
    }
  }
  return lag;
}

export interface ServedView {
  atp: [string, AtpRow][];
  orders: [string, OrderStatus][];
}

/** Every row and order status the processors' Redis views hold, as the reference shapes them. */
export async function servedFromRedis(redisUrl: string, names: Naming, partitions: number): Promise<ServedView> {
  const redis = new Redis(redisUrl);
  try {
    const atp = new Map<string, AtpRow>();
    const orders = new Map<string, OrderStatus>();
    for (let p = 0; p < partitions; p++) {
      const prefix = `trb:{${names.store('atp')}:${p}}:view:sku:`;
      for (const key of await scanAll(redis, `${prefix}*`)) {
        for (const [, json] of Object.entries(await redis.hgetall(key))) {
          const row = JSON.parse(json) as AtpRow;
          atp.set(`${row.sku}@${row.warehouse}`, row);
        }
      }
      const statuses = await redis.hgetall(`trb:{${names.store('orders')}:${p}}:view:status`);
      for (const [orderId, json] of Object.entries(statuses)) {
        const { status, lines } = JSON.parse(json) as OrderStatus & { updatedAt: number };
        orders.set(orderId, { orderId, status, lines });
      }
    }
    const sorted = <V>(m: Map<string, V>): [string, V][] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return { atp: sorted(atp), orders: sorted(orders) };
  } finally {
    redis.disconnect();
  }
}

async function scanAll(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/** The reference fold of a workload, canonical. */
export function expected(records: readonly InputRecord[]) {
  return canonicalResult(referenceFold(records));
}

/** A row as the API serves it: asOf as ISO-8601. */
export function apiRow(row: AtpRow): Record<string, unknown> {
  return { ...row, asOf: new Date(row.asOf).toISOString() };
}

/**
 * Deletes every topic of a deployment. A whole test run shares one broker, and each deployment is
 * ~40 topics of 6 partitions: left behind, they pile up to the broker's open-file limit.
 */
export async function undeploy(stack: TestStack, deployment: Deployment | undefined): Promise<void> {
  if (!deployment) return;
  const admin = createKafka(stack.brokers, 'e2e-undeploy').admin();
  await admin.connect();
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(deployment.naming.prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}
