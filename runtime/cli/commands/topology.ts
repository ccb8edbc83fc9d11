/**
 * `tributary topology validate | apply [--dry-run] | graph [--format mermaid|dot]` (SPEC §9).
 * validate prints every problem as `file:line:col message` on stderr and exits 2; apply prints
 * the plan (table or JSON on stdout), refuses destructive changes with exit 1 having changed
 * nothing, and is idempotent; graph writes Mermaid or dot on stdout.
 */
import { Command, Option } from 'commander';
import { resolveConnection } from '../../config/connection';
import { TributaryError } from '../../errors';
import { loadCatalogue } from '../../schemas/catalogue';
import { namingFromEnv } from '../../processor/naming';
import { applyTopology, withApplyContext } from '../../topology/apply';
import { prefixTopology } from '../../topology/prefix';
import { renderGraph, type GraphFormat } from '../../topology/graph';
import { DEFAULT_TOPOLOGY_FILE, type Topology } from '../../topology/model';
import { isEmpty, type Plan } from '../../topology/plan';
import { renderPlanJson, renderPlanTable } from '../../topology/render-plan';
import { formatProblem, validateTopologyFile } from '../../topology/validate';

/** Same as EXIT.USAGE in main.ts: an invalid topology is the user's input to fix. */
const EXIT_INVALID = 2;

const fileOption = () =>
  new Option('-f, --file <path>', 'the topology file').default(DEFAULT_TOPOLOGY_FILE).env('TRIBUTARY_TOPOLOGY');

export function register(program: Command): void {
  const topology = program
    .command('topology')
    .description('validate, apply and draw topology.yaml (topics, schemas, processors, sinks)');

  topology
    .command('validate')
    .description('check the topology file: syntax, keys, types, topic names, references, schemas, co-partitioning; prints every problem as file:line:col')
    .addOption(fileOption())
    .action((options: { file: string }) => {
      const valid = loadOrReport(options.file);
      if (!valid) return;
      const dlqs = valid.deadLetters.length;
      process.stdout.write(
        `${valid.file} OK: ${valid.topics.length} topics (+${dlqs} dead-letter), ${valid.processors.length} processors, ${valid.sinks.length} sinks\n`,
      );
    });

  topology
    .command('apply')
    .description('create missing topics, add partitions, alter configs and register schemas so Kafka and the registry match the file; prints the plan first and refuses destructive changes (fewer partitions, replication changes, compaction of a delete topic, shorter retention, incompatible schemas)')
    .addOption(fileOption())
    .option('--dry-run', 'print the plan and change nothing', false)
    .addOption(new Option('--format <format>', 'plan output').choices(['table', 'json']).default('table'))
    .addOption(topicPrefixOption())
    .action(async (options: { file: string; dryRun: boolean; format: 'table' | 'json'; topicPrefix?: string }) => {
      const loaded = loadOrReport(options.file);
      if (!loaded) return;
      const valid = prefixTopology(loaded, namingFromEnv(process.env, options.topicPrefix));
      const connection = resolveConnection(process.env, { redis: false });
      const print = (plan: Plan) => {
        if (options.format === 'json') process.stdout.write(renderPlanJson(plan));
        else process.stdout.write(renderPlanTable(plan));
      };
      const { plan, applied } = await withApplyContext(connection, (context) =>
        applyTopology(valid, loadCatalogue(), context, { dryRun: options.dryRun, onPlan: print }),
      );
      // stdout carries the plan; the outcome goes to stderr so `--format json` stays parseable.
      if (applied) process.stderr.write(`applied ${plan.changes.length} change${plan.changes.length === 1 ? '' : 's'}\n`);
      else if (options.dryRun && !isEmpty(plan)) process.stderr.write('dry run: nothing was changed\n');
    });

  topology
    .command('graph')
    .description('draw the topology: topics, processors and sinks, stream and table edges')
    .addOption(fileOption())
    .addOption(new Option('--format <format>', 'graph language').choices(['mermaid', 'dot']).default('mermaid'))
    .option('--dead-letters', 'also draw the derived <input>.dlq topics', false)
    .action((options: { file: string; format: GraphFormat; deadLetters: boolean }) => {
      const valid = loadOrReport(options.file);
      if (!valid) return;
      process.stdout.write(renderGraph(valid, options.format, { deadLetters: options.deadLetters }));
    });
}

/** `--topic-prefix`: one deployment per prefix on a shared cluster (runtime/processor/naming.ts). */
export function topicPrefixOption(): Option {
  return new Option('--topic-prefix <prefix>', 'put this in front of every topic, consumer group and Redis key (one environment per prefix on a shared cluster)').env('TRIBUTARY_TOPIC_PREFIX');
}

/** The valid topology, or undefined after printing every problem and setting exit code 2. */
export function loadOrReport(file: string): Topology | undefined {
  try {
    return loadOrThrow(file);
  } catch (error) {
    if (!(error instanceof TributaryError) || error.code !== 'TRB_TOPOLOGY_INVALID') throw error;
    process.stderr.write(`tributary: ${error.code}: ${error.message}\n`);
    process.exitCode = EXIT_INVALID;
    return undefined;
  }
}

/**
 * The valid topology of a file, or each problem printed as `file:line:col message` and one
 * TRB_TOPOLOGY_INVALID error thrown, which the CLI prints as its one `tributary:` line (exit 2).
 */
export function loadOrThrow(file: string): Topology {
  const { topology, problems } = validateTopologyFile(file, { catalogue: loadCatalogue() });
  if (problems.length === 0) return topology;
  for (const problem of problems) process.stderr.write(`${formatProblem(topology.file, problem)}\n`);
  throw new TributaryError('TRB_TOPOLOGY_INVALID', `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${topology.file}`);
}
