/**
 * Physical names of one Tributary deployment. A topic prefix (`TRIBUTARY_TOPIC_PREFIX`, or the
 * `--topic-prefix` of the CLI) lets several environments share one Kafka cluster and one Redis:
 * it is put in front of every Kafka topic, consumer group and Redis store name, while processors,
 * schemas and the catalogue keep the logical topic names (`order.created`). Empty by default.
 */
import { ConfigError } from '../errors';

export interface Naming {
  readonly prefix: string;
  /** Kafka topic of a logical topic. */
  topic(logical: string): string;
  /** Logical topic of a Kafka topic, or undefined when it lacks the prefix. */
  logical(kafkaTopic: string): string | undefined;
  /** Consumer group of a component (its topology `group`). */
  group(group: string): string;
  /** Redis store name of a processor (runtime/redis/keys.ts). */
  store(processor: string): string;
}

const PREFIX = /^[A-Za-z0-9._-]*$/;

export function naming(prefix = ''): Naming {
  if (!PREFIX.test(prefix) || prefix.length > 100) {
    throw new ConfigError(`topic prefix "${prefix}" may hold only letters, digits, '.', '_' and '-' (e.g. "staging.")`);
  }
  return {
    prefix,
    topic: (logical) => `${prefix}${logical}`,
    logical: (kafkaTopic) => (kafkaTopic.startsWith(prefix) ? kafkaTopic.slice(prefix.length) : undefined),
    group: (group) => `${prefix}${group}`,
    store: (processor) => `${prefix}${processor}`,
  };
}

export function namingFromEnv(env: NodeJS.ProcessEnv = process.env, flag?: string): Naming {
  return naming(flag ?? env.TRIBUTARY_TOPIC_PREFIX ?? '');
}
