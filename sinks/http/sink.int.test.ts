/**
 * The HTTP sink end to end (SPEC §7, §8, §12) on the real stack: commands Avro-encoded with the
 * catalogue schema onto a uniquely prefixed command topic, the sink consuming them, and stand-in
 * receivers (sinks/receivers) that honour Idempotency-Key, fail on demand and record every attempt.
 *
 *   flaky receiver (500, 429 + Retry-After, slow past the timeout): every command takes effect
 *     once under its own key, never two bodies under one key, per-key order at the receiver
 *   429 + Retry-After: a throttled command is not sent again before the receiver asked
 *   400/422: `<topic>.dlq` with status and body, later commands of the key flow; undecodable
 *     records dead-lettered too; OAuth2 client credentials
 *   rate limit: 300 queued commands at 50 req/s take >= (300 - burst)/50 s and no 1 s window at
 *     the receiver holds more than rate + burst
 *   coalescing: UpdateAvailability at most once per window per key, the last value always sent
 *   a receiver answering 500 to everything: every command dead-lettered after maxRetryMs, the
 *     circuit having opened on the way (its waits count)
 *   receiver down for two minutes (the figure; 10 s inside npm test, TRIBUTARY_SINK_OUTAGE_MS sets it): the circuit
 *     opens, nothing is lost or dead-lettered while the outage is shorter than maxRetryMs,
 *     delivery resumes by itself, the backlog drains no faster than the rate
 *   a second instance joins mid-backlog, the first stops: nothing lost, once in effect, in order
 *
 * Expected values come from the SPEC and from what the test published, never from the sink.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import kafkajs, { type Admin, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DLQ_HEADERS } from '../../runtime/dlq';
import { createKafka } from '../../runtime/kafka/client';
import { createDecoder, type Decoder } from '../../runtime/kafka/decode';
import { createLogger, log } from '../../runtime/log';
import { createMetrics, type Metrics } from '../../runtime/metrics';
import { naming, type Naming } from '../../runtime/processor/naming';
import { createOutputEncoder, type OutputEncoder } from '../../runtime/processor/outputs';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import type { SinkSpec } from '../../runtime/topology/model';
import { uniqueName } from '../../test/harness/names';
import { testStack } from '../../test/harness/stack';
import { waitFor } from '../../test/harness/wait';
import { entityOfPayload, startReceiver, type Attempt, type Conflict, type Delivery, type Receiver } from '../receivers/receiver';
import type { HttpSinkSpec, SinkTuning } from './config';
import { SINK_HEADERS } from './dead-letter';
import { startSink, type RunningSink } from './runner';

const { Partitioners } = kafkajs;
const stack = testStack();
const catalogue = loadCatalogue();
const quiet = log.child({ test: 'sink' }, { level: process.env.LOG_LEVEL ?? 'error' });
// Two minutes (the figure) in the full reliability profile (`npm run test:faults`); 30 s
// inside `npm test`, which is enough for the circuit to open and probe several times.
const OUTAGE_MS = Number(process.env.TRIBUTARY_SINK_OUTAGE_MS ?? (process.env.TRIBUTARY_FAULTS === 'full' ? 120_000 : 10_000));

interface CommandValue {
  commandId: string;
  type: string;
  correlationId: string | null;
  occurredAt: number;
  payload: Record<string, unknown>;
}

interface Published {
  topic: 'erp.commands' | 'crm.commands';
  key: string;
  value: CommandValue;
}

let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let decoder: Decoder;
const cleanups: (() => Promise<unknown>)[] = [];
const topicsMade: string[] = [];

beforeAll(async () => {
  kafka = createKafka(stack.brokers, 'sink-int');
  admin = kafka.admin();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await Promise.all([admin.connect(), producer.connect()]);
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await admin.deleteTopics({ topics: topicsMade }).catch(() => undefined);
  await Promise.all([admin.disconnect(), producer.disconnect()]);
});

/** A fresh prefix with the command topic (and its .dlq) and the catalogue schema registered. */
async function deployment(label: string, partitions = 4): Promise<{ names: Naming; encoder: OutputEncoder; decoder: Decoder }> {
  const names = naming(`${uniqueName(label)}.`);
  const topics = ['erp.commands', 'crm.commands'].flatMap((t) => [names.topic(t), `${names.topic(t)}.dlq`]);
  topicsMade.push(...topics);
  await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: true });
  const encoder = createOutputEncoder({ registryUrl: stack.registryUrl, catalogue, kafkaTopic: names.topic });
  await encoder.prepare(['erp.commands', 'crm.commands']);
  decoder = createDecoder({ registryUrl: stack.registryUrl, catalogue, catalogueTopic: (t) => names.logical(t) });
  return { names, encoder, decoder };
}

async function publish(encoder: OutputEncoder, names: Naming, records: Published[]): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    const slice = records.slice(i, i + 500);
    const byTopic = new Map<string, ReturnType<OutputEncoder['encode']>[]>();
    for (const r of slice) {
      const topic = names.topic(r.topic);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), encoder.encode({ topic: r.topic, key: r.key, value: r.value })]);
    }
    await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
  }
}

async function receiver(options: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const started = await startReceiver(options);
  cleanups.push(() => started.close());
  return started;
}

/** A sink entry as the topology gives it: the group without the prefix (the sink adds it, as processors do). */
function spec(overrides: Partial<SinkSpec> & { coalesce?: Record<string, number> } & { url: string }): HttpSinkSpec {
  return {
    name: 'erp',
    input: 'erp.commands',
    rateLimit: 200,
    maxRetryMs: 120_000,
    timeoutMs: 2_000,
    concurrency: 8,
    group: uniqueName('sink'),
    description: '',
    at: { line: 1, column: 1 },
    refs: {},
    ...overrides,
  };
}

async function sink(
  names: Naming,
  sinkSpec: HttpSinkSpec,
  extra: { env?: NodeJS.ProcessEnv; tuning?: SinkTuning; metrics?: Metrics; log?: typeof log; fetch?: typeof fetch } = {},
): Promise<{ running: RunningSink; metrics: Metrics }> {
  const metrics = extra.metrics ?? createMetrics({ defaultMetrics: false });
  const running = await startSink({ spec: sinkSpec, naming: names, kafka, decoder, metrics, log: extra.log ?? quiet, env: extra.env ?? {}, tuning: extra.tuning, fetch: extra.fetch });
  cleanups.push(() => running.stop());
  return { running, metrics };
}

let seq = 0;
const t0 = Date.parse('2026-11-20T10:00:00Z');

/** Commands for `orders` orders: Create, `updates` Updates with rising versions, then Cancel; keyed by orderId. */
function orderCommands(orders: number, updates: number, label = 'o'): Published[] {
  const out: Published[] = [];
  for (let o = 0; o < orders; o++) {
    const orderId = `SO-${label}-${o}`;
    const lines = [{ lineNo: 1, sku: `SKU-${o % 7}`, warehouse: 'DC-EAST', quantity: 1 + (o % 5), unitPriceMinor: 1299 }];
    for (let v = 0; v <= updates + 1; v++) {
      const type = v === 0 ? 'CreateSalesOrder' : v <= updates ? 'UpdateSalesOrder' : 'CancelSalesOrder';
      const payload =
        type === 'CancelSalesOrder'
          ? { orderId, reason: 'customer asked', cancelledAt: t0 + v }
          : { orderId, customerId: 'C-1', channel: 'CRM', currency: 'USD', version: t0 + v, lines: lines.map((l) => ({ ...l, quantity: l.quantity + v })) };
      out.push({ topic: 'erp.commands', key: orderId, value: { commandId: `cmd-${label}-${o}-${v}-${seq++}`, type, correlationId: `corr-${o}`, occurredAt: t0 + v, payload } });
    }
  }
  // Interleave orders as processors would produce them, keeping each order's own sequence.
  return interleave(out, (r) => r.key);
}

function interleave<T>(items: T[], keyOf: (t: T) => string): T[] {
  const queues = new Map<string, T[]>();
  for (const item of items) queues.set(keyOf(item), [...(queues.get(keyOf(item)) ?? []), item]);
  const out: T[] = [];
  let random = 12345;
  while (queues.size > 0) {
    const keys = [...queues.keys()];
    random = (random * 1103515245 + 12345) % 2 ** 31;
    const key = keys[random % keys.length] as string;
    const queue = queues.get(key) as T[];
    out.push(queue.shift() as T);
    if (queue.length === 0) queues.delete(key);
  }
  return out;
}

/** Records on a topic (summed end offsets). */
async function recordCount(topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
}

async function readTopic(topic: string, count: number): Promise<KafkaMessage[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('sink-reader') });
  const seen: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message) });
    await waitFor(() => seen.length >= count, { timeoutMs: 30_000, what: `${count} record(s) on ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/** Committed offsets of the group reach the end of every partition. */
async function waitCommitted(names: Naming, group: string, topic: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      const ends = await admin.fetchTopicOffsets(names.topic(topic));
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [names.topic(topic)] });
      // An empty partition has nothing to commit.
      return ends.every((end) => end.high === end.low || committed?.partitions.find((p) => p.partition === end.partition)?.offset === end.high);
    },
    { timeoutMs, intervalMs: 250, what: `group ${group} to commit the end of ${topic}` },
  );
}

function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** What a receiver recorded: from an in-process one, or over its demo API from a child process. */
interface Observed {
  applied: Delivery[];
  conflicts: Conflict[];
}

function observed(target: Receiver): Observed {
  return { applied: target.applied(), conflicts: target.conflicts() };
}

/** Every published command took effect exactly once, and each key's commands in published order. */
function expectAppliedOnceInOrder({ applied, conflicts }: Observed, records: Published[]): void {
  const expectedIds = [...new Set(records.map((r) => r.value.commandId))];
  expect(conflicts).toEqual([]);
  expect(applied.map((d) => d.commandId).sort()).toEqual([...expectedIds].sort());
  const byKey = new Map<string, string[]>();
  for (const r of records) {
    const ids = byKey.get(r.key) ?? [];
    if (!ids.includes(r.value.commandId)) ids.push(r.value.commandId);
    byKey.set(r.key, ids);
  }
  const appliedByKey = new Map<string, string[]>();
  for (const d of applied) {
    const entity = entityOfPayload(d.type, d.body) as string;
    appliedByKey.set(entity, [...(appliedByKey.get(entity) ?? []), d.commandId]);
  }
  for (const [key, ids] of byKey) expect(appliedByKey.get(key), `order of ${key}`).toEqual(ids);
}

/**
 * A stand-in receiver in a child process (sinks/receivers/serve.ts): its clock is not stalled by
 * this process's event loop (the sink decoding a batch), so the times it records are when
 * requests really arrived — what a rate limit is judged by.
 */
async function childReceiver(): Promise<{ url: string; read<T>(path: string): Promise<T> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'sinks/receivers/serve.ts'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ERP_TOKEN: '', CRM_TOKEN: '' } });
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const url = await waitFor(() => /ERP_URL=(\S+)/.exec(out)?.[1], { timeoutMs: 30_000, what: 'the child receiver to print its URL' });
  return {
    url,
    async read<T>(path: string) {
      return (await (await fetch(`${url}/_receiver${path}`)).json()) as T;
    },
  };
}

async function metric(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const found = (await metrics.registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return found?.value ?? 0;
}

describe('HTTP sink', () => {
  it('a receiver failing 20% of requests gets every command once in effect, in order per key', async () => {
    const { names, encoder } = await deployment('flaky');
    const target = await receiver({ name: 'erp', token: 'erp-token-1', failure: { errorRate: 0.1, rate429: 0.05, retryAfterSeconds: 1, slowRate: 0.05, slowMs: 1_500, seed: 7 } });
    const records = orderCommands(40, 6);
    // A replay publishes some commands again (same commandId): at-least-once upstream.
    const replayed = records.filter((_, i) => i % 25 === 0);
    const sinkSpec = spec({ url: target.url, timeoutMs: 1_000 });
    const { metrics } = await sink(names, sinkSpec, { env: { ERP_TOKEN: 'erp-token-1' }, tuning: { backoff: { initialMs: 200, maxMs: 2_000 } } });
    await publish(encoder, names, [...records, ...replayed]);

    await waitFor(() => target.applied().length >= records.length, { timeoutMs: 90_000, what: `${records.length} commands applied` });
    expectAppliedOnceInOrder(observed(target), records);
    // The failures really happened (the plan is seeded) and were retried.
    const statuses = target.attempts().map((a) => a.status);
    expect(statuses.filter((s) => s === 500).length).toBeGreaterThan(10);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(3);
    expect(statuses).not.toContain(401);
    expect(await metric(metrics, 'tributary_sink_deliveries_total', { sink: 'erp', outcome: 'retried' })).toBeGreaterThan(20);
    expect(await recordCount(`${names.topic('erp.commands')}.dlq`)).toBe(0);
    await waitCommitted(names, names.group(sinkSpec.group), 'erp.commands');
  });

  it('429 with Retry-After: the command comes back no sooner than the receiver asked', async () => {
    const { names, encoder } = await deployment('after', 2);
    const target = await receiver({ name: 'erp', failure: { rate429: 0.3, retryAfterSeconds: 1, seed: 11 } });
    const records = orderCommands(8, 1, 'a');
    await sink(names, spec({ url: target.url }));
    await publish(encoder, names, records);
    await waitFor(() => target.applied().length >= records.length, { timeoutMs: 60_000, what: 'every command applied' });
    expectAppliedOnceInOrder(observed(target), records);
    const attempts = target.attempts();
    const throttled = attempts.filter((a) => a.status === 429);
    expect(throttled.length).toBeGreaterThan(3);
    for (const answer of throttled) {
      const next = attempts.find((a) => a.commandId === answer.commandId && a.at > answer.at);
      expect(next, `a retry of ${answer.commandId}`).toBeDefined();
      expect((next as Attempt).at - answer.at).toBeGreaterThanOrEqual(990);
    }
  });

  it('400/422 are dead-lettered at once with status and body, later commands flow on; unreadable records too; OAuth2', async () => {
    const { names, encoder } = await deployment('reject', 2);
    const target = await receiver({ name: 'erp', token: 'oauth-issued-token', failure: { reject: { CancelSalesOrder: 422, UpsertCustomer: 400 } } });
    const tokenServer = await tokenEndpoint('oauth-issued-token');
    const records = orderCommands(5, 1, 'r');
    const customer: Published = {
      topic: 'erp.commands',
      key: 'C-000781',
      value: { commandId: 'cmd-cust-1', type: 'UpsertCustomer', correlationId: null, occurredAt: t0, payload: { customerId: 'C-000781', name: 'Acme', email: null, creditLimitMinor: null, creditHold: false, updatedAt: t0 } },
    };
    // After the rejected cancel of SO-r-0, a later command of the same key must still go through.
    const after: Published = { ...(records.find((r) => r.key === 'SO-r-0' && r.value.type === 'UpdateSalesOrder') as Published) };
    after.value = { ...after.value, commandId: 'cmd-after-reject', payload: { ...after.value.payload, version: t0 + 99 } };
    await publish(encoder, names, [...records, customer, after]);
    await producer.send({ topic: names.topic('erp.commands'), messages: [{ key: 'SO-r-1', value: Buffer.from('not avro at all') }] });

    const group = uniqueName('reject');
    // Every log line down to debug, to check no secret reaches the logs (SPEC §11).
    const lines: string[] = [];
    const capture = createLogger({}, { write: (line: string) => void lines.push(line) }).child({}, { level: 'debug' });
    const { metrics } = await sink(names, spec({ url: target.url, group }), {
      env: { ERP_OAUTH_TOKEN_URL: tokenServer.url, ERP_CLIENT_ID: 'tributary', ERP_CLIENT_SECRET: 'very-secret' },
      log: capture,
    });
    const rejected = records.filter((r) => r.value.type === 'CancelSalesOrder');
    const dead = await readTopic(`${names.topic('erp.commands')}.dlq`, rejected.length + 2);
    const headers = (m: KafkaMessage) => Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]));
    const sinkRejected = dead.filter((m) => headers(m)[DLQ_HEADERS.code] === 'TRB_SINK_REJECTED');
    expect(sinkRejected).toHaveLength(rejected.length + 1);
    for (const m of sinkRejected) {
      const h = headers(m);
      const isCustomer = m.key?.toString() === 'C-000781';
      expect(h[SINK_HEADERS.status]).toBe(isCustomer ? '400' : '422');
      expect(JSON.parse(h[SINK_HEADERS.body] as string)).toMatchObject({ error: isCustomer ? 'bad_command' : 'unprocessable_command' });
      expect(h[DLQ_HEADERS.processor]).toBe('erp');
    }
    // The dead letter holds the original record bytes: decodable as the command that was refused.
    const cancelled = await decoder.decode(sinkRejected.find((m) => m.key?.toString() === 'SO-r-2')?.value as Buffer, names.topic('erp.commands'));
    expect(cancelled.value).toMatchObject({ type: 'CancelSalesOrder', payload: { orderId: 'SO-r-2' } });
    expect(dead.filter((m) => headers(m)[DLQ_HEADERS.code] === 'TRB_DECODE')).toHaveLength(1);

    // Everything not refused took effect, including the command after the refused one of its key.
    const accepted = [...records.filter((r) => r.value.type !== 'CancelSalesOrder'), after];
    await waitFor(() => target.applied().length >= accepted.length, { timeoutMs: 30_000, what: 'accepted commands applied' });
    expectAppliedOnceInOrder(observed(target), accepted);
    expect(target.attempts().filter((a) => a.status === 422)).toHaveLength(rejected.length); // never retried
    expect(tokenServer.requests()).toBe(1); // one token, cached
    expect(await metric(metrics, 'tributary_sink_deliveries_total', { sink: 'erp', outcome: 'rejected' })).toBe(rejected.length + 1);
    await waitCommitted(names, names.group(group), 'erp.commands');
    expect(lines.some((line) => line.includes('dead-lettered'))).toBe(true);
    // Secrets, receiver bodies and payloads: none in any log line.
    for (const secret of ['very-secret', 'oauth-issued-token', 'unprocessable_command', 'Acme']) expect(lines.filter((line) => line.includes(secret))).toEqual([]);
  });

  it('holds the rate limit under a backlog: 300 queued commands at 50 req/s', async () => {
    const { names, encoder } = await deployment('rate');
    const target = await childReceiver();
    const rate = 50;
    const burst = 5;
    // When each request leaves the sink: the limit measured where the sink holds it, free of the
    // network's and the receiver's timing.
    const sent: number[] = [];
    const timed: typeof fetch = (input, init) => {
      sent.push(Date.now());
      return fetch(input, init);
    };
    await sink(names, spec({ url: target.url, rateLimit: rate, concurrency: 32 }), { tuning: { burst }, fetch: timed });
    // One command first, so the measurement is of the backlog, not of the sink's start.
    const warmUp = orderCommands(1, 0, 'w').slice(0, 1);
    await publish(encoder, names, warmUp);
    await waitFor(async () => (await target.read<Delivery[]>('/applied')).length === 1, { timeoutMs: 30_000, what: 'the warm-up command' });
    const records = orderCommands(100, 1, 'q');
    await publish(encoder, names, records);
    await waitFor(async () => (await target.read<Delivery[]>('/applied')).length >= records.length + 1, { timeoutMs: 60_000, intervalMs: 250, what: 'the backlog delivered' });
    const times = (await target.read<Attempt[]>('/attempts')).slice(1).map((a) => a.at);
    const elapsed = Math.max(...times) - Math.min(...times);
    // (300 - burst) / 50 = 5.9 s at the very least; a small allowance for clock granularity.
    expect(elapsed).toBeGreaterThanOrEqual(((records.length - burst) / rate) * 1000 - 100);
    // A token bucket allows exactly rate + burst in a 1 s window, so the bound is tight: checked at
    // the sink, and at the receiver (another process, so this one's event loop does not skew it).
    expect(sent).toHaveLength(records.length + 1);
    expect(maxInWindow(sent.slice(1), 1_000)).toBeLessThanOrEqual(rate + burst);
    expect(maxInWindow(times, 1_000)).toBeLessThanOrEqual(rate + burst);
    expectAppliedOnceInOrder({ applied: await target.read<Delivery[]>('/applied'), conflicts: await target.read<Conflict[]>('/conflicts') }, [...warmUp, ...records]);
    console.info(`rate test: ${records.length} commands in ${elapsed} ms, busiest 1 s window ${maxInWindow(sent.slice(1), 1_000)} requests sent, ${maxInWindow(times, 1_000)} received (bound ${rate + burst})`);
  });

  it('coalesces UpdateAvailability per sku@warehouse: at most one per window, the last value always sent', async () => {
    const { names, encoder } = await deployment('coalesce');
    const target = await receiver({ name: 'crm' });
    const group = uniqueName('crm');
    const { metrics } = await sink(names, spec({ name: 'crm', input: 'crm.commands', url: target.url, coalesce: { UpdateAvailability: 1_000 }, group }));
    const keys = ['SKU-1@DC-EAST', 'SKU-2@DC-EAST', 'SKU-1@DC-WEST'];
    const all: Published[] = [];
    // 15 waves, 150 ms apart: ~2.2 s of changes per key.
    for (let wave = 0; wave < 15; wave++) {
      const batch = keys.map((key, k): Published => {
        const [sku, warehouse] = key.split('@') as [string, string];
        const available = wave * 10 + k;
        return { topic: 'crm.commands', key, value: { commandId: `ua-${k}-${wave}-${seq++}`, type: 'UpdateAvailability', correlationId: null, occurredAt: t0 + wave, payload: { sku, warehouse, available, atp: available, asOf: t0 + wave } } };
      });
      all.push(...batch);
      await publish(encoder, names, batch);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const lastOf = new Map(keys.map((key) => [key, all.filter((r) => r.key === key).at(-1) as Published]));
    await waitFor(() => keys.every((key) => target.appliedByEntity().get(key)?.at(-1)?.commandId === lastOf.get(key)?.value.commandId), { timeoutMs: 30_000, what: 'the last value of every key applied' });
    await waitCommitted(names, names.group(group), 'crm.commands');
    for (const key of keys) {
      const applied = target.appliedByEntity().get(key) ?? [];
      expect(applied.length).toBeLessThan(all.filter((r) => r.key === key).length / 2);
      // Values only move forward and requests of a key are at least the window apart (request to answer, ±1 ms clocks).
      const values = applied.map((d) => (d.body as { available: number }).available);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      for (let i = 1; i < applied.length; i++) expect((applied[i] as { at: number }).at - (applied[i - 1] as { at: number }).at).toBeGreaterThanOrEqual(990);
    }
    const coalesced = await metric(metrics, 'tributary_sink_deliveries_total', { sink: 'crm', outcome: 'coalesced' });
    const delivered = await metric(metrics, 'tributary_sink_deliveries_total', { sink: 'crm', outcome: 'delivered' });
    expect(coalesced + delivered).toBe(all.length);
    expect(target.attempts()).toHaveLength(delivered);
  });

  it(`receiver down for ${OUTAGE_MS / 1000} s: the circuit opens, nothing is lost or dead-lettered, delivery resumes by itself at the rate`, { timeout: OUTAGE_MS + 100_000 }, async () => {
    const { names, encoder } = await deployment('outage');
    const target = await receiver({ name: 'erp' });
    const rate = 20;
    const burst = 2;
    const group = uniqueName('outage');
    // An outage shorter than maxRetryMs (SPEC §12 "down for minutes" against the 15-minute default).
    const { running, metrics } = await sink(names, spec({ url: target.url, rateLimit: rate, concurrency: 4, maxRetryMs: OUTAGE_MS + 60_000, timeoutMs: 1_000, group }), {
      tuning: { burst, circuit: { maxCooldownMs: 8_000 } },
    });
    const before = orderCommands(10, 1, 'b');
    await publish(encoder, names, before);
    await waitFor(() => target.applied().length >= before.length, { timeoutMs: 30_000, what: 'first commands applied' });

    await target.setDown(true);
    const downAt = Date.now();
    const during = orderCommands(50, 2, 'd'); // 200 commands while down
    await publish(encoder, names, during);
    await waitFor(() => running.circuit() === 'open', { timeoutMs: 15_000, what: 'the circuit to open' });
    expect(await metric(metrics, 'tributary_sink_circuit_state', { sink: 'erp' })).toBe(2);
    while (Date.now() - downAt < OUTAGE_MS) {
      expect(await recordCount(`${names.topic('erp.commands')}.dlq`)).toBe(0);
      expect(running.circuit()).not.toBe('closed');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const upAt = Date.now();
    await target.setDown(false);

    await waitFor(() => target.applied().length >= before.length + during.length, { timeoutMs: 60_000, what: 'the backlog delivered after the outage' });
    const resumedAfter = Math.min(...target.attempts().filter((a) => a.at >= upAt).map((a) => a.at)) - upAt;
    expect(running.circuit()).toBe('closed');
    expect(await recordCount(`${names.topic('erp.commands')}.dlq`)).toBe(0);
    expectAppliedOnceInOrder(observed(target), [...before, ...during]);
    const drain = target.attempts().filter((a) => a.at >= upAt).map((a) => a.at);
    expect(maxInWindow(drain, 1_000)).toBeLessThanOrEqual(rate + burst);
    expect(Math.max(...drain) - Math.min(...drain)).toBeGreaterThanOrEqual(((during.length - burst) / rate) * 1000 - 100);
    await waitCommitted(names, names.group(group), 'erp.commands');
    console.info(`outage test: down ${OUTAGE_MS} ms, first request ${resumedAfter} ms after the receiver came back, drained ${drain.length} requests in ${Math.max(...drain) - Math.min(...drain)} ms`);
  });

  it('a receiver answering 500 to everything: each command is dead-lettered once maxRetryMs has passed, circuit open or not', async () => {
    const { names, encoder } = await deployment('always-500', 2);
    const target = await receiver({ name: 'erp', failure: { errorRate: 1 } });
    const records = orderCommands(3, 0, 'x'); // per order: Create, then Cancel
    await publish(encoder, names, records);
    const maxRetryMs = 2_000;
    const { running, metrics } = await sink(names, spec({ url: target.url, maxRetryMs, group: uniqueName('always-500') }), {
      tuning: { circuit: { cooldownMs: 200, maxCooldownMs: 400 } },
    });
    let sawOpen = false;
    const dead = await (async () => {
      await waitFor(
        async () => {
          sawOpen ||= running.circuit() !== 'closed';
          return (await recordCount(`${names.topic('erp.commands')}.dlq`)) >= records.length;
        },
        { timeoutMs: 60_000, intervalMs: 50, what: 'every command dead-lettered' },
      );
      return readTopic(`${names.topic('erp.commands')}.dlq`, records.length);
    })();
    expect(sawOpen, 'the circuit opened on the way').toBe(true);
    expect(target.applied()).toEqual([]);
    const headers = (m: KafkaMessage) => Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)]));
    expect(dead.map((m) => headers(m)[DLQ_HEADERS.code])).toEqual(records.map(() => 'TRB_SINK_UNAVAILABLE'));
    // Each was given up only after failing for maxRetryMs: its attempts span at least that.
    for (const record of records) {
      const times = target.attempts().filter((a) => a.commandId === record.value.commandId).map((a) => a.at);
      expect(Math.max(...times) - Math.min(...times), record.value.commandId).toBeGreaterThanOrEqual(maxRetryMs - 50);
    }
    expect(await metric(metrics, 'tributary_sink_deliveries_total', { sink: 'erp', outcome: 'dead_lettered' })).toBe(records.length);
  });

  it('a second instance joins mid-backlog (rebalance), then the first stops: nothing lost, once in effect, in order', async () => {
    const { names, encoder } = await deployment('handover');
    const target = await receiver({ name: 'erp', failure: { slowRate: 0.3, slowMs: 300, seed: 3 } });
    const records = orderCommands(30, 4, 'h');
    await publish(encoder, names, records);
    const group = uniqueName('handover');
    const sinkSpec = spec({ url: target.url, rateLimit: 40, group });
    const first = await sink(names, sinkSpec);
    await waitFor(() => target.applied().length >= 20, { timeoutMs: 30_000, what: 'some commands applied' });
    const second = await sink(names, sinkSpec);
    // Both members of the group own partitions now: the rebalance happened while requests were in flight.
    await waitFor(() => first.running.assigned().length > 0 && second.running.assigned().length > 0 && first.running.assigned().length + second.running.assigned().length === 4, {
      timeoutMs: 30_000,
      what: 'the partitions shared by both instances',
    });
    await waitFor(() => target.applied().length >= 60, { timeoutMs: 30_000, what: 'more commands applied' });
    const stopping = Date.now();
    await first.running.stop();
    expect(Date.now() - stopping).toBeLessThan(10_000); // SPEC §12
    expect(target.applied().length).toBeLessThan(records.length);
    await waitFor(() => target.applied().length >= records.length, { timeoutMs: 60_000, what: 'the rest delivered by the second instance' });
    expectAppliedOnceInOrder(observed(target), records);
    await waitCommitted(names, names.group(group), 'erp.commands');
  });
});

/** A stand-in OAuth2 token endpoint that issues `token` to the client tributary / very-secret. */
async function tokenEndpoint(token: string): Promise<{ url: string; requests(): number }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      requests += 1;
      const form = new URLSearchParams(body);
      const basic = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
      if (form.get('grant_type') !== 'client_credentials' || basic !== 'tributary:very-secret') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`, requests: () => requests };
}
