/**
 * `tributary dlq list | show | redrive` against the test stack (SPEC §8, §9): the shipped topology
 * deployed under a unique prefix with `orders` and `atp` running in-process (Redis db 8). Into
 * `stock.adjusted.dlq` and `order.created.dlq` go dead letters that are "fixed" by now — valid
 * events with the error headers an older, buggy processor would have written (an unknown schema
 * id since registered, a processor bug since fixed) — plus one record without dead-letter headers.
 *
 * Acceptance (issue #6): "redrive moves fixed DLQ records back and they are processed once". Stock
 * adjustments are the telling case: applied twice, on-hand would count the delta twice. The served
 * view must equal the reference fold (test/reference/fold.ts) of the items plus each fixed event
 * once; a second redrive sends nothing; the plan alone changes no topic's end offsets.
 */
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../producers/sdk';
import { confluentFrame } from '../../producers/sdk/envelope';
import { startComponents, type Components } from '../../runtime/app/components';
import { deadLetterOf, toDeadLetterMessage } from '../../runtime/dlq';
import { DecodeError } from '../../runtime/errors';
import { createKafka } from '../../runtime/kafka/client';
import type { RedrivePlan } from '../../runtime/ops/dlq-redrive';
import { log } from '../../runtime/log';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import type { InputRecord } from '../reference/types';
import { uniqueName } from '../harness/names';
import { redisDb, testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { tributary, withAdmin } from '../publish/cli-helpers';
import { deploy, expected, publish, servedFromRedis, waitCaughtUp, type Deployment } from '../e2e/pipeline-harness';

const { Partitioners } = kafkajs;

const stack = testStack();
const REDIS = redisDb(stack.redisUrl, 8);
const catalogue = loadCatalogue();
const MINUTE = 60_000;
const T0 = Date.parse('2026-11-20T08:00:00Z');
const tag = uniqueName('dlq');

const meta = (n: number, source: string) => ({ eventId: `${tag}-ev-${n}`, occurredAt: T0 + n * MINUTE, source, correlationId: null, causationId: null });
const item = (n: number, sku: string): InputRecord => ({
  topic: 'item.upserted',
  value: { meta: meta(n, 'ERP'), sku, description: `item ${sku}`, baseUom: 'EA', uomConversions: { EA: 1, CS: 6 }, safetyStock: { 'DC-EAST': 1 } },
});
const adjusted = (n: number, sku: string, warehouse: string, delta: number): InputRecord => ({
  topic: 'stock.adjusted',
  value: { meta: meta(n, 'WMS'), sku, warehouse, delta, reason: 'RECEIPT' },
});
const created = (n: number, orderId: string, sku: string, quantity: number): InputRecord => ({
  topic: 'order.created',
  value: {
    meta: meta(n, 'ECOMMERCE'),
    orderId,
    customerId: 'C-1',
    channel: 'ECOMMERCE',
    currency: 'USD',
    requestedShipDate: null,
    lines: [{ lineNo: 1, sku, warehouse: 'DC-EAST', quantity, uom: null, unitPriceMinor: null }],
  },
});

const ITEMS = [item(1, 'SKU-1'), item(2, 'SKU-2')];
/** Dead-lettered once, fixed since; [record, error code, dead-lettered at]. */
const FIXED_STOCK: [InputRecord, string, string][] = [
  [adjusted(10, 'SKU-1', 'DC-EAST', 10), 'TRB_UNKNOWN_SCHEMA', '2026-11-20T09:00:00.000Z'],
  [adjusted(11, 'SKU-1', 'DC-EAST', 5), 'TRB_PROCESSING', '2026-11-20T09:30:00.000Z'],
  [adjusted(12, 'SKU-2', 'DC-EAST', 7), 'TRB_UNKNOWN_SCHEMA', '2026-11-20T09:10:00.000Z'],
];
const FIXED_ORDERS: [InputRecord, string, string][] = [
  [created(20, 'SO-DLQ-1', 'SKU-1', 3), 'TRB_UNKNOWN_SCHEMA', '2026-11-20T10:00:00.000Z'],
  [created(21, 'SO-DLQ-2', 'SKU-2', 2), 'TRB_UNKNOWN_SCHEMA', '2026-11-20T10:05:00.000Z'],
];

let deployment: Deployment;
let components: Components;
const dlqOf = (topic: string) => deployment.naming.topic(`${topic}.dlq`);
/** Where each dead letter landed in its DLQ. */
const letters = new Map<string, { partition: number; offset: number; bytes: Buffer }>();

async function registeredId(topic: string): Promise<number> {
  const subject = `${deployment.naming.topic(topic)}-value`;
  const response = await fetch(`${stack.registryUrl.replace(/\/+$/, '')}/subjects/${encodeURIComponent(subject)}/versions/latest`);
  const body = (await response.json()) as { id?: number };
  if (!response.ok || typeof body.id !== 'number') throw new Error(`no schema under ${subject}`);
  return body.id;
}

/** Writes dead letters as the runtime would have: original key, framed value and headers, plus the error headers. */
async function deadLetter(fixed: [InputRecord, string, string][]): Promise<void> {
  const producer = createKafka(stack.brokers, 'dlq-tests').producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (const [record, code, at] of fixed) {
      const event = encodeEvent(catalogue, record.topic, record.value);
      const bytes = confluentFrame(await registeredId(record.topic), event.avro);
      const source = deployment.naming.topic(record.topic);
      const message = toDeadLetterMessage(
        deadLetterOf({ topic: source, partition: 0, message: { key: Buffer.from(event.key), value: bytes, headers: event.headers, offset: '41' } }, new DecodeError('the old processor could not read it'), 'atp', code, new Date(at)),
      );
      const [meta] = await producer.send({ topic: dlqOf(record.topic), acks: -1, messages: [message] });
      letters.set(eventId(record), { partition: meta!.partition, offset: Number(meta!.baseOffset), bytes });
    }
  } finally {
    await producer.disconnect();
  }
}

function eventId(record: InputRecord): string {
  return ((record.value as { meta: { eventId: string } }).meta).eventId;
}

/** End offsets of every topic of the deployment. */
async function endOffsets(): Promise<Record<string, string>> {
  return withAdmin(async (admin) => {
    const out: Record<string, string> = {};
    for (const topic of (await admin.listTopics()).filter((t) => t.startsWith(deployment.naming.prefix)).sort()) {
      for (const { partition, high } of await admin.fetchTopicOffsets(topic)) out[`${topic}/${partition}`] = high;
    }
    return out;
  });
}

const dlq = (...args: string[]) => tributary(['dlq', ...args, '--topic-prefix', deployment.naming.prefix]);
const json = <T>(stdout: string): T => JSON.parse(stdout) as T;

type Plan = RedrivePlan;

async function served() {
  await waitCaughtUp(stack, deployment);
  return servedFromRedis(REDIS, deployment.naming, 6);
}

beforeAll(async () => {
  deployment = await deploy(stack, 'dlq');
  await publish(stack, deployment.naming, ITEMS);
  components = await startComponents({
    names: ['orders', 'atp'],
    connection: { brokers: stack.brokers, registryUrl: stack.registryUrl, redisUrl: REDIS, origin: { kafka: 'env', registry: 'env', redis: 'env' }, security: 'none' },
    topology: deployment.topology,
    naming: deployment.naming,
    log: log.child({ test: 'dlq' }),
  });
  await deadLetter(FIXED_STOCK);
  await deadLetter(FIXED_ORDERS);
  // A record in a DLQ without dead-letter headers: nothing says where it came from.
  const producer = createKafka(stack.brokers, 'dlq-stray').producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({ topic: dlqOf('stock.adjusted'), acks: -1, messages: [{ key: 'stray', value: Buffer.from('stray') }] });
  await producer.disconnect();
}, 180_000);

afterAll(async () => {
  await components?.stop();
});

describe('tributary dlq', () => {
  it('list: every DLQ of the deployment with records, pending, counts by code, first and last time', async () => {
    const run = await dlq('list', '--format', 'json');
    expect(run.code, run.stderr).toBe(0);
    const rows = json<{ topic: string; sourceTopic: string; records: number; pending: number; byCode: Record<string, number>; first: string | null; last: string | null; notDeadLetters: number }[]>(run.stdout);
    expect(rows.map((r) => r.topic).sort()).toEqual(deployment.topology.deadLetters.map((t) => deployment.naming.topic(t.name)).sort());
    const stock = rows.find((r) => r.topic === dlqOf('stock.adjusted'))!;
    expect(stock).toMatchObject({
      sourceTopic: deployment.naming.topic('stock.adjusted'),
      records: 4,
      pending: 3,
      notDeadLetters: 1,
      byCode: { TRB_PROCESSING: 1, TRB_UNKNOWN_SCHEMA: 2 },
      first: '2026-11-20T09:00:00.000Z',
      last: '2026-11-20T09:30:00.000Z',
    });
    expect(rows.find((r) => r.topic === dlqOf('order.created'))).toMatchObject({ records: 2, pending: 2, byCode: { TRB_UNKNOWN_SCHEMA: 2 } });
    expect(rows.find((r) => r.topic === dlqOf('order.changed'))).toMatchObject({ records: 0, first: null, last: null });
    const table = await dlq('list');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(dlqOf('stock.adjusted'));
    expect(table.stdout).toContain('TRB_UNKNOWN_SCHEMA 2');
  });

  it('show: the error headers, the original key, headers and bytes, and the decoded original value', async () => {
    const run = await dlq('show', 'stock.adjusted');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('the record has no dead-letter headers');
    const shown = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(shown).toHaveLength(3);
    for (const [record, code, at] of FIXED_STOCK) {
      const where = letters.get(eventId(record))!;
      const one = shown.find((s) => s.original.value?.meta.eventId === eventId(record));
      const event = encodeEvent(catalogue, 'stock.adjusted', record.value);
      expect(one).toMatchObject({
        topic: dlqOf('stock.adjusted'),
        partition: where.partition,
        offset: where.offset,
        key: event.key,
        error: { code, processor: 'atp', at, sourceTopic: deployment.naming.topic('stock.adjusted'), sourcePartition: 0, sourceOffset: 41, message: 'the old processor could not read it' },
        original: { key: event.key, headers: event.headers, valueLength: where.bytes.length, valueBase64: where.bytes.toString('base64'), value: record.value },
        redriven: false,
      });
    }
    // The DLQ topic may be named either way; --where reaches error fields and the original value.
    const processing = await dlq('show', 'stock.adjusted.dlq', '--where', 'code=TRB_PROCESSING');
    expect(processing.stdout.trim().split('\n').map((l) => JSON.parse(l).original.value.delta)).toEqual([5]);
    const sku2 = await dlq('show', 'stock.adjusted', '--where', 'sku=SKU-2', '--format', 'csv');
    const [header, row, end] = sku2.stdout.split('\r\n');
    expect(end).toBe('');
    const cells = Object.fromEntries((header as string).split(',').map((column, i) => [column, (row as string).split(',')[i]]));
    expect(cells['error.code']).toBe('TRB_UNKNOWN_SCHEMA');
    expect(cells['original.value.delta']).toBe('7');
  });

  it('redrive without --execute prints the plan and changes no topic', async () => {
    const before = await endOffsets();
    const run = await dlq('redrive', 'stock.adjusted', '--format', 'json');
    expect(run.code, run.stderr).toBe(0);
    const plan = json<Plan>(run.stdout);
    expect(plan).toMatchObject({ execute: false, total: 3, sent: 0, notDeadLetters: 1, alreadyRedriven: 0 });
    expect(plan.selected).toEqual([
      { topic: deployment.naming.topic('stock.adjusted'), code: 'TRB_PROCESSING', records: 1 },
      { topic: deployment.naming.topic('stock.adjusted'), code: 'TRB_UNKNOWN_SCHEMA', records: 2 },
    ]);
    const text = await dlq('redrive', 'order.created');
    expect(text.stdout).toContain(`would re-drive 2 records from ${dlqOf('order.created')}; nothing sent: add --execute`);
    expect(await endOffsets()).toEqual(before);
    // Nor does it record progress: the redrive group has committed nothing.
    const group = `${deployment.naming.group(deployment.topology.groupPrefix)}dlq-redrive`;
    const committed = await withAdmin((admin) => admin.fetchOffsets({ groupId: group, topics: [dlqOf('stock.adjusted')] }));
    expect(committed.flatMap((t) => t.partitions).filter((p) => Number(p.offset) >= 0)).toEqual([]);
  });

  it('redrive --where --execute sends only the matching records; the view takes exactly them', async () => {
    const run = await dlq('redrive', 'stock.adjusted', '--where', 'code=TRB_PROCESSING', '--execute', '--format', 'json');
    expect(run.code, run.stderr).toBe(0);
    expect(json<Plan>(run.stdout)).toMatchObject({ execute: true, total: 1, sent: 1, notMatching: 2 });
    const view = await served();
    const want = expected([...ITEMS, FIXED_STOCK[1]![0]]);
    expect(view.atp).toEqual(want.atp);
  });

  it('redrive moves the fixed records back and they are processed once; a second redrive sends nothing', async () => {
    const stock = await dlq('redrive', 'stock.adjusted', '--execute', '--format', 'json');
    expect(stock.code, stock.stderr).toBe(0);
    // The one a --where sent before is not sent again; the two it passed over are.
    expect(json<Plan>(stock.stdout)).toMatchObject({ sent: 2, total: 2, alreadyRedriven: 1, notDeadLetters: 1 });
    const orders = await dlq('redrive', 'order.created.dlq', '--execute');
    expect(orders.code, orders.stderr).toBe(0);
    expect(orders.stdout).toContain(`re-drove 2 records from ${dlqOf('order.created')}`);

    const all = [...ITEMS, ...FIXED_STOCK.map(([r]) => r), ...FIXED_ORDERS.map(([r]) => r)];
    const want = expected(all);
    expect(want.orders.map(([id]) => id)).toEqual(['SO-DLQ-1', 'SO-DLQ-2']);
    const view = await served();
    expect(view.atp).toEqual(want.atp);
    expect(view.orders).toEqual(want.orders);

    const before = await endOffsets();
    const again = await dlq('redrive', 'stock.adjusted', '--execute');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`nothing to re-drive in ${dlqOf('stock.adjusted')}`);
    expect(again.stdout).toContain('3 records re-driven by an earlier run left alone');
    expect(json<Plan>((await dlq('redrive', 'order.created', '--execute', '--format', 'json')).stdout)).toMatchObject({ sent: 0, alreadyRedriven: 2 });
    expect(await endOffsets()).toEqual(before);
  });

  it('re-driven records carry the original key, bytes and headers plus tributary.redrive.from, on their key\'s partition', async () => {
    const run = await tributary(['consume', 'stock.adjusted', '--topic-prefix', deployment.naming.prefix]);
    const records = run.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(records).toHaveLength(3);
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
    for (const [record] of FIXED_STOCK) {
      const event = encodeEvent(catalogue, 'stock.adjusted', record.value);
      const where = letters.get(eventId(record))!;
      const got = records.find((r) => r.value.meta.eventId === eventId(record));
      expect(got.key).toBe(event.key);
      expect(got.value).toEqual(record.value);
      expect(got.partition).toBe(partitioner({ topic: 'any', partitionMetadata, message: { key: event.key, value: null } }));
      expect(got.headers).toEqual({ ...event.headers, 'tributary.redrive.from': `${dlqOf('stock.adjusted')}/${where.partition}/${where.offset}` });
    }
  });

  it('list and show know what was re-driven', async () => {
    const rows = json<{ topic: string; redriven: number; pending: number }[]>((await dlq('list', '--format', 'json')).stdout);
    expect(rows.find((r) => r.topic === dlqOf('stock.adjusted'))).toMatchObject({ redriven: 3, pending: 0 });
    const shown = await dlq('show', 'order.created', '--where', 'redriven=true');
    expect(shown.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('--all sends them again, and the processors drop the repeats by eventId', async () => {
    const run = await dlq('redrive', 'stock.adjusted', '--all', '--execute', '--format', 'json');
    expect(json<Plan>(run.stdout)).toMatchObject({ sent: 3, again: 3, alreadyRedriven: 0 });
    const view = await served();
    expect(view.atp).toEqual(expected([...ITEMS, ...FIXED_STOCK.map(([r]) => r), ...FIXED_ORDERS.map(([r]) => r)]).atp);
  });

  it('refuses to execute while another redrive holds the redrive group; the plan still works', async () => {
    const group = `${deployment.naming.group(deployment.topology.groupPrefix)}dlq-redrive`;
    const holder = createKafka(stack.brokers, 'dlq-holder').consumer({ groupId: group });
    await holder.connect();
    try {
      let joined = false;
      holder.on(holder.events.GROUP_JOIN, () => (joined = true));
      await holder.subscribe({ topic: dlqOf('order.changed') });
      await holder.run({ eachMessage: async () => undefined });
      await waitFor(() => joined, { what: 'the holder to join the redrive group' });
      const refused = await dlq('redrive', 'stock.adjusted', '--all', '--execute');
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toMatch(/^tributary: TRB_GROUP_ACTIVE: another dlq redrive is running/);
      expect((await dlq('redrive', 'stock.adjusted', '--all')).code).toBe(0);
    } finally {
      await holder.disconnect();
    }
  });

  it('an unknown DLQ is one line naming the known ones; a bad --where is a usage error', async () => {
    const unknown = await dlq('show', 'no.such');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain(`TRB_UNKNOWN_TOPIC: unknown topic "${deployment.naming.prefix}no.such.dlq"; known topics: `);
    expect(unknown.stderr).toContain('stock.adjusted.dlq');
    const bad = await dlq('redrive', 'stock.adjusted', '--where', 'code');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^tributary: TRB_USAGE: --where "code"/);
  });

  it('--help of each subcommand shows examples', async () => {
    for (const sub of ['list', 'show', 'redrive']) {
      const run = await tributary(['dlq', sub, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Examples:');
    }
    expect((await tributary(['dlq', 'redrive', '--help'])).stdout).toContain('--execute');
  });
});
