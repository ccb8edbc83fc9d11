/**
 * `tributary rebuild` against the real stack (issue 6): after Redis lost everything and no
 * instance runs, `rebuild all --execute` runs the processors itself until caught up and the view
 * is the reference fold again; with instances running, `rebuild orders --partitions 1` is done by
 * the instance that owns the partition, atp catches up again behind it, and the API never answers
 * a number that differs from the fold meanwhile (503 while catching up is allowed).
 * The processors use a Redis database of this file's own (db 7), which it flushes.
 */
import { execFile } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startComponents, type Components } from '../../runtime/app/components';
import { log } from '../../runtime/log';
import type { AtpRow } from '../reference/fold';
import { redisDb, stackEnv, testStack } from '../harness/stack';
import { ROOT } from '../publish/cli-helpers';
import { deploy, expected, publish, servedFromRedis, waitCaughtUp, workload, type Deployment } from './pipeline-harness';

const stack = testStack();
const DB = 7;
const redisUrl = redisDb(stack.redisUrl, DB);
const PARTITIONS = 6;
const LABEL = 'rebuild';
const running: Components[] = [];
let redis: Redis;
let deployment: Deployment;
let want: ReturnType<typeof expected>;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function rebuildCli(...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/tributary.js', 'rebuild', ...args, '--topic-prefix', deployment.naming.prefix],
      { cwd: ROOT, env: { ...process.env, ...stackEnv(stack), REDIS_URL: redisUrl, LOG_LEVEL: 'warn' }, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function start(names: string[]): Promise<Components> {
  const components = await startComponents({
    names,
    connection: { brokers: stack.brokers, registryUrl: stack.registryUrl, redisUrl, origin: { kafka: 'env', registry: 'env', redis: 'env' }, security: 'none' },
    topology: deployment.topology,
    naming: deployment.naming,
    log: log.child({ test: LABEL }),
    port: 0,
    host: '127.0.0.1',
    metricsPort: null,
  });
  running.push(components);
  return components;
}

async function stopAll(): Promise<void> {
  while (running.length > 0) await running.pop()?.stop();
}

/** FLUSHDB of this file's database, refusing if it holds a key this file did not write. */
async function flush(): Promise<void> {
  const keys = await redis.keys('*');
  const foreign = keys.find((k) => !k.startsWith(`trb:{${LABEL}-`));
  if (foreign !== undefined) throw new Error(`redis db ${DB} holds ${foreign}, which this test did not write: not flushing it`);
  await redis.flushdb();
}

async function generationOf(processor: string, partition: number): Promise<string | null> {
  return redis.hget(`trb:{${deployment.naming.store(processor)}:${partition}}:watermark`, '@gen');
}

beforeAll(async () => {
  redis = new Redis(redisUrl);
  await flush();
  deployment = await deploy(stack, LABEL);
  const load = workload({ seed: 2601, events: 3_000, duplicateRate: 0.02, repeatRate: 0.02 });
  want = expected(load.records);
  await publish(stack, deployment.naming, load.records);
}, 180_000);

afterEach(stopAll);

afterAll(async () => {
  await stopAll();
  if (redis) await flush().catch(() => undefined);
  redis?.disconnect();
});

describe('tributary rebuild', () => {
  it('after Redis lost everything and nothing runs: the plan changes nothing, --execute runs the processors until the view is the fold again', async () => {
    await start(['orders', 'atp']);
    await waitCaughtUp(stack, deployment);
    expect(await servedFromRedis(redisUrl, deployment.naming, PARTITIONS)).toEqual({ atp: want.atp, orders: want.orders });
    await stopAll();
    await flush();

    const plan = await rebuildCli('all');
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/orders\s+│?\s*wipe and replay/);
    expect(plan.stdout).toMatch(/none \(this command runs it\)/);
    expect(plan.stdout).toMatch(/nothing changed: run again with --execute/);
    expect(await redis.dbsize()).toBe(0);

    const done = await rebuildCli('all', '--execute', '--format', 'json');
    expect(done.code, done.stderr).toBe(0);
    const report = JSON.parse(done.stdout) as { execute: boolean; recordsReplayed: number; processors: { processor: string; role: string }[] };
    expect(report.execute).toBe(true);
    expect(report.processors.map((p) => `${p.processor}:${p.role}`).sort()).toEqual(['atp:rebuild', 'customers:rebuild', 'orders:rebuild']);
    expect(report.recordsReplayed).toBeGreaterThanOrEqual(want.atp.length);
    expect(await servedFromRedis(redisUrl, deployment.naming, PARTITIONS)).toEqual({ atp: want.atp, orders: want.orders });
  }, 300_000);

  it('with instances running: the owner rebuilds the partition, atp catches up behind it, the API never serves a wrong number', async () => {
    const components = await start(['orders', 'atp', 'api']);
    await waitCaughtUp(stack, deployment);
    const api = components.url as string;
    const rows = want.atp.filter((_, i) => i % Math.max(1, Math.floor(want.atp.length / 40)) === 0).map(([, row]) => row);
    const gens = { target: await generationOf('orders', 1), other: await generationOf('orders', 0) };
    expect(gens.target).not.toBeNull();

    const answers = { ok: 0, unavailable: 0, wrong: [] as string[] };
    let rebuilding = true;
    const poller = (async () => {
      while (rebuilding) {
        for (const row of rows) {
          const response = await fetch(`${api}/atp/${row.sku}/${row.warehouse}`);
          const body = (await response.json()) as Record<string, unknown>;
          if (response.status === 503) answers.unavailable++;
          else if (response.status === 200 && isDeepStrictEqual(body, servedRow(row))) answers.ok++;
          else answers.wrong.push(`${response.status} ${row.sku}@${row.warehouse}: ${JSON.stringify(body)}`);
        }
      }
    })();
    const done = await rebuildCli('orders', '--partitions', '1', '--execute');
    rebuilding = false;
    await poller;

    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/rebuilt orders partitions 1 \(by its 1 running instance\(s\)\)/);
    expect(done.stdout).toMatch(/atp caught up again with the rebuilt orders/);
    expect(answers.wrong).toEqual([]);
    expect(answers.ok).toBeGreaterThan(0);
    // Only partition 1 was rebuilt, in a newer generation.
    const after = { target: await generationOf('orders', 1), other: await generationOf('orders', 0) };
    expect(after.other).toBe(gens.other);
    expect(after.target! > gens.target!).toBe(true);
    await waitCaughtUp(stack, deployment);
    expect(await servedFromRedis(redisUrl, deployment.naming, PARTITIONS)).toEqual({ atp: want.atp, orders: want.orders });
  }, 300_000);

  it('a view corrupted by a bug: rebuild atp --execute with atp running restores the fold', async () => {
    await start(['orders', 'atp']);
    await waitCaughtUp(stack, deployment);
    // What a buggy release could have left: wrong numbers in the served row and in the state.
    const [, victim] = want.atp[0] as [string, AtpRow];
    // A sku's rows live in the partitions of their sku@warehouse keys: find the one holding this row.
    const viewKeys = await redis.keys(`trb:{${deployment.naming.store('atp')}:*}:view:sku:${victim.sku}`);
    const holding = [];
    for (const key of viewKeys) if (await redis.hexists(key, victim.warehouse)) holding.push(key);
    expect(holding).toHaveLength(1);
    await redis.hset(holding[0] as string, victim.warehouse, JSON.stringify({ ...victim, onHand: victim.onHand + 1000, atp: victim.atp + 1000 }));
    expect(await servedFromRedis(redisUrl, deployment.naming, PARTITIONS)).not.toEqual({ atp: want.atp, orders: want.orders });

    const done = await rebuildCli('atp', '--execute');
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/rebuilt atp partitions 0,1,2,3,4,5 \(by its 1 running instance\(s\)\)/);
    expect(await servedFromRedis(redisUrl, deployment.naming, PARTITIONS)).toEqual({ atp: want.atp, orders: want.orders });
  }, 300_000);

  it('an unknown processor is a usage error naming the choices', async () => {
    const result = await rebuildCli('erp');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/TRB_USAGE: "erp" is not a processor; choose one of: orders, atp, customers, or all/);
  });
});

function servedRow(row: AtpRow): Record<string, unknown> {
  return { ...row, asOf: row.asOf === null ? null : new Date(row.asOf).toISOString() };
}
