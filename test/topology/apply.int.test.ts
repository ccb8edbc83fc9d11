/**
 * `topology apply` against the real stack: a topology with unique topic names (written to a temp
 * dir, catalogue schemas bound with `schema:`) is applied, checked with a separate admin client
 * and the registry's REST API, applied again (nothing to change), then shrunk and re-bound to an
 * incompatible schema (both refused, nothing changed). `validate` of a broken file exits 2.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs, { type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { applyTopology, withApplyContext } from '../../runtime/topology/apply';
import { DestructiveChangeError } from '../../runtime/topology/plan';
import { loadValidTopology } from '../../runtime/topology/validate';
import { processors } from '../../processors';
import { uniqueName } from '../harness/names';
import { stackEnv, testStack } from '../harness/stack';

const { ConfigResourceTypes } = kafkajs;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const stack = testStack();
const catalogue = loadCatalogue();
const base = uniqueName('topo');
const names = { orders: `${base}.orders`, changes: `${base}.changes`, status: `${base}.status` };
const dir = mkdtempSync(join(tmpdir(), 'tributary-topology-'));
let admin: Admin;

function topologyYaml({ partitions = 2, ordersSchema = 'order.created', changesRetention = '12h', segmentMs = 3_600_000 } = {}): string {
  return `version: 1
groupPrefix: test.
defaults:
  partitions: ${partitions}
topics:
  ${names.orders}:
    schema: ${ordersSchema}
  ${names.changes}:
    schema: order.changed
    retention: ${changesRetention}
  ${names.status}:
    schema: order.status
    compacted: true
    config:
      segment.ms: ${segmentMs}
processors:
  orders:
    inputs: [${names.orders}, ${names.changes}]
    outputs: [${names.status}]
`;
}

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', ['bin/tributary.js', ...args], { cwd: ROOT, env: { ...process.env, ...stackEnv(stack) } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function registry(path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.registryUrl}${path}`);
  return { status: response.status, body: await response.json() };
}

async function partitionCounts(topics: string[]): Promise<Record<string, number>> {
  const metadata = await admin.fetchTopicMetadata({ topics });
  return Object.fromEntries(metadata.topics.map((t) => [t.name, t.partitions.length]));
}

async function topicConfig(topic: string): Promise<Record<string, string>> {
  const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] });
  return Object.fromEntries(resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
}

beforeAll(async () => {
  admin = createKafka(stack.brokers, 'topology-test').admin();
  await admin.connect();
});

afterAll(async () => {
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(base));
  if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  for (const topic of Object.values(names)) {
    const subject = encodeURIComponent(`${topic}-value`);
    await fetch(`${stack.registryUrl}/subjects/${subject}`, { method: 'DELETE' });
    await fetch(`${stack.registryUrl}/subjects/${subject}?permanent=true`, { method: 'DELETE' });
  }
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('topology apply', () => {
  const file = write('topology.yaml', topologyYaml());
  const dlqs = [`${names.orders}.dlq`, `${names.changes}.dlq`];

  it('a dry run prints the plan and changes nothing', async () => {
    const run = await cli(['topology', 'apply', '--file', file, '--dry-run']);
    expect(run.stderr).toContain('dry run: nothing was changed');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('create topic');
    expect(run.stdout).toContain(`${names.orders}-value`);
    const existing = await admin.listTopics();
    expect(existing.filter((t) => t.startsWith(base))).toEqual([]);
  });

  it('creates the topics with their partitions and configs, dead letters included, and registers the subjects', async () => {
    const topology = loadValidTopology(file, { catalogue, env: {} });
    const { plan, applied } = await withApplyContext(stack, (context) => applyTopology(topology, catalogue, context));
    expect(applied).toBe(true);
    expect(plan.refusals).toEqual([]);

    expect(await partitionCounts([...Object.values(names), ...dlqs])).toEqual({
      [names.orders]: 2,
      [names.changes]: 2,
      [names.status]: 2,
      [dlqs[0]!]: 2,
      [dlqs[1]!]: 2,
    });
    expect(await topicConfig(names.orders)).toMatchObject({ 'cleanup.policy': 'delete', 'retention.ms': '-1' });
    expect(await topicConfig(names.changes)).toMatchObject({ 'cleanup.policy': 'delete', 'retention.ms': '43200000' });
    expect(await topicConfig(names.status)).toMatchObject({ 'cleanup.policy': 'compact', 'segment.ms': '3600000' });
    expect(await topicConfig(dlqs[0]!)).toMatchObject({ 'cleanup.policy': 'delete', 'retention.ms': '-1' });

    for (const [topic, schema] of [
      [names.orders, 'order.created'],
      [names.changes, 'order.changed'],
      [names.status, 'order.status'],
    ] as const) {
      const latest = await registry(`/subjects/${encodeURIComponent(`${topic}-value`)}/versions/latest`);
      expect(latest.status).toBe(200);
      expect(latest.body.version).toBe(1);
      expect(JSON.parse(latest.body.schema).name).toBe(catalogue.require(schema).schema.name);
    }
    // Dead letters carry original bytes: no subject for them.
    expect((await registry(`/subjects/${encodeURIComponent(`${dlqs[0]}-value`)}/versions`)).status).toBe(404);
  });

  it('a second apply has nothing to change and exits 0', async () => {
    const run = await cli(['topology', 'apply', '--file', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^nothing to change \(8 topics and subjects as declared\)/);
  });

  it('refuses fewer partitions, says why, and changes nothing', async () => {
    const shrunk = write('shrunk.yaml', topologyYaml({ partitions: 1 }));
    const run = await cli(['topology', 'apply', '--file', shrunk]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('REFUSED');
    expect(run.stderr).toContain('TRB_TOPOLOGY_DESTRUCTIVE');
    expect(run.stderr).toContain(`${names.orders} has 2 partitions and the topology says 1: Kafka cannot remove partitions`);
    expect(await partitionCounts([names.orders, names.status])).toEqual({ [names.orders]: 2, [names.status]: 2 });
  });

  it('refuses an incompatible schema, naming the subject and the version, and registers nothing', async () => {
    const topology = loadValidTopology(write('rebound.yaml', topologyYaml({ ordersSchema: 'order.status' })), { catalogue, env: {} });
    const attempt = withApplyContext(stack, (context) => applyTopology(topology, catalogue, context));
    await expect(attempt).rejects.toBeInstanceOf(DestructiveChangeError);
    await expect(attempt).rejects.toThrow(`schema "order.status" is not BACKWARD-compatible with subject ${names.orders}-value: `);
    await expect(attempt).rejects.toThrow(/cannot read data written with version 1\b/);
    expect((await registry(`/subjects/${encodeURIComponent(`${names.orders}-value`)}/versions`)).body).toEqual([1]);
  });

  it('adds partitions when the topology asks for more', async () => {
    const grown = write('grown.yaml', topologyYaml({ partitions: 3 }));
    const run = await cli(['topology', 'apply', '--file', grown, '--format', 'json']);
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout);
    expect(plan.refusals).toEqual([]);
    expect(plan.changes.map((c: { kind: string; topic: string }) => `${c.kind} ${c.topic}`).sort()).toEqual(
      [...Object.values(names), ...dlqs].map((t) => `add-partitions ${t}`).sort(),
    );
    expect(await partitionCounts([...Object.values(names), ...dlqs])).toEqual(
      Object.fromEntries([...Object.values(names), ...dlqs].map((t) => [t, 3])),
    );
  });
});

describe('topology apply, altering configs', () => {
  it('alters configs in place, keeping the settings it does not change', async () => {
    const file = write('altered.yaml', topologyYaml({ partitions: 3, changesRetention: '1d', segmentMs: 7_200_000 }));
    const topology = loadValidTopology(file, { catalogue, env: {} });
    const { plan } = await withApplyContext(stack, (context) => applyTopology(topology, catalogue, context));
    expect(plan.changes.map((c) => c.kind)).toEqual(['alter-config', 'alter-config']);
    // AlterConfigs replaces a topic's whole config set: cleanup.policy must survive the change.
    expect(await topicConfig(names.status)).toMatchObject({ 'cleanup.policy': 'compact', 'segment.ms': '7200000' });
    expect(await topicConfig(names.changes)).toMatchObject({ 'cleanup.policy': 'delete', 'retention.ms': '86400000' });
  });
});

describe('topology validate', () => {
  it('exits 2 and prints each problem as broken.yaml:LINE:COL', async () => {
    const broken = write('broken.yaml', 'version: 1\ntopics:\n  orders:\n    partitions: 0\n    schema: order.created\nprocessors:\n  p:\n    inputs: [ordrs]\n');
    const run = await cli(['topology', 'validate', '--file', broken]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('broken.yaml:4:17 partitions must be an integer ≥ 1, got 0');
    expect(run.stderr).toContain('broken.yaml:8:14 processor "p" uses topic "ordrs", which is not declared under topics (did you mean "orders"?)');
  });

  it('accepts the shipped topology.yaml', async () => {
    const run = await cli(['topology', 'validate']);
    expect(run.code).toBe(0);
    // Every catalogue topic is declared; every topic a processor or sink reads gets a dead-letter topic.
    const read = new Set([...Object.values(processors).flatMap((p) => [...p.inputs, ...p.tables]), 'erp.commands', 'crm.commands']);
    const topics = loadCatalogue().topics().length;
    expect(run.stdout).toContain(`topology.yaml OK: ${topics} topics (+${read.size} dead-letter), ${Object.keys(processors).length} processors, 2 sinks`);
  });
});
