/**
 * The benchmark suite of issue 7, in the order its scenarios need each other:
 *
 *   workload   N source events from the simulator (duplicates as a retrying publisher makes
 *              them), published to a fresh deployment — timed, but apart from everything else
 *   ceiling    a bare consumer reads them: raw, then with Avro decoding          (scenarios/ceiling)
 *   pipeline   `run orders atp` folds them; view checked against the fold        (scenarios/pipeline)
 *   rebuild    `tributary rebuild all --execute` under the running processors     (scenarios/rebuild)
 *   api        `run api` on that view at a fixed request rate                     (scenarios/api)
 *   sinks      `run erp` delivers the pipeline's last K ERP commands              (scenarios/sinks)
 *   freshness  another deployment, traffic at a fixed rate, probes timed         (scenarios/freshness)
 *
 * Processors, the API and the sink run as `tributary run …` child processes (as in production;
 * `--profile` gives each a CPU profile); the load, the observers and the checks run here. State
 * goes to Redis database 9 (bench/context.ts), which the run flushes when it starts and ends; one
 * benchmark at a time per Redis. Each deployment's topics are deleted at the end. A scenario that
 * fails is reported and the run goes on with those that do not need it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { Redis } from 'ioredis';
import { simulate } from '../producers/simulator';
import { resolveConnection } from '../runtime/config/connection';
import { ensureStack } from '../runtime/cli/commands/up';
import { expected, publish, undeploy, type Deployment } from '../test/e2e/pipeline-harness';
import type { TestStack } from '../test/harness/stack';
import type { InputRecord } from '../test/reference/types';
import { benchContext, deployReady, flushBenchDb, type BenchContext } from './context';
import { describeFailure } from './lib/fold-check';
import { benchOptions, type BenchFlags, type BenchOptions, type ScenarioName } from './options';
import { renderTable } from './report';
import { runApi, type ApiResult } from './scenarios/api';
import { runCeiling, type CeilingResult } from './scenarios/ceiling';
import { runFreshness, type FreshnessResult } from './scenarios/freshness';
import { runPipeline, type PipelineResult } from './scenarios/pipeline';
import { runRebuild, type RebuildResult } from './scenarios/rebuild';
import { runSinks, type SinkResult } from './scenarios/sinks';

export interface Machine {
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  memoryGiB: number;
  /** 1-minute load average when the run started: other work on the machine shows here. */
  loadAtStart: number;
  stack: TestStack['mode'];
}

export interface BenchResult {
  ceilingEventsPerSec: number | null;
  ceilingDecodeEventsPerSec: number | null;
  publishEventsPerSec: number | null;
  pipelineEventsPerSec: number | null;
  pipelineRatio: number | null;
  freshnessP50Ms: number | null;
  freshnessP99Ms: number | null;
  freshnessP999Ms: number | null;
  freshnessSamples: number | null;
  rebuildSeconds: number | null;
  rebuildEventsPerSec: number | null;
  rebuildMethod: string | null;
  apiP50Ms: number | null;
  apiP99Ms: number | null;
  apiP999Ms: number | null;
  apiErrors: number | null;
  sinkCommandsPerSec: number | null;
  /** Every view compared with the reference fold was equal, and the API answered only 200s. */
  passed: boolean;
  failures: string[];
  size: BenchOptions['size'];
  events: number;
  commit: string;
  /** Uncommitted changes in the working tree when the run started. */
  dirty: boolean;
  date: string;
  machine: Machine;
  options: BenchOptions;
  scenarios: {
    ceiling?: CeilingResult;
    pipeline?: PipelineResult;
    rebuild?: RebuildResult;
    api?: ApiResult;
    sinks?: SinkResult;
    freshness?: FreshnessResult;
  };
}

/** `tributary bench` / `npm run bench`: the stack as `up` finds it, the run, the table and the JSON. */
export async function runBenchCommand(flags: BenchFlags): Promise<void> {
  const options = benchOptions(flags);
  await ensureStack();
  const connection = resolveConnection();
  const stack: TestStack = { brokers: connection.brokers, registryUrl: connection.registryUrl, redisUrl: connection.redisUrl, mode: connection.origin.kafka === 'env' ? 'env' : 'local' };
  const result = await runBench(options, stack, (line) => process.stderr.write(`bench: ${line}\n`));
  writeResult(options.out, result);
  process.stdout.write(`${renderTable(result)}\n`);
  process.stderr.write(`bench: results in ${options.out}\n`);
  if (!result.passed) throw new Error(`checks failed: ${result.failures.join('; ')}`);
}

export function writeResult(file: string, result: BenchResult): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}

export async function runBench(options: BenchOptions, stack: TestStack, say: (line: string) => void): Promise<BenchResult> {
  const context = benchContext(stack, options, say);
  const result = emptyResult(options, stack);
  const wants = (s: ScenarioName) => options.scenarios.includes(s);
  const failed = (scenario: string, error: unknown) => {
    const message = `${scenario}: ${error instanceof Error ? error.message : String(error)}`;
    result.failures.push(message);
    say(`FAILED ${message}`);
    if (process.env.LOG_LEVEL === 'debug' && error instanceof Error) say(error.stack ?? '');
  };
  const redis = new Redis(context.stack.redisUrl);
  try {
    await flushBenchDb(redis);
    if (ON_WORKLOAD.some(wants)) await pipelineScenarios(context, result, failed);
    if (wants('freshness')) {
      try {
        const freshness = await runFreshness(context);
        result.scenarios.freshness = freshness;
        Object.assign(result, { freshnessP50Ms: freshness.p50, freshnessP99Ms: freshness.p99, freshnessP999Ms: freshness.p999, freshnessSamples: freshness.count });
        if (!freshness.fold.equal) result.failures.push(describeFailure('freshness', freshness.fold));
      } catch (error) {
        failed('freshness', error);
      }
    }
    await flushBenchDb(redis);
  } finally {
    redis.disconnect();
  }
  result.passed = result.failures.length === 0;
  return result;
}

/** Scenarios that read the published workload, and those that need the pipeline to have run on it first. */
const ON_WORKLOAD: readonly ScenarioName[] = ['ceiling', 'pipeline', 'rebuild', 'api', 'sinks'];
const ON_PIPELINE_STATE: readonly ScenarioName[] = ['pipeline', 'rebuild', 'api', 'sinks'];

/** Everything that runs on the published workload: ceiling, pipeline, rebuild, api, sinks. */
async function pipelineScenarios(context: BenchContext, result: BenchResult, failed: (scenario: string, error: unknown) => void): Promise<void> {
  const { options, stack, say } = context;
  const wants = (s: ScenarioName) => options.scenarios.includes(s);
  const records = pipelineWorkload(options);
  say(`workload: ${records.length.toLocaleString('en-US')} simulator events (seed ${options.seed}); computing the reference fold`);
  const want = expected(records);
  let deployment: Deployment | undefined;
  try {
    deployment = await deployReady(stack, 'bench');
    const publishedAt = performance.now();
    await publish(stack, deployment.naming, records);
    result.publishEventsPerSec = records.length / ((performance.now() - publishedAt) / 1000);
    say(`workload: published at ${Math.round(result.publishEventsPerSec).toLocaleString('en-US')} events/s (not part of any figure below)`);

    if (wants('ceiling')) {
      try {
        const ceiling = await runCeiling(context, deployment, [...new Set(records.map((r) => r.topic))], records.length);
        result.scenarios.ceiling = ceiling;
        result.ceilingEventsPerSec = ceiling.rawEventsPerSec;
        result.ceilingDecodeEventsPerSec = ceiling.decodeEventsPerSec;
      } catch (error) {
        failed('ceiling', error);
      }
    }
    if (!ON_PIPELINE_STATE.some(wants)) return;

    const { result: pipeline, child } = await runPipeline(context, deployment, records.length, want);
    result.scenarios.pipeline = pipeline;
    result.pipelineEventsPerSec = pipeline.eventsPerSec;
    result.pipelineRatio = result.ceilingEventsPerSec ? pipeline.eventsPerSec / result.ceilingEventsPerSec : null;
    if (!pipeline.fold.equal) result.failures.push(describeFailure('pipeline', pipeline.fold));
    try {
      if (wants('rebuild')) {
        const rebuild = await runRebuild(context, deployment, records.length, want, child);
        result.scenarios.rebuild = rebuild;
        Object.assign(result, { rebuildSeconds: rebuild.seconds, rebuildEventsPerSec: rebuild.eventsPerSec, rebuildMethod: rebuild.method });
        if (!rebuild.fold.equal) result.failures.push(describeFailure('rebuild', rebuild.fold));
      }
    } catch (error) {
      failed('rebuild', error);
    } finally {
      child.signal('SIGTERM');
      await child.exited;
    }
    if (wants('api')) {
      try {
        const api = await runApi(context, deployment, want);
        result.scenarios.api = api;
        const worse = api.check.p99 > api.get.p99 ? api.check : api.get;
        Object.assign(result, { apiP50Ms: worse.p50, apiP99Ms: worse.p99, apiP999Ms: worse.p999 });
        // autocannon counts a timeout among its errors too.
        result.apiErrors = [api.get, api.check].reduce((n, r) => n + r.errors + r.non2xx, 0);
        if (result.apiErrors > 0) result.failures.push(`api: ${result.apiErrors} requests failed or were not answered 200`);
      } catch (error) {
        failed('api', error);
      }
    }
    if (wants('sinks')) {
      try {
        const sinks = await runSinks(context, deployment);
        result.scenarios.sinks = sinks;
        result.sinkCommandsPerSec = sinks.commandsPerSec;
      } catch (error) {
        failed('sinks', error);
      }
    }
  } catch (error) {
    failed('pipeline', error);
  } finally {
    await undeploy(stack, deployment);
  }
}

/**
 * The first N simulator events that orders or atp read: every source topic but
 * customer.upserted (the customers processor is not part of this benchmark), in the
 * simulator's order — the item master first, then a day's traffic in time order.
 */
export function pipelineWorkload(options: Pick<BenchOptions, 'events' | 'seed' | 'duplicateRate'>): InputRecord[] {
  const records: InputRecord[] = [];
  for (const event of simulate({ seed: options.seed, duplicateRate: options.duplicateRate })) {
    if (event.topic === 'customer.upserted') continue;
    records.push({ topic: event.topic, value: event.value });
    if (records.length === options.events) break;
  }
  return records;
}

function emptyResult(options: BenchOptions, stack: TestStack): BenchResult {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  const cpu = cpus();
  return {
    ceilingEventsPerSec: null,
    ceilingDecodeEventsPerSec: null,
    publishEventsPerSec: null,
    pipelineEventsPerSec: null,
    pipelineRatio: null,
    freshnessP50Ms: null,
    freshnessP99Ms: null,
    freshnessP999Ms: null,
    freshnessSamples: null,
    rebuildSeconds: null,
    rebuildEventsPerSec: null,
    rebuildMethod: null,
    apiP50Ms: null,
    apiP99Ms: null,
    apiP999Ms: null,
    apiErrors: null,
    sinkCommandsPerSec: null,
    passed: false,
    failures: [],
    size: options.size,
    events: options.events,
    commit: git('rev-parse', 'HEAD') ?? 'unknown',
    dirty: (git('status', '--porcelain', '--untracked-files=no') ?? '') !== '',
    date: new Date().toISOString(),
    machine: {
      cores: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
      stack: stack.mode,
    },
    options,
    scenarios: {},
  };
}

