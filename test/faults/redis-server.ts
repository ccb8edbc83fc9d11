/**
 * A redis-server of a test's own (reliability scenario 5), so it can be shut down, killed and
 * emptied without touching the shared stack: started on a free port with AOF in a temporary
 * directory (the local stack's own settings, runtime/stack/redis.ts), restarted on the same port
 * and directory, so clients reconnect to the same URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from '../harness/wait';
import { AOF_REWRITE_ARGS } from '../../runtime/stack/redis';

export interface OwnRedis {
  readonly url: string;
  readonly dir: string;
  /** SHUTDOWN: Redis writes its AOF and exits; resolves once the process is gone. */
  shutdown(): Promise<void>;
  /** SIGKILL: nothing is written; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Deletes the data directory's contents (the AOF): the next start is empty. */
  wipe(): void;
  /** Starts it again on the same port and directory; resolves when it answers PING (AOF loaded). */
  start(): Promise<void>;
  /** Kills it if running and deletes the directory. */
  remove(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** `password`: the server requires it (requirepass); `url` carries it. */
export async function startOwnRedis(options: { password?: string } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tributary-faults-redis-'));
  const url = options.password ? `redis://default:${encodeURIComponent(options.password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;
  const auth = options.password ? ['--requirepass', options.password] : [];
  let child: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    output = '';
    const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', ...AOF_REWRITE_ARGS, '--save', '', '--daemonize', 'no', ...auth], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    started.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    // Refused until it listens: expected here, answered by the next poll.
    probe.on('error', () => undefined);
    try {
      await waitFor(
        async () => {
          if (started.exitCode !== null) throw new Error(`redis-server exited ${started.exitCode}: ${output}`);
          if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
          return (await probe.ping()) === 'PONG';
        },
        { timeoutMs: 20_000, intervalMs: 50, what: `redis-server on port ${port}` },
      );
    } finally {
      probe.disconnect();
    }
  }

  async function gone(signal?: NodeJS.Signals): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    if (signal) running.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`redis-server on port ${port} did not exit within 15 s: ${output}`)), 15_000)));
    try {
      await Promise.race([exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  await start();
  return {
    url,
    dir,
    async shutdown() {
      const admin = new Redis(url, { maxRetriesPerRequest: 0 });
      admin.on('error', () => undefined);
      // SHUTDOWN closes the connection instead of answering.
      await admin.shutdown().catch(() => undefined);
      admin.disconnect();
      await gone();
    },
    kill: () => gone('SIGKILL'),
    wipe() {
      for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { recursive: true, force: true });
    },
    start,
    async remove() {
      await gone('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
