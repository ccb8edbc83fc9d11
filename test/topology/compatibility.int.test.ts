/**
 * `topology apply` decides schema compatibility before its first write, at the level the
 * topology declares and against every version that level requires. Against the real stack: a
 * subject at BACKWARD_TRANSITIVE holds v1 and v2, and the topology binds a new topic to a
 * schema that reads v2's data but not v1's. The apply is refused and no topic exists afterwards
 * (a check against versions/latest alone would have created the topics, then hit a 409).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { applyTopology, withApplyContext } from '../../runtime/topology/apply';
import { DestructiveChangeError } from '../../runtime/topology/plan';
import { loadValidTopology } from '../../runtime/topology/validate';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';

const stack = testStack();
const catalogue = loadCatalogue();
const base = uniqueName('topo-compat');
const topic = `${base}.cancelled`;
const subject = `${topic}-value`;
const dir = mkdtempSync(join(tmpdir(), 'tributary-topology-compat-'));
let admin: Admin;

const SR = { 'content-type': 'application/vnd.schemaregistry.v1+json' };

async function registry(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.registryUrl}${path}`, { method, headers: SR, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

/**
 * From the catalogue's order.cancelled: v1 lacks its required string field, v2 has it with a
 * default. The catalogue schema (field required) reads v2's data but not v1's.
 */
function history(): { v1: Record<string, unknown>; v2: Record<string, unknown>; field: string } {
  const desired = catalogue.require('order.cancelled').schema as { fields: { name: string; type: unknown; default?: unknown }[] };
  const required = desired.fields.find((f) => f.type === 'string' && !('default' in f));
  if (!required) throw new Error('order.cancelled has no required string field to build the history from');
  return {
    field: required.name,
    v1: { ...desired, fields: desired.fields.filter((f) => f !== required) },
    v2: { ...desired, fields: desired.fields.map((f) => (f === required ? { ...f, default: '' } : f)) },
  };
}

beforeAll(async () => {
  admin = createKafka(stack.brokers, 'topology-compat-test').admin();
  await admin.connect();
});

afterAll(async () => {
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(base));
  if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  await fetch(`${stack.registryUrl}/subjects/${encodeURIComponent(subject)}`, { method: 'DELETE' });
  await fetch(`${stack.registryUrl}/subjects/${encodeURIComponent(subject)}?permanent=true`, { method: 'DELETE' });
  await fetch(`${stack.registryUrl}/config/${encodeURIComponent(subject)}`, { method: 'DELETE' });
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('topology apply, schema compatibility', () => {
  it('refuses, before creating any topic, a schema BACKWARD_TRANSITIVE finds incompatible with v1 though v2 accepts it', async () => {
    const { v1, v2, field } = history();
    const at = `/subjects/${encodeURIComponent(subject)}`;
    expect((await registry('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: 'BACKWARD_TRANSITIVE' })).status).toBe(200);
    expect((await registry('POST', `${at}/versions`, { schema: JSON.stringify(v1) })).status).toBe(200);
    expect((await registry('POST', `${at}/versions`, { schema: JSON.stringify(v2) })).status).toBe(200);
    const desired = catalogue.require('order.cancelled').schema;
    // The premise, from the registry itself: the latest version alone would let it through.
    expect((await registry('POST', `/compatibility${at}/versions/latest`, { schema: JSON.stringify(desired) })).body.is_compatible).toBe(true);

    const file = join(dir, 'topology.yaml');
    writeFileSync(
      file,
      `version: 1
topics:
  ${topic}:
    schema: order.cancelled
    compatibility: BACKWARD_TRANSITIVE
  ${base}.other:
    schema: order.created
processors:
  p:
    inputs: [${topic}]
    outputs: [${base}.other]
`,
    );
    const topology = loadValidTopology(file, { catalogue, env: {} });
    const attempt = withApplyContext(stack, (context) => applyTopology(topology, catalogue, context));
    await expect(attempt).rejects.toBeInstanceOf(DestructiveChangeError);
    await expect(attempt).rejects.toThrow(`schema "order.cancelled" is not BACKWARD_TRANSITIVE-compatible with subject ${subject}: `);
    await expect(attempt).rejects.toThrow(new RegExp(`version 1\\b.*${field}`));

    expect((await admin.listTopics()).filter((t) => t.startsWith(base))).toEqual([]);
    expect((await registry('GET', `${at}/versions`)).body).toEqual([1, 2]);
    expect((await registry('GET', `/subjects/${encodeURIComponent(`${base}.other-value`)}/versions`)).status).toBe(404);
  });
});
