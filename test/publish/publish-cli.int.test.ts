/**
 * `tributary publish` as a user runs it, against the real stack: bad input (malformed JSON, wrong
 * type, missing field, unknown enum, bad code pattern) names line and field, exits 2 and sends
 * nothing (end offsets stay 0); --skip-invalid sends only the valid lines; an unknown topic exits
 * 2 listing the source topics; a 20k-line file is sent and the throughput line printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleEvents } from '../../producers/sdk/sample-events';
import { uniqueName } from '../harness/names';
import { createTopics, deleteSubjects, deleteTopics, recordCount, tributary } from './cli-helpers';

const prefix = `${uniqueName('pubcli')}.`;
const strictTopic = `${prefix}order.created`;
const dir = mkdtempSync(join(tmpdir(), 'publish-cli-'));
const topicsToDelete: string[] = [strictTopic];

function order(i: number): Record<string, any> {
  const value = sampleEvents()['order.created'] as Record<string, any>;
  value.meta.eventId = `ev-cli-${i}`;
  value.orderId = `SO-CLI-${i}`;
  return value;
}

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const valid = (i: number) => JSON.stringify(order(i));
const edited = (i: number, edit: (v: Record<string, any>) => void) => {
  const value = order(i);
  edit(value);
  return JSON.stringify(value);
};

beforeAll(async () => {
  await createTopics([strictTopic], 3);
});

afterAll(async () => {
  await deleteSubjects(prefix);
  await deleteTopics(topicsToDelete);
  rmSync(dir, { recursive: true, force: true });
});

describe('tributary publish', () => {
  it.each([
    ['malformed JSON', '{"meta": {"eventId": "x"', /^line 3: not valid JSON: /m],
    ['a wrong type', edited(3, (v) => (v.lines[1].quantity = 'five')), /^line 3: lines\[1\]\.quantity: expected an integer, got "five"$/m],
    ['a non-integer quantity', edited(3, (v) => (v.lines[0].quantity = 2.5)), /^line 3: lines\[0\]\.quantity: expected an integer, got 2\.5$/m],
    ['a missing field', edited(3, (v) => delete v.customerId), /^line 3: customerId: is required$/m],
    ['an unknown enum symbol', edited(3, (v) => (v.channel = 'WEB')), /^line 3: channel: expected one of CRM, ECOMMERCE, EDI, MARKETPLACE, got "WEB"$/m],
    ['a bad code pattern', edited(3, (v) => (v.lines[0].warehouse = 'DC EAST')), /^line 3: lines\[0\]\.warehouse: "DC EAST" is not a code/m],
  ])('%s: names line and field, exits 2, sends nothing', async (_, badLine, expected) => {
    const path = file(`${uniqueName('bad')}.ndjson`, [valid(1), valid(2), badLine, valid(4)]);
    const result = await tributary(['publish', 'order.created', '--file', path, '--topic-prefix', prefix]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(expected);
    expect(result.stderr).toMatch(/nothing sent: 1 of 4 lines invalid/);
    expect(result.stdout).toBe('');
    expect(await recordCount(strictTopic)).toBe(0);
  });

  it('reports every invalid line, not only the first, and still sends nothing', async () => {
    const path = file('many-bad.ndjson', [valid(1), edited(2, (v) => (v.lines = [])), '', 'not json', edited(5, (v) => (v.meta.eventId = 'a b'))]);
    const result = await tributary(['publish', 'order.created', '--file', path, '--topic-prefix', prefix]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^line 2: lines: needs at least one line$/m);
    expect(result.stderr).toMatch(/^line 4: not valid JSON/m);
    expect(result.stderr).toMatch(/^line 5: meta\.eventId: "a b" is not a code/m);
    expect(await recordCount(strictTopic)).toBe(0);
  });

  it('--skip-invalid sends only the valid lines and reports how many were skipped', async () => {
    const topic = `${prefix}order.changed`;
    topicsToDelete.push(topic);
    await createTopics([topic], 3);
    const change = (i: number) => {
      const value = sampleEvents()['order.changed'] as Record<string, any>;
      value.meta.eventId = `ev-change-${i}`;
      return value;
    };
    const lines = [1, 2, 3, 4].map((i) => JSON.stringify(change(i)));
    lines.splice(2, 0, JSON.stringify({ ...change(9), lines: [{ lineNo: 1 }] }), '{oops');
    const result = await tributary(['publish', 'order.changed', '--file', file('skip.ndjson', lines), '--topic-prefix', prefix, '--skip-invalid']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^sent 4 events to ${topic.replace(/\./g, '\\.')} \\(partitions? [0-9,-]+\\) in [0-9.]+ s, \\d+ events/s; skipped 2 invalid lines$`, 'm'));
    expect(result.stderr).toMatch(/^line 3: lines\[0\]\.sku: is required$/m);
    expect(await recordCount(topic)).toBe(4);
  });

  it('reads stdin with - and answers --format json', async () => {
    const topic = `${prefix}stock.counted`;
    topicsToDelete.push(topic);
    await createTopics([topic], 2);
    const base = sampleEvents()['stock.counted'];
    const input = [0, 1, 2].map((i) => JSON.stringify({ ...base, meta: { ...base.meta, eventId: `ev-stdin-${i}`, occurredAt: 1795168800000 + i }, countedQuantity: i })).join('\n');
    const result = await tributary(['publish', 'stock.counted', '-f', '-', '--topic-prefix', prefix, '--format', 'json'], input);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary).toMatchObject({ topic, sent: 3, skipped: 0, lines: 3 });
    expect(summary.partitions.length).toBeGreaterThan(0);
    expect(await recordCount(topic)).toBe(3);

    // SPEC §9 spells it `publish <topic> -`, without --file.
    const more = [3, 4].map((i) => JSON.stringify({ ...base, meta: { ...base.meta, eventId: `ev-stdin-${i}`, occurredAt: 1795168800000 + i }, countedQuantity: i })).join('\n');
    const bare = await tributary(['publish', 'stock.counted', '-', '--topic-prefix', prefix, '--format', 'json'], more);
    expect(bare.code, bare.stderr).toBe(0);
    expect(JSON.parse(bare.stdout)).toMatchObject({ topic, sent: 2, lines: 2 });
    expect(await recordCount(topic)).toBe(5);
    const stray = await tributary(['publish', 'stock.counted', 'orders.ndjson', '--topic-prefix', prefix], more);
    expect(stray.code).toBe(2);
    expect(stray.stderr.trim()).toBe('tributary: TRB_USAGE: unexpected argument "orders.ndjson": give a file as --file orders.ndjson, or - for stdin');
  });

  it('an unknown topic is one line listing the source topics, exit 2', async () => {
    const result = await tributary(['publish', 'order.shipped', '--file', file('any.ndjson', [valid(1)])]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'tributary: TRB_UNKNOWN_TOPIC: unknown topic "order.shipped"; known topics: customer.upserted, item.upserted, order.cancelled, order.changed, order.created, pick.confirmed, return.received, shipment.confirmed, stock.adjusted, stock.counted',
    ]);
  });

  it('a topic missing in Kafka says to run topology apply, non-zero exit', async () => {
    const result = await tributary(['publish', 'order.created', '--file', file('one.ndjson', [valid(1)]), '--topic-prefix', `${uniqueName('absent')}.`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/does not exist in Kafka: run `tributary topology apply`/);
  });

  it('publishes 20,000 lines and prints the partition range and throughput', async () => {
    const topic = `${prefix}bulk.order.created`;
    topicsToDelete.push(topic);
    await createTopics([topic], 3);
    const lines = Array.from({ length: 20_000 }, (_, i) => valid(100_000 + i));
    const result = await tributary(['publish', 'order.created', '--file', file('bulk.ndjson', lines), '--topic-prefix', `${prefix}bulk.`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^sent 20000 events to ${topic.replace(/\./g, '\\.')} \\(partitions 0-2\\) in [0-9.]+ s, [1-9]\\d* events/s$`, 'm'));
    expect(await recordCount(topic)).toBe(20_000);
  });
});
