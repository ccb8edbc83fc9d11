/**
 * Scenario 4, rebuild: `tributary rebuild all --execute` (its own process, as an operator runs
 * it) while `orders` and `atp` keep running: every partition of every processor is wiped and
 * replayed from the earliest offset by the instances that own it (the `customers` processor,
 * running nowhere here and with nothing to read, is run by the command itself). The figure is the
 * command's own: seconds from writing the rebuild request to every partition served again, polled
 * each second (so up to a second more than the replay took); the command's start-up is apart.
 * Then every partition must be applied to its end (bench/lib/caught-up.ts) and the view must equal
 * the fold. events/s counts the source events, as the pipeline figure does; atp replays the
 * movements too, the old generation's and the new one orders writes as it rebuilds.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { createKafka } from '../../runtime/kafka/client';
import { ROOT, type RunningChild } from '../../test/e2e/child-process';
import type { Deployment } from '../../test/e2e/pipeline-harness';
import { stackEnv } from '../../test/harness/stack';
import { childTrouble, type BenchContext } from '../context';
import { partitionCount, waitCaughtUp } from '../lib/caught-up';
import { checkAgainstFold, type FoldCheck, type Want } from '../lib/fold-check';

export interface RebuildResult {
  method: 'rebuild-command';
  events: number;
  /** The command's figure: request written → every partition served again. */
  seconds: number;
  eventsPerSec: number;
  /** Records the command counted as replayed (source events and movements). */
  recordsReplayed: number;
  /** The command process from spawn to exit, start-up included. */
  wallSeconds: number;
  fold: FoldCheck;
}

export async function runRebuild(context: BenchContext, deployment: Deployment, events: number, want: Want, processors: RunningChild): Promise<RebuildResult> {
  const redis = new Redis(context.stack.redisUrl);
  const admin = createKafka(context.stack.brokers, 'bench-rebuild').admin();
  await admin.connect();
  try {
    const spawnedAt = performance.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['bin/tributary.js', 'rebuild', 'all', '--execute', '--format', 'json', '--topic-prefix', deployment.naming.prefix], {
      cwd: ROOT,
      env: { ...process.env, ...stackEnv(context.stack) },
      timeout: Math.max(300_000, events * 2),
      maxBuffer: 16 * 1024 * 1024,
    });
    const wallSeconds = (performance.now() - spawnedAt) / 1000;
    const report = JSON.parse(stdout) as { seconds: number; recordsReplayed: number };
    await waitCaughtUp(redis, admin, deployment, { timeoutMs: 60_000 }).catch((error: Error) => {
      throw new Error(`after the command: ${error.message}${childTrouble(processors)}`);
    });
    const partitions = await partitionCount(admin, deployment.naming.topic('order.created'));
    const fold = await checkAgainstFold(context.stack.redisUrl, deployment.naming, want, partitions);
    context.say(`rebuild: ${events.toLocaleString('en-US')} events replayed and served in ${report.seconds.toFixed(1)} s; the view ${fold.equal ? 'equals' : 'DIFFERS from'} the fold`);
    return { method: 'rebuild-command', events, seconds: report.seconds, eventsPerSec: events / report.seconds, recordsReplayed: report.recordsReplayed, wallSeconds, fold };
  } finally {
    await admin.disconnect();
    redis.disconnect();
  }
}
