/**
 * vitest global setup for the integration project: start (or find) the run's one stack and
 * provide its addresses to test files. Env vars given > testcontainers > local stack.
 */
import type { TestProject } from 'vitest/node';
import type { TestStack } from './stack';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL } = process.env;
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL && REDIS_URL) {
    const stack: TestStack = {
      brokers: KAFKA_BROKERS.split(','),
      registryUrl: SCHEMA_REGISTRY_URL,
      redisUrl: REDIS_URL,
      mode: 'env',
    };
    project.provide('stack', stack);
    return async () => {};
  }
  throw new Error('set KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL (local stack mode not written yet)');
}
