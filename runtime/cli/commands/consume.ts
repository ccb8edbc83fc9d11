/**
 * `tributary consume <topic>` (SPEC §9): decoded records of a topic with their key, partition,
 * offset, timestamp (ISO-8601 UTC), headers and schema id, as ndjson (the default), a JSON array
 * or CSV (runtime/ops/record-output.ts), for `jq` and spreadsheets.
 *
 * Reads without committing, in a throwaway group `<groupPrefix>consume.<random>` deleted on exit,
 * `read_committed`. Starts at the beginning (as kcat and rpk do) unless `--from` says otherwise
 * (runtime/ops/consume.ts has the shapes). Without --follow it stops at the end offsets taken at
 * start, or after --limit printed records, and exits 0; with --follow it runs until Ctrl-C or
 * SIGTERM and exits 0. A record that cannot be decoded (what a processor would dead-letter) is
 * one line on stderr naming topic/partition/offset and its TRB_ code, skipped, and counted in a
 * last stderr line; a registry that is down is an error (exit 3), not a skip.
 *
 * The topic is a logical name: the topic prefix (--topic-prefix / TRIBUTARY_TOPIC_PREFIX) is put
 * in front. Exit codes: 0 read, 1 failed or unknown topic (TRB_UNKNOWN_TOPIC), 2 usage (bad
 * --from, --where, --partition, --limit, --format), 3 broker or registry unreachable.
 *
 * The option set and the read loop are shared with `dlq show` (./dlq.ts).
 */
import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import type { Admin, Kafka, KafkaMessage } from 'kafkajs';
import { resolveConnection, type Connection } from '../../config/connection';
import { classifyForDeadLetter } from '../../dlq';
import { UsageError } from '../../errors';
import { createKafka } from '../../kafka/client';
import { createDecoder, type Decoder } from '../../kafka/decode';
import { CONSUME_FALLBACKS, consumedRecord, matchesAll, parseFrom, parseLimit, parsePartitions, parseWhere, type Condition, type FromSpec } from '../../ops/consume';
import { rangesFrom, readTopics, topicBounds, type PartitionRange } from '../../ops/read-topics';
import { OUTPUT_FORMATS, recordOutput, schemaColumns, streamWriter, type OutputFormat, type RecordOutput } from '../../ops/record-output';
import { namingFromEnv, type Naming } from '../../processor/naming';
import { loadCatalogue } from '../../schemas/catalogue';
import type { Topology } from '../../topology/model';
import { prefixTopology } from '../../topology/prefix';
import { loadTopologyOrThrow } from './run';
import { topicPrefixOption } from './topology';

export interface ReadFlags {
  from?: string;
  fromBeginning?: boolean;
  partition?: string[];
  limit?: string;
  where?: string[];
  format: OutputFormat;
  follow?: boolean;
  file?: string;
  topicPrefix?: string;
}

/** What the flags mean, checked before anything connects (usage errors exit 2 without a stack). */
export interface ReadRequest {
  from: FromSpec;
  conditions: Condition[];
  limit: number | undefined;
  format: OutputFormat;
  follow: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The options `consume` and `dlq show` share. */
export function addReadOptions(command: Command, what: string): Command {
  return command
    .option('--from <where>', 'where to start in each partition: beginning (default), end, an offset N, -N (the last N), @2026-11-20T10:00:00Z, @<epoch ms>, @-1h')
    .option('--from-beginning', 'start at the beginning (the default; kafka-console-consumer spelling)')
    .option('-p, --partition <list>', 'only these partitions, e.g. 0,2 (repeatable)', collect)
    .option('-n, --limit <n>', `stop after printing this many ${what}`)
    .option('--where <field=value>', `only ${what} where the field (dotted path, e.g. lines.sku) equals (=) or differs from (!=) the value; repeatable, all must hold`, collect)
    .addOption(new Option('--format <format>', 'output: ndjson (one JSON object per line), json (an array) or csv (header row, nested fields as dotted columns)').choices([...OUTPUT_FORMATS]).default('ndjson'))
    .option('--follow', 'keep reading new records until Ctrl-C (without it: stop at the end offsets seen at start)')
    .addOption(new Option('-f, --file <path>', 'the topology file (default ./topology.yaml, else the shipped one)').env('TRIBUTARY_TOPOLOGY'))
    .addOption(topicPrefixOption());
}

export function readRequest(flags: ReadFlags): ReadRequest {
  if (flags.fromBeginning && flags.from !== undefined && parseFrom(flags.from).kind !== 'beginning') {
    throw new UsageError(`--from-beginning and --from ${flags.from} disagree: give one of them`);
  }
  return {
    from: flags.from === undefined ? { kind: 'beginning' } : parseFrom(flags.from),
    conditions: (flags.where ?? []).map(parseWhere),
    limit: flags.limit === undefined ? undefined : parseLimit(flags.limit),
    format: flags.format,
    follow: flags.follow === true,
  };
}

export interface ReadContext {
  names: Naming;
  topology: Topology;
  connection: Connection;
  kafka: Kafka;
  decoder: Decoder;
}

export function readContext(flags: Pick<ReadFlags, 'file' | 'topicPrefix'>, clientId: string): ReadContext {
  const names = namingFromEnv(process.env, flags.topicPrefix);
  const topology = prefixTopology(loadTopologyOrThrow(flags.file), names);
  const connection = resolveConnection(process.env, { redis: false });
  const kafka = createKafka(connection.brokers, clientId, {}, { security: connection.security });
  const decoder = createDecoder({ registryUrl: connection.registryUrl, catalogueTopic: (t) => names.logical(t) });
  return { names, topology, connection, kafka, decoder };
}

/** Logical names the user could have meant, for an unknown-topic error. */
export function knownTopics(topology: Topology, names: Naming): string[] {
  return topology.topics.map((t) => names.logical(t.name) ?? t.name);
}

/** The ranges to read of the chosen partitions of `topic` (typed as `typed`), which must exist. */
export async function chooseRanges(
  context: ReadContext,
  topic: string,
  typed: string,
  flags: Pick<ReadFlags, 'partition'>,
  from: FromSpec,
  known: () => readonly string[],
): Promise<Map<number, PartitionRange>> {
  return withAdmin(context, async (admin) => {
    const bounds = await topicBounds(admin, topic, known, typed);
    const all = [...bounds.keys()].sort((a, b) => a - b);
    const partitions = flags.partition ? parsePartitions(flags.partition, all) : all;
    return rangesFrom(admin, topic, bounds, partitions, from);
  });
}

export async function withAdmin<T>(context: ReadContext, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = context.kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Ctrl-C / SIGTERM end the read cleanly; a second one exits at once. */
export function stopOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

export function warn(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * A record's value decoded, or why it cannot be (what a processor would dead-letter: the code and
 * message). Anything else (the registry down) is thrown.
 */
export async function tryDecode(decoder: Decoder, value: Buffer | null, decodeAs: string): Promise<{ schemaId: number; value: unknown } | { error: { code: string; message: string } }> {
  try {
    return await decoder.decode(value, decodeAs);
  } catch (error) {
    const verdict = classifyForDeadLetter(error);
    if ('retry' in verdict) throw error;
    return { error: { code: verdict.code, message: error instanceof Error ? error.message : String(error) } };
  }
}

/** The decoded value, or undefined after one stderr line saying where and why it cannot be decoded. */
export async function decodeOrReport(decoder: Decoder, value: Buffer | null, decodeAs: string, where: string): Promise<{ schemaId: number; value: unknown } | undefined> {
  const decoded = await tryDecode(decoder, value, decodeAs);
  if (!('error' in decoded)) return decoded;
  warn(`tributary: skipped ${where}: ${decoded.error.code}: ${decoded.error.message}`);
  return undefined;
}

/** Prints the records `shape` makes of a read, filtered and limited; returns [printed, skipped]. */
export async function printRecords(
  context: ReadContext,
  topic: string,
  ranges: Map<number, PartitionRange>,
  request: ReadRequest,
  output: RecordOutput,
  fallbacks: readonly string[],
  shape: (partition: number, message: KafkaMessage) => Promise<Record<string, unknown> | undefined>,
): Promise<{ printed: number; skipped: number }> {
  let printed = 0;
  let skipped = 0;
  const stop = stopOnSignals();
  try {
    await readTopics({
      kafka: context.kafka,
      groupId: `${context.topology.groupPrefix}consume.${randomUUID().slice(0, 8)}`,
      targets: [{ topic, partitions: ranges }],
      follow: request.follow,
      signal: stop.signal,
      deleteGroup: true,
      onRecord: async (_topic, partition, message) => {
        const record = await shape(partition, message);
        if (record === undefined) {
          skipped++;
          return true;
        }
        if (!matchesAll(record, request.conditions, fallbacks)) return true;
        await output.write(record);
        printed++;
        return request.limit === undefined || printed < request.limit;
      },
    });
  } finally {
    stop.dispose();
  }
  await output.end();
  return { printed, skipped };
}

export function register(program: Command): void {
  const command = program
    .command('consume')
    .description('print decoded records of a topic (key, partition, offset, timestamp, headers, schema id, value) as ndjson, json or csv')
    .argument('<topic>', 'the topic, e.g. order.created (the topic prefix is put in front)');
  addReadOptions(command, 'records')
    .addHelpText(
      'after',
      `
Each record: {"topic","partition","offset","timestamp" (ISO-8601 UTC),"key","headers","schemaId","value"}.
Reads read_committed and commits nothing. Without --follow it stops at the end offsets it saw at
start. A record that cannot be decoded is reported on stderr and skipped.
--where paths start at the record ("partition=3", "headers.ce_type=...") or else inside value
("lines.sku=SKU-1": any line; "lines.0.sku=...": the first); values compare as text.

Examples:
  tributary consume order.created --limit 5
  tributary consume order.created --from @-1h --where customerId=C-000781 | jq .value.lines
  tributary consume atp.changed --partition 0,3 --from -10
  tributary consume order.created --format csv > orders.csv
  tributary consume order.status --from end --follow

Exit codes: 0 read, 1 failed or unknown topic, 2 bad option, 3 Kafka or registry unreachable.`,
    )
    .action(async (topic: string, flags: ReadFlags) => {
      const request = readRequest(flags);
      const context = readContext(flags, 'tributary-consume');
      const kafkaTopic = context.names.topic(topic);
      const ranges = await chooseRanges(context, kafkaTopic, topic, flags, request.from, () => knownTopics(context.topology, context.names));
      const schema = loadCatalogue().get(context.names.logical(kafkaTopic) ?? kafkaTopic);
      const output = recordOutput({
        format: request.format,
        out: streamWriter(process.stdout),
        warn,
        follow: request.follow,
        seedColumns: schema ? schemaColumns(schema.type, 'value') : [],
      });
      const { skipped } = await printRecords(context, kafkaTopic, ranges, request, output, CONSUME_FALLBACKS, async (partition, message) => {
        const where = `${kafkaTopic}/${partition}/${message.offset}`;
        const decoded = await decodeOrReport(context.decoder, message.value, kafkaTopic, where);
        return decoded && consumedRecord(kafkaTopic, partition, message, decoded);
      });
      if (skipped > 0) warn(`tributary: ${skipped} record${skipped === 1 ? '' : 's'} could not be decoded and ${skipped === 1 ? 'was' : 'were'} skipped`);
    });
}
