/**
 * What the reliability scenarios (issue 8) share besides the checker: the Redis database they
 * keep their state in (db 6 of the test stack's Redis, emptied of their keys afterwards), and
 * waiting for the HTTP sinks to finish every command on their topics.
 */
import { Redis } from 'ioredis';
import { createKafka } from '../../runtime/kafka/client';
import { redisDb, type TestStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import type { Deployment } from '../e2e/pipeline-harness';

/** Records of the sinks' command topics their groups have not committed yet. */
export async function sinkLag(stack: TestStack, deployment: Deployment, sinks: readonly string[]): Promise<number> {
  const admin = createKafka(stack.brokers, 'faults-sink-lag').admin();
  await admin.connect();
  try {
    let lag = 0;
    for (const spec of deployment.topology.sinks.filter((s) => sinks.includes(s.name))) {
      const topic = deployment.naming.topic(spec.input);
      const committed = (await admin.fetchOffsets({ groupId: deployment.naming.group(spec.group), topics: [topic] }))[0]?.partitions ?? [];
      for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
        const at = BigInt(committed.find((p) => p.partition === partition)?.offset ?? '-1');
        lag += Number(BigInt(high) - (at < 0n ? 0n : at));
      }
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}

/** Every command committed by its sink, three polls in a row (the processors must have caught up first). */
export async function waitSinksDrained(stack: TestStack, deployment: Deployment, sinks: readonly string[], timeoutMs = 120_000): Promise<void> {
  let quiet = 0;
  await waitFor(
    async () => {
      quiet = (await sinkLag(stack, deployment, sinks)) === 0 ? quiet + 1 : 0;
      return quiet >= 3;
    },
    { timeoutMs, intervalMs: 500, what: `sinks ${sinks.join(', ')} to commit every command` },
  );
}

/** The scenarios' Redis database on the shared stack (other files keep to theirs). */
export const FAULTS_DB = 6;

export function faultsRedisUrl(stack: TestStack): string {
  return redisDb(stack.redisUrl, FAULTS_DB);
}

/** Deletes every Redis key of a deployment's stores (`trb:{<prefix>…`) from a database; SCAN, never KEYS. */
export async function dropState(redisUrl: string, deployment: Deployment): Promise<number> {
  const redis = new Redis(redisUrl);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `trb:{${deployment.naming.prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
