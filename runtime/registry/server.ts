/**
 * Starts the embedded registry: reads the schemas topic to its end, then listens.
 * `startRegistry({ brokers, host, port, topic })` resolves with the URL once it answers
 * requests; `close()` stops listening, then the Kafka clients. Port 0 picks a free port.
 */
import type { AddressInfo } from 'node:net';
import { buildRegistryApp } from './app';
import { KafkaSchemaLog } from './kafka-log';
import { SchemaRegistryService } from './service';
import { RegistryState } from './state';

export interface RegistryOptions {
  brokers: string[];
  host?: string;
  port?: number;
  /** The compacted topic holding schemas and config; default `_schemas`. */
  topic?: string;
}

export interface RunningRegistry {
  url: string;
  close(): Promise<void>;
}

export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const state = new RegistryState();
  const store = await KafkaSchemaLog.open({ brokers: options.brokers, topic: options.topic, state });
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
