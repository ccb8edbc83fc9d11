/**
 * `tributary offsets reset` (SPEC §9): moves a consumer group's committed offsets, after printing
 * the plan — per partition the current offset, the target and how many records will be read again
 * or skipped. Nothing changes without --execute, and never under a group with live members (Kafka
 * would let them overwrite the reset with their next commit).
 *
 * Processor groups: a processor's position is kept with its state in Redis (its watermarks), so a
 * reset moves what `lag` shows and what is read again, but the processor skips what its state
 * already holds and never skips what it does not. The plan says so; `rebuild` recomputes state.
 */
import { table as textTable } from '../table';
import { Option, type Command } from 'commander';
import type { Admin } from 'kafkajs';
import { resolveConnection } from '../../config/connection';
import { TributaryError, UsageError } from '../../errors';
import { createKafka } from '../../kafka/client';
import { liveMembers, refuseWhileLive, resolveGroup } from '../../ops/groups';
import { planReset, resetTargetOf, type PartitionOffsets, type ResetFlags, type ResetRow, type ResetTarget } from '../../ops/offsets-reset';
import { parsePartitions } from '../../ops/partitions';
import { namingFromEnv, type Naming } from '../../processor/naming';
import { prefixTopology } from '../../topology/prefix';
import { loadTopologyOrThrow } from './run';
import { topicPrefixOption } from './topology';

interface ResetCliFlags extends ResetFlags {
  group: string;
  topic?: string[];
  partitions?: string;
  execute?: boolean;
  format: 'table' | 'json';
  file?: string;
  topicPrefix?: string;
}

const PROCESSOR_NOTE =
  'is a processor: it resumes from its state in Redis, not from these offsets — records its state holds are read again and skipped, none it lacks is skipped. To recompute its state from the inputs, use `tributary rebuild';

/** The Kafka topic a user named: as given, or behind the deployment's topic prefix. */
function kafkaTopicOf(name: string, existing: ReadonlySet<string>, names: Naming): string {
  if (existing.has(name)) return name;
  if (existing.has(names.topic(name))) return names.topic(name);
  throw new TributaryError('TRB_UNKNOWN_TOPIC', `topic "${name}" does not exist${names.prefix ? ` (nor ${names.topic(name)})` : ''}`);
}

async function partitionFacts(admin: Admin, group: string, topics: readonly string[], only: number[] | undefined, target: ResetTarget): Promise<PartitionOffsets[]> {
  const committed = new Map<string, bigint>();
  for (const { topic, partitions } of await admin.fetchOffsets({ groupId: group, topics: [...topics] })) {
    for (const { partition, offset } of partitions) if (Number(offset) >= 0) committed.set(`${topic}/${partition}`, BigInt(offset));
  }
  const facts: PartitionOffsets[] = [];
  for (const topic of topics) {
    const offsets = await admin.fetchTopicOffsets(topic);
    const count = offsets.length;
    const chosen = only ?? offsets.map((o) => o.partition);
    const missing = chosen.filter((p) => p >= count);
    if (missing.length > 0) throw new UsageError(`--partitions: ${topic} has partitions 0-${count - 1}, not ${missing.join(',')}`);
    const atTime = new Map<number, bigint | null>();
    if (target.kind === 'datetime') {
      for (const { partition, offset } of await admin.fetchTopicOffsetsByTimestamp(topic, target.at.getTime())) {
        atTime.set(partition, Number(offset) < 0 ? null : BigInt(offset));
      }
    }
    for (const o of offsets.filter((o) => chosen.includes(o.partition))) {
      facts.push({
        topic,
        partition: o.partition,
        committed: committed.get(`${topic}/${o.partition}`) ?? null,
        low: BigInt(o.low),
        high: BigInt(o.high),
        ...(target.kind === 'datetime' ? { atTime: atTime.get(o.partition) ?? null } : {}),
      });
    }
  }
  return facts;
}

function renderPlan(group: string, rows: readonly ResetRow[]): string {
  const table = textTable(['topic', 'partition', 'current', 'target', 'replay', 'skip', 'note']);
  for (const row of rows) table.push([row.topic, String(row.partition), row.current ?? '-', row.target, String(row.replay), String(row.skip), row.note ?? '']);
  const replay = rows.reduce((sum, r) => sum + r.replay, 0);
  const skip = rows.reduce((sum, r) => sum + r.skip, 0);
  return `reset plan for group ${group}:\n${table.toString()}\n${rows.length} partitions: ${replay} records to read again, ${skip} to skip\n`;
}

async function resetOffsets(flags: ResetCliFlags): Promise<void> {
  const target = resetTargetOf(flags);
  const names = namingFromEnv(process.env, flags.topicPrefix);
  const topology = prefixTopology(loadTopologyOrThrow(flags.file), names);
  const { group, component } = resolveGroup(flags.group, topology);
  const connection = resolveConnection(process.env, { redis: false });
  const admin = createKafka(connection.brokers, 'tributary-offsets', {}, { security: connection.security }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    let topics: string[];
    if (flags.topic && flags.topic.length > 0) {
      topics = flags.topic.flatMap((t) => t.split(',')).map((t) => kafkaTopicOf(t.trim(), existing, names));
    } else {
      const committedOn = (await admin.fetchOffsets({ groupId: group })).filter((t) => t.partitions.some((p) => Number(p.offset) >= 0)).map((t) => t.topic);
      topics = [...new Set([...(component?.inputs ?? []), ...committedOn])].filter((t) => existing.has(t)).sort();
      if (topics.length === 0) throw new TributaryError('TRB_NOT_FOUND', `nothing to reset: group ${group} has no committed offsets${component ? ' and its input topics do not exist (apply the topology first)' : ': name the topic with --topic'}`);
    }
    const only = flags.partitions === undefined ? undefined : parsePartitions(flags.partitions);
    const rows = planReset(await partitionFacts(admin, group, topics, only, target), target);
    const members = await liveMembers(admin, group);
    const processorNote = component?.kind === 'processor' ? `${group} ${PROCESSOR_NOTE} ${component.name}\`.` : undefined;

    if (flags.format === 'json') {
      if (!flags.execute || members.length > 0) process.stdout.write(`${JSON.stringify({ group, execute: false, liveMembers: members, rows, ...(processorNote ? { note: processorNote } : {}) }, null, 2)}\n`);
    } else {
      process.stdout.write(renderPlan(group, rows));
      if (processorNote) process.stdout.write(`note: ${processorNote}\n`);
    }
    if (!flags.execute) {
      if (flags.format === 'table') {
        process.stdout.write(members.length > 0
          ? `nothing changed; the group has ${members.length} live member(s): stop them before --execute\n`
          : 'nothing changed: run again with --execute to apply this plan\n');
      }
      return;
    }
    refuseWhileLive(group, members, 'run the reset again');

    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const row of rows) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), { partition: row.partition, offset: row.target }]);
    for (const [topic, partitions] of byTopic) await admin.setOffsets({ groupId: group, topic, partitions });

    // Read the commits back: the plan is only done if Kafka holds it.
    const now = new Map<string, string>();
    for (const { topic, partitions } of await admin.fetchOffsets({ groupId: group, topics })) for (const p of partitions) now.set(`${topic}/${p.partition}`, p.offset);
    const differing = rows.filter((row) => now.get(`${row.topic}/${row.partition}`) !== row.target);
    if (differing.length > 0) {
      throw new TributaryError('TRB_GROUP_ACTIVE', `the reset did not hold for ${differing.map((r) => `${r.topic}/${r.partition}`).join(', ')}: a member joined meanwhile and committed; stop it and run the reset again`);
    }
    if (flags.format === 'json') process.stdout.write(`${JSON.stringify({ group, execute: true, liveMembers: [], rows, ...(processorNote ? { note: processorNote } : {}) }, null, 2)}\n`);
    else process.stdout.write(`reset ${rows.length} partitions of group ${group}; its next member starts from the targets\n`);
  } finally {
    await admin.disconnect();
  }
}

export function register(program: Command): void {
  const offsets = program.command('offsets').description("inspect and move a consumer group's committed offsets");
  offsets
    .command('reset')
    .description('move a consumer group\'s committed offsets: prints the plan (current → target, records to read again or skip) and changes nothing without --execute; refuses while the group has live members')
    .requiredOption('--group <group>', 'consumer group id (e.g. tributary.erp) or a component name (erp)')
    .option('--topic <topic...>', 'topic(s) to reset (default: every topic the group consumes)')
    .option('--partitions <list>', 'only these partitions, e.g. 0,2,4-5 (default: all)')
    .option('--to-earliest', 'to the log start: everything is read again')
    .option('--to-latest', 'to the end: everything not yet read is skipped')
    .option('--to-datetime <time>', 'to the first record at or after this time (ISO-8601 with a zone, e.g. 2026-11-20T10:00:00Z)')
    .option('--to-offset <offset>', 'to this offset (clamped to what the partition holds)')
    .option('--shift-by <n>', 'move by n records from the committed offset (negative = read again)')
    .option('--execute', 'apply the plan (the group must have no live members)')
    .addOption(new Option('--format <format>', 'output: a table for people, json for scripts').choices(['table', 'json']).default('table'))
    .addOption(new Option('-f, --file <path>', 'the topology file (default ./topology.yaml, else the shipped one)').env('TRIBUTARY_TOPOLOGY'))
    .addOption(topicPrefixOption())
    .addHelpText('after', `
Examples:
  tributary offsets reset --group erp --to-datetime 2026-11-20T10:00:00Z            # plan only
  tributary offsets reset --group tributary.erp --topic erp.commands --shift-by -100 --partitions 0,3 --execute`)
    .action((flags: ResetCliFlags) => resetOffsets(flags));
}
