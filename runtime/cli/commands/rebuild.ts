/**
 * `tributary rebuild <processor|all> [--partitions ...] [--execute]` (SPEC §9): wipes a processor's
 * derived state (for those partitions) and replays them from the earliest offset, with progress,
 * until caught up. Without --execute it prints the plan and changes nothing.
 *
 * Coordination rather than refusal: the request is written to Redis (runtime/redis/rebuild-marks.ts)
 * where every instance looks. Instances running elsewhere notice within seconds and replay the
 * partitions they own; a processor with no live member is run by this command, in-process, until
 * caught up. Processors downstream of a rebuilt one (atp reads orders' outputs) are marked as
 * catching up too, so nothing half-rebuilt is served; the API answers 503 meanwhile. Interrupted,
 * the partitions stay marked: the next `run` (or this command again) finishes the rebuild.
 */
import { table as textTable } from '../table';
import { Option, type Command } from 'commander';
import { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { processors, type ProcessorName } from '../../../processors';
import { stderrProgress } from '../../../producers/sdk/progress';
import { startComponents, type Components } from '../../app/components';
import { resolveConnection } from '../../config/connection';
import { TributaryError } from '../../errors';
import { createKafka } from '../../kafka/client';
import { createLogger } from '../../log';
import { liveMembers, type GroupMember } from '../../ops/groups';
import { parsePartitions } from '../../ops/partitions';
import { describeProgress, partitionProgress, rebuildScope, type InputOffsets, type PartitionProgress } from '../../ops/rebuild';
import { namingFromEnv, type Naming } from '../../processor/naming';
import { readStamps, requestCatchUp, requestRebuild } from '../../redis/rebuild-marks';
import type { Topology } from '../../topology/model';
import { prefixTopology } from '../../topology/prefix';
import { loadTopologyOrThrow } from './run';
import { topicPrefixOption } from './topology';

interface RebuildFlags {
  partitions?: string;
  execute?: boolean;
  format: 'table' | 'json';
  file?: string;
  topicPrefix?: string;
}

interface Involved {
  name: string;
  role: 'rebuild' | 'catch up';
  group: string;
  store: string;
  /** Kafka input topics. */
  inputs: string[];
  partitions: number[];
  members: GroupMember[];
}

const POLL_MS = 1_000;

async function partitionCount(admin: Admin, topic: string): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => ({ topics: [] as { partitions: unknown[] }[] }));
  const count = topics[0]?.partitions.length ?? 0;
  if (count === 0) throw new TributaryError('TRB_UNKNOWN_TOPIC', `topic ${topic} does not exist: apply the topology first (tributary topology apply)`);
  return count;
}

/** Per partition, per input topic: log start and end offsets, now. */
async function inputOffsets(admin: Admin, topics: readonly string[]): Promise<Map<number, Map<string, InputOffsets>>> {
  const byPartition = new Map<number, Map<string, InputOffsets>>();
  for (const topic of topics) {
    for (const o of await admin.fetchTopicOffsets(topic)) {
      const entry = byPartition.get(o.partition) ?? new Map<string, InputOffsets>();
      entry.set(topic, { low: BigInt(o.low), high: BigInt(o.high) });
      byPartition.set(o.partition, entry);
    }
  }
  return byPartition;
}

async function progressOf(admin: Admin, redis: Redis, one: Involved, names: Naming): Promise<PartitionProgress[]> {
  const offsets = await inputOffsets(admin, one.inputs);
  const stamps = await readStamps(redis, one.store, one.partitions);
  return one.partitions.map((p) => {
    // Watermarks name logical topics; offsets were fetched by Kafka name.
    const logical = new Map([...(offsets.get(p) ?? new Map<string, InputOffsets>())].map(([topic, o]) => [names.logical(topic) ?? topic, o]));
    return partitionProgress(p, stamps.epoch, stamps.partitions.get(p) ?? {}, logical);
  });
}

function renderPlan(involved: readonly Involved[], progress: ReadonlyMap<string, PartitionProgress[]>): string {
  const table = textTable(['processor', 'does', 'partitions', 'records to replay', 'running instances']);
  for (const one of involved) {
    const records = (progress.get(one.name) ?? []).reduce((sum, p) => sum + p.total, 0);
    const running = one.members.length > 0 ? `${one.members.length} (they replay)` : 'none (this command runs it)';
    table.push([one.name, one.role === 'rebuild' ? 'wipe and replay' : 'catch up again', one.partitions.join(','), one.role === 'rebuild' ? records.toLocaleString('en-US') : '(new outputs)', running]);
  }
  return `${table.toString()}\n`;
}

async function rebuild(chosen: string, flags: RebuildFlags): Promise<void> {
  const names = namingFromEnv(process.env, flags.topicPrefix);
  const logical = loadTopologyOrThrow(flags.file);
  const topology: Topology = prefixTopology(logical, names);
  const nodes = logical.processors.map((p) => ({ name: p.name, upstream: processors[p.name as ProcessorName]?.upstream ?? [] }));
  const scope = rebuildScope(nodes, chosen);
  const connection = resolveConnection();
  const admin = createKafka(connection.brokers, 'tributary-rebuild', {}, { security: connection.security }).admin();
  const redis = new Redis(connection.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on('error', () => undefined);
  let components: Components | undefined;
  try {
    await admin.connect();
    await redis.connect().catch((error: Error) => {
      throw new TributaryError('TRB_REDIS_UNAVAILABLE', `cannot reach Redis (${error.message}): check REDIS_URL`, { retriable: true, cause: error });
    });
    const involved: Involved[] = [];
    for (const [role, list] of [['rebuild', scope.targets], ['catch up', scope.dependants]] as const) {
      for (const name of list) {
        const spec = topology.processors.find((p) => p.name === name)!;
        const count = await partitionCount(admin, spec.inputs[0] as string);
        const partitions = role === 'rebuild' && flags.partitions !== undefined ? parsePartitions(flags.partitions, count) : Array.from({ length: count }, (_, p) => p);
        involved.push({ name, role, group: spec.group, store: names.store(name), inputs: [...spec.inputs], partitions, members: await liveMembers(admin, spec.group) });
      }
    }
    const before = new Map<string, PartitionProgress[]>();
    for (const one of involved) before.set(one.name, await progressOf(admin, redis, one, names));

    if (!flags.execute) {
      if (flags.format === 'json') {
        process.stdout.write(`${JSON.stringify({ execute: false, processors: involved.map((one) => planJson(one, before.get(one.name) ?? [])) }, null, 2)}\n`);
      } else {
        process.stdout.write(renderPlan(involved, before));
        process.stdout.write('nothing changed: run again with --execute to wipe and replay (the API answers 503 for these partitions until they are caught up)\n');
      }
      return;
    }

    const started = performance.now();
    for (const one of involved) {
      if (one.role === 'rebuild') await requestRebuild(redis, one.store, one.partitions);
      else await requestCatchUp(redis, one.store, one.partitions);
    }
    const toRun = involved.filter((one) => one.members.length === 0).map((one) => one.name);
    if (toRun.length > 0) {
      const log = createLogger({ command: 'rebuild' });
      log.level = process.env.LOG_LEVEL ?? 'error';
      components = await startComponents({ names: toRun, connection, topology: logical, naming: names, log, metricsPort: null });
    }
    const interrupted = new Promise<'interrupted'>((resolve) => {
      process.once('SIGINT', () => resolve('interrupted'));
      process.once('SIGTERM', () => resolve('interrupted'));
    });
    const progress = stderrProgress(2_000);
    let last = new Map<string, PartitionProgress[]>();
    for (;;) {
      last = new Map();
      for (const one of involved) last.set(one.name, await progressOf(admin, redis, one, names));
      const all = [...last.values()].flat();
      if (all.every((p) => p.done)) break;
      const waiting = components?.readiness().filter((r) => !r.ok).map((r) => r.detail)[0];
      progress.update(`rebuilding: ${[...last].map(([name, ps]) => describeProgress(name, ps)).join('; ')}${waiting ? ` — ${waiting}` : ''}`);
      const outcome = await Promise.race([interrupted, new Promise((resolve) => setTimeout(resolve, POLL_MS).unref())]);
      if (outcome === 'interrupted') {
        progress.done();
        throw new TributaryError('TRB_STATE_UNAVAILABLE', `rebuild interrupted: the partitions stay marked as catching up (the API answers 503 for them); \`tributary run ${involved.map((o) => o.name).join(' ')}\` or this command again finishes it`);
      }
    }
    progress.done();
    const seconds = (performance.now() - started) / 1000;
    const replayed = involved.filter((o) => o.role === 'rebuild').reduce((sum, o) => sum + (last.get(o.name) ?? []).reduce((s, p) => s + p.total, 0), 0);
    if (flags.format === 'json') {
      process.stdout.write(`${JSON.stringify({ execute: true, seconds: Number(seconds.toFixed(3)), recordsReplayed: replayed, processors: involved.map((one) => planJson(one, last.get(one.name) ?? [])) }, null, 2)}\n`);
    } else {
      for (const one of involved) {
        process.stdout.write(one.role === 'rebuild'
          ? `rebuilt ${one.name} partitions ${one.partitions.join(',')}${one.members.length > 0 ? ` (by its ${one.members.length} running instance(s))` : ''}\n`
          : `${one.name} caught up again with the rebuilt ${scope.targets.join(', ')}\n`);
      }
      process.stdout.write(`${replayed.toLocaleString('en-US')} records replayed in ${seconds.toFixed(1)} s (${Math.round(replayed / Math.max(seconds, 0.001)).toLocaleString('en-US')}/s); serving again\n`);
    }
  } finally {
    await components?.stop();
    redis.disconnect();
    await admin.disconnect();
  }
}

function planJson(one: Involved, progress: readonly PartitionProgress[]) {
  return {
    processor: one.name,
    role: one.role,
    group: one.group,
    partitions: one.partitions,
    records: progress.reduce((sum, p) => sum + p.total, 0),
    runningInstances: one.members.length,
  };
}

export function register(program: Command): void {
  program
    .command('rebuild')
    .description("wipe a processor's derived state (or only some partitions) and replay its inputs from the earliest offset until caught up; plan only without --execute")
    .argument('<processor>', 'orders, atp, customers, or all')
    .option('--partitions <list>', 'only these partitions, e.g. 0,2,4-5 (default: all)')
    .option('--execute', 'wipe and replay (running instances replay what they own; a processor not running anywhere is run here until caught up)')
    .addOption(new Option('--format <format>', 'output: a table for people, json for scripts').choices(['table', 'json']).default('table'))
    .addOption(new Option('-f, --file <path>', 'the topology file (default ./topology.yaml, else the shipped one)').env('TRIBUTARY_TOPOLOGY'))
    .addOption(topicPrefixOption())
    .addHelpText('after', `
Rebuilding a processor also makes the processors that read its outputs catch up again (orders → atp).

Examples:
  tributary rebuild all                         # the plan: what would be wiped and replayed
  tributary rebuild atp --partitions 3 --execute`)
    .action((processor: string, flags: RebuildFlags) => rebuild(processor, flags));
}
