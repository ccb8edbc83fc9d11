/**
 * The `tributary` command line. Each command group lives in `commands/<group>.ts` and exports
 * `register(program)`; this file only wires them and turns errors into one line and an exit code.
 *
 * Exit codes: 0 ok, 1 operation failed, 2 usage or configuration error, 3 infrastructure
 * unavailable (stack not running, broker/registry unreachable).
 */
import { Command, CommanderError } from 'commander';
import kafkajs from 'kafkajs';
import { TributaryError } from '../errors';
import { silenceClientLogs } from '../kafka/client';
import { checkLogLevel } from '../log';
import { register as registerBench } from './commands/bench';
import { register as registerConsume } from './commands/consume';
import { register as registerDev } from './commands/dev';
import { register as registerDlq } from './commands/dlq';
import { register as registerLag } from './commands/lag';
import { register as registerOffsets } from './commands/offsets';
import { register as registerPublish } from './commands/publish';
import { register as registerRebuild } from './commands/rebuild';
import { register as registerRegistry } from './commands/registry';
import { register as registerRun } from './commands/run';
import { register as registerSchemas } from './commands/schemas';
import { register as registerUp } from './commands/up';
import { register as registerSimulate } from './commands/simulate';
import { register as registerTopology } from './commands/topology';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2, UNAVAILABLE: 3 } as const;

export function buildProgram(): Command {
  const program = new Command('tributary')
    .description('Event-streaming backbone for distributors: domain events on Kafka, available-to-promise, ERP/CRM commands')
    .version(process.env.npm_package_version ?? '0.1.0')
    // commander's own usage errors read like every other error: one `tributary: TRB_USAGE:` line,
    // the pointer to --help on the same line (SPEC §9: errors are one line).
    .configureOutput({ outputError: (text, write) => write(`${text.replace(/^error: /, 'tributary: TRB_USAGE: ').trimEnd().replace(/\s*\n\s*/g, ' ').replace(/\.$/, '')} (see --help)\n`) })
    .exitOverride();
  registerDev(program);
  registerTopology(program);
  registerRegistry(program);
  registerPublish(program);
  registerSimulate(program);
  registerUp(program);
  registerRun(program);
  registerLag(program);
  registerOffsets(program);
  registerRebuild(program);
  registerConsume(program);
  registerDlq(program);
  registerSchemas(program);
  registerBench(program);
  return program;
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof TributaryError) {
    if (error.code === 'TRB_USAGE' || error.code === 'TRB_CONFIG' || error.code === 'TRB_TOPOLOGY_INVALID') return EXIT.USAGE;
    if (error.retriable || error.code === 'TRB_STACK_NOT_RUNNING') return EXIT.UNAVAILABLE;
    return EXIT.FAILED;
  }
  return EXIT.FAILED;
}

const SASL_REFUSALS = ['UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE', 'SASL_AUTHENTICATION_FAILED'];

/** kafkajs errors reach the CLI untyped; give the unreachable-broker and refused-login cases their codes and advice. */
function fromKafka(error: unknown): unknown {
  // kafkajs is CommonJS and builds its exports by spreading, which ESM named imports cannot see.
  const { KafkaJSConnectionError, KafkaJSError, KafkaJSNumberOfRetriesExceeded, KafkaJSSASLAuthenticationError } = kafkajs;
  if (!(error instanceof KafkaJSError)) return error;
  // Wrong credentials or mechanism, or SASL against a listener that does not speak it: the user's settings.
  if (error instanceof KafkaJSSASLAuthenticationError || SASL_REFUSALS.includes((error as { type?: string }).type ?? '')) {
    return new TributaryError(
      'TRB_CONFIG',
      `Kafka refused the SASL authentication (${error.message}): check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SSL against the broker's listener`,
      { cause: error },
    );
  }
  const unreachable =
    error instanceof KafkaJSConnectionError || error instanceof KafkaJSNumberOfRetriesExceeded || error.retriable;
  if (!unreachable) return error;
  return new TributaryError(
    'TRB_KAFKA_UNAVAILABLE',
    `cannot reach Kafka (${error.message}): check KAFKA_BROKERS or start the local stack with \`tributary dev up\``,
    { retriable: true, cause: error },
  );
}

/** Commands that run until stopped keep kafkajs' warnings in their logs; the others print one line. */
const LONG_RUNNING = new Set(['registry', 'up', 'run']);

export async function main(argv: string[]): Promise<void> {
  // `tributary ... | head` closes stdout early: that is the reader's choice, not an error. A read
  // in progress (consume, dlq show) stops as on Ctrl-C, so its throwaway consumer group is
  // deleted, then the command exits 0; anything else exits 0 at once.
  let readerGone = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    if (readerGone || process.listenerCount('SIGTERM') === 0) process.exit(0);
    readerGone = true;
    process.emit('SIGTERM');
    setTimeout(() => process.exit(0), 5_000).unref();
  });
  const program = buildProgram();
  if (!LONG_RUNNING.has(argv[2] ?? '')) silenceClientLogs();
  try {
    checkLogLevel();
    await program.parseAsync(argv);
  } catch (caught) {
    let error = caught;
    if (error instanceof CommanderError) {
      // commander already printed help or the usage error.
      process.exitCode = error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    error = fromKafka(error);
    const message = error instanceof Error ? error.message : String(error);
    const code = error instanceof TributaryError ? `${error.code}: ` : '';
    process.stderr.write(`tributary: ${code}${message}\n`);
    if (process.env.LOG_LEVEL === 'debug' && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = exitCodeFor(error);
    // The error is said; a client still closing (a kafkajs consumer caught mid-join) must not
    // keep the process alive. Unref'd: a process that drains by itself exits at once.
    setTimeout(() => process.exit(), 500).unref();
  }
}
