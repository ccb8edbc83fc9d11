/**
 * `tributary run …` as a real child process for the fault tests (issue 4, SPEC §12): started
 * with the test stack's env, its stderr parsed into pino JSON lines the tests wait on ('processor
 * started', 'partitions assigned', …), killed with any signal, and always reaped: every child
 * started here is remembered until it has exited, so `killAllChildren()` in afterEach/afterAll
 * leaves no process behind, whatever a test did before failing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createKafka } from '../../runtime/kafka/client';
import { stackEnv, type TestStack } from '../harness/stack';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One pino line of the child (fields as logged), or a plain text line as `{ msg }`. */
export interface LogLine {
  msg: string;
  level?: number;
  time?: string;
  processor?: string;
  partitions?: number[];
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningChild {
  readonly label: string;
  readonly pid: number;
  /** Every stderr line so far, in order. */
  readonly lines: LogLine[];
  /** Set once the process has exited. */
  exit(): Exit | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** The first line (from `from` on) matching, or throws at the deadline or when the child exits first. */
  waitForLine(match: (line: LogLine) => boolean, options: { what: string; timeoutMs?: number; from?: number }): Promise<LogLine>;
  /** Each of these processors logged 'processor started' (it joins its group before that line). */
  started(processors: readonly string[], timeoutMs?: number): Promise<void>;
  /** Where its /metrics and /readyz are (from the 'tributary: running …' line `run` prints). */
  url(timeoutMs?: number): Promise<string>;
  signal(signal: NodeJS.Signals): void;
  /** The last lines of stderr, for failure messages. */
  tail(count?: number): string;
}

const children = new Set<ChildProcess>();
// Should the test process itself end early, its children must not outlive it.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
const RUNNING = /^tributary: running .* on (http:\/\/\S+)/;

export interface StartOptions {
  stack: TestStack;
  /** Topic prefix of the deployment (Naming.prefix). */
  prefix: string;
  /** Components to run, e.g. ['orders', 'atp']. */
  names: readonly string[];
  label: string;
  logLevel?: string;
  /** More env for the child (sink URLs, PORT…), over the stack's. */
  env?: Record<string, string>;
  /** Options for node itself, e.g. `--cpu-prof` (not allowed in NODE_OPTIONS). */
  nodeArgs?: readonly string[];
}

export function startTributary({ stack, prefix, names, label, logLevel = 'info', env = {}, nodeArgs = [] }: StartOptions): RunningChild {
  const child = spawn(process.execPath, [...nodeArgs, 'bin/tributary.js', 'run', ...names, '--metrics-port', '0', '--topic-prefix', prefix], {
    cwd: ROOT,
    env: { ...process.env, ...stackEnv(stack), LOG_LEVEL: logLevel, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start tributary run ${names.join(' ')} (${label})`);
  children.add(child);
  const lines: LogLine[] = [];
  child.on('error', (error) => lines.push({ msg: `child process error: ${error.message}` }));
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    partial += chunk;
    const complete = partial.split('\n');
    partial = complete.pop() as string;
    for (const text of complete) if (text.trim() !== '') lines.push(parse(text));
  });
  let exitInfo: Exit | undefined;
  // 'close', not 'exit': stderr may still deliver its last lines after 'exit'.
  const exited = once(child, 'close').then(([code, signal]) => {
    exitInfo = { code: code as number | null, signal: signal as NodeJS.Signals | null };
    children.delete(child);
    if (partial.trim() !== '') lines.push(parse(partial));
    return exitInfo;
  });
  const pid = child.pid;
  const tail = (count = 30) => lines.slice(-count).map((l) => JSON.stringify(l)).join('\n');

  // A loop of its own rather than waitFor: a child that exited will never log the line, so that ends the wait at once.
  const waitForLine: RunningChild['waitForLine'] = async (match, { what, timeoutMs = 60_000, from = 0 }) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.slice(from).find(match);
      if (found) return found;
      const problem = exitInfo ? `exited (${JSON.stringify(exitInfo)})` : Date.now() > deadline ? `timed out after ${timeoutMs} ms` : undefined;
      if (problem) throw new Error(`${label} (pid ${pid}) ${problem} waiting for ${what}\n--- stderr tail ---\n${tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  return {
    label,
    pid,
    lines,
    exit: () => exitInfo,
    exited,
    waitForLine,
    async started(processors, timeoutMs = 90_000) {
      for (const processor of processors) {
        await waitForLine((l) => l.msg === 'processor started' && l.processor === processor, { what: `'processor started' of ${processor}`, timeoutMs });
      }
    },
    async url(timeoutMs = 90_000) {
      const line = await waitForLine((l) => RUNNING.test(l.msg), { what: "the 'tributary: running' line", timeoutMs });
      return (RUNNING.exec(line.msg) as RegExpExecArray)[1] as string;
    },
    signal(signal) {
      if (!exitInfo) child.kill(signal);
    },
    tail,
  };
}

function parse(text: string): LogLine {
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && typeof (value as LogLine).msg === 'string') return value as LogLine;
  } catch {
    // not JSON: the plain lines `run` prints itself ('tributary: running …', 'SIGTERM: …', 'stopped')
  }
  return { msg: text };
}

/** SIGKILLs every child still running and waits until each has exited. */
export async function killAllChildren(): Promise<void> {
  const running = [...children];
  for (const child of running) child.kill('SIGKILL');
  await Promise.all(running.map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : once(child, 'exit'))));
  for (const child of running) children.delete(child);
}

/** The last 'partitions assigned' line of a processor (from `from` on), if any. */
export function lastAssignment(child: RunningChild, processor: string, from = 0): number[] | undefined {
  const found = child.lines.slice(from).filter((l) => l.msg === 'partitions assigned' && l.processor === processor);
  return found[found.length - 1]?.partitions;
}

/**
 * Removes every member of the given consumer groups, as the group coordinator does when a
 * member's session times out. Call it only when no process of these groups is alive: then every
 * member is a dead one. Why: a `kill -9`ed member stays in its group until kafkajs' 30 s session
 * timeout (the runtime has no setting for it), and a new instance cannot finish joining before
 * then, so each kill would cost half a minute. This is the coordinator's own decision taken
 * early (a LeaveGroup on the dead member's behalf), not a different fault: the killed process
 * had no say in either case. kafkajs has no public call for it; its private cluster factory is
 * used, and a kafkajs that no longer has one fails here loudly.
 */
export async function evictGroupMembers(stack: TestStack, groups: readonly string[]): Promise<number> {
  const kafka = createKafka(stack.brokers, 'e2e-evict');
  const factory = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster');
  if (!factory) throw new Error('kafkajs has no private createCluster any more: evictGroupMembers needs another way to send LeaveGroup');
  const cluster = (kafka as unknown as Record<symbol, (options: object) => KafkajsCluster>)[factory]!({ metadataMaxAge: 300_000 });
  const admin = kafka.admin();
  await Promise.all([cluster.connect(), admin.connect()]);
  try {
    let evicted = 0;
    const { groups: described } = await admin.describeGroups([...groups]);
    for (const { groupId, members } of described) {
      const coordinator = await cluster.findGroupCoordinator({ groupId });
      for (const { memberId } of members) {
        try {
          await coordinator.leaveGroup({ groupId, memberId });
          evicted += 1;
        } catch (error) {
          // Its session may have expired in the meantime: gone either way.
          if ((error as { type?: string }).type !== 'UNKNOWN_MEMBER_ID') throw error;
        }
      }
    }
    return evicted;
  } finally {
    await Promise.all([cluster.disconnect(), admin.disconnect()]);
  }
}

/** The part of kafkajs' private Cluster used above. */
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(request: { groupId: string }): Promise<{ leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown> }>;
}

/** The sum of a Prometheus counter's series whose labels include `labels`, from a child's /metrics. */
export async function counterSum(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const has = Object.entries(labels).every(([key, value]) => (match[2] ?? '').includes(`${key}="${value}"`));
    if (has) sum += Number(match[3]);
  }
  return sum;
}

// A loaded box may see a dependency blip; these two announce a retry, not a wrong judgement.
const TRANSIENT = ['dependency unavailable', 'partition not opened yet'];

/**
 * Warnings and errors the runtime itself logged (kafkajs' own chatter and transient retries left
 * out), as `msg` texts. A crash, a stop or a rebalance must never read as lost state, a stopped
 * partition, a dead letter or a crashed consumer.
 */
export function runtimeWarnings(child: RunningChild): string[] {
  return child.lines
    .filter((l) => (l.level ?? 0) >= 40 && l.component !== 'kafkajs' && !TRANSIENT.some((t) => l.msg.startsWith(t)))
    .map((l) => l.msg);
}
