/**
 * vitest global setup for the integration project: start (or find) the run's one stack and
 * provide its addresses to test files (`testStack()`, `stackEnv()` in ./stack). Chosen once:
 *   1. env: KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL all set — used as they are;
 *   2. testcontainers, when a Docker engine answers within 3 s: apache/kafka:3.9.1 and redis:7
 *      containers, the embedded registry in this process;
 *   3. local: `startLocalStack` in a fresh temp TRIBUTARY_HOME (Kafka from the Apache jars,
 *      redis-server, the registry as a process), stopped and purged in teardown.
 * In modes 2 and 3 a part given by its env var is used and not started. TRIBUTARY_TEST_STACK=local
 * or =testcontainers forces a mode. Prints one line naming the mode and the addresses (passwords
 * masked).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { parseBrokers } from '../../runtime/config/connection';
import { redactUrl } from '../../runtime/config/redact';
import { kafkaAnswers, newClusterId } from '../../runtime/stack/kafka';
import { ownStackProcesses, startLocalStack, stopLocalStack } from '../../runtime/stack/local-stack';
import { freePort } from '../../runtime/stack/ports';
import type { TestStack } from './stack';

type Teardown = () => Promise<void>;

const DOCKER_PROBE_MS = 3_000;

async function dockerEngine(): Promise<{ host: string } | undefined> {
  if (process.env.TRIBUTARY_TEST_STACK === 'local') return undefined;
  const forced = process.env.TRIBUTARY_TEST_STACK === 'testcontainers';
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    const probe = getContainerRuntimeClient();
    probe.catch(() => {});
    const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), forced ? 60_000 : DOCKER_PROBE_MS).unref());
    const client = await Promise.race([probe, timeout]);
    return client ? { host: client.info.containerRuntime.host } : undefined;
  } catch (error) {
    if (forced) throw new Error(`TRIBUTARY_TEST_STACK=testcontainers but no Docker engine answers: ${(error as Error).message}`);
    return undefined;
  }
}

async function containerStack(docker: { host: string }): Promise<{ stack: TestStack; teardown: Teardown }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const closers: Teardown[] = [];
  const teardown = async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  };
  try {
    let brokers: string[];
    if (process.env.KAFKA_BROKERS) {
      brokers = parseBrokers(process.env.KAFKA_BROKERS);
    } else {
      // The advertised address must be known before start: bind the same port on both sides.
      const port = await freePort();
      const kafka = await new GenericContainer('apache/kafka:3.9.1')
        .withExposedPorts({ container: port, host: port })
        .withEnvironment({
          CLUSTER_ID: newClusterId(),
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://127.0.0.1:9093`,
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${docker.host}:${port}`,
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@127.0.0.1:9093',
          KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
          KAFKA_NUM_PARTITIONS: '1',
        })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .withStartupTimeout(120_000)
        .start();
      closers.push(async () => void (await kafka.stop()));
      brokers = [`${docker.host}:${port}`];
      if (!(await kafkaAnswers(brokers, 10_000))) throw new Error(`the Kafka container does not answer on ${brokers.join(',')}`);
    }

    let redisUrl = process.env.REDIS_URL;
    if (!redisUrl) {
      const redis = await new GenericContainer('redis:7')
        .withExposedPorts(6379)
        .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
        .start();
      closers.push(async () => void (await redis.stop()));
      redisUrl = `redis://${redis.getHost()}:${redis.getMappedPort(6379)}`;
    }

    let registryUrl = process.env.SCHEMA_REGISTRY_URL;
    if (!registryUrl) {
      const { startRegistry } = await import('../../runtime/registry/server');
      const registry = await startRegistry({ brokers, host: '127.0.0.1', port: 0 });
      closers.push(() => registry.close());
      registryUrl = registry.url;
    }
    return { stack: { brokers, registryUrl, redisUrl, mode: 'testcontainers' }, teardown };
  } catch (error) {
    await teardown();
    throw error;
  }
}

/**
 * A safety net for a run that ends without teardown (Ctrl-C during start-up, a crash): the stack
 * is detached and would outlive us. Armed before anything starts and driven by the pid files as
 * they appear, so a half-started stack is found too; it kills (the data is throwaway) and deletes
 * the temp home. Returns the disarm function.
 */
function armEmergencyStop(home: string): () => void {
  const stop = () => {
    for (const { pid } of ownStackProcesses(home)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(home, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    disarm();
    stop();
    // Without another listener our handler replaced the default "terminate": restore and re-raise.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const disarm = () => {
    process.off('exit', stop);
    for (const signal of signals) process.off(signal, onSignal);
  };
  process.once('exit', stop);
  for (const signal of signals) process.on(signal, onSignal);
  return disarm;
}

async function localStack(): Promise<{ stack: TestStack; teardown: Teardown }> {
  const home = mkdtempSync(join(tmpdir(), 'tributary-test-'));
  const disarm = armEmergencyStop(home);
  let record;
  try {
    // Only the slow, once-per-machine step is worth a line: the jar fetch.
    record = await startLocalStack({
      home,
      onProgress: (p) => p.state === 'preparing' && process.stderr.write(`[test stack] ${p.message}\n`),
    });
  } catch (error) {
    await stopLocalStack(home, { purge: true }).catch(() => {});
    rmSync(home, { recursive: true, force: true });
    disarm();
    throw error;
  }
  return {
    stack: { brokers: record.kafka.brokers, registryUrl: record.registry.url, redisUrl: record.redis.url, mode: 'local' },
    teardown: async () => {
      await stopLocalStack(home, { purge: true });
      rmSync(home, { recursive: true, force: true });
      disarm();
    },
  };
}

export default async function setup(project: TestProject): Promise<Teardown> {
  const { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL } = process.env;
  const startedAt = Date.now();
  let chosen: { stack: TestStack; teardown: Teardown };
  if (KAFKA_BROKERS && SCHEMA_REGISTRY_URL && REDIS_URL) {
    chosen = {
      stack: { brokers: parseBrokers(KAFKA_BROKERS), registryUrl: SCHEMA_REGISTRY_URL, redisUrl: REDIS_URL, mode: 'env' },
      teardown: async () => {},
    };
  } else {
    const docker = await dockerEngine();
    chosen = docker ? await containerStack(docker) : await localStack();
  }
  const { stack } = chosen;
  const took = stack.mode === 'env' ? '' : ` (ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s)`;
  console.log(
    `[test stack] mode=${stack.mode} kafka=${stack.brokers.join(',')} registry=${redactUrl(stack.registryUrl)} redis=${redactUrl(stack.redisUrl)}${took}`,
  );
  project.provide('stack', stack);
  return chosen.teardown;
}
