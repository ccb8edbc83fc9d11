/**
 * Scenario 2, pipeline throughput: the workload is already in Kafka (published before, timed
 * apart); `tributary run orders atp` starts in its own process, as in production, and the clock
 * runs from the first `partitions assigned` of either processor (tables read, group joined: the
 * first moment it may fold) until every input partition of both is applied with nothing left to
 * produce (bench/lib/caught-up.ts). events/s = the source events published (what orders and atp
 * read from the source systems: orders' six input topics, stock.adjusted, stock.counted and the
 * item.upserted table) ÷ that time. The movements orders writes for atp are work inside the
 * pipeline, reported but not counted as events. Start-up (process start, tsx, connections, table
 * bootstrap, group join) and the wait until every partition is served are reported apart.
 *
 * The processes keep running for the rebuild; the caller stops them.
 */
import { Redis } from 'ioredis';
import { createKafka } from '../../runtime/kafka/client';
import { untilAvailable } from '../../runtime/kafka/transient';
import type { RunningChild } from '../../test/e2e/child-process';
import type { Deployment } from '../../test/e2e/pipeline-harness';
import { childTrouble, type BenchContext } from '../context';
import { partitionCount, PIPELINE, waitCaughtUp } from '../lib/caught-up';
import { cpuBetween, processCpuSeconds } from '../lib/cpu';
import { checkAgainstFold, type FoldCheck, type Want } from '../lib/fold-check';
import { processorStats, type ProcessorStats } from '../lib/processor-stats';

export interface PipelineResult {
  events: number;
  /** orders.movements records orders produced for atp (not counted as events). */
  movements: number;
  eventsPerSec: number;
  /** First partitions assigned → everything applied. */
  seconds: number;
  /** Process spawned → first partitions assigned. */
  startupSeconds: number;
  /** Everything applied → every partition served (catch-up marks cleared). */
  servedAfterSeconds: number;
  /** CPU seconds the `run orders atp` process used from its start-up to caught up, and per second of that time (1 = one core busy: Node folds on one thread). */
  processCpuSeconds: number | null;
  processCoresBusy: number | null;
  /** Each processor's own account of the run (bench/lib/processor-stats.ts). */
  processors: Record<string, ProcessorStats>;
  fold: FoldCheck;
}

export async function runPipeline(context: BenchContext, deployment: Deployment, events: number, want: Want): Promise<{ result: PipelineResult; child: RunningChild }> {
  const redis = new Redis(context.stack.redisUrl);
  const admin = createKafka(context.stack.brokers, 'bench-pipeline').admin();
  await admin.connect();
  const spawnedAt = Date.now();
  const child = context.run(deployment, PIPELINE);
  try {
    await child.started(PIPELINE);
    const cpuBefore = processCpuSeconds(child.pid);
    const cpuFrom = Date.now();
    const assigned = child.lines.filter((l) => l.msg === 'partitions assigned' && typeof l.time === 'string').map((l) => Date.parse(l.time as string));
    if (assigned.length === 0) throw new Error(`no 'partitions assigned' line from ${child.label}`);
    const startedAt = Math.min(...assigned);
    const caught = await waitCaughtUp(redis, admin, deployment, { timeoutMs: Math.max(120_000, events * 2) }).catch((error: Error) => {
      throw new Error(`${error.message}${childTrouble(child)}`);
    });
    const cpu = cpuBetween(cpuBefore, processCpuSeconds(child.pid));
    const cpuWindow = (Date.now() - cpuFrom) / 1000;
    const seconds = (caught.appliedAt - startedAt) / 1000;
    const partitions = await partitionCount(admin, deployment.naming.topic('order.created'));
    const movements = (await untilAvailable(() => admin.fetchTopicOffsets(deployment.naming.topic('orders.movements')))).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
    const url = await child.url();
    const stats = Object.fromEntries(await Promise.all(PIPELINE.map(async (name) => [name, await processorStats(url, name)] as const)));
    const fold = await checkAgainstFold(context.stack.redisUrl, deployment.naming, want, partitions);
    context.say(`pipeline: ${events.toLocaleString('en-US')} events applied in ${seconds.toFixed(2)} s (${Math.round(events / seconds).toLocaleString('en-US')} events/s); the view ${fold.equal ? 'equals' : 'DIFFERS from'} the fold`);
    return {
      child,
      result: {
        events,
        movements,
        eventsPerSec: events / seconds,
        seconds,
        startupSeconds: (startedAt - spawnedAt) / 1000,
        servedAfterSeconds: (caught.servedAt - caught.appliedAt) / 1000,
        processCpuSeconds: cpu,
        processCoresBusy: cpu === null ? null : Math.round((100 * cpu) / cpuWindow) / 100,
        processors: stats,
        fold,
      },
    };
  } catch (error) {
    child.signal('SIGTERM');
    await child.exited;
    throw error;
  } finally {
    await admin.disconnect();
    redis.disconnect();
  }
}
