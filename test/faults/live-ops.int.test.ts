/**
 * Reliability scenario 8 (issue 8): the operations commands pointed at a live group while events
 * stream in. `offsets reset --execute` must refuse (TRB_GROUP_ACTIVE) and move nothing; `rebuild
 * orders --execute` must coordinate with the running instance (it wipes and replays the partitions,
 * atp catches up behind it) — and the end state is judged by the checker: the view, the API and
 * the ledger exact, as if nothing had been attempted.
 */
import { execFile } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { testStack, stackEnv } from '../harness/stack';
import { killAllChildren, startTributary } from '../e2e/child-process';
import { deploy, publish, waitCaughtUp, workload, type Deployment } from '../e2e/pipeline-harness';
import { ROOT, withAdmin } from '../publish/cli-helpers';
import { check, expectExact } from './checker';
import { dropState, faultsRedisUrl } from './harness';
import { PROFILE, seed, sized } from './profile';

const stack = testStack();
const SEED = seed();
const redisUrl = faultsRedisUrl(stack);
const PROCESSORS = ['orders', 'atp'] as const;
let deployment: Deployment | undefined;

afterEach(killAllChildren);

afterAll(async () => {
  await killAllChildren();
  if (deployment) await dropState(redisUrl, deployment);
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/tributary.js', ...args, '--topic-prefix', (deployment as Deployment).naming.prefix],
      { cwd: ROOT, env: { ...process.env, ...stackEnv(stack), REDIS_URL: redisUrl, LOG_LEVEL: 'warn' }, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function committed(group: string): Promise<string> {
  return withAdmin(async (admin) => JSON.stringify(await admin.fetchOffsets({ groupId: group })));
}

describe(`scenario 8 (${PROFILE}): offset reset and rebuild against a live group`, () => {
  it('the reset is refused and moves nothing; the rebuild is coordinated; the view and the ledger stay exact', async () => {
    console.info(`live-ops.int.test.ts: seed ${SEED} (TRIBUTARY_TEST_SEED=${SEED} reproduces it), profile ${PROFILE}`);
    const load = workload({ seed: SEED, events: sized(3_000, 12_000), duplicateRate: 0.02, repeatRate: 0.03 });
    deployment = await deploy(stack, 'f-ops');
    const names = deployment.naming;
    const half = Math.floor(load.rest.length / 2);
    await publish(stack, names, load.items);
    await publish(stack, names, load.rest.slice(0, half));

    const instance = startTributary({ stack, prefix: names.prefix, names: PROCESSORS, label: 'live', env: { REDIS_URL: redisUrl } });
    await instance.started(PROCESSORS);

    // While the second half streams in: a reset refused, then a rebuild done by the live instance.
    const rest = load.rest.slice(half);
    const slices = 10;
    const streaming = (async () => {
      // One publisher per slice: the second half arrives over seconds, not in one burst.
      for (let i = 0; i < slices; i++) await publish(stack, names, rest.slice(Math.floor((i * rest.length) / slices), Math.floor(((i + 1) * rest.length) / slices)));
    })();
    const ordersGroup = names.group('tributary.orders');
    const reset = await cli(['offsets', 'reset', '--group', 'orders', '--to-earliest', '--execute']);
    expect(reset.code).toBe(1);
    expect(reset.stderr).toMatch(new RegExp(`TRB_GROUP_ACTIVE: group ${ordersGroup.replace(/\./g, '\\.')} has 1 live member`));
    const rebuild = await cli(['rebuild', 'orders', '--execute']);
    await streaming;
    expect(rebuild.code, rebuild.stderr).toBe(0);
    expect(rebuild.stdout).toMatch(/rebuilt orders partitions 0,1,2,3,4,5 \(by its 1 running instance\(s\)\)/);
    expect(rebuild.stdout).toMatch(/atp caught up again with the rebuilt orders/);

    await waitCaughtUp(stack, deployment, 180_000);
    // A reset refused after the streaming stopped leaves the commits exactly as they were.
    const before = await committed(ordersGroup);
    expect((await cli(['offsets', 'reset', '--group', 'orders', '--to-earliest', '--execute'])).code).toBe(1);
    expect(await committed(ordersGroup)).toBe(before);

    instance.signal('SIGTERM');
    expect(await instance.exited).toEqual({ code: 0, signal: null });
    const report = await check({ stack, deployment, label: `[scenario 8 ${PROFILE}]`, records: load.records, redisUrl });
    expectExact(report);
  }, sized(240_000, 600_000));
});
