/**
 * The processors' shared producer against the real broker: many partitions' sends at once go out
 * serialised and carried together, every record exactly once and in each caller's order (the
 * overlap that broke kafkajs' idempotent sequence numbers cannot happen).
 */
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import { serialProducer } from '../../runtime/kafka/serial-producer';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { createTopics, deleteTopics } from '../publish/cli-helpers';

const { Partitioners } = kafkajs;
const TOPIC = uniqueName('serial-producer');
const CALLERS = 40;
const PER_CALLER = 25;

beforeAll(() => createTopics([TOPIC], 3));
afterAll(() => deleteTopics([TOPIC]));

it('concurrent sends arrive once each, in each caller\'s order, in fewer batches than sends', async () => {
  const kafka = createKafka(testStack().brokers, 'serial-producer-test');
  const producer = await serialProducer(() => kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner }));
  const sends: Promise<void>[] = [];
  for (let seq = 0; seq < PER_CALLER; seq++) {
    for (let caller = 0; caller < CALLERS; caller++) {
      sends.push(producer.send([{ topic: TOPIC, messages: [{ key: `caller-${caller}`, value: String(seq) }] }]));
    }
  }
  await Promise.all(sends);
  expect(producer.batches()).toBeLessThan(sends.length);
  await producer.disconnect();

  const seen = new Map<string, number[]>();
  const consumer = kafka.consumer({ groupId: uniqueName('serial-producer-reader') });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  let count = 0;
  await consumer.run({
    eachMessage: async ({ message }) => {
      const key = message.key!.toString();
      seen.set(key, [...(seen.get(key) ?? []), Number(message.value!.toString())]);
      count++;
    },
  });
  try {
    await waitFor(() => count >= CALLERS * PER_CALLER, { timeoutMs: 60_000, what: 'every record read back' });
  } finally {
    await consumer.disconnect();
  }
  expect(count).toBe(CALLERS * PER_CALLER);
  const inOrder = Array.from({ length: PER_CALLER }, (_, i) => i);
  for (let caller = 0; caller < CALLERS; caller++) expect(seen.get(`caller-${caller}`)).toEqual(inOrder);
});
