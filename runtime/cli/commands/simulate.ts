/**
 * `tributary simulate [--rate N] [--events N | --duration S] [--seed K] [--out F]
 * [--invalid-rate R] [--duplicate-rate R]` (SPEC §9): the distributor simulator.
 *
 * With --out, writes the run instead of publishing it (needs --events or --duration; same seed
 * and options → byte-identical output): to the file F, a `{topic, key, value}` line per event, or,
 * when F is a directory (exists as one, or ends in /), to `F/<topic>.ndjson`, values only, each
 * ready for `tributary publish <topic> --file`. Otherwise publishes through the producer SDK,
 * paced at --rate events/s when given, else as fast as the broker takes them; --duration S stops
 * publishing after S seconds of wall-clock time (with --out: S seconds of simulated time); with
 * neither --events nor --duration it runs until Ctrl-C, then flushes what it handed over. Every
 * source topic must exist first: a missing one is a single line saying to run `tributary topology
 * apply`, before anything is sent. Progress goes to stderr; the per-topic summary (table, or one
 * JSON object) to stdout.
 */
import { statSync } from 'node:fs';
import { sep } from 'node:path';
import { Option, type Command } from 'commander';
import { table as textTable } from '../table';
import { createPublisher, type PublishRecord } from '../../../producers/sdk/publisher';
import { stderrProgress } from '../../../producers/sdk/progress';
import { paced, resolveOptions, scaledToEvents, simulate, simulateToDir, simulateToFile, SOURCE_TOPICS, type SimulateOptions, type SimEvent } from '../../../producers/simulator';
import { UsageError } from '../../errors';

/** setTimeout's limit (2^31 − 1 ms); a longer timer fires at once. */
const MAX_TIMER_MS = 2_147_483_647;

interface SimulateCliOptions {
  rate?: string;
  events?: string;
  duration?: string;
  seed: string;
  out?: string;
  invalidRate?: string;
  duplicateRate?: string;
  topicPrefix: string;
  format: 'table' | 'json';
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description('realistic, reproducible distributor traffic (CRM, ecommerce, EDI, ERP, WMS): publish it or write NDJSON files')
    .option('--rate <n>', 'publish at about N events per second (wall clock; default: as fast as possible)')
    .option('--events <n>', 'stop after N events')
    .option('--duration <s>', 'stop publishing after S seconds (with --out: S seconds of simulated time)')
    .option('--seed <k>', 'random seed: the same seed and options give the same events', '1')
    .option('--out <file>', 'write the events to a file ({topic,key,value} per line), or to <dir>/<topic>.ndjson when it is a directory, instead of publishing (needs --events or --duration)')
    .option('--invalid-rate <r>', 'share of order versions that break a business rule (0-1, default 0.005)')
    .option('--duplicate-rate <r>', 'chance that a retrying source re-sends an event (0-1, default 0)')
    .option('--topic-prefix <prefix>', 'publish to <prefix><topic>, for isolated test or tenant topics', '')
    .addOption(new Option('--format <format>', 'summary output').choices(['table', 'json']).default('table'))
    .addHelpText(
      'after',
      `
Examples:
  tributary simulate --events 10000 --seed 7 --out sim.ndjson   the same file every time
  tributary simulate --events 10000 --out ./sim/                one file per topic, for publish --file
  tributary simulate --rate 200 --duration 60                   a minute of live traffic
  tributary simulate --rate 200                                 live traffic until Ctrl-C
Topics must exist: run \`tributary topology apply\` first.`,
    )
    .action(async (options: SimulateCliOptions) => {
      await simulateCommand(options);
    });
}

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new UsageError(`--${name} ${value} is not a number`);
  return parsed;
}

function simulateOptions(options: SimulateCliOptions): SimulateOptions {
  const events = numberOption('events', options.events);
  const duration = numberOption('duration', options.duration);
  if (events !== undefined && duration !== undefined) throw new UsageError('give --events or --duration, not both');
  const seed = /^-?\d+$/.test(options.seed) ? Number(options.seed) : options.seed;
  return {
    seed,
    events,
    duration,
    invalidRate: numberOption('invalid-rate', options.invalidRate),
    duplicateRate: numberOption('duplicate-rate', options.duplicateRate),
  };
}

async function simulateCommand(options: SimulateCliOptions): Promise<void> {
  const simulation = simulateOptions(options);
  resolveOptions(simulation); // every option checked before anything is written or sent
  const rate = numberOption('rate', options.rate);
  if (rate !== undefined && !(rate > 0)) throw new UsageError(`--rate ${options.rate} must be above 0 events per second`);
  const started = performance.now();

  if (options.out !== undefined) {
    if (rate !== undefined) throw new UsageError('--rate paces publishing; it has no meaning with --out');
    const summary = isDirectory(options.out) ? simulateToDir(simulation, options.out) : simulateToFile(simulation, options.out);
    printSummary(options.format, summary.perTopic, summary.events, (performance.now() - started) / 1000, `wrote ${summary.events} events to ${options.out}`);
    return;
  }

  // Publishing, --duration is wall-clock: the simulation runs on and publishing stops at the deadline
  // (paced, the world is sized for the rate × duration events it will hold).
  const { duration, ...endless } = simulation;
  if (duration !== undefined && duration * 1000 > MAX_TIMER_MS) throw new UsageError(`--duration ${duration} is more than 24 days: leave it out to publish until Ctrl-C`);
  const events = simulate(duration === undefined ? simulation : { ...(rate === undefined ? {} : scaledToEvents(rate * duration)), ...endless });
  const publisher = createPublisher({ topicPrefix: options.topicPrefix, clientId: 'tributary-simulate' });
  const perTopic = Object.fromEntries(SOURCE_TOPICS.map((t) => [t, 0])) as Record<string, number>;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let deadline: NodeJS.Timeout | undefined;
  const progress = stderrProgress();
  let handed = 0;
  try {
    await publisher.ensureTopics(SOURCE_TOPICS);
    if (duration !== undefined) deadline = setTimeout(onSignal, duration * 1000);
    const source: AsyncIterable<SimEvent> = rate === undefined ? toAsync(events) : paced(events, rate, stop.signal);
    async function* records(): AsyncGenerator<PublishRecord> {
      for await (const event of source) {
        if (stop.signal.aborted) return;
        perTopic[event.topic]!++;
        handed++;
        yield { topic: event.topic, value: event.value } as PublishRecord;
      }
    }
    await publisher.publishMany(records(), {
      onProgress: (sent) => {
        const seconds = (performance.now() - started) / 1000;
        progress.update(`published ${sent} events, ${Math.round(sent / Math.max(seconds, 0.001))} events/s`);
      },
    });
  } finally {
    progress.done();
    clearTimeout(deadline);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await publisher.close().catch(() => undefined);
  }
  const sent = publisher.summary().sent;
  const prefix = options.topicPrefix ? ` (topics prefixed ${options.topicPrefix})` : '';
  printSummary(options.format, perTopic, sent, (performance.now() - started) / 1000, `published ${sent} of ${handed} events${prefix}`);
}

function isDirectory(path: string): boolean {
  if (path.endsWith('/') || path.endsWith(sep)) return true;
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

async function* toAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

function printSummary(format: 'table' | 'json', perTopic: Record<string, number>, events: number, seconds: number, headline: string): void {
  const rate = Math.round(events / Math.max(seconds, 0.001));
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify({ events, perTopic, seconds: Number(seconds.toFixed(3)), eventsPerSecond: rate })}\n`);
    return;
  }
  const table = textTable(['topic', 'events']);
  for (const topic of SOURCE_TOPICS) table.push([topic, String(perTopic[topic] ?? 0)]);
  process.stdout.write(`${table.toString()}\n${headline} in ${seconds.toFixed(1)} s, ${rate} events/s\n`);
}
