/**
 * Scenario 6, the sinks: `tributary run erp` (its own process) delivering the last K commands the
 * pipeline wrote to `erp.commands` — real ones, of every type, in the order they were produced —
 * to a stand-in ERP (sinks/receivers) that answers at once, with the rate limit lifted
 * (ERP_RATE_LIMIT far above what can be reached); the topology's other settings (per-key order,
 * `concurrency` keys in flight) stay as shipped. The sink group's offsets are set to K commands
 * before each partition's end before it starts.
 *
 * commands/s = requests the receiver accepted ÷ the time from the first request to the last; the sink's start-up (group join) is reported apart. Done when the group has
 * committed every partition to its end (the sink commits only finished commands).
 */
import type { Admin } from 'kafkajs';
import { startReceiver } from '../../sinks/receivers/receiver';
import { createKafka } from '../../runtime/kafka/client';
import { untilAvailable } from '../../runtime/kafka/transient';
import type { Deployment } from '../../test/e2e/pipeline-harness';
import { waitFor } from '../../test/harness/wait';
import type { BenchContext } from '../context';

export interface SinkResult {
  /** Commands left for the sink to deliver (K, or fewer if the pipeline wrote fewer). */
  commands: number;
  /** Requests the receiver answered 2xx/409: commands delivered (re-produced copies included). */
  delivered: number;
  /** Distinct commandIds that took effect. */
  applied: number;
  commandsPerSec: number;
  /** Seconds from starting the process to the first request reaching the receiver. */
  startupSeconds: number;
  concurrency: number;
}

/** Lifts the sink's token bucket out of the way without leaving the topology's range of numbers. */
const UNLIMITED_RATE = '1000000';

export async function runSinks(context: BenchContext, deployment: Deployment): Promise<SinkResult> {
  const spec = deployment.topology.sinks.find((s) => s.name === 'erp');
  if (!spec) throw new Error('no erp sink in the topology');
  const topic = deployment.naming.topic(spec.input);
  const groupId = deployment.naming.group(spec.group);
  const admin = createKafka(context.stack.brokers, 'bench-sinks').admin();
  await admin.connect();
  const receiver = await startReceiver({ name: 'erp', host: '127.0.0.1', port: 0 });
  try {
    const commands = await startAtTail(admin, groupId, topic, context.options.sinkCommands);
    if (commands === 0) throw new Error(`${topic} holds no commands: the pipeline produced none`);
    const startedAt = Date.now();
    const child = context.run(deployment, ['erp'], { ERP_URL: receiver.url, ERP_RATE_LIMIT: UNLIMITED_RATE });
    try {
      await waitFor(async () => (child.exit() ? Promise.reject(new Error(`the sink exited: ${child.tail(5)}`)) : committedToEnd(admin, groupId, topic)), {
        timeoutMs: Math.max(120_000, commands * 20),
        intervalMs: 200,
        what: `the erp sink to deliver ${commands} commands`,
      });
    } finally {
      child.signal('SIGTERM');
      await child.exited;
    }
    const attempts = receiver.attempts();
    const delivered = attempts.filter((a) => (a.status >= 200 && a.status < 300) || a.status === 409).length;
    const first = attempts[0]?.at ?? startedAt;
    const last = attempts[attempts.length - 1]?.at ?? first;
    const seconds = Math.max(0.001, (last - first) / 1000);
    context.say(`sinks: ${delivered.toLocaleString('en-US')} commands delivered in ${seconds.toFixed(2)} s`);
    return { commands, delivered, applied: receiver.applied().length, commandsPerSec: delivered / seconds, startupSeconds: (first - startedAt) / 1000, concurrency: spec.concurrency };
  } finally {
    await receiver.close();
    await admin.disconnect();
  }
}

/** Sets the group's offsets to leave about `count` records per topic, spread over the partitions; returns how many. */
async function startAtTail(admin: Admin, groupId: string, topic: string, count: number): Promise<number> {
  const offsets = await untilAvailable(() => admin.fetchTopicOffsets(topic));
  const share = Math.ceil(count / offsets.length);
  let left = 0;
  const partitions = offsets.map(({ partition, low, high }) => {
    const from = BigInt(high) - BigInt(share) > BigInt(low) ? BigInt(high) - BigInt(share) : BigInt(low);
    left += Number(BigInt(high) - from);
    return { partition, offset: from.toString() };
  });
  await admin.setOffsets({ groupId, topic, partitions });
  return left;
}

async function committedToEnd(admin: Admin, groupId: string, topic: string): Promise<boolean> {
  const [ends, [committed]] = await Promise.all([untilAvailable(() => admin.fetchTopicOffsets(topic)), admin.fetchOffsets({ groupId, topics: [topic] })]);
  return ends.every(({ partition, high }) => BigInt(committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1') >= BigInt(high));
}
