/**
 * `tributary lag` against the test stack: a deployment of its own under a unique topic prefix,
 * a group with known committed offsets, a topology group that never committed, and a table
 * feed's group that must not be shown.
 */
import { execFile } from 'node:child_process';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';
import { createTopics, deleteTopics, ROOT, tributary, withAdmin } from '../publish/cli-helpers';

const { Partitioners } = kafkajs;

const PREFIX = `${uniqueName('lag')}.`;
const INPUT = `${PREFIX}lag.input`;
/** The customers processor's input under the prefix (topology.yaml), so its group is a topology one. */
const CUSTOMERS_INPUT = `${PREFIX}customer.upserted`;
const GROUP = `${PREFIX}tributary.lagtest`;
const CUSTOMERS_GROUP = `${PREFIX}tributary.customers`;
const TABLE_GROUP = `${PREFIX}tributary.orders.table.0a1b2c3d`;

interface Row {
  group: string;
  topic: string;
  partition: number;
  committed: number | null;
  end: number;
  lag: number;
}

async function produce(topic: string, perPartition: number[]): Promise<void> {
  const producer = createKafka(testStack().brokers, 'lag-tests').producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const messages = perPartition.flatMap((count, partition) =>
      Array.from({ length: count }, (_, i) => ({ partition, key: `k${i}`, value: `v${i}` })),
    );
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

async function commit(groupId: string, topic: string, partitions: Array<{ partition: number; offset: number }>): Promise<void> {
  await withAdmin((admin) => admin.setOffsets({ groupId, topic, partitions: partitions.map((p) => ({ partition: p.partition, offset: String(p.offset) })) }));
}

/** The CLI with every address pointing nowhere (as in errors.int.test.ts). */
function unreachable(args: string[]): Promise<{ code: number; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' };
  delete env.LOG_LEVEL;
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/tributary.js', ...args], { cwd: ROOT, env, timeout: 90_000 }, (error, _stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
    );
  });
}

const lag = (...args: string[]) => tributary(['lag', '--topic-prefix', PREFIX, ...args]);

beforeAll(async () => {
  await createTopics([INPUT], 3);
  await createTopics([CUSTOMERS_INPUT], 2);
  await produce(INPUT, [5, 3, 4]);
  await produce(CUSTOMERS_INPUT, [2, 1]);
  // p0 half read, p1 fully read, p2 never committed.
  await commit(GROUP, INPUT, [
    { partition: 0, offset: 2 },
    { partition: 1, offset: 3 },
  ]);
  await commit(TABLE_GROUP, INPUT, [{ partition: 0, offset: 1 }]);
}, 60_000);

afterAll(async () => {
  await withAdmin(async (admin) => {
    await admin.deleteGroups([GROUP, TABLE_GROUP]).catch(() => undefined);
  }).catch(() => undefined);
  await deleteTopics([INPUT, CUSTOMERS_INPUT]);
});

describe('tributary lag', () => {
  it('--format json: committed, end and lag per partition for every group of the deployment, never-committed ones included', async () => {
    const run = await lag('--format', 'json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as Row[];
    expect(rows).toEqual([
      { group: GROUP, topic: INPUT, partition: 0, committed: 2, end: 5, lag: 3 },
      { group: GROUP, topic: INPUT, partition: 1, committed: 3, end: 3, lag: 0 },
      { group: GROUP, topic: INPUT, partition: 2, committed: null, end: 4, lag: 4 },
      { group: CUSTOMERS_GROUP, topic: CUSTOMERS_INPUT, partition: 0, committed: null, end: 2, lag: 2 },
      { group: CUSTOMERS_GROUP, topic: CUSTOMERS_INPUT, partition: 1, committed: null, end: 1, lag: 1 },
    ].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0)));
    expect(rows.some((r) => r.group === TABLE_GROUP)).toBe(false);
  });

  it('the table shows "-" for never committed and a total per group', async () => {
    const run = await lag();
    expect(run.code).toBe(0);
    const cells = run.stdout
      .split('\n')
      .filter((line) => line.includes('│') || line.includes('|'))
      .map((line) => line.split(/[│|]/).map((c) => c.trim()).filter((c) => c !== ''));
    expect(cells).toContainEqual([GROUP, INPUT, '0', '2', '5', '3']);
    expect(cells).toContainEqual([GROUP, INPUT, '2', '-', '4', '4']);
    expect(cells).toContainEqual([GROUP, '(total)', '7']);
    expect(cells).toContainEqual([CUSTOMERS_GROUP, '(total)', '3']);
    expect(run.stdout).not.toContain(TABLE_GROUP);
  });

  it('--group shows that group only', async () => {
    const run = await lag('--group', GROUP, '--format', 'json');
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as Row[];
    expect(rows.map((r) => [r.group, r.partition, r.lag])).toEqual([
      [GROUP, 0, 3],
      [GROUP, 1, 0],
      [GROUP, 2, 4],
    ]);
  });

  it('an unknown --group is one line naming the known groups, exit code 1', async () => {
    const run = await lag('--group', `${PREFIX}tributary.nosuch`);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`no such consumer group "${PREFIX}tributary.nosuch" (known: `);
    expect(lines[0]).toContain(GROUP);
    expect(lines[0]).toContain(CUSTOMERS_GROUP);
  });

  it('an unreachable broker is one line with TRB_KAFKA_UNAVAILABLE and exit code 3', async () => {
    const run = await unreachable(['lag']);
    expect(run.code).toBe(3);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tributary: TRB_KAFKA_UNAVAILABLE: cannot reach Kafka/);
  }, 95_000);

  it('--help describes the command', async () => {
    const run = await tributary(['lag', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--group <group>');
    expect(run.stdout).toContain('--format <format>');
  });
});
