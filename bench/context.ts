/**
 * What every scenario is handed: the stack, the Redis database the benchmark owns, its options,
 * the env of the `tributary run` children it starts, and where progress lines go (stderr).
 */
import { resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { redisDb, type TestStack } from '../test/harness/stack';
import { createKafka } from '../runtime/kafka/client';
import { untilAvailable } from '../runtime/kafka/transient';
import { SOURCE_TOPICS } from '../producers/simulator';
import { startTributary, type RunningChild } from '../test/e2e/child-process';
import { deploy, type Deployment } from '../test/e2e/pipeline-harness';
import type { BenchOptions } from './options';

/** The Redis database the benchmark writes and flushes (never db 0, which others share). */
export const BENCH_DB = 9;

export interface BenchContext {
  /** The stack, with redisUrl already on BENCH_DB. */
  stack: TestStack;
  options: BenchOptions;
  say(line: string): void;
  /** `tributary run <names>` of a deployment, on BENCH_DB, profiled when asked. */
  run(deployment: Deployment, names: readonly string[], env?: Record<string, string>): RunningChild;
}

export function benchContext(stack: TestStack, options: BenchOptions, say: (line: string) => void): BenchContext {
  const benchStack = { ...stack, redisUrl: redisDb(stack.redisUrl, BENCH_DB) };
  const nodeArgs = options.cpuProfile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(options.profileDir)}`] : [];
  return {
    stack: benchStack,
    options,
    say,
    run: (deployment, names, env = {}) =>
      startTributary({ stack: benchStack, prefix: deployment.naming.prefix, names, label: `run ${names.join(' ')}`, env, nodeArgs }),
  };
}

/** Every key a benchmark deployment writes starts so (deploy labels `bench…`). */
const BENCH_KEY_PREFIX = 'trb:{bench';

/** FLUSHDB of the benchmark's database, refusing when it holds a key no benchmark wrote. */
export async function flushBenchDb(redis: Redis): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    const foreign = keys.find((k) => !k.startsWith(BENCH_KEY_PREFIX));
    if (foreign !== undefined) throw new Error(`redis db ${redis.options.db ?? 0} holds ${foreign}, which no benchmark wrote: not flushing it`);
  } while (cursor !== '0');
  await redis.flushdb();
}

/** The last warnings and errors a child logged, for a failure message (kafkajs' own chatter left out). */
export function childTrouble(child: RunningChild, count = 5): string {
  const lines = child.lines.filter((l) => (l.level ?? 0) >= 40 && l.component !== 'kafkajs').slice(-count);
  return lines.length === 0 ? '' : ` — ${child.label} logged: ${lines.map((l) => `${l.msg}${l.err ? ` (${(l.err as { message?: string }).message})` : ''}`).join(' | ')}`;
}

/**
 * `deploy` (the shipped topology under a fresh prefix), then waits until every source topic's
 * partition leaders answer: right after creation a broker may still say it does not host them,
 * and the publisher's retries (or kafkajs admin's, in the progress polls) do not always outlast
 * that on a fresh or loaded broker.
 */
export async function deployReady(stack: TestStack, label: string): Promise<Deployment> {
  const deployment = await deploy(stack, label);
  const admin = createKafka(stack.brokers, 'bench-deploy').admin();
  await admin.connect();
  try {
    // The processors' internal topics too (orders.movements): the progress polls read their ends.
    const topics = new Set<string>([...SOURCE_TOPICS, ...deployment.topology.processors.flatMap((p) => p.inputs)]);
    for (const topic of topics) await untilAvailable(() => admin.fetchTopicOffsets(deployment.naming.topic(topic)));
  } finally {
    await admin.disconnect();
  }
  return deployment;
}
