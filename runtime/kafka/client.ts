/**
 * One way to build a kafkajs client: brokers from the resolved connection, security from env
 * (SPEC §11: SASL/SCRAM-SHA-512 over TLS, mTLS, PLAIN only with TLS), kafkajs logs into pino.
 * The local stack's broker is plaintext: for it (`Connection.security === 'none'`) the user's
 * KAFKA_SASL_* / KAFKA_SSL* settings, meant for their real cluster, are not applied.
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import { ConfigError } from '../errors';
import { log } from '../log';

export function securityFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const read = (name: string) => {
    const file = env[name];
    if (!file) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch {
      throw new ConfigError(`${name}=${file} cannot be read: point it at a PEM file`);
    }
  };
  const ca = read('KAFKA_SSL_CA');
  const cert = read('KAFKA_SSL_CERT');
  const key = read('KAFKA_SSL_KEY');
  const tls = flag(env, 'KAFKA_SSL', false) || Boolean(ca || cert);
  const ssl = tls ? { rejectUnauthorized: flag(env, 'KAFKA_SSL_REJECT_UNAUTHORIZED', true), ca, cert, key } : undefined;

  const mechanism = env.KAFKA_SASL_MECHANISM?.toLowerCase();
  if (!mechanism) return { ssl };
  const username = env.KAFKA_SASL_USERNAME;
  const password = env.KAFKA_SASL_PASSWORD;
  if (!username || !password) {
    throw new ConfigError('KAFKA_SASL_MECHANISM is set: set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD too');
  }
  if (mechanism === 'plain' && !tls) {
    throw new ConfigError('KAFKA_SASL_MECHANISM=plain sends the password in clear: set KAFKA_SSL=true as well');
  }
  if (!['plain', 'scram-sha-256', 'scram-sha-512'].includes(mechanism)) {
    throw new ConfigError(`KAFKA_SASL_MECHANISM=${mechanism} is not supported: use scram-sha-512, scram-sha-256 or plain`);
  }
  return { ssl, sasl: { mechanism, username, password } as SASLOptions };
}

/** A true/false env var (unset or empty: the default); anything else would silently mean one or the other. */
function flag(env: NodeJS.ProcessEnv, name: string, byDefault: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return byDefault;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new ConfigError(`${name}="${raw}" must be true or false`);
}

let clientLogLevel: logLevel = logLevel.WARN;

/**
 * One-shot CLI commands report a failure as one line themselves; kafkajs' own retry and
 * connection logs would print JSON before it. They stay silent there unless LOG_LEVEL is set.
 */
export function silenceClientLogs(): void {
  clientLogLevel = logLevel.NOTHING;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export interface KafkaClientOptions {
  /** `env`: SASL/TLS from KAFKA_SASL_* / KAFKA_SSL* (the default); `none`: plaintext (the local stack). */
  security?: 'env' | 'none';
}

export function createKafka(
  brokers: string[],
  clientId: string,
  overrides: Partial<KafkaConfig> = {},
  options: KafkaClientOptions = {},
): Kafka {
  const kafkaLog = log.child({ component: 'kafkajs', clientId });
  return new Kafka({
    clientId,
    brokers,
    ...(options.security === 'none' ? {} : securityFromEnv()),
    // kafkajs INFO is chatty (every join/leave); keep warnings and errors unless LOG_LEVEL=debug.
    logLevel: process.env.LOG_LEVEL === 'debug' ? logLevel.DEBUG : process.env.LOG_LEVEL ? logLevel.WARN : clientLogLevel,
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, ...rest } = entry;
      kafkaLog[LEVELS[level] ?? 'info']({ ...rest, namespace }, message);
    },
    ...overrides,
  });
}

/** How long a crashed group member keeps its partitions (kafkajs' 30 s default is slow to heal). */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

/** The session timeout of a consumer group member and a heartbeat well inside it. */
export function groupTimeouts(sessionTimeoutMs: number = DEFAULT_SESSION_TIMEOUT_MS): { sessionTimeout: number; heartbeatInterval: number } {
  return { sessionTimeout: sessionTimeoutMs, heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 5)) };
}
