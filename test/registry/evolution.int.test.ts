/**
 * Schema evolution under BACKWARD (SPEC §4: event schemas evolve BACKWARD-compatibly), against
 * the stack's registry: what a source-system team will try when they change an event.
 */
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../harness/stack';
import { uniqueName } from '../harness/names';
import { call, enc, orderSchema } from './registry-http';

let url: string;
let client: SchemaRegistry;

beforeAll(() => {
  url = testStack().registryUrl.replace(/\/+$/, '');
  client = new SchemaRegistry({ host: url });
});

async function backwardSubject(schema: string): Promise<{ subject: string; id: number }> {
  const subject = `${uniqueName('evolution')}-value`;
  // Pin the level on the subject so the test does not depend on the registry's global default.
  const put = await call(url, 'PUT', `/config/${enc(subject)}`, { compatibility: 'BACKWARD' });
  expect(put.status).toBe(200);
  const { id } = await client.register({ type: SchemaType.AVRO, schema }, { subject, compatibility: COMPATIBILITY.BACKWARD });
  return { subject, id };
}

const channelSchema = (symbols: string[], extra: Record<string, unknown> = {}) =>
  orderSchema([{ name: 'channel', type: { type: 'enum', name: 'Channel', symbols, ...extra }, doc: 'where it came from' }]);

describe('evolution under BACKWARD', () => {
  it('registers an added optional field with a default, and old data decodes with it', async () => {
    const { subject, id: oldId } = await backwardSubject(orderSchema());
    const evolved = orderSchema([{ name: 'currency', type: 'string', default: 'USD', doc: 'ISO currency' }]);
    const { id: newId } = await client.register({ type: SchemaType.AVRO, schema: evolved }, { subject, compatibility: COMPATIBILITY.BACKWARD });
    expect(newId).not.toBe(oldId);
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions`)).body).toEqual([1, 2]);
    const oldBytes = await client.encode(oldId, { orderId: 'O-7' });
    const read = await client.decode(oldBytes, { [SchemaType.AVRO]: { readerSchema: JSON.parse(evolved) } });
    expect(read).toEqual({ orderId: 'O-7', currency: 'USD' });
  });

  it('refuses an added field without a default with 409', async () => {
    const { subject } = await backwardSubject(orderSchema());
    const answer = await call(url, 'POST', `/subjects/${enc(subject)}/versions`, {
      schema: orderSchema([{ name: 'quantity', type: 'int', doc: 'how many' }]),
    });
    expect(answer.status).toBe(409);
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions`)).body).toEqual([1]);
  });

  it('refuses an enum that loses a symbol old data uses, and accepts it with an enum default', async () => {
    const { subject } = await backwardSubject(channelSchema(['CRM', 'ECOMMERCE', 'EDI', 'MARKETPLACE']));
    const narrowed = await call(url, 'POST', `/subjects/${enc(subject)}/versions`, { schema: channelSchema(['CRM', 'ECOMMERCE', 'EDI']) });
    expect(narrowed.status).toBe(409);
    const check = await call(url, 'POST', `/compatibility/subjects/${enc(subject)}/versions/latest`, { schema: channelSchema(['CRM', 'ECOMMERCE', 'EDI']) });
    expect(check.body.is_compatible).toBe(false);
    const withDefault = await call(url, 'POST', `/subjects/${enc(subject)}/versions`, {
      schema: channelSchema(['CRM', 'ECOMMERCE', 'EDI'], { default: 'CRM' }),
    });
    expect(withDefault.status).toBe(200);
  });
});
