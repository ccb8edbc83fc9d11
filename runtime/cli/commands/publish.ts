/**
 * `tributary publish <topic> [--file F | -] [--skip-invalid] [--format text|json]` (SPEC §9):
 * NDJSON of natural-JSON values to a source topic through the producer SDK.
 *
 * Every line is parsed, validated and encoded before anything is sent. Memory: only the encoded
 * events are kept (key, Avro bytes, headers: about 0.5 KB each, ~50 MB for 100k order lines),
 * never the text or the parsed objects, and the input is read once, so `-` (stdin) works too.
 * Any invalid line → each problem as `line N: path: reason` on stderr, nothing sent, exit 2;
 * with --skip-invalid the valid lines are sent and the skipped count reported.
 * Unknown topic → one line listing the source topics, exit 2. Missing Kafka topic → one line
 * saying to run `tributary topology apply`, exit 1.
 * Output: `sent N events to T (partitions 0-5) in 3.2 s, 31250 events/s` (or one JSON object).
 */
import { createReadStream } from 'node:fs';
import { Option, type Command } from 'commander';
import { createPublisher } from '../../../producers/sdk/publisher';
import { encodeEvent, publishableSchema, type EncodedEvent } from '../../../producers/sdk/encode';
import { formatLineProblem, numberedLines, parseLine, partitionRanges, type LineProblem } from '../../../producers/sdk/ndjson-lines';
import { stderrProgress } from '../../../producers/sdk/progress';
import { UnknownTopicError, UsageError, ValidationError } from '../../errors';
import { loadCatalogue } from '../../schemas/catalogue';

const EXIT_USAGE = 2;
const SHOWN_PROBLEMS = 50;

interface PublishCliOptions {
  file: string;
  skipInvalid?: boolean;
  format: 'text' | 'json';
  topicPrefix: string;
}

export function register(program: Command): void {
  program
    .command('publish')
    .description('publish NDJSON natural-JSON event values to a source topic, every line validated first')
    .argument('<topic>', 'catalogue topic, e.g. order.created')
    .argument('[input]', '- reads stdin (the default): the same as --file -')
    .option('-f, --file <file>', 'NDJSON input file, or - for stdin', '-')
    .option('--skip-invalid', 'send the valid lines and report how many were skipped (without it, one invalid line means nothing is sent)')
    .addOption(new Option('--format <format>', 'result output').choices(['text', 'json']).default('text'))
    .option('--topic-prefix <prefix>', 'publish to <prefix><topic> (subject <prefix><topic>-value), for isolated test or tenant topics', '')
    .addHelpText(
      'after',
      `
One JSON value per line; optional fields may be omitted, meta.occurredAt is epoch millis or ISO-8601.
Exit codes: 0 sent, 2 invalid input or unknown topic (nothing sent), 1 publish failed, 3 stack unreachable.
Examples: tributary publish order.created --file orders.ndjson
          generate-orders | tributary publish order.created -`,
    )
    .action(async (topic: string, input: string | undefined, options: PublishCliOptions) => {
      if (input !== undefined && input !== '-') throw new UsageError(`unexpected argument "${input}": give a file as --file ${input}, or - for stdin`);
      if (input === '-' && options.file !== '-') throw new UsageError('give the input once: --file F, or - for stdin');
      await publishCommand(topic, options);
    });
}

async function publishCommand(topic: string, options: PublishCliOptions): Promise<void> {
  const catalogue = loadCatalogue();
  let schema;
  try {
    schema = publishableSchema(catalogue, topic);
  } catch (error) {
    if (!(error instanceof UnknownTopicError)) throw error;
    process.stderr.write(`tributary: ${error.code}: ${error.message}\n`);
    process.exitCode = EXIT_USAGE;
    return;
  }
  const input = options.file === '-' ? process.stdin : createReadStream(options.file);
  const opened = new Promise<void>((resolve, reject) => {
    if (options.file === '-') return resolve();
    input.once('open', () => resolve());
    input.once('error', (error: Error) => reject(new UsageError(`--file ${options.file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? error.message}`)));
  });
  await opened;

  const progress = stderrProgress();
  const events: EncodedEvent[] = [];
  const problems: LineProblem[] = [];
  let invalidLines = 0;
  let lines = 0;
  for await (const numbered of numberedLines(input)) {
    lines++;
    const parsed = parseLine(numbered);
    let lineProblems = parsed.ok ? [] : parsed.problems;
    if (parsed.ok) {
      try {
        events.push(encodeEvent(catalogue, topic, parsed.value));
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        lineProblems = error.problems;
      }
    }
    if (lineProblems.length > 0) {
      invalidLines++;
      for (const p of lineProblems) problems.push({ line: numbered.line, ...p });
    }
    if ((lines & 1023) === 0) progress.update(`validated ${lines} lines (${invalidLines} invalid)`);
  }
  progress.done();

  if (invalidLines > 0) {
    reportProblems(problems);
    if (!options.skipInvalid) {
      const message = `nothing sent: ${invalidLines} of ${lines} lines invalid (fix them, or pass --skip-invalid to send the ${events.length} valid ones)`;
      if (options.format === 'json') {
        process.stdout.write(`${JSON.stringify({ topic, sent: 0, lines, invalidLines, problems: problems.slice(0, 1000) })}\n`);
      }
      process.stderr.write(`tributary: TRB_VALIDATION: ${message}\n`);
      process.exitCode = EXIT_USAGE;
      return;
    }
  }

  const publisher = createPublisher({ topicPrefix: options.topicPrefix, clientId: 'tributary-publish' });
  const started = performance.now();
  let summary;
  try {
    summary = await publisher.publishEncoded(events, {
      onProgress: (sent) => progress.update(`sent ${sent} of ${events.length} events (${Math.round((sent * 100) / Math.max(1, events.length))}%)`),
    });
  } finally {
    progress.done();
    await publisher.close().catch(() => undefined);
  }
  const seconds = (performance.now() - started) / 1000;
  const kafkaTopic = publisher.topicName(schema.topic as never);
  const partitions = summary.partitions[kafkaTopic] ?? [];
  const rate = seconds > 0 ? Math.round(summary.sent / seconds) : summary.sent;
  if (options.format === 'json') {
    process.stdout.write(
      `${JSON.stringify({ topic: kafkaTopic, sent: summary.sent, skipped: invalidLines, lines, partitions, seconds: Number(seconds.toFixed(3)), eventsPerSecond: rate })}\n`,
    );
  } else {
    const where = partitions.length > 0 ? ` (partition${partitions.length === 1 ? '' : 's'} ${partitionRanges(partitions)})` : '';
    const skipped = invalidLines > 0 ? `; skipped ${invalidLines} invalid line${invalidLines === 1 ? '' : 's'}` : '';
    process.stdout.write(`sent ${summary.sent} event${summary.sent === 1 ? '' : 's'} to ${kafkaTopic}${where} in ${seconds.toFixed(1)} s, ${rate} events/s${skipped}\n`);
  }
}

function reportProblems(problems: LineProblem[]): void {
  for (const problem of problems.slice(0, SHOWN_PROBLEMS)) process.stderr.write(`${formatLineProblem(problem)}\n`);
  if (problems.length > SHOWN_PROBLEMS) process.stderr.write(`... and ${problems.length - SHOWN_PROBLEMS} more problems\n`);
}
