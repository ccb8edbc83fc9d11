/**
 * `tributary registry serve`: the embedded Confluent-compatible schema registry (SPEC §3).
 * Prints exactly one line, `registry listening on http://HOST:PORT`, on stdout once it has read
 * the schemas topic and answers requests; the local stack polls `GET /subjects` after that.
 * Stops cleanly on SIGTERM/SIGINT. Exits 3 with one line on stderr if it cannot read the topic
 * within --read-timeout, or later if its topic reader stops for good (its state would be stale).
 */
import type { Command } from 'commander';
import { ConfigError, UsageError } from '../../errors';
import { parseBrokers, resolveConnection } from '../../config/connection';
import { log } from '../../log';
import { DEFAULT_READ_TIMEOUT_MS, DEFAULT_SCHEMAS_TOPIC } from '../../registry/kafka-log';
import { startRegistry } from '../../registry/server';

function brokersFromEnvOrStack(): string[] {
  if (process.env.KAFKA_BROKERS) return parseBrokers(process.env.KAFKA_BROKERS);
  // The registry itself needs only Kafka; the stack record supplies it when the env does not.
  return resolveConnection({ ...process.env, SCHEMA_REGISTRY_URL: 'http://unused', REDIS_URL: 'redis://unused' }).brokers;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${value} is not a port number (0-65535)`);
  return port;
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--read-timeout ${value} is not a positive number of seconds`);
  return seconds;
}

export function register(program: Command): void {
  const registry = program.command('registry').description('the embedded Confluent-compatible schema registry');
  registry
    .command('serve')
    .description('serve the Confluent Schema Registry API (AVRO) backed by a compacted Kafka topic')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 picks a free one)', '8081')
    .option('--topic <topic>', 'compacted topic that stores schemas and config', DEFAULT_SCHEMAS_TOPIC)
    .option('--read-timeout <seconds>', 'how long start-up may take to read the topic', String(DEFAULT_READ_TIMEOUT_MS / 1000))
    .addHelpText('after', '\nKafka comes from KAFKA_BROKERS, else from the local stack recorded by `tributary dev up`.')
    .action(async (options: { host: string; port: string; topic: string; readTimeout: string }) => {
      const port = parsePort(options.port);
      const readTimeoutMs = parseSeconds(options.readTimeout) * 1000;
      if (!options.topic) throw new ConfigError('--topic is empty: name the compacted schemas topic');
      let fatal: (error: Error) => void = () => undefined;
      const running = await startRegistry({
        brokers: brokersFromEnvOrStack(),
        host: options.host,
        port,
        topic: options.topic,
        readTimeoutMs,
        onFatal: (error) => fatal(error),
      });
      process.stdout.write(`registry listening on ${running.url}\n`);
      await new Promise<void>((resolve, reject) => {
        // A stale registry must not keep answering: stop, and let main print the error and exit 3.
        fatal = (error) => void running.close().finally(() => reject(error));
        const stop = (signal: NodeJS.Signals) => {
          log.info({ signal }, 'registry stopping');
          running.close().then(resolve, (error: unknown) => {
            log.error({ err: error }, 'registry did not close cleanly');
            resolve();
          });
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
