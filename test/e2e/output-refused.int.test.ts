/**
 * An output the broker refuses for good (SPEC §8 "nothing is lost"; README error code
 * TRB_OUTPUT_REFUSED): `order.status` is given a `max.message.bytes` smaller than any batch, so
 * every produce of `orders` fails with MESSAGE_TOO_LARGE. Asking again cannot help, so the
 * partitions stop — readiness false with the broker's refusal as the reason, nothing written —
 * and their outputs wait in the Redis outbox. Once the limit is back to the broker's default and
 * `orders` is started again, the outbox is produced: `order.status` then holds every order of the
 * reference fold, its last record per order the fold's status.
 */
import kafkajs, { type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComponents, type Components } from '../../runtime/app/components';
import { createKafka } from '../../runtime/kafka/client';
import { log } from '../../runtime/log';
import { createDecoder } from '../../runtime/kafka/decode';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { endOffsets, readTopic } from '../faults/read-topic';
import { deploy, expected, publish, waitCaughtUp, workload, type Deployment } from './pipeline-harness';

const { ConfigResourceTypes } = kafkajs;
const stack = testStack();
// Few items and customers, so most of the events are orders and their picks and shipments.
const load = workload({ seed: 5150, events: 1_500, skus: 30, customers: 20, duplicateRate: 0.01, repeatRate: 0.02 });
const want = expected(load.records);
let deployment: Deployment;
let admin: Admin;
let components: Components | undefined;

function start(): Promise<Components> {
  return startComponents({
    names: ['orders'],
    connection: { brokers: stack.brokers, registryUrl: stack.registryUrl, redisUrl: stack.redisUrl, origin: { kafka: 'env', registry: 'env', redis: 'env' }, security: 'none' },
    topology: deployment.topology,
    naming: deployment.naming,
    log: log.child({ test: 'output-refused' }),
  });
}

async function setMaxMessageBytes(topic: string, bytes: string): Promise<void> {
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: bytes }] }] });
}

beforeAll(async () => {
  deployment = await deploy(stack, 'refused');
  admin = createKafka(stack.brokers, 'output-refused').admin();
  await admin.connect();
});

afterAll(async () => {
  await components?.stop();
  await admin?.disconnect();
});

describe('an output the broker refuses for good', () => {
  it('stops the partition with the refusal as the reason, keeps the outputs in Redis, and produces them once fixed', async () => {
    const status = deployment.naming.topic('order.status');
    await setMaxMessageBytes(status, '64');
    await publish(stack, deployment.naming, load.items);
    components = await start();
    await publish(stack, deployment.naming, load.rest);

    const orders = () => components!.readiness().find((check) => check.name === 'processor orders');
    await waitFor(() => /stopped partitions/.test(orders()?.detail ?? ''), { what: 'orders to stop its partitions', timeoutMs: 60_000 }).catch(async (error: Error) => {
      throw new Error(`${error.message}; readiness: ${JSON.stringify(components!.readiness())}; order.status records ${await endOffsets(admin, status)}`);
    });
    expect(orders()).toMatchObject({ ok: false, detail: expect.stringMatching(/stopped partitions [\d,]+: orders cannot produce its outputs: the broker refused them .*max\.message\.bytes/) });
    expect(await endOffsets(admin, status), 'order.status records written while refused').toBe(0);

    await components.stop();
    components = undefined;
    await setMaxMessageBytes(status, '1048588');
    components = await start();
    await waitCaughtUp(stack, deployment, 120_000, ['orders']);
    await waitFor(() => orders()?.ok === true, { what: 'orders ready again', timeoutMs: 60_000 });

    const decoder = createDecoder({ registryUrl: stack.registryUrl, catalogue: loadCatalogue(), catalogueTopic: (t) => deployment.naming.logical(t) });
    const last = new Map<string, unknown>();
    for (const record of await readTopic(stack, admin, status)) {
      const value = (await decoder.decode(record.value, status)).value as { orderId: string; status: string };
      last.set(value.orderId, value.status);
    }
    expect([...last].sort(([a], [b]) => (a < b ? -1 : 1))).toEqual(want.orders.map(([orderId, s]) => [orderId, s.status]));
  });
});
