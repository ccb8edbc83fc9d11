/**
 * Starts the named components of one process — processors, sinks, the API — on one Kafka client, one
 * Redis client and one metrics registry, and stops them in reverse order. `tributary run` and
 * `tributary up` are thin shells around it. Every processor runs as its own consumer group
 * member (topology `group`, behind the topic prefix), so several processes running the same
 * name share its partitions.
 */
import { Redis } from 'ioredis';
import { processors, type ProcessorName } from '../../processors';
import { TABLE_KEYS } from '../../processors/tables';
import { startConfiguredSink, type RunningSink } from '../../sinks/http';
import { startApi } from '../api/server';
import type { Connection } from '../config/connection';
import { ConfigError, UsageError } from '../errors';
import { createKafka } from '../kafka/client';
import { createDecoder } from '../kafka/decode';
import { untilAvailable } from '../kafka/transient';
import type { Logger } from '../log';
import { createMetrics, type Metrics } from '../metrics';
import type { Naming } from '../processor/naming';
import { startProcessor, type ReadinessCheck, type RunningProcessor } from '../processor/runner';
import { loadCatalogue } from '../schemas/catalogue';
import type { Topology } from '../topology/model';
import { startHealthServer } from './health-server';

export const API = 'api';

export interface ComponentsOptions {
  names: readonly string[];
  connection: Connection;
  /** The topology as in the file (logical names); the naming adds the prefix. */
  topology: Topology;
  naming: Naming;
  log: Logger;
  /** API port (PORT, default 8080); 0 picks a free one. */
  port?: number;
  host?: string;
  apiToken?: string;
  /** Port of /livez, /readyz and /metrics when the API is not among the names; null: none. */
  metricsPort?: number | null;
}

export interface Components {
  processors: RunningProcessor[];
  /** Sinks started (a sink whose URL is unset is not, with a warning). */
  sinks: RunningSink[];
  metrics: Metrics;
  /** Where the API (or the health server) listens. */
  url?: string;
  readiness(): ReadinessCheck[];
  stop(): Promise<void>;
}

/** The names `run` accepts today, for help and errors. */
export function knownComponents(topology: Topology): string[] {
  return [...topology.processors.map((p) => p.name), ...topology.sinks.map((s) => s.name), API];
}

/** Throws a usage error naming the choices when a name is not a component of the topology. */
export function checkComponentNames(names: readonly string[], topology: Topology): void {
  const known = knownComponents(topology);
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length > 0) throw new UsageError(`unknown component ${unknown.map((n) => `"${n}"`).join(', ')}: choose from ${known.join(', ')}`);
  const sinkNames = new Set(topology.sinks.map((s) => s.name));
  for (const name of names) {
    if (name !== API && !sinkNames.has(name) && !(name in processors)) throw new UsageError(`processor "${name}" is in the topology but not built into this version of tributary`);
  }
}

export async function startComponents(options: ComponentsOptions): Promise<Components> {
  const { topology, naming, connection, log } = options;
  const names = [...new Set(options.names)];
  checkComponentNames(names, topology);
  const sinkNames = new Set(topology.sinks.map((s) => s.name));

  const metrics = createMetrics();
  const kafka = createKafka(connection.brokers, `tributary-${names.join('-')}`, {}, { security: connection.security });
  const redis = new Redis(connection.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on('error', (error) => log.debug({ err: error }, 'redis connection error'));
  const catalogue = loadCatalogue();
  const decoder = createDecoder({ registryUrl: connection.registryUrl, catalogue, catalogueTopic: (t) => naming.logical(t) });
  const started: RunningProcessor[] = [];
  const sinks: RunningSink[] = [];
  const closers: (() => Promise<void>)[] = [];
  let url: string | undefined;

  const readiness = (): ReadinessCheck[] => [...started, ...sinks].map((c) => c.readiness());

  try {
    // Processors and sinks stop side by side: each waits for its work in flight and its last fetch.
    closers.unshift(() => Promise.all([...started, ...sinks].map((c) => c.stop())).then(() => undefined));
    for (const name of names.filter((n) => n !== API && !sinkNames.has(n))) {
      const spec = topology.processors.find((p) => p.name === name)!;
      const processor = await startProcessor({
        declaration: processors[name as ProcessorName],
        group: spec.group,
        settings: spec.settings,
        tableKeys: TABLE_KEYS,
        naming,
        kafka,
        redis,
        decoder,
        catalogue,
        registryUrl: connection.registryUrl,
        metrics,
        log,
        sessionTimeoutMs: sessionTimeoutFromEnv(),
      });
      started.push(processor);
    }
    for (const spec of topology.sinks.filter((s) => names.includes(s.name))) {
      const sink = await startConfiguredSink({ spec, naming, kafka, decoder, metrics, log, sessionTimeoutMs: sessionTimeoutFromEnv() });
      if (sink) sinks.push(sink);
    }
    if (names.includes(API)) {
      const partitions = await partitionCounter(kafka, naming, topology);
      closers.unshift(() => partitions.stop());
      const api = await startApi({
        redis,
        port: options.port ?? 8080,
        host: options.host,
        token: options.apiToken,
        atp: { store: naming.store('atp'), partitions: () => partitions.of('atp') },
        orders: { store: naming.store('orders'), partitions: () => partitions.of('orders') },
        metrics,
        readiness,
        log,
      });
      url = api.url;
      closers.unshift(() => api.close());
    } else if (options.metricsPort !== null && options.metricsPort !== undefined) {
      const health = await startHealthServer({ port: options.metricsPort, host: options.host, metrics, readiness, log });
      if (health) {
        url = health.url;
        closers.unshift(() => health.close());
      }
    }
  } catch (error) {
    await closeAll(closers, log);
    redis.disconnect();
    throw error;
  }

  return {
    processors: started,
    sinks,
    metrics,
    url,
    readiness,
    async stop() {
      await closeAll(closers, log);
      redis.disconnect();
    },
  };
}

/** KAFKA_SESSION_TIMEOUT_MS: how long a crashed instance keeps its partitions (6000-300000 ms). */
export function sessionTimeoutFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.KAFKA_SESSION_TIMEOUT_MS;
  if (raw === undefined || raw === '') return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 6_000 || ms > 300_000) throw new ConfigError(`KAFKA_SESSION_TIMEOUT_MS=${raw} must be whole milliseconds between 6000 and 300000 (the broker's group session bounds)`);
  return ms;
}

async function closeAll(closers: (() => Promise<void>)[], log: Logger): Promise<void> {
  for (const close of closers) {
    try {
      await close();
    } catch (error) {
      log.warn({ err: error }, 'error while stopping a component');
    }
  }
}

/**
 * Partition counts of each processor's state, from its first input topic's metadata (the API
 * reads every partition of a store), refreshed every 30 s so added partitions are seen.
 */
async function partitionCounter(kafka: ReturnType<typeof createKafka>, naming: Naming, topology: Topology) {
  const admin = kafka.admin();
  await admin.connect();
  const counts = new Map<string, number>();
  const refresh = async () => {
    for (const processor of ['atp', 'orders']) {
      const spec = topology.processors.find((p) => p.name === processor);
      const input = spec?.inputs[0];
      if (!input) continue;
      const { topics } = await untilAvailable(() => admin.fetchTopicMetadata({ topics: [naming.topic(input)] }));
      counts.set(processor, topics[0]?.partitions.length ?? 0);
    }
  };
  await refresh();
  const timer = setInterval(() => void refresh().catch(() => undefined), 30_000);
  timer.unref();
  return {
    of: (processor: string) => counts.get(processor) ?? 0,
    stop: async () => {
      clearInterval(timer);
      await admin.disconnect();
    },
  };
}
