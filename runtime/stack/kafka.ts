/**
 * The local Kafka broker: one JVM in KRaft combined mode (broker and controller, node id 1) on
 * 127.0.0.1, its config, data and logs under `$TRIBUTARY_HOME/kafka/`. The properties are a pure
 * function of the ports and folders and are rewritten on every start; the storage is formatted
 * once (skipped when `meta.properties` exists), so topics survive `dev down` / `dev up`. Ready means
 * a metadata request (describeCluster) answers.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { StackError } from '../errors';
import { isAlive, logExcerpt, spawnDetached, stopProcess, tailFile, type StartPartOptions } from './process';

export const KAFKA_MAIN_CLASS = 'kafka.Kafka';
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;

export interface KafkaPorts {
  broker: number;
  controller: number;
}

export interface KafkaPaths {
  dir: string;
  properties: string;
  log4j: string;
  data: string;
  /** Kafka's own log (log4j). */
  log: string;
  /** The JVM's stdout and stderr: crashes before log4j is up land here. */
  out: string;
}

export function kafkaPaths(home: string): KafkaPaths {
  const dir = join(home, 'kafka');
  return {
    dir,
    properties: join(dir, 'server.properties'),
    log4j: join(dir, 'log4j.properties'),
    data: join(dir, 'data'),
    log: join(home, 'kafka.log'),
    out: join(home, 'kafka.out'),
  };
}

export function serverProperties(ports: KafkaPorts, dataDir: string): string {
  const settings: Array<[string, string | number]> = [
    ['process.roles', 'broker,controller'],
    ['node.id', 1],
    ['controller.quorum.voters', `1@127.0.0.1:${ports.controller}`],
    ['listeners', `PLAINTEXT://127.0.0.1:${ports.broker},CONTROLLER://127.0.0.1:${ports.controller}`],
    ['advertised.listeners', `PLAINTEXT://127.0.0.1:${ports.broker}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
    ['log.dirs', dataDir],
    // One node: every internal topic and every default must fit on it.
    ['num.partitions', 1],
    ['default.replication.factor', 1],
    ['min.insync.replicas', 1],
    ['offsets.topic.replication.factor', 1],
    ['transaction.state.log.replication.factor', 1],
    ['transaction.state.log.min.isr', 1],
    // Topics come from topology.yaml; a typo must fail, not create a topic.
    ['auto.create.topics.enable', 'false'],
    // A developer's consumer should not wait 3 s for a group of one.
    ['group.initial.rebalance.delay.ms', 0],
    ['log.retention.check.interval.ms', 60_000],
  ];
  const lines = settings.map(([key, value]) => `${key}=${escapeValue(String(value))}`);
  return `# Written by tributary dev up; rewritten on every start.\n${lines.join('\n')}\n`;
}

/** Java properties treat backslash as an escape: Windows-style paths must survive. */
function escapeValue(value: string): string {
  return value.replace(/\\/g, '\\\\');
}

export function log4jProperties(logFile: string): string {
  return [
    '# Written by tributary dev up: Kafka logs to a file under TRIBUTARY_HOME, not to the terminal.',
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.RollingFileAppender',
    `log4j.appender.file.File=${escapeValue(logFile)}`,
    'log4j.appender.file.MaxFileSize=10MB',
    'log4j.appender.file.MaxBackupIndex=2',
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    // The request logger and the state-change logger are noise for a developer broker.
    'log4j.logger.kafka.request.logger=WARN',
    'log4j.logger.state.change.logger=WARN',
    'log4j.logger.org.apache.kafka.storage.internals.log=WARN',
    '',
  ].join('\n');
}

/**
 * A cluster id in Kafka's Uuid text form: 16 random bytes, base64url without padding, never
 * starting with '-' (Kafka's own Uuid.randomUuid rule) — saves a JVM start for `random-uuid`.
 */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function classpath(libs: string): string {
  return join(libs, '*');
}

function runJava(java: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(java, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8 * 1024);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

export interface StartKafkaOptions extends StartPartOptions {
  java: string;
  libs: string;
  ports: KafkaPorts;
}

export async function startKafka(options: StartKafkaOptions): Promise<{ pid: number; brokers: string[] }> {
  const env = options.env ?? process.env;
  const paths = kafkaPaths(options.home);
  mkdirSync(paths.data, { recursive: true });
  writeFileSync(paths.properties, serverProperties(options.ports, paths.data));
  writeFileSync(paths.log4j, log4jProperties(paths.log));
  const log4jFlag = `-Dlog4j.configuration=file:${paths.log4j}`;

  if (!existsSync(join(paths.data, 'meta.properties'))) {
    options.onProgress?.(`formatting Kafka storage in ${paths.data}`);
    const format = await runJava(
      options.java,
      [log4jFlag, '-cp', classpath(options.libs), 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', paths.properties],
      env,
    );
    if (format.code !== 0) {
      const last = format.output.trim().split('\n').slice(-1)[0] ?? '';
      throw new StackError('TRB_STACK_START_FAILED', `formatting the Kafka storage failed (exit ${format.code}): "${last.slice(0, 300)}"`);
    }
  }

  const brokers = [`127.0.0.1:${options.ports.broker}`];
  options.onProgress?.(`starting Kafka on ${brokers[0]} (controller on port ${options.ports.controller})`);
  const pid = await spawnDetached({
    what: 'Kafka',
    command: options.java,
    args: ['-Xms256m', '-Xmx1g', '-XX:+UseG1GC', '-Djava.awt.headless=true', log4jFlag, '-cp', classpath(options.libs), KAFKA_MAIN_CLASS, paths.properties],
    cwd: paths.dir,
    env,
    logFile: paths.out,
  });
  options.onSpawn?.(pid);
  try {
    await waitForKafka(brokers, { timeoutMs: READY_TIMEOUT_MS, pid, paths });
  } catch (error) {
    await stopProcess(pid, 5_000);
    throw error;
  }
  return { pid, brokers };
}

/** One metadata round trip; false on any failure. Local PLAINTEXT only, so no SASL/TLS from env. */
export async function kafkaAnswers(brokers: string[], timeoutMs = 3_000): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'tributary-dev-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 2_000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

export async function waitForKafka(
  brokers: string[],
  options: { timeoutMs: number; pid?: number; paths?: KafkaPaths },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const excerpt = () =>
    options.paths ? ` Last log lines: ${logExcerpt(options.paths.log)}; see ${options.paths.log} and ${options.paths.out}` : '';
  for (;;) {
    if (await kafkaAnswers(brokers)) return;
    if (options.pid !== undefined && !isAlive(options.pid)) {
      const out = options.paths && tailFile(options.paths.out).length > 0 ? logExcerpt(options.paths.out) : '';
      throw new StackError('TRB_STACK_START_FAILED', `Kafka exited during startup.${excerpt()}${out ? ` JVM output: ${out}` : ''}`);
    }
    if (Date.now() > deadline) {
      throw new StackError('TRB_STACK_START_FAILED', `Kafka did not answer on ${brokers.join(',')} within ${options.timeoutMs / 1000} s.${excerpt()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** SIGTERM lets the broker shut down cleanly (no log recovery next start); SIGKILL after 30 s. */
export function stopKafka(pid: number): Promise<'stopped' | 'killed' | 'not-running'> {
  return stopProcess(pid, STOP_GRACE_MS);
}
