/** Key choice per topic (SPEC §4 table), the Avro bytes, the CloudEvents headers and the wire frame. */
import { describe, expect, it } from 'vitest';
import { UnknownTopicError, ValidationError } from '../../runtime/errors';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { encodeEvent } from './encode';
import { cloudEventHeaders, confluentFrame } from './envelope';
import { sampleEvents } from './sample-events';

const catalogue = loadCatalogue();
const samples = sampleEvents();

describe('encodeEvent', () => {
  it.each([
    ['item.upserted', 'SKU-10042'],
    ['customer.upserted', 'C-000781'],
    ['order.created', 'SO-2026-004711'],
    ['order.changed', 'SO-2026-004711'],
    ['order.cancelled', 'SO-2026-004711'],
    ['pick.confirmed', 'SO-2026-004711'],
    ['shipment.confirmed', 'SO-2026-004711'],
    ['stock.adjusted', 'SKU-10042@DC-WEST'],
    ['stock.counted', 'SKU-10042@DC-WEST'],
    ['return.received', 'SO-2026-004711'],
  ] as const)('keys %s by %s', (topic, key) => {
    expect(encodeEvent(catalogue, topic, samples[topic]).key).toBe(key);
  });

  it('writes Avro that decodes to the value with defaults filled and occurredAt as epoch millis', () => {
    const encoded = encodeEvent(catalogue, 'order.created', samples['order.created']);
    const decoded = JSON.parse(JSON.stringify(catalogue.require('order.created').type.fromBuffer(encoded.avro)));
    expect(decoded.meta).toEqual({ eventId: 'ev-order-1', occurredAt: Date.parse('2026-11-20T10:00:00Z'), source: 'ECOMMERCE', correlationId: null, causationId: null });
    expect(decoded.currency).toBe('USD');
    expect(decoded.requestedShipDate).toBeNull();
    expect(decoded.lines[1]).toEqual({ lineNo: 2, sku: 'SKU-10043', warehouse: 'DC-EAST', quantity: 5, uom: null, unitPriceMinor: null });
  });

  it('gives CloudEvents headers, with correlation and trace when present', () => {
    const value = { ...samples['stock.adjusted'], meta: { ...samples['stock.adjusted'].meta, correlationId: 'SO-1', causationId: 'ev-0' } };
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(encodeEvent(catalogue, 'stock.adjusted', value, { traceparent }).headers).toEqual({
      ce_specversion: '1.0',
      ce_id: 'ev-adj-1',
      ce_source: 'WMS',
      ce_type: 'stock.adjusted',
      ce_time: '2026-11-20T10:00:00.000Z',
      'content-type': 'application/avro',
      ce_correlationid: 'SO-1',
      ce_causationid: 'ev-0',
      traceparent,
    });
    expect(Object.keys(encodeEvent(catalogue, 'stock.adjusted', samples['stock.adjusted']).headers).sort()).toEqual(
      ['ce_id', 'ce_source', 'ce_specversion', 'ce_time', 'ce_type', 'content-type'],
    );
  });

  it('ce_time is ISO-8601 whether occurredAt came as epoch millis or with an offset', () => {
    expect(cloudEventHeaders('x', { eventId: 'e', source: 's', occurredAt: 1795168800000 }).ce_time).toBe('2026-11-20T10:00:00.000Z');
    expect(cloudEventHeaders('x', { eventId: 'e', source: 's', occurredAt: '2026-11-20T11:00:00+01:00' }).ce_time).toBe('2026-11-20T10:00:00.000Z');
  });

  it('throws a ValidationError listing the problems, naming the topic', () => {
    const bad = { ...samples['stock.counted'], countedQuantity: 1.5, warehouse: 'DC WEST' };
    const error = (() => {
      try {
        encodeEvent(catalogue, 'stock.counted', bad);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).problems.map((p) => `${p.path} ${p.code}`)).toEqual(['countedQuantity NOT_INTEGER', 'warehouse PATTERN']);
    expect((error as ValidationError).message).toMatch(/^stock\.counted: countedQuantity: expected an integer, got 1\.5/);
  });

  it('refuses a topic that is not a source topic, listing the ones that are', () => {
    expect(() => encodeEvent(catalogue, 'order.shipped', {})).toThrow(UnknownTopicError);
    expect(() => encodeEvent(catalogue, 'atp.changed', {})).toThrow(/known topics: customer\.upserted, item\.upserted, .*stock\.counted$/);
  });
});

describe('encodeEvent with null for a defaulted field', () => {
  it('writes the default, as if the field were omitted', () => {
    const order = { ...(sampleEvents()['order.created'] as unknown as Record<string, unknown>), currency: null };
    const encoded = encodeEvent(catalogue, 'order.created', order);
    expect((catalogue.require('order.created').type.fromBuffer(encoded.avro) as { currency: string }).currency).toBe('USD');
    expect(order.currency).toBeNull(); // the caller's value is not changed
  });
});

describe('confluentFrame', () => {
  it('prefixes magic byte 0 and the big-endian schema id', () => {
    expect([...confluentFrame(258, Buffer.from([7, 8]))]).toEqual([0, 0, 0, 1, 2, 7, 8]);
  });
});
