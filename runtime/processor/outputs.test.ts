/** Output records: Confluent frame + Avro exactly as the SDK frames them, headers by kind of output. */
import { describe, expect, it } from 'vitest';
import { cloudEventHeaders, confluentFrame } from '../../producers/sdk/envelope';
import { loadCatalogue } from '../schemas/catalogue';
import { createOutputEncoder } from './outputs';

const catalogue = loadCatalogue();
const ids = { idFor: async (subject: string) => (subject.includes('order.status') ? 7 : 300_000) };

async function encoder() {
  const encoder = createOutputEncoder({ registryUrl: 'http://unused', catalogue, kafkaTopic: (t) => `p.${t}`, ids, internalTopics: ['orders.movements'] });
  await encoder.prepare(['order.status', 'order.rejected', 'orders.movements']);
  return encoder;
}

const status = (lines: number) => ({
  orderId: 'SO-1',
  status: 'OPEN',
  lines: Array.from({ length: lines }, (_, i) => ({ lineNo: i + 1, sku: `SKU-${i}`, warehouse: 'DC-EAST', ordered: 3, shipped: 0, short: 0 })),
  updatedAt: 1_700_000_000_000,
});

describe('createOutputEncoder', () => {
  it('frames each value as magic byte, schema id and the catalogue Avro body, one after the other', async () => {
    const encode = await encoder();
    const type = catalogue.require('order.status').type;
    for (const value of [status(1), status(3), status(0)]) {
      const message = encode.encode({ topic: 'order.status', key: 'SO-1', value });
      expect(message.value).toEqual(confluentFrame(7, type.toBuffer(value)));
      expect(message.key).toBe('SO-1');
    }
  });

  it('encodes a value bigger than its scratch space, and the ones after it', async () => {
    const encode = await encoder();
    const type = catalogue.require('order.status').type;
    const big = status(6_000); // well over 64 KiB of Avro
    expect(type.toBuffer(big).length).toBeGreaterThan(64 * 1024);
    expect(encode.encode({ topic: 'order.status', key: 'SO-1', value: big }).value).toEqual(confluentFrame(7, type.toBuffer(big)));
    expect(encode.encode({ topic: 'order.status', key: 'SO-1', value: status(2) }).value).toEqual(confluentFrame(7, type.toBuffer(status(2))));
  });

  it('gives derived events CloudEvents headers, records of internal topics and other records the content type', async () => {
    const encode = await encoder();
    const meta = { eventId: 'e-1', occurredAt: 1_700_000_000_000, source: 'orders', correlationId: 'c-1', causationId: 'x-1' };
    const rejected = { meta, orderId: 'SO-1', rejectedEventId: 'x-1', errors: [{ path: 'lines[0].sku', code: 'UNKNOWN_SKU', message: 'unknown' }] };
    expect(encode.encode({ topic: 'order.rejected', key: 'SO-1', value: rejected }).headers).toEqual(cloudEventHeaders('order.rejected', meta));
    expect(encode.encode({ topic: 'order.status', key: 'SO-1', value: status(1) }).headers).toEqual({ 'content-type': 'application/avro' });
    const movement = { kind: 'STOCK', meta, movementId: 'e-1', sku: 'SKU-1', warehouse: 'DC-EAST', delta: -2, occurredAt: 1_700_000_000_000 };
    const message = encode.encode({ topic: 'orders.movements', key: 'SKU-1@DC-EAST', value: movement });
    expect(message.headers).toEqual({ 'content-type': 'application/avro' });
    expect(catalogue.require('orders.movements').type.fromBuffer((message.value as Buffer).subarray(5))).toMatchObject({ meta: { eventId: 'e-1' } });
  });

  it('refuses a topic it was not prepared for', async () => {
    const encode = await encoder();
    expect(() => encode.encode({ topic: 'atp.changed', key: 'k', value: {} })).toThrow(/not prepared/);
  });
});
