/**
 * Scenario 1, the ceiling: how fast this machine can merely read the pipeline's input records.
 * A plain kafkajs consumer (a fresh group, from the earliest offset) reads every published source
 * record to the end, once counting only (raw: kafkajs' own record-batch parsing, no Avro), once
 * also Avro-decoding each value through the registry as the processors do
 * (runtime/kafka/decode.ts). Same consumer settings as the processor runtime: fetch wait, and as
 * many partitions consumed concurrently. The clock runs from the moment the consumer has joined
 * its group (kafkajs `run()` resolves after join and sync) to the last record, the same start
 * the pipeline figure uses.
 */
import kafkajs from 'kafkajs';
import { createKafka } from '../../runtime/kafka/client';
import { createDecoder } from '../../runtime/kafka/decode';
import { FETCH_WAIT_MS } from '../../runtime/processor/runner';
import { uniqueName } from '../../test/harness/names';
import { waitFor } from '../../test/harness/wait';
import type { TestStack } from '../../test/harness/stack';
import type { Deployment } from '../../test/e2e/pipeline-harness';
import type { BenchContext } from '../context';

export interface CeilingResult {
  events: number;
  rawEventsPerSec: number;
  decodeEventsPerSec: number;
  rawSeconds: number;
  decodeSeconds: number;
}

export async function runCeiling(context: BenchContext, deployment: Deployment, topics: readonly string[], events: number): Promise<CeilingResult> {
  const raw = await readAll(context.stack, deployment, topics, events, undefined);
  context.say(`ceiling: read ${events.toLocaleString('en-US')} records raw in ${raw.toFixed(2)} s`);
  const decoder = createDecoder({ registryUrl: context.stack.registryUrl, catalogueTopic: (t) => deployment.naming.logical(t) });
  const decoded = await readAll(context.stack, deployment, topics, events, async (topic, values) => {
    await Promise.all(values.map((value) => decoder.decode(value, topic)));
  });
  context.say(`ceiling: read and decoded them in ${decoded.toFixed(2)} s`);
  return { events, rawEventsPerSec: events / raw, decodeEventsPerSec: events / decoded, rawSeconds: raw, decodeSeconds: decoded };
}

/** Seconds from joined to `events` records read; `each` is awaited per batch. */
async function readAll(
  stack: TestStack,
  deployment: Deployment,
  topics: readonly string[],
  events: number,
  each: ((topic: string, values: (Buffer | null)[]) => Promise<void>) | undefined,
): Promise<number> {
  const kafka = createKafka(stack.brokers, 'bench-ceiling', { logLevel: kafkajs.logLevel.NOTHING });
  const groupId = uniqueName(`${deployment.naming.prefix}bench-ceiling`);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: FETCH_WAIT_MS, allowAutoTopicCreation: false });
  let read = 0;
  let endedAt = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: topics.map((t) => deployment.naming.topic(t)), fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 6,
      eachBatch: async ({ batch }) => {
        if (each) await each(batch.topic, batch.messages.map((m) => m.value));
        read += batch.messages.length;
        if (read >= events && endedAt === 0) endedAt = performance.now();
      },
    });
    const startedAt = performance.now();
    // The end is stamped in eachBatch: the poll interval does not enter the figure.
    await waitFor(() => endedAt > 0, { timeoutMs: Math.max(60_000, events), intervalMs: 20, what: `${events} records read (${read} so far)` });
    return (endedAt - startedAt) / 1000;
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}
