/**
 * Reading a whole topic back for the reliability scenarios (issue 8): every record from the log
 * start to the end offsets taken when called, once each (a rebalance re-delivers, nothing is
 * committed), with headers as UTF-8 strings. The checker reads the ledger's topics itself; this is
 * for the assertions a scenario adds (what a `.dlq` holds, which commands a topic carries).
 */
import type { Admin, IHeaders } from 'kafkajs';
import { createKafka } from '../../runtime/kafka/client';
import { uniqueName } from '../harness/names';
import type { TestStack } from '../harness/stack';
import { waitFor } from '../harness/wait';

export interface TopicRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

export async function endOffsets(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

export async function readTopic(stack: TestStack, admin: Admin, topic: string): Promise<TopicRecord[]> {
  const total = await endOffsets(admin, topic);
  const read = new Map<string, TopicRecord>();
  if (total === 0) return [];
  const groupId = uniqueName('faults-read');
  const consumer = createKafka(stack.brokers, 'faults-read').consumer({ groupId, maxWaitTimeInMs: 250 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        read.set(`${partition}@${message.offset}`, { partition, offset: message.offset, key: message.key, value: message.value, headers: headerText(message.headers) });
      },
    });
    await waitFor(() => read.size >= total, { what: `every record of ${topic} (${read.size} of ${total})`, timeoutMs: 60_000 });
  } finally {
    await consumer.disconnect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
  return [...read.values()].sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

/** `tributary.source.partition@tributary.source.offset` of a dead letter: the record it names. */
export function sourceOf(letter: TopicRecord): string {
  return `${letter.headers['tributary.source.partition']}@${letter.headers['tributary.source.offset']}`;
}

/** Kafka record headers as UTF-8 strings (the first value of a repeated header). */
export function headerText(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const one = Array.isArray(value) ? value[0] : value;
    if (one !== undefined) out[name] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  }
  return out;
}
