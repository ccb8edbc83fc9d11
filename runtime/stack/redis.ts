/**
 * The local Redis: the machine's `redis-server` on a free 127.0.0.1 port, data (append-only file,
 * no RDB snapshots) under `$TRIBUTARY_HOME/redis/`, output in `$TRIBUTARY_HOME/redis.log`. Ready
 * means PING answers. SIGTERM makes Redis flush the AOF and exit, so data survives `dev down`.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { StackError } from '../errors';
import { isAlive, logExcerpt, spawnDetached, stopProcess, type StartPartOptions } from './process';

const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 10_000;

export function redisPaths(home: string): { dir: string; log: string } {
  return { dir: join(home, 'redis'), log: join(home, 'redis.log') };
}

/**
 * The processors rewrite whole states and add then delete each batch's outbox, so the AOF grows
 * several times faster than the data: with Redis' defaults (rewrite at 64 MB and at every
 * doubling) it was rewritten every few seconds under load, and the forked rewrites took half of
 * Redis' CPU (a 100,000-event pipeline: 11–12 CPU s against 5.5–6.5 with these settings, and
 * 12–30 % more events/s). The price is an AOF up to five times the data between rewrites.
 */
export const AOF_REWRITE_ARGS = ['--auto-aof-rewrite-percentage', '400', '--auto-aof-rewrite-min-size', '256mb'] as const;

export function redisArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', ...AOF_REWRITE_ARGS, '--save', '', '--daemonize', 'no'];
}

export async function startRedis(options: StartPartOptions & {
  redisServer: string;
  port: number;
}): Promise<{ pid: number; url: string }> {
  const paths = redisPaths(options.home);
  mkdirSync(paths.dir, { recursive: true });
  const url = `redis://127.0.0.1:${options.port}`;
  options.onProgress?.(`starting Redis on ${url}`);
  const pid = await spawnDetached({
    what: 'Redis',
    command: options.redisServer,
    args: redisArgs(options.port, paths.dir),
    cwd: paths.dir,
    env: options.env,
    logFile: paths.log,
  });
  options.onSpawn?.(pid);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await redisAnswers(url))) {
    if (!isAlive(pid) || Date.now() > deadline) {
      const how = isAlive(pid) ? `did not answer PING within ${READY_TIMEOUT_MS / 1000} s` : 'exited during startup';
      await stopProcess(pid, 2_000);
      throw new StackError('TRB_STACK_START_FAILED', `Redis ${how}. Last log lines: ${logExcerpt(paths.log)}; see ${paths.log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { pid, url };
}

export async function redisAnswers(url: string, timeoutMs = 2_000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export function stopRedis(pid: number): Promise<'stopped' | 'killed' | 'not-running'> {
  return stopProcess(pid, STOP_GRACE_MS);
}
