/**
 * `tributary simulate` against the real stack: it refuses to start while a source topic is
 * missing (one line naming `tributary topology apply`, nothing sent); with the topics there it
 * publishes exactly the seeded simulation (per-topic counts as the library computes them, and
 * as many records in each topic); --out twice with one seed gives byte-identical files.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { simulate, SOURCE_TOPICS } from '../../producers/simulator';
import { uniqueName } from '../harness/names';
import { createTopics, deleteSubjects, deleteTopics, recordCount, tributary } from './cli-helpers';

const prefix = `${uniqueName('simcli')}.`;
const topics = SOURCE_TOPICS.map((t) => `${prefix}${t}`);
const dirs: string[] = [];

afterAll(async () => {
  await deleteSubjects(prefix);
  await deleteTopics(topics);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('tributary simulate', () => {
  it('fails with one line saying to run topology apply while a topic is missing, sending nothing', async () => {
    await createTopics([topics[0]!], 1);
    const result = await tributary(['simulate', '--events', '200', '--topic-prefix', prefix]);
    expect(result.code).not.toBe(0);
    const errorLines = result.stderr.trim().split('\n').filter((l) => l.startsWith('tributary:'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(/do not exist in Kafka: run `tributary topology apply`/);
    expect(errorLines[0]).toContain(`${prefix}order.created`);
    expect(await recordCount(topics[0]!)).toBe(0);
  });

  it('publishes the seeded simulation: per-topic counts match the library and the topics', async () => {
    await createTopics(topics.slice(1), 2);
    const expected = Object.fromEntries(SOURCE_TOPICS.map((t) => [t, 0]));
    for (const event of simulate({ seed: 9, events: 1500, duplicateRate: 0.01 })) expected[event.topic]!++;

    const result = await tributary(['simulate', '--events', '1500', '--seed', '9', '--duplicate-rate', '0.01', '--topic-prefix', prefix, '--format', 'json']);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout);
    expect(summary.events).toBe(1500);
    expect(summary.perTopic).toEqual(expected);
    for (const topic of SOURCE_TOPICS) expect(await recordCount(`${prefix}${topic}`), topic).toBe(expected[topic]);
  });

  it('--rate paces publishing and the table summary names every topic', async () => {
    const before = await recordCount(`${prefix}item.upserted`);
    const result = await tributary(['simulate', '--events', '100', '--seed', '2', '--rate', '400', '--topic-prefix', prefix]);
    expect(result.code, result.stderr).toBe(0);
    for (const topic of SOURCE_TOPICS) expect(result.stdout).toContain(topic);
    const seconds = Number(/published 100 of 100 events .* in ([0-9.]+) s/.exec(result.stdout)?.[1]);
    // 100 events at 400/s cannot take less than a quarter second.
    expect(seconds).toBeGreaterThanOrEqual(0.2);
    expect((await recordCount(`${prefix}item.upserted`)) - before).toBeGreaterThan(0);
  });

  it('--out with the same seed twice writes byte-identical files', async () => {
    const [a, b] = [mkdtempSync(join(tmpdir(), 'sim-a-')), mkdtempSync(join(tmpdir(), 'sim-b-'))];
    dirs.push(a, b);
    for (const dir of [a, b]) {
      const result = await tributary(['simulate', '--events', '3000', '--seed', '77', '--out', dir]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/wrote 3000 events to /);
    }
    const files = readdirSync(a).sort();
    expect(files).toEqual(SOURCE_TOPICS.map((t) => `${t}.ndjson`).sort());
    for (const name of files) expect(readFileSync(join(b, name)).equals(readFileSync(join(a, name))), name).toBe(true);

    // --out naming a file: one file, the same bytes for the same seed.
    const [one, two] = [join(a, 'run.ndjson'), join(b, 'run.ndjson')];
    for (const file of [one, two]) expect((await tributary(['simulate', '--events', '500', '--seed', '77', '--out', file])).code).toBe(0);
    expect(readFileSync(one).equals(readFileSync(two))).toBe(true);
    const lines = readFileSync(one, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { topic: string });
    expect(lines).toHaveLength(500);
    expect(lines.filter((l) => l.topic === 'order.created').length, 'a 500-event run holds orders').toBeGreaterThan(50);
  });

  it('--rate with --duration publishes for that many wall-clock seconds', async () => {
    const started = Date.now();
    const result = await tributary(['simulate', '--rate', '50', '--duration', '2', '--seed', '4', '--topic-prefix', prefix, '--format', 'json']);
    const elapsed = (Date.now() - started) / 1000;
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { events: number; perTopic: Record<string, number> };
    // About 50 × 2; the pacer may release a first burst, and a slow start costs a few.
    expect(summary.events).toBeGreaterThan(30);
    expect(summary.events).toBeLessThanOrEqual(110);
    // A world sized for those ~100 events: orders among them, not only the item master.
    expect(summary.perTopic['order.created']).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(2);
  });
});
