/**
 * `tributary dlq list | show <topic> | redrive <topic>` (SPEC §8, §9).
 *
 * list     every dead-letter topic of the deployment (the topology's `<input>.dlq`, under the
 *          topic prefix): records, pending (not re-driven yet), counts by tributary.error.code,
 *          first and last dead-letter time, source topic. Table or --format json.
 * show     `consume`'s options over one DLQ (`order.created.dlq` or `order.created`): each record
 *          with its error headers, the original key, headers and bytes (base64, with length) and
 *          the original value decoded where the registry can (else the decode error), and
 *          whether it was re-driven (runtime/ops/dlq-records.ts).
 * redrive  the plan (records per source topic and error code, and what is left alone); with
 *          --execute each selected record's original key, bytes and headers go back to its source
 *          topic (runtime/ops/dlq-redrive.ts). Progress is kept in the consumer group
 *          `<groupPrefix>dlq-redrive` (runtime/ops/dlq-progress.ts): a second run sends nothing
 *          already sent, records a --where passed over stay for later runs, and --all considers
 *          everything again. Records are sent in chunks, each committed once produced (acks=all,
 *          idempotent): a run killed between the two re-sends at most one chunk, which processors
 *          drop by eventId. One redrive at a time per deployment (TRB_GROUP_ACTIVE otherwise).
 *
 * Exit codes as consume's (./consume.ts).
 */
import { randomUUID } from 'node:crypto';
import { table as textTable } from '../table';
import { Option, type Command } from 'commander';
import kafkajs, { type Admin, type KafkaMessage, type Message, type Producer } from 'kafkajs';
import { fromDeadLetterMessage, type DeadLetter } from '../../dlq';
import { DecodeError, TributaryError } from '../../errors';
import { HEADER_LENGTH, MAGIC_BYTE } from '../../kafka/decode';
import { matchesAll, parseLimit, parseWhere, type Condition } from '../../ops/consume';
import { encodeProgress, fits, isRedriven, markSent, parseProgress, type Progress } from '../../ops/dlq-progress';
import { DlqCounter, DLQ_FALLBACKS, deadLetterView, type DeadLetterView, type DlqSummary, type OriginalDecoding } from '../../ops/dlq-records';
import { PlanBuilder, redriveMessage, renderPlanText, type RedrivePlan } from '../../ops/dlq-redrive';
import { readTopics, topicBounds, type PartitionRange, type ReadControl } from '../../ops/read-topics';
import { recordOutput, schemaColumns, streamWriter } from '../../ops/record-output';
import { loadCatalogue } from '../../schemas/catalogue';
import { dlqTopicOf, DLQ_SUFFIX } from '../../topology/model';
import { stderrProgress } from '../../../producers/sdk/progress';
import { addReadOptions, chooseRanges, printRecords, readContext, readRequest, tryDecode, warn, withAdmin, type ReadContext, type ReadFlags } from './consume';
import { topicPrefixOption } from './topology';

const { Partitioners } = kafkajs;

/** Records produced and committed together by `redrive --execute`. */
const CHUNK = 500;

const fileOption = () => new Option('-f, --file <path>', 'the topology file (default ./topology.yaml, else the shipped one)').env('TRIBUTARY_TOPOLOGY');

/** `order.created` or `order.created.dlq` → the logical DLQ name. */
function dlqName(typed: string): string {
  return typed.endsWith(DLQ_SUFFIX) ? typed : dlqTopicOf(typed);
}

function knownDlqs(context: ReadContext): string[] {
  return context.topology.deadLetters.map((t) => context.names.logical(t.name) ?? t.name);
}

function redriveGroup(context: ReadContext): string {
  return `${context.topology.groupPrefix}dlq-redrive`;
}

/** Re-drive progress of each partition of a DLQ, from the redrive group's commits. */
async function progressOf(admin: Admin, group: string, topic: string): Promise<Map<number, Progress>> {
  const fetched = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const progress = new Map<number, Progress>();
  for (const { partition, offset, metadata } of fetched.find((f) => f.topic === topic)?.partitions ?? []) {
    progress.set(partition, parseProgress(offset, metadata));
  }
  return progress;
}

/** The dead letter a record holds, or undefined for a record without our headers. */
function letterOf(message: KafkaMessage): DeadLetter | undefined {
  try {
    return fromDeadLetterMessage(message);
  } catch (error) {
    if (error instanceof DecodeError) return undefined;
    throw error;
  }
}

/** The original value decoded, or the reason it cannot be (registry down: thrown). */
async function decodeOriginal(context: ReadContext, letter: DeadLetter): Promise<OriginalDecoding> {
  const decoded = await tryDecode(context.decoder, letter.value, letter.topic);
  if (!('error' in decoded)) return decoded;
  // The id a framed value names, even when the registry does not know it.
  const framed = letter.value !== null && letter.value.length >= HEADER_LENGTH && letter.value[0] === MAGIC_BYTE;
  return { ...decoded, schemaId: framed ? (letter.value as Buffer).readInt32BE(1) : null };
}

async function viewOf(context: ReadContext, topic: string, partition: number, message: KafkaMessage, letter: DeadLetter, redriven: boolean): Promise<DeadLetterView> {
  return deadLetterView(topic, partition, message, letter, await decodeOriginal(context, letter), redriven);
}

// ---------------------------------------------------------------- list

async function listDlqs(context: ReadContext): Promise<(DlqSummary & { pending: number })[]> {
  const group = redriveGroup(context);
  const sourceOf = new Map(context.topology.deadLetters.map((t) => [t.name, t.deadLetterOf ?? t.name.slice(0, -DLQ_SUFFIX.length)]));
  const { targets, progress } = await withAdmin(context, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const targets: { topic: string; partitions: Map<number, PartitionRange> }[] = [];
    const progress = new Map<string, Map<number, Progress>>();
    for (const topic of [...sourceOf.keys()].filter((t) => existing.has(t)).sort()) {
      const bounds = await topicBounds(admin, topic, () => []);
      targets.push({ topic, partitions: new Map([...bounds].map(([p, b]) => [p, { start: b.low, end: b.high }])) });
      progress.set(topic, await progressOf(admin, group, topic));
    }
    return { targets, progress };
  });
  const counters = new Map(targets.map((t) => [t.topic, new DlqCounter(t.topic, sourceOf.get(t.topic) as string)]));
  await readTopics({
    kafka: context.kafka,
    groupId: `${context.topology.groupPrefix}consume.${randomUUID().slice(0, 8)}`,
    targets,
    follow: false,
    deleteGroup: true,
    onRecord: async (topic, partition, message) => {
      const done = progress.get(topic)?.get(partition);
      counters.get(topic)?.add(letterOf(message), done !== undefined && isRedriven(done, BigInt(message.offset)));
    },
  });
  return [...counters.values()].map((c) => c.result()).map((s) => ({ ...s, pending: s.records - s.redriven - s.notDeadLetters }));
}

function renderList(rows: readonly (DlqSummary & { pending: number })[], prefix: string): string {
  if (rows.length === 0) return `no dead-letter topics in Kafka${prefix ? ` under the prefix ${prefix}` : ''}: run \`tributary topology apply\`\n`;
  const table = textTable(['dlq', 'source topic', 'records', 'pending', 'by error code', 'first', 'last']);
  for (const row of rows) {
    const codes = Object.entries(row.byCode).map(([code, n]) => `${code} ${n}`);
    if (row.notDeadLetters > 0) codes.push(`(no dead-letter headers) ${row.notDeadLetters}`);
    table.push([row.topic, row.sourceTopic, String(row.records), String(row.pending), codes.join('\n') || '-', row.first ?? '-', row.last ?? '-']);
  }
  return `${table.toString()}\n`;
}

// ---------------------------------------------------------------- redrive

interface RedriveFlags {
  where?: string[];
  partition?: string[];
  limit?: string;
  all?: boolean;
  execute?: boolean;
  format: 'text' | 'json';
  file?: string;
  topicPrefix?: string;
}

interface Pending {
  partition: number;
  offset: bigint;
  topic: string;
  message: Message;
}

async function redrive(context: ReadContext, typed: string, flags: RedriveFlags): Promise<RedrivePlan> {
  const conditions: Condition[] = (flags.where ?? []).map(parseWhere);
  const limit = flags.limit === undefined ? undefined : parseLimit(flags.limit);
  const execute = flags.execute === true;
  const all = flags.all === true;
  const dlq = context.names.topic(dlqName(typed));
  const group = redriveGroup(context);
  const plan = new PlanBuilder(dlq, execute);

  const ranges = await chooseRanges(context, dlq, dlqName(typed), flags, { kind: 'beginning' }, () => knownDlqs(context));
  const { progress, existing } = await withAdmin(context, async (admin) => {
    if (execute) {
      const [described] = (await admin.describeGroups([group])).groups;
      if (described && described.members.length > 0) {
        throw new TributaryError('TRB_GROUP_ACTIVE', `another dlq redrive is running (consumer group ${group} has ${described.members.length} member${described.members.length === 1 ? '' : 's'}): wait for it to finish`);
      }
    }
    return { progress: await progressOf(admin, group, dlq), existing: new Set(await admin.listTopics()) };
  });
  // Records below `next` were re-driven: not read again unless --all.
  for (const [partition, range] of ranges) {
    const done = progress.get(partition) ?? { next: 0n, sent: [] };
    const next = done.next > range.start ? done.next : range.start;
    progress.set(partition, { ...done, next });
    if (all) continue;
    const start = next < range.end ? next : range.end;
    plan.alreadyRedriven(Number(start - range.start));
    ranges.set(partition, { start, end: range.end });
  }

  let producer: Producer | undefined;
  if (execute) {
    producer = context.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  }
  const progressLine = stderrProgress();
  const chunk: Pending[] = [];
  const committed = new Set<number>();
  const flush = async (control: ReadControl) => {
    if (chunk.length === 0 || !producer) return;
    const byTopic = new Map<string, Message[]>();
    for (const item of chunk) byTopic.set(item.topic, [...(byTopic.get(item.topic) ?? []), item.message]);
    await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    const touched = new Set(chunk.map((c) => c.partition));
    for (const partition of touched) committed.add(partition);
    await control.commit([...touched].map((partition) => ({ topic: dlq, partition, ...encodeProgress(progress.get(partition) as Progress) })));
    plan.sent(chunk.length);
    chunk.length = 0;
    progressLine.update(`re-drove ${plan.result().sent} records…`);
  };
  let selected = 0;
  try {
    await readTopics({
      kafka: context.kafka,
      // The plan reads in a throwaway group; --execute reads as the redrive group, to commit progress.
      groupId: execute ? group : `${context.topology.groupPrefix}consume.${randomUUID().slice(0, 8)}`,
      deleteGroup: !execute,
      targets: [{ topic: dlq, partitions: ranges }],
      follow: false,
      onRecord: async (_topic, partition, message, control) => {
        plan.considered();
        const offset = BigInt(message.offset);
        const done = progress.get(partition) as Progress;
        const before = isRedriven(done, offset);
        if (before && !all) {
          plan.alreadyRedriven();
          return true;
        }
        const letter = letterOf(message);
        if (!letter) {
          plan.notDeadLetter();
          return true;
        }
        if (conditions.length > 0 && !matchesAll(await viewOf(context, dlq, partition, message, letter, before), conditions, DLQ_FALLBACKS)) {
          plan.notMatching();
          return true;
        }
        if (!existing.has(letter.topic)) {
          plan.missingTopic(letter.topic);
          return true;
        }
        if (execute) {
          const after = markSent(done, [offset]);
          if (!fits(after)) {
            plan.stop(`the offsets re-driven one by one in ${dlq} partition ${partition} are too scattered to record in ${group} (Kafka bounds commit metadata): re-drive the records between them (without --where) first`);
            return false;
          }
          progress.set(partition, after);
          chunk.push({ partition, offset, ...redriveMessage(letter, dlq, partition, message.offset) });
          if (chunk.length >= CHUNK) await flush(control);
        }
        plan.select(letter.topic, letter.code);
        if (before) plan.again();
        selected++;
        return limit === undefined || selected < limit;
      },
      finish: flush,
    });
  } finally {
    progressLine.done();
    await producer?.disconnect();
  }
  if (execute) await checkRecorded(context, group, dlq, progress, committed);
  return plan.result();
}

/** The group holds the progress this run committed: a commit kafkajs dropped is said, not hidden. */
async function checkRecorded(context: ReadContext, group: string, dlq: string, progress: Map<number, Progress>, partitions: Iterable<number>): Promise<void> {
  const stored = await withAdmin(context, (admin) => progressOf(admin, group, dlq));
  for (const partition of partitions) {
    const want = encodeProgress(progress.get(partition) as Progress);
    const have = encodeProgress(stored.get(partition) ?? { next: 0n, sent: [] });
    if (want.offset !== have.offset || want.metadata !== have.metadata) {
      throw new TributaryError('TRB_KAFKA_UNAVAILABLE', `records were re-driven but the progress of ${dlq} partition ${partition} was not recorded in ${group}: a new run may send them again (processors drop repeats by eventId)`, { retriable: true });
    }
  }
}

function renderPlanTable(rows: string[][]): string {
  const table = textTable(['to topic', 'error code', 'records']);
  for (const row of rows) table.push(row);
  return table.toString();
}

// ---------------------------------------------------------------- register

export function register(program: Command): void {
  const dlq = program.command('dlq').description('inspect dead-letter topics (<topic>.dlq) and re-drive their records to the source topic');

  dlq
    .command('list')
    .description('every dead-letter topic of the deployment: records, pending (not re-driven), counts by error code, first and last time')
    .addOption(new Option('--format <format>', 'output: a table for people, json for scripts').choices(['table', 'json']).default('table'))
    .addOption(fileOption())
    .addOption(topicPrefixOption())
    .addHelpText('after', '\nExamples:\n  tributary dlq list\n  tributary dlq list --format json | jq \'.[] | select(.pending > 0)\'')
    .action(async (flags: { format: 'table' | 'json'; file?: string; topicPrefix?: string }) => {
      const context = readContext(flags, 'tributary-dlq');
      const rows = await listDlqs(context);
      process.stdout.write(flags.format === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : renderList(rows, context.names.prefix));
    });

  const show = dlq
    .command('show')
    .description('dead letters with their error headers, the original key, headers and bytes, and the original value decoded where possible')
    .argument('<topic>', 'the DLQ, e.g. order.created.dlq, or its source topic order.created');
  addReadOptions(show, 'dead letters')
    .addHelpText(
      'after',
      `
Each record: {"topic","partition","offset","timestamp","key",
  "error": {"code","message","processor","at","sourceTopic","sourcePartition","sourceOffset","sinkStatus"?,"sinkBody"?},
  "original": {"key","headers","valueLength","valueBase64","schemaId","value" | "decodeError"},
  "redriven"}.
--where paths that are not top-level fields look in error, then in original.value.

Examples:
  tributary dlq show order.created --limit 3
  tributary dlq show order.created.dlq --where code=TRB_UNKNOWN_SCHEMA --format csv > dead.csv
  tributary dlq show erp.commands --where sinkStatus=422 | jq .error.sinkBody`,
    )
    .action(async (typed: string, flags: ReadFlags) => {
      const request = readRequest(flags);
      const context = readContext(flags, 'tributary-dlq');
      const topic = context.names.topic(dlqName(typed));
      const ranges = await chooseRanges(context, topic, dlqName(typed), flags, request.from, () => knownDlqs(context));
      const progress = await withAdmin(context, (admin) => progressOf(admin, redriveGroup(context), topic));
      const source = loadCatalogue().get(dlqName(typed).slice(0, -DLQ_SUFFIX.length));
      const output = recordOutput({
        format: request.format,
        out: streamWriter(process.stdout),
        warn,
        follow: request.follow,
        seedColumns: source ? schemaColumns(source.type, 'original.value') : [],
      });
      let notDeadLetters = 0;
      await printRecords(context, topic, ranges, request, output, DLQ_FALLBACKS, async (partition, message) => {
        const letter = letterOf(message);
        if (!letter) {
          notDeadLetters++;
          warn(`tributary: skipped ${topic}/${partition}/${message.offset}: TRB_DECODE: the record has no dead-letter headers`);
          return undefined;
        }
        const done = progress.get(partition);
        return viewOf(context, topic, partition, message, letter, done !== undefined && isRedriven(done, BigInt(message.offset)));
      });
      if (notDeadLetters > 0) warn(`tributary: ${notDeadLetters} record${notDeadLetters === 1 ? '' : 's'} without dead-letter headers skipped`);
    });

  dlq
    .command('redrive')
    .description('send dead letters back to their source topic: prints the plan, sends only with --execute; never sends a record twice unless --all')
    .argument('<topic>', 'the DLQ, e.g. order.created.dlq, or its source topic order.created')
    .option('--where <field=value>', 'only dead letters where the field equals (=) or differs from (!=) the value (as in dlq show); repeatable', (v: string, p: string[] = []) => [...p, v])
    .option('-p, --partition <list>', 'only these DLQ partitions, e.g. 0,2 (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('-n, --limit <n>', 'at most this many records')
    .option('--all', 'consider records an earlier redrive already sent, too (they are sent again)')
    .option('--execute', 'send them (without it: print the plan and change nothing)')
    .addOption(new Option('--format <format>', 'plan output').choices(['text', 'json']).default('text'))
    .addOption(fileOption())
    .addOption(topicPrefixOption())
    .addHelpText(
      'after',
      `
Each record goes back with its original key, value bytes and headers, plus
tributary.redrive.from: <dlq>/<partition>/<offset>, keyed as before (same partition).
What was sent is remembered in the consumer group <groupPrefix>dlq-redrive: running the same
redrive again sends nothing new; records a --where left out stay for a later run.

Examples:
  tributary dlq redrive order.created                                 # the plan
  tributary dlq redrive order.created --where code=TRB_UNKNOWN_SCHEMA --execute
  tributary dlq redrive erp.commands.dlq --where sinkStatus=422 --limit 10 --execute

Exit codes: 0 done (or planned), 1 failed or unknown topic, 2 bad option, 3 Kafka or registry
unreachable or the progress not recorded.`,
    )
    .action(async (typed: string, flags: RedriveFlags) => {
      // Usage errors before connecting.
      (flags.where ?? []).forEach(parseWhere);
      if (flags.limit !== undefined) parseLimit(flags.limit);
      const context = readContext(flags, 'tributary-dlq-redrive');
      const plan = await redrive(context, typed, flags);
      process.stdout.write(flags.format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : renderPlanText(plan, renderPlanTable));
    });
}
