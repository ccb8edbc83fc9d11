/**
 * Registry round trip: each catalogue schema, registered as is under a unique subject on the run's
 * real registry, comes back by id with its `x-tributary` metadata and docs, and registering it again
 * is idempotent (same id), so `topology apply` can re-run safely.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../../test/harness/names';
import { testStack } from '../../test/harness/stack';
import { avroOptions, parseAvroSchema } from './avro-types';
import { CATALOGUE_ATTRIBUTE, loadCatalogue } from './catalogue';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const registry = testStack().registryUrl.replace(/\/$/, '');
const prefix = uniqueName('catalogue');
const subjects: string[] = [];

async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${registry}${path}`, {
    method,
    headers: { 'content-type': CONTENT_TYPE, accept: CONTENT_TYPE },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

afterAll(async () => {
  for (const subject of subjects) {
    await call('DELETE', `/subjects/${encodeURIComponent(subject)}`).catch(() => undefined);
    await call('DELETE', `/subjects/${encodeURIComponent(subject)}?permanent=true`).catch(() => undefined);
  }
});

describe('catalogue schemas in the registry', () => {
  it.each(loadCatalogue().topics().map((t) => [t.topic, t] as const))('%s keeps x-tributary and docs', async (_, t) => {
    const subject = `${prefix}.${t.subject}`;
    subjects.push(subject);
    const schema = JSON.stringify(t.schema);
    const { id } = await call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema });
    const again = await call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema });
    expect(again.id).toBe(id);

    const stored = await call('GET', `/schemas/ids/${String(id)}`);
    const parsed = JSON.parse(String(stored.schema)) as Record<string, unknown>;
    expect(parsed[CATALOGUE_ATTRIBUTE]).toEqual(t.schema[CATALOGUE_ATTRIBUTE]);
    expect(parsed.doc).toBe(t.doc);
    const fields = parsed.fields as { name: string; doc?: string }[];
    expect(fields.map((f) => [f.name, f.doc])).toEqual((t.schema.fields as { name: string; doc?: string }[]).map((f) => [f.name, f.doc]));
    expect(parseAvroSchema(parsed).equals(t.type)).toBe(true);
  });

  it('a command written and read through the registry client is the natural value', async () => {
    const t = loadCatalogue().require('erp.commands');
    const subject = `${prefix}.client.${t.subject}`;
    subjects.push(subject);
    const client = new SchemaRegistry({ host: registry }, { [SchemaType.AVRO]: avroOptions() });
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(t.schema) }, { subject, compatibility: undefined }); // undefined: no subject config write (the client's BACKWARD default writes one)
    const command = {
      commandId: 'cmd-int-1',
      type: 'PostInventoryAdjustment',
      correlationId: 'flow-1',
      occurredAt: Date.UTC(2026, 10, 20),
      payload: { sku: 'SKU-1', warehouse: 'DC-EAST', delta: -2, reason: 'DAMAGE', adjustedAt: Date.UTC(2026, 10, 20) },
    };
    const bytes = await client.encode(id, command);
    expect(await client.decode(bytes)).toEqual(command);
    // A fresh client that knows the schema only by id reads it the same way.
    const reader = new SchemaRegistry({ host: registry }, { [SchemaType.AVRO]: avroOptions() });
    expect(await reader.decode(bytes)).toEqual(command);
  });
});
