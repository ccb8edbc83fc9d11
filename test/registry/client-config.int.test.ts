/**
 * What the Confluent client (@kafkajs/confluent-schema-registry) writes besides the schema: with
 * its default options, a first registration also sets the subject's compatibility; with
 * `compatibility: undefined` it writes the schema only, so the subject follows the global level.
 * Checked on the run's registry (embedded or Confluent), which is what tests register against.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, describe, expect, it } from 'vitest';
import { testStack } from '../harness/stack';
import { uniqueName } from '../harness/names';
import { call, enc, orderSchema } from './registry-http';

const registry = testStack().registryUrl.replace(/\/$/, '');
const subjects: string[] = [];

afterAll(async () => {
  for (const subject of subjects) {
    await call(registry, 'DELETE', `/subjects/${enc(subject)}`);
    await call(registry, 'DELETE', `/subjects/${enc(subject)}?permanent=true`);
  }
});

describe('the registry client and subject config', () => {
  it('compatibility: undefined registers the schema and writes no subject config', async () => {
    const subject = uniqueName('client-noconfig-value');
    subjects.push(subject);
    const client = new SchemaRegistry({ host: registry });
    const { id } = await client.register({ type: SchemaType.AVRO, schema: orderSchema() }, { subject, compatibility: undefined });
    expect((await call(registry, 'GET', `/subjects/${enc(subject)}/versions/1`)).body).toMatchObject({ id, version: 1 });
    const config = await call(registry, 'GET', `/config/${enc(subject)}`);
    expect({ status: config.status, code: config.body.error_code }).toEqual({ status: 404, code: 40408 });
  });

  it('the default options write a BACKWARD subject config on first registration', async () => {
    const subject = uniqueName('client-config-value');
    subjects.push(subject);
    await new SchemaRegistry({ host: registry }).register({ type: SchemaType.AVRO, schema: orderSchema() }, { subject });
    const config = await call(registry, 'GET', `/config/${enc(subject)}`);
    expect({ status: config.status, body: config.body }).toEqual({ status: 200, body: { compatibilityLevel: 'BACKWARD' } });
  });
});
