/**
 * End to end (issue 4 acceptance): simulator events with extra duplicates, shuffled across
 * topics, published to Kafka; `orders`, `atp` and the API running in this process; once every
 * group has consumed everything, the served view — every row and order status in Redis, and the
 * answers of GET /atp/{sku}, GET /atp/{sku}/{warehouse}, POST /atp/check and GET /orders/{id} —
 * equals the independent reference fold of the same event set. The order.rejected topic holds
 * exactly the fold's rejections (re-emitted copies carry the same eventId).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComponents, type Components } from '../../runtime/app/components';
import { createDecoder } from '../../runtime/kafka/decode';
import { createKafka } from '../../runtime/kafka/client';
import { log } from '../../runtime/log';
import { testStack } from '../harness/stack';
import { uniqueName } from '../harness/names';
import { waitFor } from '../harness/wait';
import { apiRow, deploy, expected, publish, servedFromRedis, waitCaughtUp, workload, type Deployment } from './pipeline-harness';

const stack = testStack();
let deployment: Deployment;
let components: Components;
const load = workload({ seed: 4242, events: 6_000, duplicateRate: 0.02, repeatRate: 0.03 });
const want = expected(load.records);

beforeAll(async () => {
  deployment = await deploy(stack, 'e2e');
  await publish(stack, deployment.naming, load.records);
  components = await startComponents({
    names: ['orders', 'atp', 'api'],
    connection: { brokers: stack.brokers, registryUrl: stack.registryUrl, redisUrl: stack.redisUrl, origin: { kafka: 'env', registry: 'env', redis: 'env' }, security: 'none' },
    topology: deployment.topology,
    naming: deployment.naming,
    log: log.child({ test: 'e2e' }),
    port: 0,
    host: '127.0.0.1',
  });
  await waitCaughtUp(stack, deployment);
}, 240_000);

afterAll(async () => {
  await components?.stop();
});

describe('the pipeline, end to end, equals the reference fold', () => {
  it('serves a workload large enough to mean something', () => {
    expect(want.atp.length).toBeGreaterThan(100);
    expect(want.orders.length).toBeGreaterThan(100);
    expect(want.rejections.length).toBeGreaterThan(0);
  });

  it('holds exactly the fold\'s rows and order statuses in the Redis view', async () => {
    const served = await servedFromRedis(stack.redisUrl, deployment.naming, 6);
    expect(served.atp).toEqual(want.atp);
    expect(served.orders).toEqual(want.orders);
  });

  it('answers GET /atp/{sku}/{warehouse} and GET /atp/{sku} as the fold says', async () => {
    await waitFor(async () => (await fetch(`${components.url}/readyz`)).status === 200, { what: 'the API to be ready' });
    for (const [, row] of want.atp) {
      const response = await fetch(`${components.url}/atp/${row.sku}/${row.warehouse}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(apiRow(row));
    }
    for (const [sku, total] of want.totals) {
      const body = (await (await fetch(`${components.url}/atp/${sku}`)).json()) as { total: unknown; warehouses: { warehouse: string }[] };
      expect(body.total).toEqual(total);
      const rows = want.atp.filter(([, r]) => r.sku === sku).map(([, r]) => r.warehouse).sort();
      expect(body.warehouses.map((w) => w.warehouse)).toEqual(rows);
    }
    expect((await fetch(`${components.url}/atp/NO-SUCH-SKU`)).status).toBe(404);
  });

  it('answers POST /atp/check with the fold\'s availability', async () => {
    const lines = want.atp.slice(0, 50).map(([, row], i) => ({ sku: row.sku, warehouse: row.warehouse, quantity: i % 2 === 0 ? row.available : row.available + 1 }));
    const response = await fetch(`${components.url}/atp/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ lines: lines.map((l) => ({ ...l, quantity: Math.max(1, l.quantity) })) }) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { lines: { available: number; promisable: boolean; quantity: number }[] };
    body.lines.forEach((line, i) => {
      const row = (want.atp[i] as [string, { available: number }])[1];
      expect(line.available).toBe(row.available);
      expect(line.promisable).toBe(line.quantity <= row.available);
    });
  });

  it('answers GET /orders/{orderId} with the fold\'s status and lines', async () => {
    for (const [orderId, status] of want.orders) {
      const response = await fetch(`${components.url}/orders/${orderId}`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { orderId: string; status: string; lines: unknown };
      expect({ orderId: body.orderId, status: body.status, lines: body.lines }).toEqual(status);
    }
  });

  it('emits each of the fold\'s rejections on order.rejected, and no other', async () => {
    const kafka = createKafka(stack.brokers, 'e2e-rejections');
    const topic = deployment.naming.topic('order.rejected');
    const admin = kafka.admin();
    await admin.connect();
    const total = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
    await admin.disconnect();
    const decoder = createDecoder({ registryUrl: stack.registryUrl, catalogueTopic: (t) => deployment.naming.logical(t) });
    const consumer = kafka.consumer({ groupId: uniqueName('e2e-rejections') });
    const byEventId = new Map<string, { orderId: string; rejectedEventId: string; errors: unknown }>();
    let read = 0;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = (await decoder.decode(message.value, topic)).value as { meta: { eventId: string }; orderId: string; rejectedEventId: string; errors: unknown };
        byEventId.set(value.meta.eventId, { orderId: value.orderId, rejectedEventId: value.rejectedEventId, errors: value.errors });
        read += 1;
      },
    });
    await waitFor(() => read >= total, { what: 'every order.rejected record' });
    await consumer.disconnect();
    const got = [...byEventId.values()].sort((a, b) => (a.orderId + a.rejectedEventId < b.orderId + b.rejectedEventId ? -1 : 1));
    const codes = (r: { errors: unknown }) => (r.errors as { path: string; code: string }[]).map((e) => `${e.path}:${e.code}`);
    expect(got.map((r) => [r.orderId, r.rejectedEventId, codes(r)])).toEqual(want.rejections.map((r) => [r.orderId, r.rejectedEventId, codes(r)]));
  });
});
