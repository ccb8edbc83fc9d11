/** Every publish-time rule (SPEC §4) by its code, on the sample values and the simulator's output. */
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { simulate } from '../simulator';
import { sampleEvents } from './sample-events';
import { PUBLISHABLE_TOPICS, type PublishableTopic } from './types';
import { formatPath, validateEvent } from './validate';

const catalogue = loadCatalogue();
type Json = Record<string, any>;

function problems(topic: PublishableTopic, edit: (value: Json) => void) {
  const value = sampleEvents()[topic] as Json;
  edit(value);
  return validateEvent(catalogue.require(topic), value).map(({ path, code }) => ({ path, code }));
}

describe('validateEvent', () => {
  it.each(PUBLISHABLE_TOPICS)('accepts the sample %s value', (topic) => {
    expect(validateEvent(catalogue.require(topic), sampleEvents()[topic])).toEqual([]);
  });

  it('accepts every value the simulator produces (all topics, invalid business rules included)', () => {
    let checked = 0;
    for (const event of simulate({ seed: 11, events: 4000, invalidRate: 0.2, duplicateRate: 0.05 })) {
      expect(validateEvent(catalogue.require(event.topic), event.value), `${event.topic} ${JSON.stringify(event.value)}`).toEqual([]);
      checked++;
    }
    expect(checked).toBe(4000);
  });

  it('accepts occurredAt as epoch millis, as an ISO-8601 string with offset and as a Date', () => {
    for (const occurredAt of [1795168800000, '2026-11-20T11:00:00+01:00', new Date(1795168800000)]) {
      expect(problems('stock.counted', (v) => (v.meta.occurredAt = occurredAt))).toEqual([]);
    }
  });

  it('accepts optional fields omitted or null', () => {
    expect(problems('customer.upserted', (v) => Object.assign(v, { email: null, creditLimitMinor: null }))).toEqual([]);
    expect(problems('order.created', (v) => delete v.lines[0].uom)).toEqual([]);
    expect(problems('item.upserted', (v) => delete v.safetyStock)).toEqual([]);
    // A field with a default is optional too: null there means "not given".
    expect(problems('order.created', (v) => Object.assign(v, { currency: null }))).toEqual([]);
    expect(problems('customer.upserted', (v) => Object.assign(v, { creditHold: null }))).toEqual([]);
    expect(problems('item.upserted', (v) => Object.assign(v, { safetyStock: null }))).toEqual([]);
    // A required field (no default) stays required.
    expect(problems('order.created', (v) => Object.assign(v, { customerId: null }))).toEqual([{ path: 'customerId', code: 'TYPE' }]);
  });

  it('REQUIRED: a missing field, nested paths included', () => {
    expect(problems('order.created', (v) => delete v.customerId)).toEqual([{ path: 'customerId', code: 'REQUIRED' }]);
    expect(problems('order.created', (v) => delete v.lines[1].quantity)).toEqual([{ path: 'lines[1].quantity', code: 'REQUIRED' }]);
    expect(problems('stock.adjusted', (v) => delete v.meta.eventId)).toEqual([{ path: 'meta.eventId', code: 'REQUIRED' }]);
  });

  it('TYPE: wrong JSON types, an unparseable timestamp, a non-object value or line', () => {
    expect(problems('order.created', (v) => (v.orderId = 4711))).toEqual([{ path: 'orderId', code: 'TYPE' }]);
    expect(problems('customer.upserted', (v) => (v.creditHold = 'yes'))).toEqual([{ path: 'creditHold', code: 'TYPE' }]);
    expect(problems('customer.upserted', (v) => (v.email = 42))).toEqual([{ path: 'email', code: 'TYPE' }]);
    expect(problems('stock.counted', (v) => (v.meta.occurredAt = 'yesterday'))).toEqual([{ path: 'meta.occurredAt', code: 'TYPE' }]);
    expect(problems('order.created', (v) => (v.lines[0] = 7))).toEqual([{ path: 'lines[0]', code: 'TYPE' }]);
    expect(problems('order.created', (v) => (v.lines = { lineNo: 1 }))).toEqual([{ path: 'lines', code: 'TYPE' }]);
    expect(validateEvent(catalogue.require('order.created'), [1, 2]).map((p) => p.code)).toEqual(['TYPE']);
  });

  it('NOT_INTEGER: quantities and other integers must be whole numbers', () => {
    expect(problems('order.created', (v) => (v.lines[0].quantity = 2.5))).toEqual([{ path: 'lines[0].quantity', code: 'NOT_INTEGER' }]);
    expect(problems('pick.confirmed', (v) => (v.lines[0].quantityShort = 0.1))).toEqual([{ path: 'lines[0].quantityShort', code: 'NOT_INTEGER' }]);
    expect(problems('stock.adjusted', (v) => (v.delta = -1.5))).toEqual([{ path: 'delta', code: 'NOT_INTEGER' }]);
    expect(problems('item.upserted', (v) => (v.uomConversions.CS = 12.5))).toEqual([{ path: 'uomConversions.CS', code: 'NOT_INTEGER' }]);
  });

  it('TYPE for an integer beyond the Avro int range', () => {
    expect(problems('stock.counted', (v) => (v.countedQuantity = 2 ** 31))).toEqual([{ path: 'countedQuantity', code: 'TYPE' }]);
  });

  it('ENUM: a symbol the schema does not list, with the allowed ones in the message', () => {
    expect(problems('order.created', (v) => (v.channel = 'WEB'))).toEqual([{ path: 'channel', code: 'ENUM' }]);
    expect(problems('stock.adjusted', (v) => (v.reason = 'damage'))).toEqual([{ path: 'reason', code: 'ENUM' }]);
    expect(problems('return.received', (v) => (v.lines[0].disposition = 'RESELL'))).toEqual([{ path: 'lines[0].disposition', code: 'ENUM' }]);
    const [problem] = validateEvent(catalogue.require('order.created'), { ...sampleEvents()['order.created'], channel: 'WEB' });
    expect(problem!.message).toBe('expected one of CRM, ECOMMERCE, EDI, MARKETPLACE, got "WEB"');
  });

  it.each([
    ['item.upserted', 'sku', (v: Json, bad: string) => (v.sku = bad)],
    ['customer.upserted', 'customerId', (v: Json, bad: string) => (v.customerId = bad)],
    ['order.created', 'orderId', (v: Json, bad: string) => (v.orderId = bad)],
    ['order.created', 'customerId', (v: Json, bad: string) => (v.customerId = bad)],
    ['order.created', 'lines[1].sku', (v: Json, bad: string) => (v.lines[1].sku = bad)],
    ['order.changed', 'lines[0].warehouse', (v: Json, bad: string) => (v.lines[0].warehouse = bad)],
    ['pick.confirmed', 'warehouse', (v: Json, bad: string) => (v.warehouse = bad)],
    ['shipment.confirmed', 'shipmentId', (v: Json, bad: string) => (v.shipmentId = bad)],
    ['return.received', 'returnId', (v: Json, bad: string) => (v.returnId = bad)],
    ['stock.adjusted', 'warehouse', (v: Json, bad: string) => (v.warehouse = bad)],
    ['stock.counted', 'meta.eventId', (v: Json, bad: string) => (v.meta.eventId = bad)],
  ] as const)('PATTERN: %s %s must match [A-Za-z0-9._-]{1,64}', (topic, path, edit) => {
    for (const bad of ['DC EAST', 'SKU@1', '', 'x'.repeat(65), 'ümlaut']) {
      expect(problems(topic, (v) => edit(v, bad))).toEqual([{ path, code: 'PATTERN' }]);
    }
    expect(problems(topic, (v) => edit(v, `A.b_c-${'9'.repeat(58)}`))).toEqual([]);
  });

  it('PATTERN: safety stock is keyed by warehouse codes', () => {
    expect(problems('item.upserted', (v) => (v.safetyStock = { 'DC EAST': 5 }))).toEqual([{ path: 'safetyStock["DC EAST"]', code: 'PATTERN' }]);
  });

  it.each(['order.created', 'order.changed', 'pick.confirmed', 'shipment.confirmed', 'return.received'] as const)('EMPTY: %s needs at least one line', (topic) => {
    expect(problems(topic, (v) => (v.lines = []))).toEqual([{ path: 'lines', code: 'EMPTY' }]);
  });

  it('MIN: a cycle count is never negative; a stock adjustment may be', () => {
    expect(problems('stock.counted', (v) => (v.countedQuantity = -1))).toEqual([{ path: 'countedQuantity', code: 'MIN' }]);
    expect(problems('stock.counted', (v) => (v.countedQuantity = 0))).toEqual([]);
    expect(problems('stock.adjusted', (v) => (v.delta = -40))).toEqual([]);
  });

  it('UNKNOWN_FIELD: a field the schema does not declare, at any depth', () => {
    expect(problems('customer.upserted', (v) => (v.emial = 'a@b.c'))).toEqual([{ path: 'emial', code: 'UNKNOWN_FIELD' }]);
    expect(problems('order.created', (v) => (v.lines[0].qty = 1))).toEqual([{ path: 'lines[0].qty', code: 'UNKNOWN_FIELD' }]);
    expect(problems('order.created', (v) => (v.meta.traceId = 'x'))).toEqual([{ path: 'meta.traceId', code: 'UNKNOWN_FIELD' }]);
  });

  it('lists every problem of a value, not only the first', () => {
    const found = problems('order.created', (v) => {
      v.channel = 'WEB';
      v.lines[0].quantity = 1.5;
      v.orderId = 'SO 1';
      delete v.meta.source;
    });
    expect(found).toEqual(
      expect.arrayContaining([
        { path: 'channel', code: 'ENUM' },
        { path: 'lines[0].quantity', code: 'NOT_INTEGER' },
        { path: 'orderId', code: 'PATTERN' },
        { path: 'meta.source', code: 'REQUIRED' },
      ]),
    );
    expect(found).toHaveLength(4);
  });
});

describe('formatPath', () => {
  it('writes indexes in brackets, names with dots, odd keys quoted', () => {
    expect(formatPath(['lines', '2', 'quantity'])).toBe('lines[2].quantity');
    expect(formatPath(['meta', 'eventId'])).toBe('meta.eventId');
    expect(formatPath(['safetyStock', 'DC-EAST'])).toBe('safetyStock["DC-EAST"]');
    expect(formatPath([])).toBe('(value)');
  });
});
