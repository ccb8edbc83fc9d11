/**
 * `tributary up --demo` (issue 5 acceptance): the whole backbone with simulated traffic and the
 * stand-in ERP and CRM; commands arrive at both receivers within a minute, the API is ready, and
 * Ctrl-C stops everything within 10 s with exit 0. Run against the test stack (the three
 * addresses come from env, so `up` starts no stack of its own) under a unique topic prefix.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import { uniqueName } from '../harness/names';
import { stackEnv, testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { ROOT } from '../publish/cli-helpers';

const prefix = `${uniqueName('demo')}.`;
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  const admin = createKafka(testStack().brokers, 'up-demo-cleanup').admin();
  await admin.connect();
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 });
  await admin.disconnect();
});

describe('tributary up --demo', () => {
  it('shows commands arriving at both stand-in receivers within a minute, serves the API, and stops on Ctrl-C', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...stackEnv(testStack()), LOG_LEVEL: 'warn' };
    delete env.ERP_URL;
    delete env.CRM_URL;
    delete env.API_TOKEN;
    const started = Date.now();
    child = spawn('node', ['bin/tributary.js', 'up', '--demo', '--port', '0', '--host', '127.0.0.1', '--topic-prefix', prefix, '--demo-rate', '50'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    const receivers = await waitFor(() => {
      const urls = [...stderr.matchAll(/curl -s (http:\/\/127\.0\.0\.1:\d+)\/_receiver/g)].map((m) => m[1] as string);
      return urls.length === 2 ? urls : undefined;
    }, { what: 'the demo banner with both receivers', timeoutMs: 60_000 });
    const api = /API on (http:\/\/[^\s]+)/.exec(stderr)?.[1];
    expect(api).toBeDefined();

    const counts = await waitFor(async () => {
      const applied = await Promise.all(receivers.map(async (url) => ((await (await fetch(`${url}/_receiver`)).json()) as { applied: number }).applied));
      return applied.every((n) => n > 0) ? applied : undefined;
    }, { what: 'commands at both receivers', timeoutMs: 60_000, intervalMs: 500 });
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(`[up --demo] commands at ERP ${counts[0]} and CRM ${counts[1]} after ${seconds.toFixed(1)} s\n`);
    expect(seconds).toBeLessThan(60);

    await waitFor(async () => (await fetch(`${api}/readyz`)).status === 200, { what: 'the API to be ready', timeoutMs: 30_000 });

    const stopAt = Date.now();
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(Date.now() - stopAt).toBeLessThan(10_000);
    expect(stderr).toContain('stopped');
  });
});
