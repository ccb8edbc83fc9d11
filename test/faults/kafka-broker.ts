/**
 * A Kafka broker of a test's own (reliability scenarios 3 and 4), so it can be stopped, killed and
 * cut off without touching the shared test stack: the local stack's single-node KRaft broker
 * (runtime/stack/kafka.ts: the same jars, settings and readiness probe) in a temporary directory,
 * on free ports chosen once, a child of the test process. `stop()` / `kill()` and `start()` keep
 * the directory and the ports, so clients reconnect to the same addresses and find their data.
 *
 * Listeners: `brokers` (DIRECT) is what the test itself uses — publisher, checker, registry. With
 * `advertiseThrough: <proxy port>` a second listener (PROXIED) listens on `proxiedPort` and is
 * advertised as the proxy's port: a client bootstrapped through the proxy is told to reconnect
 * through it too, so every connection of that client crosses the proxy (./tcp-proxy.ts), while
 * DIRECT clients are told DIRECT addresses (Kafka answers metadata per listener).
 *
 * `deployOn` applies the shipped topology under a fresh prefix, as test/e2e/pipeline-harness.ts
 * `deploy` does, but without registering the deployment for deletion after the file: the whole
 * broker goes with `remove()`, and a deletion tried after that would wait on a dead broker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafka } from '../../runtime/kafka/client';
import { naming } from '../../runtime/processor/naming';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { resolveKafkaDist } from '../../runtime/stack/kafka-dist';
import { KAFKA_MAIN_CLASS, kafkaPaths, log4jProperties, newClusterId, serverProperties, waitForKafka } from '../../runtime/stack/kafka';
import { freePorts } from '../../runtime/stack/ports';
import { requireJava } from '../../runtime/stack/prerequisites';
import { logExcerpt } from '../../runtime/stack/process';
import { applyTopology, withApplyContext } from '../../runtime/topology/apply';
import { DEFAULT_TOPOLOGY_FILE } from '../../runtime/topology/model';
import { prefixTopology } from '../../runtime/topology/prefix';
import { validateTopologyFile } from '../../runtime/topology/validate';
import { uniqueName } from '../harness/names';
import type { TestStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import type { Deployment } from '../e2e/pipeline-harness';

const READY_TIMEOUT_MS = 90_000;
/** A clean shutdown of one small broker takes seconds; longer is a hang, not a clean stop. */
const CLEAN_STOP_MS = 60_000;

export interface OwnKafka {
  /** The DIRECT listener: what the test's own clients bootstrap from. */
  readonly brokers: string[];
  /** The PROXIED listener's real port (with `advertiseThrough`): where the proxy forwards to. */
  readonly proxiedPort: number | undefined;
  readonly dir: string;
  running(): boolean;
  /** SIGTERM: a clean shutdown; resolves once the JVM exited (fails if it needed longer than 60 s). */
  stop(): Promise<void>;
  /** SIGKILL: nothing flushed or closed; resolves once the JVM is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same directory and ports; resolves when a metadata request answers. */
  start(): Promise<void>;
  /** Kills it if running and deletes the directory. */
  remove(): Promise<void>;
}

const children = new Set<ChildProcess>();
// Should the test process end without afterAll, its brokers must not outlive it.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** The local stack's properties with some replaced or added. */
function properties(text: string, overrides: Record<string, string>): string {
  const left = new Map(Object.entries(overrides));
  const lines = text
    .trimEnd()
    .split('\n')
    .map((line) => {
      const key = line.slice(0, line.indexOf('='));
      const value = left.get(key);
      left.delete(key);
      return value === undefined ? line : `${key}=${value}`;
    });
  return `${[...lines, ...[...left].map(([key, value]) => `${key}=${value}`)].join('\n')}\n`;
}

export async function startOwnKafka(options: { advertiseThrough?: number } = {}): Promise<OwnKafka> {
  const java = requireJava();
  const { libs } = await resolveKafkaDist();
  const dir = mkdtempSync(join(tmpdir(), 'tributary-faults-kafka-'));
  try {
    return await startIn(dir, java.path, libs, options.advertiseThrough);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function startIn(dir: string, java: string, libs: string, advertiseThrough: number | undefined): Promise<OwnKafka> {
  const paths = kafkaPaths(dir);
  const [direct, controller, proxied] = (await freePorts(3)) as [number, number, number];
  mkdirSync(paths.data, { recursive: true });
  const proxiedListener: Record<string, string> = advertiseThrough === undefined
    ? {}
    : {
        listeners: `DIRECT://127.0.0.1:${direct},PROXIED://127.0.0.1:${proxied},CONTROLLER://127.0.0.1:${controller}`,
        'advertised.listeners': `DIRECT://127.0.0.1:${direct},PROXIED://127.0.0.1:${advertiseThrough}`,
        'listener.security.protocol.map': 'DIRECT:PLAINTEXT,PROXIED:PLAINTEXT,CONTROLLER:PLAINTEXT',
        'inter.broker.listener.name': 'DIRECT',
      };
  writeFileSync(
    paths.properties,
    properties(serverProperties({ broker: direct, controller }, paths.data), {
      ...proxiedListener,
      // After a kill -9 the controller refuses the new incarnation (DUPLICATE_BROKER_REGISTRATION)
      // until the old one's session expires: 9 s by default, on top of the start. Shorter here so a
      // restart costs CI seconds, not tens; clients see the same outage, only shorter.
      'broker.session.timeout.ms': '3000',
      'broker.heartbeat.interval.ms': '1000',
    }),
  );
  writeFileSync(paths.log4j, log4jProperties(paths.log));
  const log4jFlag = `-Dlog4j.configuration=file:${paths.log4j}`;
  const classpath = join(libs, '*');
  const format = spawn(java, [log4jFlag, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', paths.properties], { stdio: 'ignore' });
  const [code] = (await once(format, 'close')) as [number | null];
  if (code !== 0 || !existsSync(join(paths.data, 'meta.properties'))) throw new Error(`formatting the test broker's storage in ${paths.data} failed (exit ${code})`);

  const brokers = [`127.0.0.1:${direct}`];
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    if (child && child.exitCode === null && child.signalCode === null) throw new Error('the test broker is already running');
    const out = openSync(paths.out, 'a');
    try {
      // Half the local stack's heap, one GC thread and the quick JIT only: a few test topics on a
      // 2-core box shared with the stack's own broker, where start-up time is what counts.
      child = spawn(java, ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', log4jFlag, '-cp', classpath, KAFKA_MAIN_CLASS, paths.properties], {
        cwd: dir,
        stdio: ['ignore', out, out],
      });
    } finally {
      closeSync(out);
    }
    const started = child;
    children.add(started);
    void once(started, 'exit').then(() => children.delete(started));
    try {
      await waitForKafka(brokers, { timeoutMs: READY_TIMEOUT_MS, pid: started.pid, paths });
    } catch (error) {
      await gone('SIGKILL', 10_000);
      throw error;
    }
  }

  async function gone(signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    running.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`the test broker did not exit within ${timeoutMs / 1000} s of ${signal}: ${logExcerpt(paths.log)}`)), timeoutMs)));
    try {
      await Promise.race([exited, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  await start();
  try {
    await coordinatorReady(brokers);
  } catch (error) {
    await gone('SIGKILL', 10_000);
    throw error;
  }
  return {
    brokers,
    proxiedPort: advertiseThrough === undefined ? undefined : proxied,
    dir,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    async stop() {
      await gone('SIGTERM', CLEAN_STOP_MS);
      const exit = child?.exitCode;
      if (exit !== 0 && exit !== 143) throw new Error(`the test broker's clean shutdown ended with exit ${exit} (signal ${child?.signalCode}): ${logExcerpt(paths.log)}`);
    },
    kill: () => gone('SIGKILL', 10_000),
    start,
    async remove() {
      await gone('SIGKILL', 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh broker answers metadata before it can coordinate groups: __consumer_offsets is created
 * on the first FindCoordinator. A consumer joining meanwhile may give up for good (the embedded
 * registry's reader did: 'Failed to find group coordinator', not restarted by kafkajs), so the
 * broker counts as ready once a group coordinator answers.
 */
async function coordinatorReady(brokers: string[]): Promise<void> {
  const admin = createKafka(brokers, 'faults-own-kafka', { retry: { retries: 0 } }).admin();
  await admin.connect();
  try {
    await waitFor(async () => (await admin.describeGroups(['faults-coordinator-probe'])).groups.length === 1, { what: 'a group coordinator on the test broker', timeoutMs: READY_TIMEOUT_MS, intervalMs: 250 });
  } finally {
    await admin.disconnect();
  }
}

/** The shipped topology under a fresh prefix on `stack` (an own broker and registry); nothing is deleted afterwards. */
export async function deployOn(stack: TestStack, label: string): Promise<Deployment> {
  const names = naming(`${uniqueName(label)}.`);
  const { topology, problems } = validateTopologyFile(DEFAULT_TOPOLOGY_FILE, { catalogue: loadCatalogue() });
  if (problems.length > 0) throw new Error(`shipped topology invalid: ${problems[0]?.message}`);
  const connection = { brokers: stack.brokers, registryUrl: stack.registryUrl, security: 'none' as const };
  await withApplyContext(connection, (context) => applyTopology(prefixTopology(topology, names), loadCatalogue(), context, {}));
  return { naming: names, topology, groups: topology.processors.map((p) => names.group(p.group)) };
}
