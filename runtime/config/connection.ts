/**
 * Where Kafka, the schema registry and Redis are. Each comes from its env var when set
 * (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL), else from the local stack recorded under
 * TRIBUTARY_HOME by `tributary dev up`; with neither, a one-line error says what to do.
 */
import { ConfigError, TributaryError } from '../errors';
import { readStackRecord, tributaryHome, type StackRecord } from './home';

export interface Connection {
  brokers: string[];
  registryUrl: string;
  redisUrl: string;
  /** Where each address came from, for `dev status` and error messages. */
  origin: { kafka: 'env' | 'stack'; registry: 'env' | 'stack'; redis: 'env' | 'stack' };
  /**
   * Kafka security for `createKafka`: `env` (KAFKA_SASL_* / KAFKA_SSL*) for brokers given by env,
   * `none` for the local stack's own plaintext broker.
   */
  security: 'env' | 'none';
}

const BROKER = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;

export function parseBrokers(value: string): string[] {
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (brokers.length === 0) throw new ConfigError('KAFKA_BROKERS is empty: set it to host:port[,host:port]');
  for (const broker of brokers) {
    if (!BROKER.test(broker)) {
      throw new ConfigError(`KAFKA_BROKERS has "${broker}", which is not host:port: set it to host:port[,host:port]`);
    }
  }
  return brokers;
}

function parseUrl(name: string, value: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}="${value}" is not a URL: set it to e.g. ${protocols[0]}//localhost:port`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name}="${value}" must use ${protocols.join(' or ')}`);
  }
  return value.replace(/\/+$/, '');
}

/**
 * The registry alone, for commands that need nothing else (`schemas` in a CI job that sets only
 * SCHEMA_REGISTRY_URL): the env var if set, else the local stack's registry.
 */
export function resolveRegistryUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SCHEMA_REGISTRY_URL) return parseUrl('SCHEMA_REGISTRY_URL', env.SCHEMA_REGISTRY_URL, ['http:', 'https:']);
  return resolveConnection(env, { redis: false }).registryUrl;
}

/**
 * The addresses a command uses: from env, else from the local stack's record. A command that
 * never touches Redis (consume, lag, offsets, topology, dlq, schemas) passes `redis: false` and
 * then needs only KAFKA_BROKERS and SCHEMA_REGISTRY_URL (its `redisUrl` is then '' unless known).
 */
export function resolveConnection(env: NodeJS.ProcessEnv = process.env, uses: { redis?: boolean } = {}): Connection {
  const needed = uses.redis === false ? ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL'] : ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'REDIS_URL'];
  const needStack = needed.some((name) => !env[name]);
  let stack: StackRecord | undefined;
  if (needStack || !env.REDIS_URL) stack = readStackRecord(tributaryHome(env));
  if (needStack) {
    if (!stack) {
      const missing = needed.filter((n) => !env[n]);
      throw new TributaryError(
        'TRB_STACK_NOT_RUNNING',
        `no local stack under ${tributaryHome(env)} and ${missing.join(', ')} not set: run \`tributary dev up\` or set them`,
      );
    }
  }
  return {
    brokers: env.KAFKA_BROKERS ? parseBrokers(env.KAFKA_BROKERS) : stack!.kafka.brokers,
    registryUrl: env.SCHEMA_REGISTRY_URL
      ? parseUrl('SCHEMA_REGISTRY_URL', env.SCHEMA_REGISTRY_URL, ['http:', 'https:'])
      : stack!.registry.url,
    redisUrl: env.REDIS_URL ? parseUrl('REDIS_URL', env.REDIS_URL, ['redis:', 'rediss:']) : (stack?.redis.url ?? ''),
    origin: {
      kafka: env.KAFKA_BROKERS ? 'env' : 'stack',
      registry: env.SCHEMA_REGISTRY_URL ? 'env' : 'stack',
      redis: env.REDIS_URL ? 'env' : 'stack',
    },
    // A record with Kafka pid 0 names brokers `dev up` was given by env, not ones it started.
    security: env.KAFKA_BROKERS || stack!.kafka.pid <= 0 ? 'env' : 'none',
  };
}
