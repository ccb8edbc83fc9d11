/**
 * Starts the embedded registry: reads the schemas topic to its end, then listens.
 * `startRegistry({ brokers, host, port, topic })` resolves with the URL once it answers
 * requests; `close()` stops listening, then the Kafka clients. Port 0 picks a free port.
 * `onFatal` hears that the topic reader stopped for good (writes are refused from then on); a
 * process serving the registry should exit non-zero then, so whoever runs it sees it down.
 */
import type { AddressInfo } from 'node:net';
import { buildRegistryApp } from './app';
import type { RegistryError } from '../errors';
import { KafkaSchemaLog } from './kafka-log';
import { SchemaRegistryService } from './service';
import { RegistryState } from './state';

export interface RegistryOptions {
  brokers: string[];
  host?: string;
  port?: number;
  /** The compacted topic holding schemas and config; default `_schemas`. */
  topic?: string;
  /** How long start-up may take to read the topic to its end; default 60 s. */
  readTimeoutMs?: number;
  /** How long a write may wait for the reader to apply it; default 30 s. */
  writeTimeoutMs?: number;
  onFatal?: (error: RegistryError) => void;
}

export interface RunningRegistry {
  url: string;
  close(): Promise<void>;
}

export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const state = new RegistryState();
  const store = await KafkaSchemaLog.open({
    brokers: options.brokers,
    topic: options.topic,
    state,
    readTimeoutMs: options.readTimeoutMs,
    writeTimeoutMs: options.writeTimeoutMs,
    onFatal: options.onFatal,
  });
  const app = buildRegistryApp(new SchemaRegistryService(state, store));
  try {
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8081 });
  } catch (error) {
    await store.close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    close: () => {
      closing ??= app.close().then(() => store.close());
      return closing;
    },
  };
}
