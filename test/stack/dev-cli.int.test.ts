/**
 * `tributary dev ...` driven as a user drives it: the real CLI in child processes, with its own
 * TRIBUTARY_HOME and none of KAFKA_BROKERS / SCHEMA_REGISTRY_URL / REDIS_URL, so it starts its
 * own Kafka, registry and Redis (independent of the run's test stack), even with the user's
 * Kafka SASL/TLS settings set. Data must survive `down`/`up`, and `down --purge` must leave
 * nothing behind. The steps build on each other. Parts given by env (the run's test stack) are
 * used, not started, and their passwords are never shown.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';

const BIN = fileURLToPath(new URL('../../bin/tributary.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function cleanEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { KAFKA_BROKERS: _k, SCHEMA_REGISTRY_URL: _s, REDIS_URL: _r, TRIBUTARY_HOME: _h, ...rest } = process.env;
  return { ...rest, TRIBUTARY_HOME: home, ...extra };
}

function tributary(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** Whether anything accepts TCP connections at host:port (a stopped server refuses them). */
function accepts(hostPort: string): Promise<boolean> {
  const url = new URL(hostPort.includes('://') ? hostPort : `tcp://${hostPort}`);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    socket.setTimeout(2_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

interface StatusJson {
  home: string;
  recorded: boolean;
  running: boolean;
  parts: Array<{ part: string; address: string; pid: number; managed: boolean; alive: boolean; ready: boolean }>;
}

function parseExports(line: string): Record<string, string> {
  expect(line.trim().split('\n')).toHaveLength(1);
  expect(line.startsWith('export ')).toBe(true);
  return Object.fromEntries(
    line
      .trim()
      .slice('export '.length)
      .split(' ')
      .map((pair) => pair.split('=', 2) as [string, string]),
  );
}

const AVRO = JSON.stringify({
  type: 'record',
  name: 'DevCliProbe',
  namespace: 'test.tributary',
  doc: 'a record registered by the dev CLI test',
  fields: [{ name: 'id', type: 'string', doc: 'an id' }],
});

describe('tributary dev (a local stack started, stopped and purged through the CLI)', () => {
  const home = mkdtempSync(join(tmpdir(), 'tributary-dev-cli-'));
  // The user's settings for their real (secured) cluster must not reach the stack's plaintext broker.
  const env = cleanEnv(home, {
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'prod-user',
    KAFKA_SASL_PASSWORD: 'prod-password',
    KAFKA_SSL: 'true',
  });
  const topic = uniqueName('dev-cli');
  const subject = `${topic}-value`;
  const redisKey = uniqueName('dev-cli-key');
  let addresses: { brokers: string; registry: string; redis: string } | undefined;
  let schemaId: number | undefined;

  afterAll(async () => {
    // Whatever happened above, leave no process and no data behind.
    await tributary(['dev', 'down', '--purge'], env);
    rmSync(home, { recursive: true, force: true });
  }, 120_000);

  it('reports nothing running before `dev up`: status and env exit 3', async () => {
    const status = await tributary(['dev', 'status'], env);
    expect(status.code).toBe(3);
    expect(status.stdout).toContain(`no local stack running under ${home}`);
    const envRun = await tributary(['dev', 'env'], env);
    expect(envRun.code).toBe(3);
    expect(envRun.stderr.trim().split('\n')).toHaveLength(1);
    expect(envRun.stderr).toContain('tributary dev up');
  });

  it('`dev up` starts Kafka, the registry and Redis in the background and prints their addresses', async () => {
    const run = await tributary(['dev', 'up'], env, 300_000);
    console.log(`dev up (first in this home) took ${(run.ms / 1000).toFixed(1)} s`);
    expect(run.code, run.stderr).toBe(0);
    const kafka = /Kafka\s+(127\.0\.0\.1:\d+)/.exec(run.stdout)?.[1];
    const registry = /schema registry\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout)?.[1];
    const redis = /Redis\s+(redis:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout)?.[1];
    expect(kafka && registry && redis, run.stdout).toBeTruthy();
    expect(run.stdout).toContain('eval "$(tributary dev env)"');
    addresses = { brokers: kafka!, registry: registry!, redis: redis! };
    // The command has exited; the stack must keep answering without it.
    expect(await accepts(kafka!)).toBe(true);
  }, 300_000);

  it('`dev status` shows every part ready, as a table and as JSON', async () => {
    const table = await tributary(['dev', 'status'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('running');
    expect(table.stdout.match(/│ ready\s*│/g)).toHaveLength(3);

    const json = await tributary(['dev', 'status', '--format', 'json'], env);
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout) as StatusJson;
    expect(status.running).toBe(true);
    expect(Object.fromEntries(status.parts.map((p) => [p.part, p.address]))).toEqual({
      kafka: addresses!.brokers,
      registry: addresses!.registry,
      redis: addresses!.redis,
    });
    for (const part of status.parts) expect(part).toMatchObject({ managed: true, alive: true, ready: true });
  });

  it('`dev env` prints one export line naming the same addresses', async () => {
    const run = await tributary(['dev', 'env'], env);
    expect(run.code).toBe(0);
    expect(parseExports(run.stdout)).toEqual({
      KAFKA_BROKERS: addresses!.brokers,
      SCHEMA_REGISTRY_URL: addresses!.registry,
      REDIS_URL: addresses!.redis,
    });
  });

  it('the stack is usable: a topic, a schema and a Redis key can be written', async () => {
    const admin = createKafka([addresses!.brokers], 'dev-cli-test').admin();
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })).toBe(true);
    } finally {
      await admin.disconnect();
    }
    const response = await fetch(`${addresses!.registry}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: AVRO }),
    });
    expect(response.status).toBe(200);
    schemaId = ((await response.json()) as { id: number }).id;
    expect(schemaId).toBeGreaterThan(0);
    const redis = new Redis(addresses!.redis);
    try {
      expect(await redis.set(redisKey, 'kept')).toBe('OK');
    } finally {
      redis.disconnect();
    }
  });

  it('`dev down` stops every part: status exits 3 and the ports refuse connections', async () => {
    const run = await tributary(['dev', 'down'], env, 90_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/stopped schema registry \(pid \d+\), Redis \(pid \d+\), Kafka \(pid \d+\)/);
    expect((await tributary(['dev', 'status'], env)).code).toBe(3);
    for (const where of [addresses!.brokers, addresses!.registry, addresses!.redis]) expect(await accepts(where), where).toBe(false);
    expect(existsSync(join(home, 'kafka')), 'data stays without --purge').toBe(true);
  }, 120_000);

  it('`dev up` again brings back the same addresses with the topic, the schema and the key', async () => {
    const run = await tributary(['dev', 'up'], env, 180_000);
    console.log(`dev up (restart with data) took ${(run.ms / 1000).toFixed(1)} s`);
    expect(run.code, run.stderr).toBe(0);
    const again = parseExports((await tributary(['dev', 'env'], env)).stdout);
    expect(again).toEqual({ KAFKA_BROKERS: addresses!.brokers, SCHEMA_REGISTRY_URL: addresses!.registry, REDIS_URL: addresses!.redis });

    const admin = createKafka([addresses!.brokers], 'dev-cli-test').admin();
    await admin.connect();
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      expect(metadata.topics[0]?.partitions).toHaveLength(2);
    } finally {
      await admin.disconnect();
    }
    const latest = await fetch(`${addresses!.registry}/subjects/${subject}/versions/latest`);
    expect(latest.status).toBe(200);
    const version = (await latest.json()) as { id: number; version: number; schema: string };
    expect(version.id).toBe(schemaId);
    expect(JSON.parse(version.schema)).toEqual(JSON.parse(AVRO));
    const redis = new Redis(addresses!.redis);
    try {
      expect(await redis.get(redisKey)).toBe('kept');
    } finally {
      redis.disconnect();
    }
  }, 180_000);

  it('`dev up` on a running stack says it is already running and starts nothing', async () => {
    const before = JSON.parse((await tributary(['dev', 'status', '--format', 'json'], env)).stdout) as StatusJson;
    const run = await tributary(['dev', 'up'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('already running');
    const after = JSON.parse((await tributary(['dev', 'status', '--format', 'json'], env)).stdout) as StatusJson;
    expect(after.parts.map((p) => p.pid)).toEqual(before.parts.map((p) => p.pid));
  });

  it('`dev down --purge` stops the stack and deletes its home', async () => {
    const run = await tributary(['dev', 'down', '--purge'], env, 90_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`deleted the local stack's data and logs in ${home}`);
    expect(existsSync(home)).toBe(false);
    for (const where of [addresses!.brokers, addresses!.registry, addresses!.redis]) expect(await accepts(where), where).toBe(false);
  }, 120_000);
});

describe('tributary dev with parts given by env', () => {
  it('masks the password of a given REDIS_URL in its output, status and record, and starts only the registry', async () => {
    const stack = testStack();
    const home = mkdtempSync(join(tmpdir(), 'tributary-dev-given-'));
    const redis = new URL(stack.redisUrl);
    // Redis without a password accepts a client that sends one (ioredis only warns).
    const redisUrl = `redis://:S3cret-pw@${redis.host}/15`;
    const env = cleanEnv(home, { KAFKA_BROKERS: stack.brokers.join(','), REDIS_URL: redisUrl });
    try {
      const up = await tributary(['dev', 'up'], env, 120_000);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toContain(`redis://:***@${redis.host}/15`);
      const status = await tributary(['dev', 'status'], env);
      const json = await tributary(['dev', 'status', '--format', 'json'], env);
      expect(status.code, status.stdout).toBe(0);
      const parts = (JSON.parse(json.stdout) as StatusJson).parts;
      expect(parts.find((p) => p.part === 'redis')).toMatchObject({ address: `redis://:***@${redis.host}/15`, managed: false, ready: true });
      const record = readFileSync(join(home, 'stack.json'), 'utf8');
      for (const shown of [up.stdout, up.stderr, status.stdout, json.stdout, record]) expect(shown).not.toContain('S3cret-pw');
      const down = await tributary(['dev', 'down'], env, 60_000);
      expect(down.stdout).toMatch(/^stopped schema registry \(pid \d+\)\n$/);
    } finally {
      await tributary(['dev', 'down', '--purge'], env, 60_000);
      rmSync(home, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('tributary dev up without Java', () => {
  it('fails before starting anything, with one line saying Java 17+ is needed', async () => {
    const home = mkdtempSync(join(tmpdir(), 'tributary-dev-nojava-'));
    // A PATH with node only: java, mvn and redis-server all live elsewhere.
    const bin = mkdtempSync(join(tmpdir(), 'tributary-path-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    const { JAVA_HOME: _javaHome, ...rest } = cleanEnv(home);
    try {
      const run = await tributary(['dev', 'up'], { ...rest, PATH: bin });
      expect(run.code).not.toBe(0);
      const lines = run.stderr.trim().split('\n');
      expect(lines, run.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^tributary: TRB_JAVA_MISSING: /);
      expect(lines[0]).toContain('Java 17');
      expect(lines[0]).toContain('install');
      expect(existsSync(join(home, 'stack.json'))).toBe(false);
      expect(existsSync(join(home, 'kafka')), 'no Kafka files were written').toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
