/**
 * `tributary dev up | down [--purge] | status [--format table|json] | env`: the local stack of
 * SPEC §3 under TRIBUTARY_HOME. `up` returns once every part answers and leaves them running in
 * the background; progress goes to stderr, the addresses to stdout. `status` exits 3 when the
 * stack is not running (or a part does not answer); `env` prints one `export` line for `eval`.
 * Passwords in URLs are masked everywhere but in `env`, whose output exists to be evaluated.
 */
import { table as textTable } from '../table';
import { Option, type Command } from 'commander';
import { resolveConnection } from '../../config/connection';
import { redactUrl } from '../../config/redact';
import { tributaryHome, type StackRecord } from '../../config/home';
import { localStackStatus, startLocalStack, stopLocalStack, type LocalStackStatus, type StackPart } from '../../stack/local-stack';

const EXIT_UNAVAILABLE = 3;

const PART_NAMES: Record<StackPart, string> = { kafka: 'Kafka', registry: 'schema registry', redis: 'Redis' };
const PART_ENV: Record<StackPart, string> = { kafka: 'KAFKA_BROKERS', registry: 'SCHEMA_REGISTRY_URL', redis: 'REDIS_URL' };

function addressOf(record: StackRecord, part: StackPart): string {
  return part === 'kafka' ? record.kafka.brokers.join(',') : record[part].url;
}

/** Quote for POSIX shells only when needed, so the common case reads cleanly. */
function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

async function up(): Promise<void> {
  const home = tributaryHome();
  const startedAt = Date.now();
  const kept = new Set<StackPart>();
  const record = await startLocalStack({
    home,
    onProgress: (progress) => {
      if (progress.state === 'running' || progress.state === 'external') kept.add(progress.part);
      process.stderr.write(`  ${progress.message}\n`);
    },
  });
  const parts: StackPart[] = ['kafka', 'registry', 'redis'];
  const headline =
    kept.size === parts.length
      ? `local stack already running (since ${record.startedAt})`
      : `local stack ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
  const lines = parts.map((part) => {
    const pid = record[part].pid;
    const how = pid > 0 ? `pid ${pid}` : `from ${PART_ENV[part]}`;
    return `  ${PART_NAMES[part].padEnd(16)} ${redactUrl(addressOf(record, part)).padEnd(28)} (${how})`;
  });
  process.stdout.write(
    [
      headline,
      ...lines,
      `data and logs in ${record.home}`,
      'use it from other shells and tools: eval "$(tributary dev env)"; stop it: tributary dev down',
      '',
    ].join('\n'),
  );
}

async function down(options: { purge?: boolean }): Promise<void> {
  const home = tributaryHome();
  const report = await stopLocalStack(home, {
    purge: options.purge,
    onProgress: (message) => process.stderr.write(`  ${message}\n`),
  });
  const stopped = report.stopped.map(({ part, pid }) => `${PART_NAMES[part]} (pid ${pid})`);
  process.stdout.write(stopped.length > 0 ? `stopped ${stopped.join(', ')}\n` : `no local stack was running under ${home}\n`);
  if (report.purged) process.stdout.write(`deleted the local stack's data and logs in ${home}\n`);
  else if (options.purge) process.stdout.write(`nothing to purge: ${home} holds no local stack\n`);
}

function stateOf(part: LocalStackStatus['parts'][number]): string {
  const prefix = part.managed ? '' : `from ${PART_ENV[part.part]}, `;
  if (part.alive === false) return `${prefix}stopped`;
  return `${prefix}${part.ready ? 'ready' : 'not answering'}`;
}

async function status(options: { format: 'table' | 'json' }): Promise<void> {
  const home = tributaryHome();
  const report = await localStackStatus(home);
  if (!report.running) process.exitCode = EXIT_UNAVAILABLE;
  if (options.format === 'json') {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  if (!report.recorded) {
    process.stdout.write(`no local stack running under ${home}: start one with \`tributary dev up\`\n`);
    return;
  }
  const table = textTable(['part', 'address', 'pid', 'state']);
  for (const part of report.parts) {
    table.push([PART_NAMES[part.part], part.address, part.managed ? String(part.pid) : '-', stateOf(part)]);
  }
  const summary = report.running ? 'running' : 'NOT running (see the state column; `tributary dev up` restarts what is missing)';
  process.stdout.write(`local stack in ${home}: ${summary}\n${table.toString()}\n`);
}

function env(): void {
  const connection = resolveConnection();
  const pairs = [
    ['KAFKA_BROKERS', connection.brokers.join(',')],
    ['SCHEMA_REGISTRY_URL', connection.registryUrl],
    ['REDIS_URL', connection.redisUrl],
  ];
  process.stdout.write(`export ${pairs.map(([name, value]) => `${name}=${shellQuote(value!)}`).join(' ')}\n`);
}

export function register(program: Command): void {
  const dev = program
    .command('dev')
    .description('local stack without Docker: Kafka (KRaft, Apache jars), the embedded schema registry and Redis, under TRIBUTARY_HOME');

  dev
    .command('up')
    .description(
      'start the local stack in the background (parts given by KAFKA_BROKERS / SCHEMA_REGISTRY_URL / REDIS_URL are used, not started) and print its addresses',
    )
    .action(up);

  dev
    .command('down')
    .description('stop the local stack; its data stays for the next `dev up` unless --purge')
    .option('--purge', 'also delete its data and logs (topics, schemas, Redis keys)')
    .action(down);

  dev
    .command('status')
    .description('show each part of the local stack: address, pid, whether it answers (exit code 3 when not running)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(status);

  dev
    .command('env')
    .description('print `export KAFKA_BROKERS=… SCHEMA_REGISTRY_URL=… REDIS_URL=…` for eval "$(tributary dev env)"')
    .action(env);
}
