/**
 * The one stack of a test run, started by global-setup.ts and handed to test files by vitest's
 * provide/inject. Chosen once per run: env vars given > testcontainers when a Docker engine
 * answers > the local stack (Kafka from Maven Central jars, redis-server, embedded registry).
 */
import { inject } from 'vitest';

export interface TestStack {
  brokers: string[];
  registryUrl: string;
  redisUrl: string;
  mode: 'env' | 'testcontainers' | 'local';
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: TestStack;
  }
}

export function testStack(): TestStack {
  return inject('stack');
}

/** Env vars that point a child `tributary` process at the test stack. */
export function stackEnv(stack: TestStack = testStack()): Record<string, string> {
  return { KAFKA_BROKERS: stack.brokers.join(','), SCHEMA_REGISTRY_URL: stack.registryUrl, REDIS_URL: stack.redisUrl };
}

/** The test stack's Redis URL on another database index: a test that flushes keeps to its own db. */
export function redisDb(url: string, db: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}
