/**
 * The catalogue against SPEC §4, §6, §7 and the catalogue rules: every topic present with its key,
 * producers and kind; docs everywhere; Meta inlined; enums, defaults and natural-value round trips
 * as the SPEC states them (expected values are written here from the SPEC, not read from schemas).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { helperTypeFromSchemaType, schemaFromConfluentSchema } from '@kafkajs/confluent-schema-registry/dist/schemaTypeResolver';
import avro from 'avsc';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, UnknownTopicError } from '../errors';
import { avroOptions, parseAvroSchema } from './avro-types';
import { CATALOGUE_ATTRIBUTE, DEFAULT_SCHEMAS_DIR, loadCatalogue, metadataOf, type TopicSchema } from './catalogue';

type Json = Record<string, unknown>;

const catalogue = loadCatalogue();

const SPEC_TOPICS = {
  'item.upserted': { key: 'sku', from: ['ERP'], kind: 'event' },
  'customer.upserted': { key: 'customerId', from: ['CRM'], kind: 'event' },
  'order.created': { key: 'orderId', from: ['CRM', 'ECOMMERCE', 'EDI'], kind: 'event' },
  'order.changed': { key: 'orderId', from: ['CRM', 'ECOMMERCE', 'EDI'], kind: 'event' },
  'order.cancelled': { key: 'orderId', from: ['CRM', 'ECOMMERCE', 'EDI'], kind: 'event' },
  'pick.confirmed': { key: 'orderId', from: ['WMS'], kind: 'event' },
  'shipment.confirmed': { key: 'orderId', from: ['WMS'], kind: 'event' },
  'stock.adjusted': { key: 'sku@warehouse', from: ['WMS'], kind: 'event' },
  'stock.counted': { key: 'sku@warehouse', from: ['WMS'], kind: 'event' },
  'return.received': { key: 'orderId', from: ['WMS'], kind: 'event' },
  'order.status': { key: 'orderId', kind: 'derived' },
  'order.rejected': { key: 'orderId', kind: 'derived' },
  'atp.changed': { key: 'sku@warehouse', kind: 'derived' },
  'orders.movements': { key: 'sku@warehouse', kind: 'derived' },
  'erp.commands': { key: 'orderId|customerId|sku@warehouse', kind: 'command' },
  'crm.commands': { key: 'orderId|sku@warehouse', kind: 'command' },
} as const;

const T0 = Date.UTC(2026, 10, 20, 9, 30); // 2026-11-20T09:30:00Z

function meta(eventId: string, source: string, occurredAt = T0) {
  return { eventId, occurredAt, source, correlationId: 'checkout-77', causationId: null };
}

/** One complete natural value per topic, written from the SPEC tables. */
const SAMPLES: Record<keyof typeof SPEC_TOPICS, Json> = {
  'item.upserted': {
    meta: meta('ERP-ITEM-10042-v3', 'ERP'),
    sku: 'SKU-10042',
    description: 'Nitrile gloves M, box of 100',
    baseUom: 'EA',
    uomConversions: { CS: 12, PL: 480 },
    safetyStock: { 'DC-EAST': 50, 'DC-WEST': 0 },
  },
  'customer.upserted': {
    meta: meta('CRM-CUST-781-v2', 'CRM'),
    customerId: 'C-000781',
    name: 'Acme Dental Supplies',
    email: 'orders@acme.example',
    creditLimitMinor: 500_000,
    creditHold: true,
  },
  'order.created': {
    meta: meta('WEB-SO-4711-1', 'ECOMMERCE'),
    orderId: 'SO-4711',
    customerId: 'C-000781',
    channel: 'ECOMMERCE',
    currency: 'EUR',
    requestedShipDate: '2026-11-27',
    lines: [
      { lineNo: 1, sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 3, uom: 'CS', unitPriceMinor: 12_990 },
      { lineNo: 2, sku: 'SKU-20001', warehouse: 'DC-EAST', quantity: 5, uom: null, unitPriceMinor: null },
    ],
  },
  'order.changed': {
    meta: meta('WEB-SO-4711-2', 'ECOMMERCE', T0 + 60_000),
    orderId: 'SO-4711',
    lines: [{ lineNo: 1, sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 4, uom: 'CS', unitPriceMinor: 12_990 }],
  },
  'order.cancelled': { meta: meta('WEB-SO-4711-X', 'ECOMMERCE'), orderId: 'SO-4711', reason: 'customer request' },
  'pick.confirmed': {
    meta: meta('WMS-PICK-9', 'WMS'),
    orderId: 'SO-4711',
    warehouse: 'DC-EAST',
    lines: [{ lineNo: 1, sku: 'SKU-10042', quantityPicked: 30, quantityShort: 6 }],
  },
  'shipment.confirmed': {
    meta: meta('WMS-SHIP-12', 'WMS'),
    orderId: 'SO-4711',
    shipmentId: 'SH-88812',
    warehouse: 'DC-EAST',
    carrier: 'UPS',
    trackingNumber: '1Z999AA10123456784',
    lines: [{ lineNo: 1, sku: 'SKU-10042', quantityShipped: 30 }],
  },
  'stock.adjusted': { meta: meta('WMS-ADJ-5', 'WMS'), sku: 'SKU-10042', warehouse: 'DC-EAST', delta: -4, reason: 'DAMAGE' },
  'stock.counted': { meta: meta('WMS-CNT-3', 'WMS'), sku: 'SKU-10042', warehouse: 'DC-EAST', countedQuantity: 212 },
  'return.received': {
    meta: meta('WMS-RMA-5521', 'WMS'),
    returnId: 'RMA-5521',
    orderId: 'SO-4711',
    warehouse: 'DC-WEST',
    lines: [
      { sku: 'SKU-10042', quantity: 10, disposition: 'RESTOCK' },
      { sku: 'SKU-10042', quantity: 2, disposition: 'SCRAP' },
    ],
  },
  'order.status': {
    orderId: 'SO-4711',
    status: 'BACKORDERED',
    lines: [{ lineNo: 1, sku: 'SKU-10042', warehouse: 'DC-EAST', ordered: 36, shipped: 0, short: 6 }],
    updatedAt: T0,
  },
  'order.rejected': {
    meta: { eventId: 'rej-WEB-SO-4712-1', occurredAt: T0, source: 'orders', correlationId: null, causationId: 'WEB-SO-4712-1' },
    orderId: 'SO-4712',
    rejectedEventId: 'WEB-SO-4712-1',
    errors: [{ path: 'lines[0].sku', code: 'UNKNOWN_SKU', message: 'SKU-99999 is not in the item master' }],
  },
  'atp.changed': {
    sku: 'SKU-10042',
    warehouse: 'DC-EAST',
    onHand: 212,
    reserved: 36,
    safetyStock: 50,
    atp: 126,
    available: 126,
    asOf: T0,
  },
  'orders.movements': {
    meta: meta('3b1f0c9e2d4a5b6c7d8e9f0a1b2c3d4e', 'orders'),
    kind: 'RESERVATION',
    sku: 'SKU-10042',
    warehouse: 'DC-EAST',
    orderId: 'SO-2026-004711',
    reserved: 36,
    rev: 3,
    touchedAt: T0,
    movementId: null,
    delta: null,
    occurredAt: null,
    generation: '001795431000000-9f2c01ab',
  },
  'erp.commands': {
    commandId: 'cmd-3f9a1c',
    type: 'CreateSalesOrder',
    correlationId: 'checkout-77',
    occurredAt: T0,
    payload: {
      orderId: 'SO-4711',
      customerId: 'C-000781',
      channel: 'ECOMMERCE',
      currency: 'EUR',
      version: T0,
      lines: [{ lineNo: 1, sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 36, unitPriceMinor: 12_990 }],
    },
  },
  'crm.commands': {
    commandId: 'cmd-77e0aa',
    type: 'UpdateAvailability',
    correlationId: null,
    occurredAt: T0,
    payload: { sku: 'SKU-10042', warehouse: 'DC-EAST', available: 126, atp: 126, asOf: T0 },
  },
};

/** Every command type of SPEC §7 with a natural payload. */
const COMMAND_SAMPLES: Record<string, Record<string, Json>> = {
  'erp.commands': {
    CreateSalesOrder: SAMPLES['erp.commands'].payload as Json,
    UpdateSalesOrder: {
      orderId: 'SO-4711',
      customerId: null,
      channel: null,
      currency: null,
      version: T0 + 60_000,
      lines: [{ lineNo: 1, sku: 'SKU-10042', warehouse: 'DC-EAST', quantity: 48, unitPriceMinor: null }],
    },
    CancelSalesOrder: { orderId: 'SO-4711', reason: null, cancelledAt: T0 },
    PostGoodsIssue: {
      orderId: 'SO-4711',
      shipmentId: 'SH-88812',
      warehouse: 'DC-EAST',
      carrier: 'UPS',
      trackingNumber: null,
      shippedAt: T0,
      lines: [{ lineNo: 1, sku: 'SKU-10042', quantityShipped: 30 }],
    },
    PostInventoryAdjustment: { sku: 'SKU-10042', warehouse: 'DC-EAST', delta: 120, reason: 'RECEIPT', adjustedAt: T0 },
    PostCycleCount: { sku: 'SKU-10042', warehouse: 'DC-EAST', countedQuantity: 0, countedAt: T0 },
    CreateCreditMemo: {
      returnId: 'RMA-5521',
      orderId: 'SO-4711',
      warehouse: 'DC-WEST',
      receivedAt: T0,
      lines: [{ sku: 'SKU-10042', quantity: 2, disposition: 'SCRAP' }],
    },
    UpsertCustomer: { customerId: 'C-000781', name: 'Acme', email: null, creditLimitMinor: null, creditHold: false, updatedAt: T0 },
  },
  'crm.commands': {
    UpdateOrderStatus: { ...(SAMPLES['order.status'] as Json) },
    RejectOrder: {
      orderId: 'SO-4712',
      rejectedEventId: 'WEB-SO-4712-1',
      errors: [{ path: 'lines[1].uom', code: 'UNKNOWN_UOM', message: 'PL is not a unit of SKU-10042' }],
      rejectedAt: T0,
    },
    NotifyBackorder: {
      orderId: 'SO-4711',
      warehouse: 'DC-EAST',
      pickedAt: T0,
      lines: [{ lineNo: 1, sku: 'SKU-10042', quantityPicked: 30, quantityShort: 6 }],
    },
    NotifyShipment: {
      orderId: 'SO-4711',
      shipmentId: 'SH-88812',
      warehouse: 'DC-EAST',
      carrier: 'UPS',
      trackingNumber: '1Z999',
      shippedAt: T0,
      lines: [{ lineNo: 1, sku: 'SKU-10042', quantityShipped: 30 }],
    },
    UpdateAvailability: SAMPLES['crm.commands'].payload as Json,
  },
};

/** Visits every record, field and named type of a schema, following array items, map values and union branches. */
function visit(schema: unknown, onRecord: (r: Json, path: string) => void, onField: (f: Json, path: string) => void, onEnum: (e: Json) => void, path = ''): void {
  if (Array.isArray(schema)) return schema.forEach((b) => visit(b, onRecord, onField, onEnum, path));
  if (typeof schema !== 'object' || schema === null) return;
  const s = schema as Json;
  if (s.type === 'record') {
    onRecord(s, path || String(s.name));
    for (const field of s.fields as Json[]) {
      const fieldPath = `${path || String(s.name)}.${String(field.name)}`;
      onField(field, fieldPath);
      visit(field.type, onRecord, onField, onEnum, fieldPath);
    }
  } else if (s.type === 'enum') onEnum(s);
  else if (s.type === 'array') visit(s.items, onRecord, onField, onEnum, `${path}[]`);
  else if (s.type === 'map') visit(s.values, onRecord, onField, onEnum, `${path}{}`);
}

function enumsOf(topic: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  visit(catalogue.require(topic).schema, () => {}, () => {}, (e) => found.set(String(e.name), e.symbols as string[]));
  return found;
}

function fieldOf(topic: string, path: string): Json {
  let found: Json | undefined;
  visit(catalogue.require(topic).schema, () => {}, (f, p) => {
    if (p.slice(p.indexOf('.') + 1) === path) found ??= f;
  }, () => {});
  if (!found) throw new Error(`${topic} has no field ${path}`);
  return found;
}

describe('catalogue contents', () => {
  it('has exactly the 15 topics of SPEC §4, §6 and §7 and the internal orders.movements, sorted by topic', () => {
    const topics = catalogue.topics().map((t) => t.topic);
    expect(topics).toEqual(Object.keys(SPEC_TOPICS).sort());
  });

  it.each(Object.entries(SPEC_TOPICS))('%s: key, kind, producers and subject as in the SPEC', (topic, spec) => {
    const t = catalogue.require(topic);
    expect(t.key).toBe(spec.key);
    expect(t.kind).toBe(spec.kind);
    if ('from' in spec) expect(t.from).toEqual(spec.from);
    else expect(t.from.length).toBeGreaterThan(0);
    expect(t.subject).toBe(`${topic}-value`);
    expect(isAbsolute(t.file)).toBe(true);
    expect(basename(t.file)).toBe(`${topic}.avsc`);
    expect(t.doc).toBe(t.schema.doc);
    expect(t.schema.namespace).toBe('tributary');
  });

  it('command topics key each command type by its entity (SPEC §7)', () => {
    expect(metadataOf(catalogue.require('erp.commands')).keyByType).toEqual({
      CreateSalesOrder: 'orderId',
      UpdateSalesOrder: 'orderId',
      CancelSalesOrder: 'orderId',
      PostGoodsIssue: 'orderId',
      PostInventoryAdjustment: 'sku@warehouse',
      PostCycleCount: 'sku@warehouse',
      CreateCreditMemo: 'orderId',
      UpsertCustomer: 'customerId',
    });
    expect(metadataOf(catalogue.require('crm.commands')).keyByType).toEqual({
      UpdateOrderStatus: 'orderId',
      RejectOrder: 'orderId',
      NotifyBackorder: 'orderId',
      NotifyShipment: 'orderId',
      UpdateAvailability: 'sku@warehouse',
    });
  });

  it('get answers undefined and require throws UnknownTopicError for an unknown topic', () => {
    expect(catalogue.get('order.creatd')).toBeUndefined();
    expect(() => catalogue.require('order.creatd')).toThrow(UnknownTopicError);
    expect(() => catalogue.require('order.creatd')).toThrow(/order\.created/);
  });

  it('is loaded once per directory', () => {
    expect(loadCatalogue()).toBe(catalogue);
    expect(loadCatalogue(DEFAULT_SCHEMAS_DIR + '/')).toBe(catalogue);
  });

  it('hands out frozen schemas, so no caller can change what others register', () => {
    const schema = catalogue.require('order.created').schema;
    expect(Object.isFrozen(schema)).toBe(true);
    expect(() => {
      (schema as { doc: string }).doc = 'changed';
    }).toThrow(TypeError);
  });
});

describe('docs', () => {
  it.each(Object.keys(SPEC_TOPICS))('%s: every record and every field, nested too, has a doc', (topic) => {
    const missing: string[] = [];
    const hasDoc = (s: Json) => typeof s.doc === 'string' && s.doc.trim().length > 0;
    let fields = 0;
    visit(
      catalogue.require(topic).schema,
      (r, path) => { if (!hasDoc(r)) missing.push(`record ${path}`); },
      (f, path) => { fields++; if (!hasDoc(f)) missing.push(`field ${path}`); },
      (e) => { if (!hasDoc(e)) missing.push(`enum ${String(e.name)}`); },
    );
    expect(missing).toEqual([]);
    expect(fields).toBeGreaterThan(3);
  });

  it('source-system codes document the pattern [A-Za-z0-9._-]{1,64} in their field docs', () => {
    const codes = ['sku', 'warehouse', 'orderId', 'customerId', 'shipmentId', 'returnId', 'eventId'];
    const undocumented: string[] = [];
    for (const t of catalogue.topics().filter((t) => t.kind === 'event')) {
      visit(t.schema, () => {}, (f, path) => {
        if (codes.includes(String(f.name)) && !String(f.doc).includes('[A-Za-z0-9._-]{1,64}')) undocumented.push(`${t.topic}: ${path}`);
      }, () => {});
    }
    expect(undocumented).toEqual([]);
  });
});

describe('meta', () => {
  const shared = JSON.parse(readFileSync(join(DEFAULT_SCHEMAS_DIR, '_meta.avsc'), 'utf8')) as Json;
  const withMeta = catalogue.topics().filter((t) => (t.schema.fields as Json[]).some((f) => f.name === 'meta'));

  it('every source event and order.rejected has a meta field', () => {
    expect(withMeta.map((t) => t.topic).sort()).toEqual(
      [...Object.entries(SPEC_TOPICS).filter(([, s]) => s.kind === 'event').map(([t]) => t), 'order.rejected', 'orders.movements'].sort(),
    );
  });

  it.each(withMeta.map((t) => [t.topic, t] as const))('%s: meta is inlined, identical to schemas/_meta.avsc', (_, t) => {
    const field = (t.schema.fields as Json[]).find((f) => f.name === 'meta')!;
    expect(field.type).toEqual(shared);
    expect(JSON.stringify(t.schema)).not.toContain('"tributary.Meta"');
  });

  it('is the SPEC §4 envelope: eventId, occurredAt (timestamp-millis), source, correlationId, causationId', () => {
    expect((shared.fields as Json[]).map((f) => [f.name, f.type, f.default])).toEqual([
      ['eventId', 'string', undefined],
      ['occurredAt', { type: 'long', logicalType: 'timestamp-millis' }, undefined],
      ['source', 'string', undefined],
      ['correlationId', ['null', 'string'], null],
      ['causationId', ['null', 'string'], null],
    ]);
    expect(shared.name).toBe('Meta');
    expect(shared.namespace).toBe('tributary');
  });
});

describe('enums have exactly the SPEC symbols', () => {
  const channel = ['CRM', 'ECOMMERCE', 'EDI', 'MARKETPLACE'];
  const reasons = ['RECEIPT', 'DAMAGE', 'LOST', 'FOUND', 'CORRECTION', 'TRANSFER_IN', 'TRANSFER_OUT', 'SCRAP'];
  const disposition = ['RESTOCK', 'SCRAP'];
  const status = ['OPEN', 'BACKORDERED', 'PARTIALLY_SHIPPED', 'SHIPPED', 'CANCELLED', 'REJECTED'];
  const cases: [string, Record<string, string[]>][] = [
    ['order.created', { Channel: channel }],
    ['stock.adjusted', { AdjustmentReason: reasons }],
    ['return.received', { Disposition: disposition }],
    ['order.status', { OrderStatusCode: status }],
    [
      'erp.commands',
      {
        ErpCommandType: ['CreateSalesOrder', 'UpdateSalesOrder', 'CancelSalesOrder', 'PostGoodsIssue', 'PostInventoryAdjustment', 'PostCycleCount', 'CreateCreditMemo', 'UpsertCustomer'],
        Channel: channel,
        AdjustmentReason: reasons,
        Disposition: disposition,
      },
    ],
    [
      'crm.commands',
      {
        CrmCommandType: ['UpdateOrderStatus', 'RejectOrder', 'NotifyBackorder', 'NotifyShipment', 'UpdateAvailability'],
        OrderStatusCode: status,
      },
    ],
  ];
  it.each(cases)('%s', (topic, expected) => {
    expect(Object.fromEntries(enumsOf(topic))).toEqual(expected);
  });
});

describe('defaults and optionals as in the SPEC', () => {
  it.each([
    ['order.created', 'currency', 'USD'],
    ['item.upserted', 'safetyStock', {}],
    ['customer.upserted', 'creditHold', false],
    ['customer.upserted', 'email', null],
    ['customer.upserted', 'creditLimitMinor', null],
    ['order.created', 'requestedShipDate', null],
    ['order.created', 'lines[].uom', null],
    ['order.created', 'lines[].unitPriceMinor', null],
    ['order.changed', 'lines[].uom', null],
    ['order.cancelled', 'reason', null],
    ['shipment.confirmed', 'trackingNumber', null],
    ['order.created', 'meta.correlationId', null],
    ['order.created', 'meta.causationId', null],
  ] as const)('%s %s defaults to %j', (topic, path, value) => {
    const field = fieldOf(topic, path);
    expect(field.default).toEqual(value);
    if (value === null) expect((field.type as unknown[])[0]).toBe('null');
  });

  it('uom and unitPriceMinor are nullable; quantities are int and money long', () => {
    expect(fieldOf('order.created', 'lines[].uom').type).toEqual(['null', 'string']);
    expect(fieldOf('order.created', 'lines[].unitPriceMinor').type).toEqual(['null', 'long']);
    expect(fieldOf('order.created', 'lines[].quantity').type).toBe('int');
    expect(fieldOf('customer.upserted', 'creditLimitMinor').type).toEqual(['null', 'long']);
    expect(fieldOf('stock.adjusted', 'delta').type).toBe('int');
    expect(fieldOf('item.upserted', 'uomConversions').type).toEqual({ type: 'map', values: 'int' });
  });

  it('omitted optional fields are written as their defaults', () => {
    const type = catalogue.require('order.created').type;
    const minimal = {
      meta: { eventId: 'e-1', occurredAt: T0, source: 'EDI' },
      orderId: 'SO-1',
      customerId: 'C-1',
      channel: 'EDI',
      lines: [{ lineNo: 1, sku: 'SKU-1', warehouse: 'DC-EAST', quantity: 2 }],
    };
    expect(type.isValid(minimal)).toBe(true);
    expect(type.fromBuffer(type.toBuffer(minimal))).toEqual({
      meta: { eventId: 'e-1', occurredAt: T0, source: 'EDI', correlationId: null, causationId: null },
      orderId: 'SO-1',
      customerId: 'C-1',
      channel: 'EDI',
      currency: 'USD',
      requestedShipDate: null,
      lines: [{ lineNo: 1, sku: 'SKU-1', warehouse: 'DC-EAST', quantity: 2, uom: null, unitPriceMinor: null }],
    });
    const item = catalogue.require('item.upserted').type;
    const decoded = item.fromBuffer(item.toBuffer({ meta: { eventId: 'i', occurredAt: T0, source: 'ERP' }, sku: 'S', description: 'd', baseUom: 'EA', uomConversions: {} }));
    expect(decoded.safetyStock).toEqual({});
    const customer = catalogue.require('customer.upserted').type;
    expect(customer.fromBuffer(customer.toBuffer({ meta: { eventId: 'c', occurredAt: T0, source: 'CRM' }, customerId: 'C', name: 'n' })).creditHold).toBe(false);
  });
});

describe('natural values round-trip', () => {
  it.each(Object.entries(SAMPLES))('%s', (topic, sample) => {
    const { type } = catalogue.require(topic);
    expect(type.isValid(sample)).toBe(true);
    expect(type.fromBuffer(type.toBuffer(sample))).toEqual(sample);
  });

  it.each(Object.entries(COMMAND_SAMPLES).flatMap(([topic, byType]) => Object.entries(byType).map(([t, p]) => [topic, t, p] as const)))(
    '%s %s',
    (topic, commandType, payload) => {
      const { type } = catalogue.require(topic);
      const command = { commandId: `cmd-${commandType}`, type: commandType, correlationId: null, occurredAt: T0, payload };
      expect(type.fromBuffer(type.toBuffer(command))).toEqual(command);
    },
  );

  it('every command type has a sample (the table above follows the enums)', () => {
    for (const topic of ['erp.commands', 'crm.commands']) {
      const symbols = [...enumsOf(topic).values()][0]!;
      expect(Object.keys(COMMAND_SAMPLES[topic]!)).toEqual(symbols);
    }
  });

  it('rejects values that break the schema, naming the field', () => {
    const { type } = catalogue.require('stock.adjusted');
    const paths: string[] = [];
    const bad = { ...SAMPLES['stock.adjusted'], delta: 1.5, reason: 'MISPLACED' };
    expect(type.isValid(bad, { errorHook: (path: string[]) => paths.push(path.join('.')) })).toBe(false);
    expect(paths).toEqual(['delta', 'reason']);
  });
});

describe('timestamp-millis', () => {
  const { type } = catalogue.require('stock.counted');
  const base = SAMPLES['stock.counted'] as { meta: Json };
  const at = (occurredAt: unknown) => ({ ...base, meta: { ...base.meta, occurredAt } });

  it('decodes to epoch-millisecond numbers, not Dates', () => {
    const decoded = type.fromBuffer(type.toBuffer(at(T0)));
    expect(decoded.meta.occurredAt).toBe(T0);
    expect(typeof decoded.meta.occurredAt).toBe('number');
  });

  it('accepts an ISO-8601 date-time with offset and a Date on write (SPEC §4 natural JSON)', () => {
    expect(type.fromBuffer(type.toBuffer(at('2026-11-20T09:30:00Z'))).meta.occurredAt).toBe(T0);
    expect(type.fromBuffer(type.toBuffer(at('2026-11-20T10:30:00.000+01:00'))).meta.occurredAt).toBe(T0);
    expect(type.fromBuffer(type.toBuffer(at(new Date(T0)))).meta.occurredAt).toBe(T0);
  });

  it('rejects what is not an instant, naming the field', () => {
    for (const bad of ['2026-11-20', 'yesterday', 1.5, null, new Date(Number.NaN)]) {
      const paths: string[] = [];
      expect(type.isValid(at(bad), { errorHook: (path: string[]) => paths.push(path.join('.')) })).toBe(false);
      expect(paths).toEqual(['meta.occurredAt']);
    }
  });

  it('reads values written by a plain long schema (a reader may add the logical type)', () => {
    const plain = avro.Type.forSchema({ type: 'record', name: 'X', fields: [{ name: 'at', type: 'long' }] });
    const reader = parseAvroSchema({ type: 'record', name: 'X', fields: [{ name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } }] });
    expect(reader.fromBuffer(plain.toBuffer({ at: T0 }), reader.createResolver(plain))).toEqual({ at: T0 });
  });
});

describe('command envelopes', () => {
  const erp = catalogue.require('erp.commands');
  const update = {
    commandId: 'cmd-1',
    type: 'UpdateSalesOrder',
    correlationId: 'checkout-77',
    occurredAt: T0,
    payload: COMMAND_SAMPLES['erp.commands']!.UpdateSalesOrder,
  };

  it('writes the union branch named by type, readable by any plain Avro client', () => {
    // A plain avsc with wrapped unions shows which branch is on the wire.
    const plain = avro.Type.forSchema(JSON.parse(JSON.stringify(erp.schema)), { wrapUnions: true });
    const onWire = plain.fromBuffer(erp.type.toBuffer(update));
    expect(Object.keys(onWire.payload)).toEqual(['tributary.UpdateSalesOrderPayload']);
    const create = { ...update, type: 'CreateSalesOrder' };
    expect(Object.keys(plain.fromBuffer(erp.type.toBuffer(create)).payload)).toEqual(['tributary.CreateSalesOrderPayload']);
  });

  it('reads what a plain Avro client wrote', () => {
    const plain = avro.Type.forSchema(JSON.parse(JSON.stringify(erp.schema)), { wrapUnions: true });
    const written = plain.toBuffer({
      commandId: 'cmd-2',
      type: 'PostCycleCount',
      correlationId: null,
      occurredAt: T0,
      payload: { 'tributary.PostCycleCountPayload': { sku: 'S', warehouse: 'W', countedQuantity: 3, countedAt: T0 } },
    });
    expect(erp.type.fromBuffer(written)).toEqual({
      commandId: 'cmd-2',
      type: 'PostCycleCount',
      correlationId: null,
      occurredAt: T0,
      payload: { sku: 'S', warehouse: 'W', countedQuantity: 3, countedAt: T0 },
    });
  });

  it('rejects a payload that does not fit its type, and an unknown type', () => {
    const mismatched = { ...update, type: 'PostCycleCount' };
    const paths: string[] = [];
    expect(erp.type.isValid(mismatched, { errorHook: (p: string[]) => paths.push(p.join('.')) })).toBe(false);
    expect(paths.some((p) => p.startsWith('payload.tributary.PostCycleCountPayload'))).toBe(true);
    const unknown: string[] = [];
    expect(erp.type.isValid({ ...update, type: 'ShipEverything' }, { errorHook: (p: string[]) => unknown.push(p.join('.')) })).toBe(false);
    expect(unknown).toContain('type');
    expect(() => erp.type.toBuffer({ ...update, payload: undefined })).toThrow();
  });

  it('resolves an older writer schema, filling the reader defaults', () => {
    // The writer predates creditHold on UpsertCustomerPayload; the reader's default applies.
    const older = JSON.parse(JSON.stringify(erp.schema)) as Json;
    const payloadField = (older.fields as Json[]).find((f) => f.name === 'payload')!;
    const upsert = (payloadField.type as Json[]).find((b) => b.name === 'UpsertCustomerPayload')!;
    upsert.fields = (upsert.fields as Json[]).filter((f) => f.name !== 'creditHold');
    const writer = parseAvroSchema(older);
    const command = {
      commandId: 'cmd-3',
      type: 'UpsertCustomer',
      correlationId: null,
      occurredAt: T0,
      payload: { customerId: 'C-1', name: 'Acme', email: null, creditLimitMinor: 100, updatedAt: T0 },
    };
    const read = erp.type.fromBuffer(writer.toBuffer(command), erp.type.createResolver(writer));
    expect(read).toEqual({ ...command, payload: { ...command.payload, creditHold: false } });
  });

  it('exports the same schema it was parsed from (no invented logicalType)', () => {
    const exported = JSON.stringify(erp.type.schema({ exportAttrs: true }));
    expect(exported).not.toContain('tributary-command');
    expect(avro.Type.forSchema(JSON.parse(exported)).equals(avro.Type.forSchema(JSON.parse(JSON.stringify(erp.schema))))).toBe(true);
  });
});

describe('what is registered', () => {
  it.each(Object.keys(SPEC_TOPICS))('%s: accepted by plain avro.Type.forSchema; x-tributary survives JSON.stringify', (topic) => {
    const t: TopicSchema = catalogue.require(topic);
    const registered = JSON.stringify(t.schema);
    const parsed = JSON.parse(registered) as Json;
    expect(() => avro.Type.forSchema(parsed as never)).not.toThrow();
    expect(parsed[CATALOGUE_ATTRIBUTE]).toEqual({ ...SPEC_TOPICS[topic as keyof typeof SPEC_TOPICS], from: t.from, topic, ...(t.kind === 'command' ? { keyByType: metadataOf(t).keyByType } : {}) });
    // Parsing does not consume or alter the attribute (avsc ignores unknown attributes).
    expect(parsed[CATALOGUE_ATTRIBUTE]).toEqual(t.schema[CATALOGUE_ATTRIBUTE]);
    expect(parseAvroSchema(parsed).equals(t.type)).toBe(true);
  });
});

describe('the registry client with avroOptions()', () => {
  // What SchemaRegistry.decode/encode do with a writer schema fetched by id, without the network.
  const viaClient = (t: TopicSchema) =>
    schemaFromConfluentSchema({ type: SchemaType.AVRO, schema: JSON.stringify(t.schema) }, { [SchemaType.AVRO]: avroOptions() }) as unknown as avro.Type;

  it.each(Object.entries(SAMPLES))('%s: parses the registered schema into the catalogue type', (topic, sample) => {
    const t = catalogue.require(topic);
    const type = viaClient(t);
    expect(() => helperTypeFromSchemaType(SchemaType.AVRO).validate(type as never)).not.toThrow();
    expect(type.toBuffer(sample).equals(t.type.toBuffer(sample))).toBe(true);
    expect(type.fromBuffer(t.type.toBuffer(sample))).toEqual(sample);
  });

  it('parses the same schema twice with one options object (fresh registry per parse)', () => {
    const options = { [SchemaType.AVRO]: avroOptions() };
    const t = catalogue.require('erp.commands');
    const confluent = { type: SchemaType.AVRO, schema: JSON.stringify(t.schema) } as const;
    expect(() => [schemaFromConfluentSchema(confluent, options), schemaFromConfluentSchema(confluent, options)]).not.toThrow();
  });
});

describe('loading errors name the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-catalogue-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const good = readFileSync(join(DEFAULT_SCHEMAS_DIR, 'stock.counted.avsc'), 'utf8');
  const metaSchema = readFileSync(join(DEFAULT_SCHEMAS_DIR, '_meta.avsc'), 'utf8');

  function fixture(name: string, files: Record<string, string>): string {
    const sub = mkdtempSync(join(dir, `${name}-`));
    for (const [file, text] of Object.entries(files)) writeFileSync(join(sub, file), text);
    return sub;
  }

  it('loads a directory of its own, with its shared types', () => {
    const sub = fixture('ok', { '_meta.avsc': metaSchema, 'stock.counted.avsc': good });
    const own = loadCatalogue(sub);
    expect(own).not.toBe(catalogue);
    expect(own.topics().map((t) => t.topic)).toEqual(['stock.counted']);
  });

  it.each([
    ['invalid JSON', { 'stock.counted.avsc': '{ "type": ' }, /stock\.counted\.avsc: not readable JSON/],
    ['a file named after another topic', { '_meta.avsc': metaSchema, 'stock.recounted.avsc': good }, /stock\.recounted\.avsc: "x-tributary" topic is "stock.counted"/],
    ['missing x-tributary', { '_meta.avsc': metaSchema, 'stock.counted.avsc': good.replace('"x-tributary"', '"x-other"') }, /"x-tributary" is missing/],
    ['an unknown kind', { '_meta.avsc': metaSchema, 'stock.counted.avsc': good.replace('"kind": "event"', '"kind": "fact"') }, /kind must be one of event, derived, command/],
    ['no shared Meta', { 'stock.counted.avsc': good }, /stock\.counted\.avsc: not a valid Avro schema: undefined type name: tributary\.Meta/],
  ])('%s', (name, files, message) => {
    const sub = fixture(name.replace(/\W+/g, '-'), files);
    expect(() => loadCatalogue(sub)).toThrow(ConfigError);
    expect(() => loadCatalogue(sub)).toThrow(message);
  });
});
