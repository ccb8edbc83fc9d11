/**
 * `tributary consume` against the test stack (SPEC §9): a topic of its own under a unique topic
 * prefix holds orders written at known times (two hours ago, half an hour ago, now) to known
 * partitions and offsets, two records that cannot be decoded (bytes without the Confluent magic
 * byte, a schema id the registry lacks), one committed and one aborted transactional record. The
 * CLI is run as a child process; what it prints is checked against what was written.
 */
import { spawn } from 'node:child_process';
import kafkajs, { type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudEventHeaders, confluentFrame, encodeEvent } from '../../producers/sdk';
import { createKafka } from '../../runtime/kafka/client';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { uniqueName } from '../harness/names';
import { stackEnv, testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';
import { createTopics, deleteSubjects, deleteTopics, ROOT, tributary, withAdmin } from '../publish/cli-helpers';

const { Partitioners } = kafkajs;

const PREFIX = `${uniqueName('consume')}.`;
const TOPIC = `${PREFIX}order.created`;
const GROUPS = `${PREFIX}tributary.consume.`;
const catalogue = loadCatalogue();
const NOW = Date.now();
const TIMES = { old: NOW - 2 * 3_600_000, mid: NOW - 30 * 60_000, now: NOW };

interface Written {
  orderId: string;
  partition: number;
  offset: number;
  timestamp: number;
  value: Record<string, unknown>;
}

interface Printed {
  topic: string;
  partition: number;
  offset: number;
  timestamp: string;
  key: string | null;
  headers: Record<string, string>;
  schemaId: number;
  value: Record<string, unknown>;
}

const written: Written[] = [];
const poison: { code: string; partition: number; offset: number }[] = [];
let schemaId = 0;
let aborted: Written;

/** A full natural-JSON order (every optional field given), so the decoded value must equal it. */
function order(n: number, when: number, channel: string, skus: string[]): Record<string, unknown> {
  return {
    meta: { eventId: `${PREFIX}ev-${n}`, occurredAt: when, source: channel === 'CRM' ? 'CRM' : 'ECOMMERCE', correlationId: `corr-${n}`, causationId: null },
    orderId: `SO-${n}`,
    customerId: `C-${n % 3}`,
    channel,
    currency: 'EUR',
    requestedShipDate: n % 2 === 0 ? '2026-12-01' : null,
    lines: skus.map((sku, i) => ({ lineNo: i + 1, sku, warehouse: i === 0 ? 'DC-EAST' : 'DC-WEST', quantity: n + i, uom: i === 0 ? 'CS' : null, unitPriceMinor: 100 * n })),
  };
}

async function register(): Promise<number> {
  const base = testStack().registryUrl.replace(/\/+$/, '');
  const response = await fetch(`${base}/subjects/${encodeURIComponent(`${TOPIC}-value`)}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(catalogue.require('order.created').schema) }),
  });
  const body = (await response.json()) as { id: number };
  if (!response.ok) throw new Error(`register: ${response.status} ${JSON.stringify(body)}`);
  return body.id;
}

beforeAll(async () => {
  await createTopics([TOPIC], 3);
  schemaId = await register();
  const kafka = createKafka(testStack().brokers, 'consume-tests');
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const send = async (value: Record<string, unknown>, when: number) => {
    const event = encodeEvent(catalogue, 'order.created', value);
    const [meta] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: event.key, value: confluentFrame(schemaId, event.avro), headers: event.headers, timestamp: String(when) }] });
    const record = { orderId: value.orderId as string, partition: meta!.partition, offset: Number(meta!.baseOffset), timestamp: when, value };
    written.push(record);
    return record;
  };
  let n = 0;
  const skus = [['SKU-A'], ['SKU-B', 'SKU-A'], ['SKU-C'], ['SKU-A', 'SKU-B', 'SKU-C']];
  for (const when of [TIMES.old, TIMES.mid, TIMES.now]) {
    for (const channel of ['CRM', 'ECOMMERCE', 'EDI', 'CRM']) {
      n++;
      await send(order(n, when, channel, skus[n % 4] as string[]), when);
    }
  }
  // Undecodable records, on partition 2 (partitions 0 and 1 keep only plain orders).
  for (const [code, value] of [
    ['TRB_DECODE', Buffer.from('{"not":"avro"}')],
    ['TRB_UNKNOWN_SCHEMA', confluentFrame(987_654_321, encodeEvent(catalogue, 'order.created', order(90, NOW, 'CRM', ['SKU-A'])).avro)],
  ] as const) {
    const [meta] = await producer.send({ topic: TOPIC, acks: -1, messages: [{ key: 'POISON', value, partition: 2 }] });
    poison.push({ code, partition: 2, offset: Number(meta!.baseOffset) });
  }
  await producer.disconnect();

  // read_committed: an aborted transaction's record is never printed, a committed one is.
  const transactional = kafka.producer({ transactionalId: `${PREFIX}tx`, idempotent: true, maxInFlightRequests: 1 });
  await transactional.connect();
  for (const [id, commit] of [[98, false], [99, true]] as const) {
    const value = order(id, NOW, 'EDI', ['SKU-C']);
    const event = encodeEvent(catalogue, 'order.created', value);
    const transaction = await transactional.transaction();
    await transaction.send({ topic: TOPIC, acks: -1, messages: [{ key: event.key, value: confluentFrame(schemaId, event.avro), headers: event.headers, timestamp: String(NOW), partition: 2 }] });
    if (commit) await transaction.commit();
    else await transaction.abort();
    const record = { orderId: value.orderId as string, partition: 2, offset: -1, timestamp: NOW, value };
    if (commit) written.push(record);
    else aborted = record;
  }
  await transactional.disconnect();
}, 120_000);

afterAll(async () => {
  await deleteTopics([TOPIC]);
  await deleteSubjects(PREFIX).catch(() => undefined);
});

const consume = (...args: string[]) => tributary(['consume', 'order.created', '--topic-prefix', PREFIX, ...args]);

function lines(stdout: string): Printed[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Printed);
}

const ids = (records: readonly { value: Record<string, unknown> }[]) => records.map((r) => r.value.orderId as string).sort();
const byPosition = (a: Printed, b: Printed) => a.partition - b.partition || a.offset - b.offset;

async function consumeGroups(admin: Admin): Promise<string[]> {
  return (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(GROUPS));
}


/** Waits until a `--follow` consumer started after `before` was listed has joined its group: records written from then on reach it. */
function followerJoined(before: ReadonlySet<string>): Promise<unknown> {
  return withAdmin((admin) =>
    waitFor(
      async () => {
        const groups = (await consumeGroups(admin)).filter((g) => !before.has(g));
        if (groups.length === 0) return false;
        const { groups: described } = await admin.describeGroups(groups);
        return described.some((g) => g.state === 'Stable' && g.members.length > 0);
      },
      { timeoutMs: 30_000, what: 'the follow consumer to join' },
    ),
  );
}

/** Writes orders to the test topic (after the tests that read it whole). */
async function writeOrders(values: Record<string, unknown>[]): Promise<void> {
  const producer = createKafka(testStack().brokers, 'consume-writer').producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({
      topic: TOPIC,
      acks: -1,
      messages: values.map((value) => {
        const event = encodeEvent(catalogue, 'order.created', value);
        return { key: event.key, value: confluentFrame(schemaId, event.avro), headers: event.headers };
      }),
    });
  } finally {
    await producer.disconnect();
  }
}

describe('tributary consume', () => {
  it('prints every decodable record once with key, partition, offset, ISO timestamp, headers, schema id and the decoded value', async () => {
    const run = await consume();
    expect(run.code).toBe(0);
    const printed = lines(run.stdout);
    expect(ids(printed)).toEqual(ids(written));
    expect(printed.map((p) => p.value.orderId)).not.toContain(aborted.orderId);
    for (const record of written) {
      const got = printed.find((p) => p.value.orderId === record.orderId) as Printed;
      expect(got.topic).toBe(TOPIC);
      expect(got.key).toBe(record.orderId);
      expect(got.partition).toBe(record.partition);
      if (record.offset >= 0) expect(got.offset).toBe(record.offset);
      expect(got.timestamp).toBe(new Date(record.timestamp).toISOString());
      expect(got.schemaId).toBe(schemaId);
      expect(got.headers).toEqual(cloudEventHeaders('order.created', record.value.meta as never));
      expect(got.value).toEqual(record.value);
    }
    // Positions are unique: nothing printed twice.
    expect(new Set(printed.map((p) => `${p.partition}/${p.offset}`)).size).toBe(printed.length);
  });

  it('reports each undecodable record on stderr with its position and code, skips it, and still exits 0', async () => {
    const run = await consume();
    expect(run.code).toBe(0);
    const errors = run.stderr.trim().split('\n');
    for (const { code, partition, offset } of poison) {
      expect(errors.filter((line) => line.includes(`${TOPIC}/${partition}/${offset}: ${code}:`))).toHaveLength(1);
    }
    expect(errors[errors.length - 1]).toBe('tributary: 2 records could not be decoded and were skipped');
    expect(errors).toHaveLength(3);
  });

  it('leaves no consumer group behind', async () => {
    await consume('--limit', '1');
    expect(await withAdmin(consumeGroups)).toEqual([]);
  });

  it('--from @ISO and @-1h start at the first record at or after that time', async () => {
    const since = (ms: number) => ids(written.filter((w) => w.timestamp >= ms));
    const lastHour = await consume('--from', '@-1h');
    expect(lastHour.code).toBe(0);
    expect(ids(lines(lastHour.stdout))).toEqual(since(TIMES.mid));
    const recent = await consume('--from', `@${new Date(NOW - 10 * 60_000).toISOString()}`);
    expect(ids(lines(recent.stdout))).toEqual(since(TIMES.now));
    const all = await consume('--from', `@${new Date(NOW - 3 * 3_600_000).toISOString()}`);
    expect(ids(lines(all.stdout))).toEqual(ids(written));
  });

  it('--partition with -N prints the last N of that partition; an offset starts there', async () => {
    const ofPartition = (p: number) => written.filter((w) => w.partition === p).sort((a, b) => a.offset - b.offset);
    const zero = ofPartition(0);
    expect(zero.length).toBeGreaterThan(2);
    const tail = lines((await consume('--partition', '0', '--from', '-2')).stdout);
    expect(tail.map((p) => [p.partition, p.offset])).toEqual(zero.slice(-2).map((w) => [0, w.offset]));
    const from = zero[1]!.offset;
    const rest = lines((await consume('--partition', '0,1', '--from', String(from))).stdout);
    const want = [...zero, ...ofPartition(1)].filter((w) => w.offset >= from).map((w) => `${w.partition}/${w.offset}`).sort();
    expect(rest.map((p) => `${p.partition}/${p.offset}`).sort()).toEqual(want);
    expect(lines((await consume('--from-beginning', '--partition', '1')).stdout).every((p) => p.partition === 1)).toBe(true);
  });

  it('--where matches nested paths, any array element, an index, != and top-level fields, all ANDed', async () => {
    const hasSku = (w: Written, sku: string) => (w.value.lines as { sku: string }[]).some((l) => l.sku === sku);
    const anyB = await consume('--where', 'lines.sku=SKU-B');
    expect(ids(lines(anyB.stdout))).toEqual(ids(written.filter((w) => hasSku(w, 'SKU-B'))));
    const firstA = await consume('--where', 'lines.0.sku=SKU-A', '--where', 'channel!=CRM');
    expect(ids(lines(firstA.stdout))).toEqual(ids(written.filter((w) => (w.value.lines as { sku: string }[])[0]!.sku === 'SKU-A' && w.value.channel !== 'CRM')));
    const onOne = await consume('--where', 'partition=1', '--where', 'meta.correlationId=corr-2');
    expect(ids(lines(onOne.stdout))).toEqual(ids(written.filter((w) => w.partition === 1 && w.orderId === 'SO-2')));
  });

  it('reads a partition holding several fetches\' worth of records to its end, each once', async () => {
    const big = `${PREFIX}big`;
    await createTopics([big], 1);
    try {
      const producer = createKafka(testStack().brokers, 'consume-big').producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      const skus = Array.from({ length: 20 }, (_, i) => `SKU-${1000 + i}`);
      for (let batch = 0; batch < 6; batch++) {
        await producer.send({
          topic: big,
          acks: -1,
          messages: Array.from({ length: 500 }, (_, i) => {
            const event = encodeEvent(catalogue, 'order.created', order(10_000 + batch * 500 + i, NOW, 'EDI', skus));
            return { key: event.key, value: confluentFrame(schemaId, event.avro), headers: event.headers };
          }),
        });
      }
      await producer.disconnect();
      const run = await tributary(['consume', 'big', '--topic-prefix', PREFIX]);
      expect(run.code).toBe(0);
      // About 3 MB: more than the 1 MB a fetch returns per partition.
      expect(run.stdout.length).toBeGreaterThan(3_000_000);
      expect(lines(run.stdout).map((p) => p.offset)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    } finally {
      await deleteTopics([big]);
    }
  });

  it('--limit stops after that many records', async () => {
    const run = await consume('--limit', '3');
    expect(run.code).toBe(0);
    expect(lines(run.stdout)).toHaveLength(3);
  });

  it('--format json is one array of the same records', async () => {
    const ndjson = lines((await consume()).stdout).sort(byPosition);
    const json = await consume('--format', 'json');
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as Printed[]).sort(byPosition)).toEqual(ndjson);
  });

  it('--format csv opens as a table: a header row, one record per line, nested fields flattened', async () => {
    const run = await consume('--format', 'csv');
    expect(run.code).toBe(0);
    // No cell of these records holds a line break, so each CRLF-ended line is one row.
    const rows = run.stdout.split('\r\n');
    expect(rows.pop()).toBe('');
    expect(rows).toHaveLength(written.length + 1);
    const parse = (line: string) => [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].map((m) => m[1] as string).slice(0, -1).map((c) => (c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c));
    const header = parse(rows[0] as string);
    for (const column of ['topic', 'partition', 'offset', 'timestamp', 'key', 'schemaId', 'headers.ce_id', 'value.meta.eventId', 'value.meta.occurredAt', 'value.orderId', 'value.lines']) {
      expect(header).toContain(column);
    }
    const table = rows.slice(1).map((row) => {
      const cells = parse(row);
      expect(cells).toHaveLength(header.length);
      return Object.fromEntries(header.map((column, i) => [column, cells[i] as string]));
    });
    for (const record of written) {
      const row = table.find((r) => r['value.orderId'] === record.orderId) as Record<string, string>;
      expect(row['key']).toBe(record.orderId);
      expect(row['value.meta.eventId']).toBe((record.value.meta as { eventId: string }).eventId);
      expect(row['value.requestedShipDate']).toBe(record.value.requestedShipDate ?? '');
      expect(JSON.parse(row['value.lines'] as string)).toEqual(record.value.lines);
    }
  });

  it('--follow prints records written after it started and exits 0 on SIGTERM, removing its group', async () => {
    const before = new Set(await withAdmin(consumeGroups));
    const child = spawn(process.execPath, ['bin/tributary.js', 'consume', 'order.created', '--topic-prefix', PREFIX, '--from', 'end', '--follow'], {
      cwd: ROOT,
      env: { ...process.env, ...stackEnv(testStack()), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // Joined once its group is stable with a member: records sent after that must be printed.
      await followerJoined(before);
      await writeOrders([order(201, Date.now(), 'CRM', ['SKU-F']), order(202, Date.now(), 'EDI', ['SKU-G'])]);
      await waitFor(() => lines(stdout).length >= 2, { timeoutMs: 30_000, what: 'the followed records' });
      expect(ids(lines(stdout))).toEqual(['SO-201', 'SO-202']);
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000))]);
      expect(code, stderr).toBe(0);
      expect((await withAdmin(consumeGroups)).filter((g) => !before.has(g))).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);

  // Writes records of its own: after every test that reads the whole topic.
  it('exits 0 and removes its group when the reader of its output goes away (| head -1)', async () => {
    const before = new Set(await withAdmin(consumeGroups));
    const child = spawn(process.execPath, ['bin/tributary.js', 'consume', 'order.created', '--topic-prefix', PREFIX, '--from', 'end', '--follow'], {
      cwd: ROOT,
      env: { ...process.env, ...stackEnv(testStack()), LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await followerJoined(before);
      // The reader is gone (`| head -1` after its line); like `tail -f`, the command finds out at
      // its next write, which the next records bring.
      child.stdout.destroy();
      await writeOrders([order(301, Date.now(), 'CRM', ['SKU-H']), order(302, Date.now(), 'EDI', ['SKU-I'])]);
      const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('no exit within 30 s'), 30_000))]);
      expect(code, stderr).toBe(0);
      await withAdmin((admin) =>
        waitFor(async () => (await consumeGroups(admin)).filter((g) => !before.has(g)).length === 0, { timeoutMs: 30_000, what: 'its consumer group to be gone' }),
      );
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 120_000);

  it('a bad --from, --where, --partition or --format is one usage line and exit code 2', async () => {
    for (const args of [['--from', 'yesterday'], ['--where', 'lines.sku'], ['--partition', '7'], ['--limit', '0'], ['--from-beginning', '--from', 'end']]) {
      const run = await consume(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(run.stderr).toMatch(/^tributary: TRB_USAGE: /);
    }
    const format = await consume('--format', 'xml');
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('xml');
  });

  it('an unknown topic is one line with TRB_UNKNOWN_TOPIC and exit code 1', async () => {
    const unknown = await tributary(['consume', 'no.such.topic', '--topic-prefix', PREFIX]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toContain(`TRB_UNKNOWN_TOPIC: unknown topic "${PREFIX}no.such.topic"; known topics: item.upserted,`);
    // A topology topic this deployment never created: say how to create it.
    const missing = await tributary(['consume', 'order.changed', '--topic-prefix', PREFIX]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`TRB_UNKNOWN_TOPIC: topic "${PREFIX}order.changed" is not in Kafka: create it with \`tributary topology apply\``);
  });

  it('an unreachable broker is one line with TRB_KAFKA_UNAVAILABLE and exit code 3', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' };
    delete env.LOG_LEVEL;
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/tributary.js', 'consume', 'order.created'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(run.code).toBe(3);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^tributary: TRB_KAFKA_UNAVAILABLE: cannot reach Kafka/);
  }, 95_000);

  it('--help shows the options and examples', async () => {
    const run = await tributary(['consume', '--help']);
    expect(run.code).toBe(0);
    for (const text of ['--from <where>', '--from-beginning', '--partition <list>', '--limit <n>', '--where <field=value>', '--format <format>', '--follow', 'Examples:', 'ndjson']) {
      expect(run.stdout).toContain(text);
    }
  });
});
