/**
 * `tributary run <name>...` (SPEC §9): runs the chosen processors and/or the API in this process
 * until SIGINT/SIGTERM. Several processes running one name share its consumer group, so
 * starting a second `run atp` scales atp out and stopping it scales back in. On a signal the
 * batch in flight finishes, offsets are committed and the process exits within 10 s (SPEC §12).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { checkComponentNames, startComponents, type Components, type ComponentsOptions } from '../../app/components';
import { resolveConnection } from '../../config/connection';
import { UsageError } from '../../errors';
import { log } from '../../log';
import { namingFromEnv } from '../../processor/naming';
import { DEFAULT_TOPOLOGY_FILE, type Topology } from '../../topology/model';
import { loadOrThrow, topicPrefixOption } from './topology';

const STOP_DEADLINE_MS = 9_500;

/** The topology file: the one named, else ./topology.yaml, else the one shipped with tributary. */
export function topologyPath(file: string | undefined): string {
  if (file) return file;
  if (existsSync(DEFAULT_TOPOLOGY_FILE)) return DEFAULT_TOPOLOGY_FILE;
  return fileURLToPath(new URL('../../../topology.yaml', import.meta.url));
}

export function parsePort(value: string, what: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`${what} must be a port number 0-65535, got "${value}"`);
  return port;
}

/** The topology `run` and the operations commands use; problems are printed, then thrown as one TRB_TOPOLOGY_INVALID. */
export function loadTopologyOrThrow(file: string | undefined): Topology {
  return loadOrThrow(topologyPath(file));
}

/** Runs until a signal, then stops everything within the deadline. */
export async function runUntilSignal(start: () => Promise<Components>, describe: (c: Components) => string): Promise<void> {
  const components = await start();
  process.stderr.write(`${describe(components)}\n`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`${signal}: finishing the batches in flight and committing…\n`);
      const deadline = setTimeout(() => {
        process.stderr.write('tributary: stop deadline passed; exiting\n');
        process.exit(1);
      }, STOP_DEADLINE_MS);
      deadline.unref();
      components
        .stop()
        .catch((error: unknown) => log.error({ err: error }, 'error while stopping'))
        .finally(() => {
          clearTimeout(deadline);
          process.stderr.write('stopped\n');
          resolve();
        });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

export function commonRunOptions(command: Command): Command {
  return command
    .addOption(new Option('-f, --file <path>', 'the topology file (default ./topology.yaml, else the shipped one)').env('TRIBUTARY_TOPOLOGY'))
    .addOption(new Option('--port <port>', 'HTTP API port').env('PORT').default('8080'))
    .addOption(new Option('--host <address>', 'address the HTTP servers listen on (127.0.0.1 to keep them local)').env('HOST').default('0.0.0.0'))
    .addOption(new Option('--metrics-port <port>', 'port of /livez, /readyz and /metrics when the API is not run here (0 = any free port)').env('METRICS_PORT').default('9464'))
    .addOption(topicPrefixOption());
}

export interface RunFlags {
  file?: string;
  port: string;
  host: string;
  metricsPort: string;
  topicPrefix?: string;
}

export function componentsOptions(names: string[], flags: RunFlags, topology: Topology): ComponentsOptions {
  return {
    names,
    connection: resolveConnection(),
    topology,
    naming: namingFromEnv(process.env, flags.topicPrefix),
    log,
    port: parsePort(flags.port, '--port'),
    host: flags.host,
    metricsPort: parsePort(flags.metricsPort, '--metrics-port'),
    apiToken: process.env.API_TOKEN || undefined,
  };
}

export function describeRunning(components: Components, names: readonly string[]): string {
  const where = components.url ? ` — ${names.includes('api') ? 'API' : 'health and metrics'} on ${components.url}` : '';
  return `tributary: running ${names.join(', ')}${where} (Ctrl-C to stop)`;
}

export function register(program: Command): void {
  commonRunOptions(
    program
      .command('run')
      .description('run processors (orders, atp, customers), sinks (erp, crm) and/or the HTTP API (api) until Ctrl-C; instances of one name share its consumer group')
      .argument('<names...>', 'components to run: orders, atp, customers, erp, crm, api'),
  ).action(async (names: string[], flags: RunFlags) => {
    const topology = loadTopologyOrThrow(flags.file);
    checkComponentNames(names, topology);
    const options = componentsOptions(names, flags, topology);
    await runUntilSignal(() => startComponents(options), (c) => describeRunning(c, names));
  });
}
