/**
 * The local schema registry: Tributary's embedded registry (`tributary registry serve`) run as
 * its own process against the stack's brokers, on a free 127.0.0.1 port, output in
 * `$TRIBUTARY_HOME/registry.log`. Its schemas live in Kafka's `_schemas` topic, so it keeps no
 * data of its own. Ready means `GET /subjects` answers 200.
 */
import { splitCredentials } from '../config/url-credentials';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackError } from '../errors';
import { isAlive, logExcerpt, spawnDetached, stopProcess, type StartPartOptions } from './process';

// The registry itself allows 60 s to read `_schemas` before it listens; leave it room.
export const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;

/** The `tributary` entry point of this checkout; the registry runs from the same code. */
export const TRIBUTARY_BIN = fileURLToPath(new URL('../../bin/tributary.js', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Marks the registry's command line, to recognise its pid later. */
export const REGISTRY_MARKER = 'registry serve';

export function registryLog(home: string): string {
  return join(home, 'registry.log');
}

/** Kafka security settings (runtime/kafka/client.ts), meant for the user's own cluster. */
const KAFKA_SECURITY_VAR = /^KAFKA_(SASL|SSL)(_|$)/;

/**
 * The registry process's env: the stack's brokers, and no other stack's registry or Redis. Against
 * the stack's own plaintext broker (`ownKafka`) the user's KAFKA_SASL_* / KAFKA_SSL* go too.
 * TRIBUTARY_HOME also marks the process as this home's (see `processIdentity`).
 */
export function registryEnv(brokers: string[], home: string, env: NodeJS.ProcessEnv, ownKafka = true): NodeJS.ProcessEnv {
  const { SCHEMA_REGISTRY_URL: _registry, REDIS_URL: _redis, ...rest } = env;
  const kept = Object.fromEntries(Object.entries(rest).filter(([name]) => !(ownKafka && KAFKA_SECURITY_VAR.test(name))));
  return { ...kept, KAFKA_BROKERS: brokers.join(','), TRIBUTARY_HOME: home };
}

export async function startRegistryProcess(options: StartPartOptions & {
  brokers: string[];
  /** Whether the brokers are the stack's own (plaintext) Kafka rather than KAFKA_BROKERS. */
  ownKafka: boolean;
  port: number;
}): Promise<{ pid: number; url: string }> {
  const url = `http://127.0.0.1:${options.port}`;
  const log = registryLog(options.home);
  options.onProgress?.(`starting the schema registry on ${url}`);
  const pid = await spawnDetached({
    what: 'the schema registry',
    command: process.execPath,
    args: [TRIBUTARY_BIN, 'registry', 'serve', '--host', '127.0.0.1', '--port', String(options.port)],
    // From the checkout, as a user's `node bin/tributary.js` runs, so tsx finds tsconfig.json.
    cwd: REPO_ROOT,
    env: registryEnv(options.brokers, options.home, options.env ?? process.env, options.ownKafka),
    logFile: log,
  });
  options.onSpawn?.(pid);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await registryAnswers(url))) {
    if (!isAlive(pid) || Date.now() > deadline) {
      const how = isAlive(pid) ? `did not answer GET /subjects within ${READY_TIMEOUT_MS / 1000} s` : 'exited during startup';
      await stopProcess(pid, 2_000);
      throw new StackError('TRB_STACK_START_FAILED', `the schema registry ${how}. Last log lines: ${logExcerpt(log)}; see ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { pid, url };
}


export async function registryAnswers(url: string, timeoutMs = 2_000): Promise<boolean> {
  try {
    const { base, authorization } = splitCredentials(url);
    const headers: Record<string, string> = authorization ? { authorization } : {};
    const response = await fetch(`${base}/subjects`, { headers, signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

export function stopRegistryProcess(pid: number): Promise<'stopped' | 'killed' | 'not-running'> {
  return stopProcess(pid, STOP_GRACE_MS);
}
