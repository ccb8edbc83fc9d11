/**
 * The runtime of one HTTP sink (SPEC §7, §8, §11, §12): consume a command topic, deliver each
 * command to `<url>/<type>` (./request.ts), commit only what is finished.
 *
 *   eachBatch (per partition): decode → queue in the per-key scheduler (./scheduler.ts, coalescing)
 *     → resolve the fetch position past the batch and return — the batch is NOT waited for
 *   dispatcher: up to `concurrency` commands in progress, oldest ready key first → deliver()
 *     (./delivery.ts: circuit → token bucket → request → verdict → retry or finish)
 *   finished (delivered, duplicate, coalesced, dead-lettered) → the partition's commit point moves
 *     (./offsets.ts) → committed every commitIntervalMs and on stop
 *
 * Why eachBatch does not wait for its commands: kafkajs' fetcher waits for every batch of a fetch
 * before fetching again (kafkajs src/consumer/fetcher.js), so one partition's key retrying for
 * minutes would stall every partition on that broker. Instead the consumer runs with
 * `autoCommit: false` and `eachBatchAutoResolve: false`: resolveOffset only moves the fetch
 * position, and offsets are committed explicitly, each partition's only up to its lowest
 * unfinished command — a crash re-delivers, never loses. A partition holding
 * `maxPendingPerPartition` unfinished commands is paused until half are done (bounded memory).
 * kafkajs heartbeats between fetches, which go on because eachBatch returns at once; eachBatch
 * heartbeats itself only while it waits (a registry down while decoding).
 *
 * Circuit breaker (./circuit.ts): when it opens, every partition is paused (consumption stops,
 * offsets stay put), no request goes but one probe per cool-down; when it closes, the partitions
 * resume. Time spent open does not count against maxRetryMs, so an outage dead-letters nothing
 * (./delivery.ts explains the choice).
 *
 * Rebalances (kafkajs rebalances eagerly and restarts from the committed offsets): on every group
 * join the unstarted commands are forgotten and re-read; requests in flight finish, their answers
 * are not committed by this generation, and their keys stay busy until then, so a re-read command
 * never overtakes its own earlier request. Another instance taking the partition may send a
 * command this one still has in flight: at-least-once, the Idempotency-Key makes it once in effect.
 *
 * Stop (SIGTERM): partitions paused, waits cut, requests in flight finish (up to stopGraceMs, then
 * they are cut and re-delivered later), dead letters produced, offsets committed, group left.
 */
import { setMaxListeners } from 'node:events';
import kafkajs, { type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { classifyForDeadLetter, deadLetterTopic } from '../../runtime/dlq';
import { faultPoint } from '../../runtime/fault';
import type { Decoder } from '../../runtime/kafka/decode';
import { groupTimeouts } from '../../runtime/kafka/client';
import { isTransient, untilAvailable } from '../../runtime/kafka/transient';
import type { Logger } from '../../runtime/log';
import type { Metrics } from '../../runtime/metrics';
import type { Naming } from '../../runtime/processor/naming';
import { FETCH_WAIT_MS, type ReadinessCheck } from '../../runtime/processor/runner';
import { authFromEnv, AuthUnavailableError, createAuthorizer, type Authorizer } from './auth';
import { backoffMs } from './backoff';
import { CIRCUIT_GAUGE, CircuitBreaker, type CircuitState } from './circuit';
import { Coalescer } from './coalescer';
import { sinkSettings, type HttpSinkSpec, type SinkSettings, type SinkTuning } from './config';
import { sinkDeadLetter, type SinkFailure } from './dead-letter';
import { deliver, type Final } from './delivery';
import { CircuitGate, RateGate, sleep, Slots } from './gates';
import { sinkMetrics } from './metrics';
import { PartitionOffsets } from './offsets';
import type { AttemptResult } from './outcome';
import { commandProblem, commandRequest, post, type Command } from './request';
import { KeyScheduler, type Scheduled } from './scheduler';
import { TokenBucket } from './token-bucket';

const { Partitioners } = kafkajs;

export interface HttpSinkOptions {
  spec: HttpSinkSpec;
  naming: Naming;
  kafka: Kafka;
  decoder: Decoder;
  metrics: Metrics;
  log: Logger;
  /** Where credentials are read from (./auth.ts); process.env by default. */
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  tuning?: SinkTuning;
  /** KAFKA_SESSION_TIMEOUT_MS: how long a crashed instance keeps its partitions. */
  sessionTimeoutMs?: number;
}

export interface RunningSink {
  readonly name: string;
  readiness(): ReadinessCheck;
  circuit(): CircuitState;
  /** Partitions this instance owns now. */
  assigned(): number[];
  /** Lets requests in flight finish (up to stopGraceMs), commits what finished and leaves the group. */
  stop(): Promise<void>;
}

/** One owned partition in one group generation. */
interface Partition {
  readonly id: number;
  readonly offsets: PartitionOffsets;
  /** Aborted when the partition is lost (rebalance): cuts the waits of its commands. */
  readonly lost: AbortController;
  high: bigint;
  committed?: bigint;
  dropped: boolean;
}

interface Held {
  part: Partition;
  message: KafkaMessage;
  command: Command;
}

/** Logs the same kind of trouble at most once a minute (a receiver down fails every request). */
function throttledWarn(log: Logger, everyMs = 60_000) {
  const last = new Map<string, number>();
  return (kind: string, fields: Record<string, unknown>, message: string) => {
    const now = Date.now();
    if ((last.get(kind) ?? 0) + everyMs > now) return;
    last.set(kind, now);
    log.warn(fields, message);
  };
}

export async function startSink(options: HttpSinkOptions): Promise<RunningSink> {
  const settings: SinkSettings = sinkSettings(options.spec, options.tuning);
  const { name } = settings;
  const { naming, kafka, decoder, metrics } = options;
  const log = options.log.child({ sink: name });
  const warnOnce = throttledWarn(log);
  // The base URL as logs show it: no query string (it may carry an API key).
  const shownUrl = ((u) => `${u.origin}${u.pathname}`.replace(/\/+$/, ''))(new URL(settings.url));
  const topic = naming.topic(settings.input);
  const dlqTopic = deadLetterTopic(topic);
  const group = naming.group(settings.group);
  const m = sinkMetrics(metrics.registry);
  const auth: Authorizer = createAuthorizer(authFromEnv(name, options.env ?? process.env), { fetch: options.fetch, timeoutMs: settings.timeoutMs });

  const partitions = new Map<number, Partition>();
  const tasks = new Set<Promise<void>>();
  const scheduler = new KeyScheduler<Held>(new Coalescer(settings.coalesce));
  const slots = new Slots(settings.concurrency, () => pump());
  const rate = new RateGate(new TokenBucket(settings.rateLimit, settings.burst, Date.now()));
  const circuit = new CircuitGate(new CircuitBreaker(settings.circuit), onCircuit);
  // Cuts every wait at stop; `cut` ends requests still in flight when the stop grace is over.
  const stopWaits = new AbortController();
  const cut = new AbortController();
  // Many commands wait on these at once (not a leak): no listener-count warning.
  setMaxListeners(0, stopWaits.signal, cut.signal);
  let assigned: number[] = [];
  const paused = new Set<number>();
  let joined = false;
  let stopping = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let wakeAt = Number.POSITIVE_INFINITY;
  let committing: Promise<void> | undefined;
  let deadLetterTrouble: string | undefined;

  m.circuitState.set({ sink: name }, CIRCUIT_GAUGE.closed);
  const untrackBacklog = m.trackBacklog(name, backlog);

  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await untilAvailable(() => producer.connect());

  const consumer: Consumer = kafka.consumer({ groupId: group, allowAutoTopicCreation: false, retry: { retries: 10 }, maxWaitTimeInMs: FETCH_WAIT_MS, ...groupTimeouts(options.sessionTimeoutMs) });
  try {
    await joinGroup();
  } catch (error) {
    untrackBacklog();
    await Promise.allSettled([consumer.disconnect(), producer.disconnect()]);
    throw error;
  }
  const commitTimer = setInterval(() => void commitProgress(), settings.commitIntervalMs);
  commitTimer.unref();
  log.info({ group, input: topic, url: shownUrl, rateLimit: settings.rateLimit, concurrency: settings.concurrency, auth: auth.describe(), coalesce: settings.coalesce }, 'sink started');

  /** Joins the group and starts consuming; the handlers below do the work. */
  async function joinGroup(): Promise<void> {
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      // Eager rebalancing: every partition was revoked and kafkajs restarts from the committed offsets.
      for (const part of partitions.values()) dropPartition(part);
      partitions.clear();
      paused.clear();
      assigned = [...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
      joined = true;
      metrics.keepLagOf({ processor: name, group }, payload.memberAssignment);
      log.info({ partitions: assigned }, 'partitions assigned');
      syncPause(true);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      joined = false;
      log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 3,
      eachBatch: (payload) => handleBatch(payload),
    });
  }

  function partitionOf(id: number): Partition {
    let part = partitions.get(id);
    if (!part) {
      part = { id, offsets: new PartitionOffsets(), lost: new AbortController(), high: 0n, dropped: false };
      partitions.set(id, part);
    }
    return part;
  }

  function dropPartition(part: Partition): void {
    part.dropped = true;
    part.lost.abort();
    scheduler.drop(part.id);
  }

  async function handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const part = partitionOf(batch.partition);
    part.high = BigInt(batch.highWatermark);
    for (const message of batch.messages) {
      if (stopping || part.dropped || !isRunning() || isStale()) return;
      const offset = BigInt(message.offset);
      if (part.offsets.last !== undefined && offset <= part.offsets.last) continue;
      const read = await readCommand(message, heartbeat, () => !stopping && !part.dropped && isRunning());
      if (read === 'stopped' || part.dropped) return;
      part.offsets.add(offset);
      if ('failure' in read) startDeadLetter(part, message, read.failure);
      else {
        const key = message.key === null ? `\u0000${part.id}:${message.offset}` : message.key.toString('utf8');
        const held: Scheduled<Held> = { partition: part.id, offset, key, type: read.command.type, value: { part, message, command: read.command } };
        for (const older of scheduler.add(held)) {
          m.deliveries.inc({ sink: name, outcome: 'coalesced' });
          finishOffset(older.value.part, older.offset);
        }
      }
      // Moves the fetch position only: with autoCommit off nothing is committed but by commitProgress.
      resolveOffset(message.offset);
    }
    syncPause();
    pump();
  }

  /** The command a record holds, the dead letter it deserves, or 'stopped' (waiting for the registry was cut short). */
  async function readCommand(message: KafkaMessage, heartbeat: () => Promise<void>, going: () => boolean): Promise<{ command: Command } | { failure: SinkFailure } | 'stopped'> {
    for (let attempt = 1; ; attempt++) {
      let value: unknown;
      try {
        value = (await decoder.decode(message.value, topic)).value;
      } catch (error) {
        const verdict = classifyForDeadLetter(error);
        if ('deadLetter' in verdict) return { failure: { code: verdict.code, message: (error as Error).message } };
        warnOnce('decode', { err: error }, 'cannot decode commands: the schema registry is unavailable; retrying');
        const until = Date.now() + backoffMs(attempt, { initialMs: 500, maxMs: 30_000, multiplier: 2 });
        while (Date.now() < until) {
          if (!going()) return 'stopped';
          await sleep(Math.min(1_000, until - Date.now()));
          await heartbeat();
        }
        continue;
      }
      const problem = commandProblem(value);
      if (problem) return { failure: { code: 'TRB_VALIDATION', message: `record is not a deliverable command: ${problem}` } };
      return { command: value as Command };
    }
  }

  /** Starts as many commands as free slots allow, and wakes itself for ones held by a coalescing window. */
  function pump(): void {
    if (stopping) return;
    const now = Date.now();
    while (slots.hasFree()) {
      const held = scheduler.take(now);
      if (!held) break;
      slots.tryAcquire();
      track(run(held));
    }
    const next = scheduler.nextReadyAt();
    if (next !== undefined && next < wakeAt) {
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeAt = next;
      wakeTimer = setTimeout(() => {
        wakeAt = Number.POSITIVE_INFINITY;
        wakeTimer = undefined;
        pump();
      }, Math.max(0, next - now));
    }
  }

  function track(task: Promise<void>): void {
    const tracked = task.catch((error) => log.error({ err: error }, 'sink task failed')).finally(() => tasks.delete(tracked));
    tasks.add(tracked);
  }

  async function run(held: Scheduled<Held>): Promise<void> {
    const { part, message, command } = held.value;
    const signal = AbortSignal.any([part.lost.signal, stopWaits.signal]);
    let usedAuth: string | undefined;
    const attempt = async (): Promise<AttemptResult | 'aborted'> => {
      try {
        usedAuth = await auth.authorization();
      } catch (error) {
        if (!(error instanceof AuthUnavailableError)) throw error;
        warnOnce('auth', { code: error.code }, error.message);
        return { kind: 'auth', message: error.message };
      }
      const started = performance.now();
      const result = await post(commandRequest(settings.url, command, usedAuth), { timeoutMs: settings.timeoutMs, signal: cut.signal, fetch: options.fetch });
      if (result !== 'aborted') m.requestSeconds.observe({ sink: name }, (performance.now() - started) / 1000);
      return result;
    };
    let final: Final | undefined;
    try {
      final = await deliver(attempt, {
        slots,
        circuit,
        rate,
        maxRetryMs: settings.maxRetryMs,
        backoff: settings.backoff,
        refreshAuth: () => auth.refresh(usedAuth),
        onRetry: (verdict, attempts, waitMs) => {
          m.deliveries.inc({ sink: name, outcome: 'retried' });
          log.debug({ partition: part.id, offset: message.offset, commandId: command.commandId, type: command.type, reason: verdict.reason, attempts, waitMs }, 'delivery failed; retrying');
        },
      }, signal);
    } finally {
      // A command that never reached the receiver does not start a coalescing window.
      scheduler.finish(held, Date.now(), (final?.attempts ?? 0) > 0);
    }
    // A lost partition's commands are re-read by its next owner: nothing here may count for it.
    if (final.outcome === 'abandoned' || part.dropped) return pump();
    const fields = { partition: part.id, offset: message.offset, commandId: command.commandId, type: command.type, correlationId: command.correlationId, attempts: final.attempts };
    switch (final.outcome) {
      case 'delivered':
      case 'duplicate':
        faultPoint('after-delivery'); // test-only (runtime/fault.ts): the receiver said yes, the offset is not finished yet
        m.deliveries.inc({ sink: name, outcome: final.outcome });
        finishOffset(part, held.offset);
        break;
      case 'rejected':
        m.deliveries.inc({ sink: name, outcome: 'rejected' });
        log.warn({ ...fields, status: final.status }, 'receiver rejected the command: dead-lettered');
        startDeadLetter(part, message, { code: 'TRB_SINK_REJECTED', message: `${name} answered ${final.status} to POST /${command.type}`, status: final.status, body: final.body });
        break;
      case 'exhausted': {
        m.deliveries.inc({ sink: name, outcome: 'dead_lettered' });
        const seconds = Math.round(final.retriedMs / 1000);
        log.warn({ ...fields, reason: final.reason, status: final.status }, `not delivered after ${seconds} s of retries: dead-lettered`);
        const failure: SinkFailure = { code: 'TRB_SINK_UNAVAILABLE', message: `${name} did not accept POST /${command.type} in ${seconds} s of retries (last: ${final.reason}${final.status ? ` ${final.status}` : ''})` };
        if (final.status !== undefined) failure.status = final.status;
        startDeadLetter(part, message, failure);
        break;
      }
    }
    pump();
  }

  function startDeadLetter(part: Partition, message: KafkaMessage, failure: SinkFailure): void {
    track(deadLetter(part, message, failure));
  }

  /** Produces a dead letter (waiting out Kafka being down), then finishes its offset. */
  async function deadLetter(part: Partition, message: KafkaMessage, failure: SinkFailure): Promise<void> {
    const record = sinkDeadLetter({ topic, partition: part.id, message }, name, failure);
    for (let attempt = 1; ; attempt++) {
      if (part.dropped || cut.signal.aborted) return; // not finished: read and judged again later
      try {
        await producer.send({ topic: dlqTopic, messages: [record], acks: -1 });
        deadLetterTrouble = undefined;
        break;
      } catch (error) {
        // Never dropped: the partition's commits wait for it, and readiness says why.
        if (!isTransient(error)) deadLetterTrouble = `cannot produce to ${dlqTopic}: ${(error as Error).message}`;
        warnOnce('dlq', { err: error }, `cannot produce to ${dlqTopic}; retrying`);
        await sleep(backoffMs(attempt, { initialMs: 500, maxMs: 30_000, multiplier: 2 }), cut.signal).catch(() => undefined);
      }
    }
    metrics.deadLetters.inc({ processor: name, topic: settings.input, code: failure.code });
    if (failure.code !== 'TRB_SINK_REJECTED' && failure.code !== 'TRB_SINK_UNAVAILABLE') {
      m.deliveries.inc({ sink: name, outcome: 'dead_lettered' });
      log.warn({ partition: part.id, offset: message.offset, code: failure.code }, 'record is not a readable command: dead-lettered');
    }
    finishOffset(part, BigInt(message.offset));
  }

  function finishOffset(part: Partition, offset: bigint): void {
    if (part.dropped) return;
    part.offsets.finish(offset);
    if (paused.has(part.id)) syncPause();
  }

  /**
   * Pauses what must not be fetched — every partition while the circuit is not closed or the sink
   * stops, a partition holding too many unfinished commands — and resumes the rest.
   */
  function syncPause(force = false): void {
    if (!joined) return;
    const all = stopping || circuit.state !== 'closed';
    const toPause: number[] = [];
    const toResume: number[] = [];
    for (const p of assigned) {
      const pending = partitions.get(p)?.offsets.pending ?? 0;
      const full = pending >= settings.maxPendingPerPartition || (paused.has(p) && pending > settings.maxPendingPerPartition / 2);
      const want = all || full;
      if (want && (force || !paused.has(p))) toPause.push(p);
      if (!want && (force || paused.has(p))) toResume.push(p);
    }
    try {
      if (toPause.length > 0) consumer.pause([{ topic, partitions: toPause }]);
      if (toResume.length > 0) consumer.resume([{ topic, partitions: toResume }]);
    } catch (error) {
      log.debug({ err: error }, 'cannot pause or resume yet');
      return;
    }
    for (const p of toPause) paused.add(p);
    for (const p of toResume) paused.delete(p);
  }

  function onCircuit(state: CircuitState, previous: CircuitState): void {
    m.circuitState.set({ sink: name }, CIRCUIT_GAUGE[state]);
    if (state === 'open' && previous === 'closed') log.warn({ url: shownUrl }, 'receiver down: circuit open, consumption paused; probing it until it answers');
    else if (state === 'closed') log.info({ url: shownUrl }, 'receiver answers again: circuit closed, consumption resumed');
    else log.debug({ state }, 'circuit state');
    syncPause();
  }

  /** Commits each partition's commit point if it moved; one commit at a time. */
  function commitProgress(): Promise<void> {
    committing ??= (async () => {
      const offsets: { topic: string; partition: number; offset: string }[] = [];
      const parts: [Partition, bigint][] = [];
      for (const part of partitions.values()) {
        const point = part.offsets.commitPoint();
        if (part.dropped || point === undefined) continue;
        const lag = Math.max(0, Number(part.high - point));
        metrics.noteLag({ processor: name, group, topic, partition: part.id }, lag);
        if (point === part.committed) continue;
        offsets.push({ topic, partition: part.id, offset: point.toString() });
        parts.push([part, point]);
      }
      if (offsets.length === 0) return;
      try {
        await consumer.commitOffsets(offsets);
        for (const [part, point] of parts) part.committed = point;
      } catch (error) {
        log.debug({ err: error }, 'commit failed; retrying with the next one');
      }
    })().finally(() => {
      committing = undefined;
    });
    return committing;
  }

  function backlog(): number {
    let total = 0;
    for (const part of partitions.values()) {
      const next = part.offsets.last === undefined ? (part.committed ?? part.high) : part.offsets.last + 1n;
      total += part.offsets.pending + Math.max(0, Number(part.high - next));
    }
    return total;
  }

  return {
    name,
    circuit: () => circuit.state,
    assigned: () => [...assigned],
    readiness() {
      const state = circuit.state;
      const receiver = state === 'closed' ? 'receiver answering' : `receiver down (circuit ${state}, consumption paused)`;
      const problems: string[] = [];
      if (!joined) problems.push('not in its consumer group yet');
      if (deadLetterTrouble) problems.push(deadLetterTrouble);
      return {
        name: `sink ${name}`,
        // A receiver that is down is not this process's fault and restarting it would not help:
        // it shows in the detail and in tributary_sink_circuit_state, not as "not ready".
        ok: problems.length === 0,
        detail: problems.length === 0 ? `group ${group}, partitions ${assigned.join(',') || 'none'}, ${receiver}, backlog ${backlog()}` : problems.join('; '),
      };
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      log.info({ inFlight: tasks.size }, 'sink stopping: finishing requests in flight');
      syncPause();
      clearInterval(commitTimer);
      if (wakeTimer) clearTimeout(wakeTimer);
      stopWaits.abort();
      // A request answered during the grace may still start its dead letter: wait for those too.
      const settled = async () => {
        while (tasks.size > 0) await Promise.allSettled([...tasks]);
      };
      const grace = sleep(settings.stopGraceMs, cut.signal).catch(() => undefined);
      await Promise.race([settled(), grace]);
      cut.abort();
      await settled();
      // Kafka down at this moment must not hold SIGTERM: what is not committed is delivered again.
      const commitDeadline = new Promise((resolve) => setTimeout(resolve, 3_000).unref());
      await Promise.race([(committing ?? Promise.resolve()).then(() => commitProgress()), commitDeadline]);
      await consumer.disconnect();
      await producer.disconnect();
      untrackBacklog();
      log.info('sink stopped');
    },
  };
}

