/**
 * `tributary bench [--quick] [--events N] [--only S,…] [--profile] …` (issue 7): the benchmark
 * suite of bench/ on the local stack (or the one KAFKA_BROKERS, SCHEMA_REGISTRY_URL and
 * REDIS_URL name): ceiling, pipeline throughput, rebuild, API latency, sink delivery and
 * freshness, each against its floor and target, with the view checked against the reference fold.
 * Prints the table on stdout (progress on stderr) and writes the JSON (`--out`). Exit 1 when a
 * check failed (a view that differs from the fold, API errors): the figures are printed first.
 * The suite is loaded only when the command runs, so other commands do not pay for it.
 */
import type { Command } from 'commander';
import { DEFAULT_OUT, FULL, QUICK, SCENARIOS, type BenchFlags } from '../../../bench/options';

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark the pipeline, rebuild, API, sinks and freshness on the local stack; prints a table and writes JSON')
    .option('--quick', `small sizes for a smoke run (${QUICK.events.toLocaleString('en-US')} events, ${QUICK.freshnessSeconds} s freshness at ${QUICK.freshnessRate} events/s)`, false)
    .option('--events <n>', `source events published for the pipeline, ceiling and rebuild (default ${FULL.events.toLocaleString('en-US')})`)
    .option('--seed <k>', 'simulator seed (default 7)')
    .option('--freshness-rate <n>', `events/s published while freshness is measured (default ${FULL.freshnessRate})`)
    .option('--freshness-seconds <s>', `seconds freshness is measured (default ${FULL.freshnessSeconds})`)
    .option('--api-rate <n>', `API requests/s (default ${FULL.apiRate})`)
    .option('--api-seconds <s>', `seconds of API load per route (default ${FULL.apiSeconds})`)
    .option('--sink-commands <n>', `commands the erp sink delivers (default ${FULL.sinkCommands.toLocaleString('en-US')})`)
    .option('--only <scenarios>', `run only these, comma-separated: ${SCENARIOS.join(', ')}`)
    .option('--profile', 'write V8 CPU profiles of the tributary processes under bench/results/profiles', false)
    .option('--out <file>', 'the JSON results', DEFAULT_OUT)
    .action(async (flags: BenchFlags) => {
      const { runBenchCommand } = await import('../../../bench/bench');
      await runBenchCommand(flags);
    });
}
