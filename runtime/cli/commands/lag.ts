/**
 * `tributary lag [--group G]` (SPEC §9): per consumer group, topic and partition the committed
 * offset, the end offset and the lag, plus a total per group. Without --group it shows this
 * deployment's groups: every group under the topology's group prefix that Kafka knows, and every
 * processor's and sink's group even if it never committed (it has consumed nothing yet, so its
 * lag is the whole topic). The short-lived `<group>.table.<id>` groups of table feeds never
 * commit and are left out.
 */
import { table as textTable } from '../table';
import { Option, type Command } from 'commander';
import type { Admin } from 'kafkajs';
import { resolveConnection } from '../../config/connection';
import { TributaryError } from '../../errors';
import { createKafka } from '../../kafka/client';
import { groupTotals, lagRows, type GroupOffsets, type LagRow } from '../../ops/lag';
import { namingFromEnv } from '../../processor/naming';
import type { Topology } from '../../topology/model';
import { prefixTopology } from '../../topology/prefix';
import { loadTopologyOrThrow } from './run';
import { topicPrefixOption } from './topology';

interface LagFlags {
  group?: string;
  format: 'table' | 'json';
  file?: string;
  topicPrefix?: string;
}

const TABLE_GROUP = /\.table\.[^.]+$/;

/** The input topics of each processor and sink group of the (prefixed) topology. */
function topologyGroups(topology: Topology): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  const add = (group: string, topics: string[]) => groups.set(group, [...(groups.get(group) ?? []), ...topics]);
  for (const processor of topology.processors) add(processor.group, processor.inputs);
  for (const sink of topology.sinks) add(sink.group, [sink.input]);
  return groups;
}

async function committedOffsets(admin: Admin, group: string, inputs: readonly string[]): Promise<GroupOffsets> {
  // Without `topics` the broker answers every topic the group committed on.
  const fetched = await admin.fetchOffsets({ groupId: group });
  const committed = new Map<string, Map<number, number>>();
  for (const { topic, partitions } of fetched) {
    const byPartition = new Map<number, number>();
    // -1 is the broker's "no committed offset" for a partition.
    for (const { partition, offset } of partitions) if (Number(offset) >= 0) byPartition.set(partition, Number(offset));
    if (byPartition.size > 0) committed.set(topic, byPartition);
  }
  return { group, topics: [...inputs, ...committed.keys()], committed };
}

async function endOffsets(admin: Admin, topics: Iterable<string>): Promise<Map<string, Map<number, number>>> {
  const existing = new Set(await admin.listTopics());
  const ends = new Map<string, Map<number, number>>();
  for (const topic of new Set(topics)) {
    if (!existing.has(topic)) continue;
    const offsets = await admin.fetchTopicOffsets(topic);
    ends.set(topic, new Map(offsets.map((p) => [p.partition, Number(p.high)])));
  }
  return ends;
}

export async function collectLag(admin: Admin, topology: Topology, only: string | undefined): Promise<LagRow[]> {
  const declared = topologyGroups(topology);
  const { groups: listed } = await admin.listGroups();
  const ours = new Set(
    listed.map((g) => g.groupId).filter((id) => id.startsWith(topology.groupPrefix) && !TABLE_GROUP.test(id)),
  );
  for (const group of declared.keys()) ours.add(group);

  let chosen = [...ours];
  if (only !== undefined) {
    if (!ours.has(only) && !listed.some((g) => g.groupId === only)) {
      const known = [...ours].sort().join(', ') || 'none';
      throw new TributaryError('TRB_NOT_FOUND', `no such consumer group "${only}" (known: ${known})`);
    }
    chosen = [only];
  }

  const groups: GroupOffsets[] = [];
  for (const group of chosen) groups.push(await committedOffsets(admin, group, declared.get(group) ?? []));
  const ends = await endOffsets(admin, groups.flatMap((g) => g.topics));
  return lagRows(groups, ends);
}

export function renderLagTable(rows: readonly LagRow[]): string {
  if (rows.length === 0) return 'no consumer group offsets to show (no group has input topics in Kafka yet)\n';
  const table = textTable(['group', 'topic', 'partition', 'committed', 'end', 'lag']);
  const totals = new Map(groupTotals(rows).map((t) => [t.group, t.lag]));
  rows.forEach((row, index) => {
    table.push([row.group, row.topic, String(row.partition), row.committed === null ? '-' : String(row.committed), String(row.end), String(row.lag)]);
    // The total closes each group's rows (rows come sorted by group).
    if (rows[index + 1]?.group !== row.group) table.push([row.group, '(total)', '', '', '', String(totals.get(row.group))]);
  });
  return `${table.toString()}\n`;
}

export function register(program: Command): void {
  program
    .command('lag')
    .description('consumer lag per group, topic and partition (committed offset, end offset, lag) and per group; "-" = never committed')
    .option('--group <group>', 'only this consumer group (default: every group under the topology\'s group prefix)')
    .addOption(new Option('--format <format>', 'output: a table for people, json for scripts').choices(['table', 'json']).default('table'))
    .addOption(new Option('-f, --file <path>', 'the topology file (default ./topology.yaml, else the shipped one)').env('TRIBUTARY_TOPOLOGY'))
    .addOption(topicPrefixOption())
    .action(async (flags: LagFlags) => {
      const topology = prefixTopology(loadTopologyOrThrow(flags.file), namingFromEnv(process.env, flags.topicPrefix));
      const connection = resolveConnection(process.env, { redis: false });
      const admin = createKafka(connection.brokers, 'tributary-lag', {}, { security: connection.security }).admin();
      await admin.connect();
      try {
        const rows = await collectLag(admin, topology, flags.group);
        if (flags.format === 'json') process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else process.stdout.write(renderLagTable(rows));
      } finally {
        await admin.disconnect();
      }
    });
}
