/**
 * The item table and the orders it judges (SPEC §5: a version is valid if its skus are known from
 * item.upserted "at the time it is processed"): with `orders` running and its partitions open
 * (a first order applied), one produce request appends a burst of new items and an order for the
 * last of them. The order reaches the orders consumer at once while the table's own consumer still
 * reads and decodes the items; it must not be judged before the table holds what was appended with
 * it. An order for a sku nobody published is rejected in the same run, so "valid" is not simply
 * what every order gets.
 */
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../../producers/sdk/encode';
import { confluentFrame } from '../../producers/sdk/envelope';
import { schemaIds } from '../../producers/sdk/schema-ids';
import { startComponents, type Components } from '../../runtime/app/components';
import { createKafka } from '../../runtime/kafka/client';
import { log } from '../../runtime/log';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import type { InputRecord } from '../reference/types';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { deploy, publish, servedFromRedis, type Deployment } from './pipeline-harness';

const stack = testStack();
const ITEMS = 15_000;
const catalogue = loadCatalogue();
const T0 = Date.parse('2026-11-20T08:00:00Z');
let deployment: Deployment;
let components: Components;

const meta = (eventId: string, occurredAt: number, source: string) => ({ eventId, occurredAt, source, correlationId: null, causationId: null });
const item = (i: number): InputRecord => ({
  topic: 'item.upserted',
  value: { meta: meta(`barrier-item-${i}`, T0 + i, 'ERP'), sku: `BARRIER-${i}`, description: `Barrier item ${i}`, baseUom: 'EA', uomConversions: { CS: 12 }, safetyStock: {} },
});
const order = (orderId: string, sku: string): InputRecord => ({
  topic: 'order.created',
  value: {
    meta: meta(`barrier-${orderId}`, T0 + ITEMS + 1, 'CRM'),
    orderId,
    customerId: 'C-1',
    channel: 'CRM',
    currency: 'USD',
    requestedShipDate: null,
    lines: [{ lineNo: 1, sku, warehouse: 'DC-EAST', quantity: 2, uom: 'CS', unitPriceMinor: null }],
  },
});

beforeAll(async () => {
  deployment = await deploy(stack, 'barrier');
  components = await startComponents({
    names: ['orders'],
    connection: { brokers: stack.brokers, registryUrl: stack.registryUrl, redisUrl: stack.redisUrl, origin: { kafka: 'env', registry: 'env', redis: 'env' }, security: 'none' },
    topology: deployment.topology,
    naming: deployment.naming,
    log: log.child({ test: 'table-barrier' }),
  });
}, 120_000);

afterAll(async () => {
  await components?.stop();
});

/** One produce request holding every record given, each Confluent-framed under its topic's registered id. */
async function appendTogether(records: readonly InputRecord[]): Promise<void> {
  const ids = schemaIds(stack.registryUrl);
  const byTopic = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
  for (const record of records) {
    const encoded = encodeEvent(catalogue, record.topic, record.value);
    const topic = deployment.naming.topic(record.topic);
    const id = await ids.idFor(`${topic}-value`, catalogue.require(record.topic).schema as Record<string, unknown>);
    (byTopic.get(topic) ?? byTopic.set(topic, []).get(topic))!.push({ key: encoded.key, value: confluentFrame(id, encoded.avro), headers: encoded.headers });
  }
  const producer = createKafka(stack.brokers, 'barrier').producer({ allowAutoTopicCreation: false, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  } finally {
    await producer.disconnect();
  }
}

async function statuses(): Promise<Map<string, { status: string; lines: { ordered: number }[] }>> {
  const partitions = deployment.topology.topics.find((t) => t.name === 'order.created')?.partitions ?? 6;
  return new Map((await servedFromRedis(stack.redisUrl, deployment.naming, partitions)).orders);
}

describe('orders and the item table', () => {
  it('an order appended together with its new item is judged with that item known', async () => {
    // Warm-up: the orders partitions open (their first batch reads Redis) before the race.
    await publish(stack, deployment.naming, [item(-1), ...['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'].map((x) => order(`SO-WARM-${x}`, 'BARRIER--1'))]);
    await waitFor(async () => (await statuses()).size >= 8, { timeoutMs: 60_000, what: 'the warm-up orders in the view' });

    const items = Array.from({ length: ITEMS }, (_, i) => item(i));
    await appendTogether([...items, order('SO-BARRIER-1', `BARRIER-${ITEMS - 1}`), order('SO-BARRIER-2', 'NEVER-PUBLISHED')]);

    let view = new Map<string, { status: string; lines: { ordered: number }[] }>();
    await waitFor(
      async () => {
        view = await statuses();
        return view.has('SO-BARRIER-1') && view.has('SO-BARRIER-2');
      },
      { timeoutMs: 60_000, what: 'both orders in the order.status view' },
    );
    expect(view.get('SO-BARRIER-1')).toMatchObject({ status: 'OPEN', lines: [{ ordered: 24 }] });
    expect(view.get('SO-BARRIER-2')?.status).toBe('REJECTED');
  });
});
