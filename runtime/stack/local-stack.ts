/**
 * The local stack of SPEC §3 under one TRIBUTARY_HOME: Kafka (KRaft, from the Apache jars), the
 * embedded schema registry and Redis, each a detached process that outlives the command that
 * started it. A part whose env var is set (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL) is not
 * started: the record then names that address, password masked, with pid 0 ("not ours, never
 * signalled"); the password stays in the env var.
 *
 * Files in home: `stack.json` (the StackRecord every later command reads; present only while the
 * stack runs), `ports.json` (kept across `down`, so `up` gives the same addresses and Kafka the
 * same controller address), `<part>.pid` (written as soon as a part is spawned, so `down` finds a
 * process even when `up` was interrupted), `.lock` (one `up`/`down` at a time), data folders
 * `kafka/` and `redis/`, the logs `kafka.log`, `kafka.out`, `redis.log`, `registry.log`, and
 * `.tributary-stack`, without which `--purge` deletes nothing (TRIBUTARY_HOME may be mistyped).
 *
 * Start is idempotent: a recorded process that is ours (see `processIdentity`) and answers is
 * kept. Kafka starts first, then the registry (which needs it) and Redis in parallel. When a part
 * fails, the parts this call started are stopped again, so a failed `up` leaves nothing running.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseBrokers } from '../config/connection';
import { redactUrl } from '../config/redact';
import { readStackRecord, stackRecordPath, writeStackRecord, type StackRecord } from '../config/home';
import { kafkaDistAvailable, KAFKA_VERSION, resolveKafkaDist } from './kafka-dist';
import { kafkaAnswers, kafkaPaths, startKafka, stopKafka, type KafkaPorts } from './kafka';
import { withLock } from './lock';
import { freePort, isPortFree } from './ports';
import { requireJava, requireMaven, requireRedisServer } from './prerequisites';
import { isOwnProcess, type ProcessIdentity } from './process';
import { redisAnswers, redisPaths, startRedis, stopRedis } from './redis';
import { REGISTRY_MARKER, registryAnswers, registryLog, startRegistryProcess, stopRegistryProcess } from './registry';

export type StackPart = 'kafka' | 'registry' | 'redis';
export const STACK_PARTS: readonly StackPart[] = ['kafka', 'registry', 'redis'];

export interface StackProgress {
  part: StackPart;
  /** `running`: found already running and kept; `external`: given by env, not started here. */
  state: 'preparing' | 'starting' | 'ready' | 'running' | 'external';
  message: string;
}

export interface LocalStackOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: (progress: StackProgress) => void;
}

interface SavedPorts {
  broker?: number;
  controller?: number;
  registry?: number;
  redis?: number;
}

const LOCK_FILE = '.lock';
/** Marks a folder as a stack home: `--purge` deletes nothing in a folder without it. */
const HOME_MARKER = '.tributary-stack';
const PORTS_FILE = 'ports.json';
const LOCK_TIMEOUT_MS = 5 * 60_000;

function pidFile(home: string, part: StackPart): string {
  return join(home, `${part}.pid`);
}

function readPid(home: string, part: StackPart): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(pidFile(home, part), 'utf8'), 10);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function readPorts(home: string): SavedPorts {
  try {
    return JSON.parse(readFileSync(join(home, PORTS_FILE), 'utf8')) as SavedPorts;
  } catch {
    return {};
  }
}

function readRecord(home: string): StackRecord | undefined {
  try {
    return readStackRecord(home);
  } catch {
    // A corrupt record is no record: `up` rewrites it, `down` falls back to the pid files.
    return undefined;
  }
}

/**
 * What marks each part's process as this home's: Kafka's command line names this home's properties
 * file; Redis rewrites its command line but runs in this home's `redis/`; the registry was started
 * with TRIBUTARY_HOME=<home>.
 */
export function processIdentity(home: string, part: StackPart): ProcessIdentity {
  if (part === 'kafka') return { command: kafkaPaths(home).properties };
  if (part === 'redis') return { command: 'redis-server', cwd: redisPaths(home).dir };
  return { command: REGISTRY_MARKER, env: { name: 'TRIBUTARY_HOME', value: home } };
}

function address(record: StackRecord, part: StackPart): string {
  if (part === 'kafka') return record.kafka.brokers.join(',');
  return record[part].url;
}

function answers(part: StackPart, where: string): Promise<boolean> {
  if (part === 'kafka') return kafkaAnswers(where.split(','));
  if (part === 'registry') return registryAnswers(where);
  return redisAnswers(where);
}

/** A recorded port when it is still free (or is ours already), else a new free one. */
async function portFor(saved: number | undefined, taken: Set<number>): Promise<number> {
  if (saved !== undefined && !taken.has(saved) && (await isPortFree(saved))) {
    taken.add(saved);
    return saved;
  }
  for (;;) {
    const port = await freePort();
    if (!taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

async function stopPart(part: StackPart, pid: number): Promise<string> {
  if (part === 'kafka') return stopKafka(pid);
  if (part === 'registry') return stopRegistryProcess(pid);
  return stopRedis(pid);
}

/** Our processes for a part: the recorded pid and the pid file's, when they are still ours. */
function ownPids(home: string, part: StackPart, record: StackRecord | undefined): number[] {
  const pids = new Set([record?.[part].pid, readPid(home, part)].filter((pid): pid is number => pid !== undefined && pid > 0));
  return [...pids].filter((pid) => isOwnProcess(pid, processIdentity(home, part)));
}

/**
 * This home's running processes, from its record and pid files (pid files appear as soon as a part
 * is spawned), for a last-resort cleanup that cannot wait for `stopLocalStack`'s lock.
 */
export function ownStackProcesses(home: string): Array<{ part: StackPart; pid: number }> {
  home = resolve(home);
  const record = readRecord(home);
  return STACK_PARTS.flatMap((part) => ownPids(home, part, record).map((pid) => ({ part, pid })));
}

export async function startLocalStack(options: LocalStackOptions): Promise<StackRecord> {
  const home = resolve(options.home);
  const env = options.env ?? process.env;
  const progress = (part: StackPart, state: StackProgress['state'], message: string) =>
    options.onProgress?.({ part, state, message });
  mkdirSync(home, { recursive: true });

  return withLock(
    join(home, LOCK_FILE),
    `the local stack in ${home}`,
    { timeoutMs: LOCK_TIMEOUT_MS, onWait: (pid) => progress('kafka', 'preparing', `waiting for pid ${pid}, which is starting or stopping this stack`) },
    async () => {
      const homeMarker = join(home, HOME_MARKER);
      if (!existsSync(homeMarker)) writeFileSync(homeMarker, 'A tributary local stack home (`tributary dev up`); `tributary dev down --purge` deletes it.\n');
      const previous = readRecord(home);
      const saved = readPorts(home);

      // Decide, per part, before starting anything: given by env, already running, or to start.
      const external: Record<StackPart, string | undefined> = {
        kafka: env.KAFKA_BROKERS,
        registry: env.SCHEMA_REGISTRY_URL,
        redis: env.REDIS_URL,
      };
      const keep = new Set<StackPart>();
      for (const part of STACK_PARTS) {
        if (external[part] || !previous) continue;
        const pid = previous[part].pid;
        if (pid > 0 && isOwnProcess(pid, processIdentity(home, part)) && (await answers(part, address(previous, part)))) keep.add(part);
      }
      // A registry bound to brokers that are about to change must follow them.
      const kafkaBrokers = external.kafka ? parseBrokers(external.kafka) : undefined;
      if (keep.has('registry') && !keep.has('kafka')) keep.delete('registry');
      if (keep.has('registry') && kafkaBrokers && previous?.kafka.brokers.join(',') !== kafkaBrokers.join(',')) keep.delete('registry');
      const toStart = STACK_PARTS.filter((part) => !external[part] && !keep.has(part));

      // Every missing program is reported before any process starts.
      const java = toStart.includes('kafka') ? requireJava(env) : undefined;
      if (toStart.includes('kafka') && !kafkaDistAvailable(env)) requireMaven(KAFKA_VERSION, env);
      const redisServer = toStart.includes('redis') ? requireRedisServer(env) : undefined;

      // Leftovers of an interrupted `up` (pid files, no record) would hold ports and data locks.
      for (const part of toStart) {
        for (const pid of ownPids(home, part, previous)) {
          progress(part, 'preparing', `stopping a leftover ${part} process (pid ${pid})`);
          await stopPart(part, pid);
        }
      }

      const taken = new Set<number>();
      const started: Array<{ part: StackPart; pid: number }> = [];
      const spawned = (part: StackPart, pid: number) => {
        started.push({ part, pid });
        writeFileSync(pidFile(home, part), `${pid}\n`);
      };
      const ports: SavedPorts = { ...saved };
      try {
        let kafka: StackRecord['kafka'];
        if (kafkaBrokers) {
          kafka = { brokers: kafkaBrokers, controllerPort: 0, pid: 0, version: 'external' };
          progress('kafka', 'external', `Kafka from KAFKA_BROKERS: ${kafkaBrokers.join(',')}`);
        } else if (keep.has('kafka')) {
          kafka = previous!.kafka;
          progress('kafka', 'running', `Kafka already running on ${kafka.brokers.join(',')} (pid ${kafka.pid})`);
        } else {
          const dist = await resolveKafkaDist({ env, onProgress: (message) => progress('kafka', 'preparing', message) });
          const kafkaPorts: KafkaPorts = {
            broker: await portFor(saved.broker, taken),
            controller: await portFor(saved.controller, taken),
          };
          ports.broker = kafkaPorts.broker;
          ports.controller = kafkaPorts.controller;
          const startedAt = Date.now();
          const { pid, brokers } = await startKafka({
            home,
            java: java!.path,
            libs: dist.libs,
            ports: kafkaPorts,
            env,
            onProgress: (message) => progress('kafka', 'starting', message),
            onSpawn: (pid) => spawned('kafka', pid),
          });
          kafka = { brokers, controllerPort: kafkaPorts.controller, pid, version: dist.version };
          progress('kafka', 'ready', `Kafka ${dist.version} ready on ${brokers.join(',')} in ${seconds(startedAt)}`);
        }
        if (keep.has('kafka')) for (const port of [saved.broker, saved.controller]) if (port) taken.add(port);

        const registryPort = external.registry || keep.has('registry') ? undefined : await portFor(saved.registry, taken);
        const redisPort = external.redis || keep.has('redis') ? undefined : await portFor(saved.redis, taken);

        // Settle both before judging, so a failure never leaves the other half-started and unrecorded.
        const [registryResult, redisResult] = await Promise.allSettled([
          (async (): Promise<StackRecord['registry']> => {
            if (external.registry) {
              progress('registry', 'external', `schema registry from SCHEMA_REGISTRY_URL: ${redactUrl(external.registry)}`);
              // The record is a file other tools read: a password in the env var stays in the env.
              return { url: redactUrl(external.registry.replace(/\/+$/, '')), pid: 0 };
            }
            if (keep.has('registry')) {
              progress('registry', 'running', `schema registry already running on ${previous!.registry.url} (pid ${previous!.registry.pid})`);
              return previous!.registry;
            }
            ports.registry = registryPort;
            const startedAt = Date.now();
            const { pid, url } = await startRegistryProcess({
              home,
              brokers: kafka.brokers,
              ownKafka: !kafkaBrokers,
              port: registryPort!,
              env,
              onProgress: (message) => progress('registry', 'starting', message),
              onSpawn: (pid) => spawned('registry', pid),
            });
            progress('registry', 'ready', `schema registry ready on ${url} in ${seconds(startedAt)}`);
            return { url, pid };
          })(),
          (async (): Promise<StackRecord['redis']> => {
            if (external.redis) {
              progress('redis', 'external', `Redis from REDIS_URL: ${redactUrl(external.redis)}`);
              return { url: redactUrl(external.redis), pid: 0 };
            }
            if (keep.has('redis')) {
              progress('redis', 'running', `Redis already running on ${previous!.redis.url} (pid ${previous!.redis.pid})`);
              return previous!.redis;
            }
            ports.redis = redisPort;
            const startedAt = Date.now();
            const { pid, url } = await startRedis({
              home,
              redisServer: redisServer!,
              port: redisPort!,
              env,
              onProgress: (message) => progress('redis', 'starting', message),
              onSpawn: (pid) => spawned('redis', pid),
            });
            progress('redis', 'ready', `Redis ready on ${url} in ${seconds(startedAt)}`);
            return { url, pid };
          })(),
        ]);
        if (registryResult.status === 'rejected') throw registryResult.reason;
        if (redisResult.status === 'rejected') throw redisResult.reason;
        const registry = registryResult.value;
        const redis = redisResult.value;

        const record: StackRecord = {
          home,
          startedAt: started.length === 0 && previous ? previous.startedAt : new Date().toISOString(),
          kafka,
          registry,
          redis,
        };
        writeFileSync(join(home, PORTS_FILE), `${JSON.stringify(ports, null, 2)}\n`);
        writeStackRecord(record);
        return record;
      } catch (error) {
        for (const { part, pid } of started.reverse()) {
          await stopPart(part, pid);
          rmSync(pidFile(home, part), { force: true });
        }
        throw error;
      }
    },
  );
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

export interface StopReport {
  home: string;
  stopped: Array<{ part: StackPart; pid: number; outcome: string }>;
  purged: boolean;
}

/** Data and logs `up` creates in home: all of it goes with `--purge`, nothing else does. */
function ownEntries(home: string): string[] {
  const kafka = kafkaPaths(home);
  return [
    stackRecordPath(home),
    join(home, PORTS_FILE),
    ...STACK_PARTS.map((part) => pidFile(home, part)),
    kafka.dir,
    kafka.log,
    kafka.out,
    ...readdirSafe(home).filter((name) => /^kafka\.log\.\d+$/.test(name)).map((name) => join(home, name)),
    redisPaths(home).dir,
    redisPaths(home).log,
    registryLog(home),
    join(home, HOME_MARKER),
  ];
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export async function stopLocalStack(
  home: string,
  options: { purge?: boolean; onProgress?: (message: string) => void } = {},
): Promise<StopReport> {
  home = resolve(home);
  const report: StopReport = { home, stopped: [], purged: false };
  if (!existsSync(home)) return report;

  await withLock(join(home, LOCK_FILE), `the local stack in ${home}`, { timeoutMs: LOCK_TIMEOUT_MS }, async () => {
    const record = readRecord(home);
    const stop = async (part: StackPart) => {
      for (const pid of ownPids(home, part, record)) {
        options.onProgress?.(`stopping ${part} (pid ${pid})`);
        report.stopped.push({ part, pid, outcome: await stopPart(part, pid) });
      }
      rmSync(pidFile(home, part), { force: true });
    };
    // The registry is a Kafka client: it goes first so Kafka's shutdown does not leave it retrying.
    await stop('registry');
    await Promise.all([stop('redis'), stop('kafka')]);
    rmSync(stackRecordPath(home), { force: true });
    if (options.purge && existsSync(join(home, HOME_MARKER))) {
      for (const entry of ownEntries(home)) rmSync(entry, { recursive: true, force: true });
      report.purged = true;
    }
  });
  if (report.purged) {
    try {
      // Only when nothing but our own files was there: TRIBUTARY_HOME may point at a folder the user owns.
      rmdirSync(home);
    } catch {
      // Not empty: leave the user's files alone.
    }
  }
  return report;
}

export interface PartStatus {
  part: StackPart;
  address: string;
  /** 0 when the part comes from an env var and is not managed by the local stack. */
  pid: number;
  managed: boolean;
  /** Whether our process still runs; undefined for a part we do not manage. */
  alive: boolean | undefined;
  /** Whether the address answers (metadata request, GET /subjects, PING). */
  ready: boolean;
}

export interface LocalStackStatus {
  home: string;
  recorded: boolean;
  running: boolean;
  startedAt?: string;
  kafkaVersion?: string;
  parts: PartStatus[];
}

const PART_ENV: Record<StackPart, string> = { kafka: 'KAFKA_BROKERS', registry: 'SCHEMA_REGISTRY_URL', redis: 'REDIS_URL' };

/** The address to probe: for a part given by env, the env var's (with its password) when it is the recorded one. */
function probeAddress(part: StackPart, recorded: string, managed: boolean, env: NodeJS.ProcessEnv): string {
  const given = env[PART_ENV[part]]?.replace(/\/+$/, '');
  return !managed && given && redactUrl(given) === recorded ? given : recorded;
}

export async function localStackStatus(home: string, env: NodeJS.ProcessEnv = process.env): Promise<LocalStackStatus> {
  home = resolve(home);
  const record = readRecord(home);
  if (!record) return { home, recorded: false, running: false, parts: [] };
  const parts = await Promise.all(
    STACK_PARTS.map(async (part): Promise<PartStatus> => {
      const pid = record[part].pid;
      const managed = pid > 0;
      const where = address(record, part);
      return {
        part,
        address: redactUrl(where),
        pid,
        managed,
        alive: managed ? isOwnProcess(pid, processIdentity(home, part)) : undefined,
        ready: await answers(part, probeAddress(part, where, managed, env)),
      };
    }),
  );
  return {
    home,
    recorded: true,
    running: parts.every((part) => part.ready && part.alive !== false),
    startedAt: record.startedAt,
    kafkaVersion: record.kafka.version,
    parts,
  };
}
