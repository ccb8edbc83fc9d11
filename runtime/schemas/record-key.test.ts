/** Record keys per SPEC §4/§7: orderId, sku, customerId, `sku@warehouse`; commands by type. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors';
import { loadCatalogue } from './catalogue';
import { recordKey } from './record-key';

const catalogue = loadCatalogue();
const key = (topic: string, value: Record<string, unknown>) => recordKey(catalogue.require(topic), value);

describe('recordKey', () => {
  it.each([
    ['item.upserted', { sku: 'SKU-1' }, 'SKU-1'],
    ['customer.upserted', { customerId: 'C-7' }, 'C-7'],
    ['order.created', { orderId: 'SO-1', customerId: 'C-7' }, 'SO-1'],
    ['return.received', { returnId: 'RMA-1', orderId: 'SO-1' }, 'SO-1'],
    ['stock.adjusted', { sku: 'SKU-1', warehouse: 'DC-EAST' }, 'SKU-1@DC-EAST'],
    ['atp.changed', { sku: 'SKU-1', warehouse: 'DC-WEST' }, 'SKU-1@DC-WEST'],
    ['order.status', { orderId: 'SO-2' }, 'SO-2'],
  ])('%s %j → %s', (topic, value, expected) => {
    expect(key(topic, value)).toBe(expected);
  });

  it.each([
    ['erp.commands', 'CreateSalesOrder', { orderId: 'SO-1' }, 'SO-1'],
    ['erp.commands', 'PostCycleCount', { sku: 'SKU-1', warehouse: 'DC-EAST' }, 'SKU-1@DC-EAST'],
    ['erp.commands', 'UpsertCustomer', { customerId: 'C-7' }, 'C-7'],
    ['crm.commands', 'UpdateAvailability', { sku: 'SKU-1', warehouse: 'DC-EAST' }, 'SKU-1@DC-EAST'],
    ['crm.commands', 'RejectOrder', { orderId: 'SO-3' }, 'SO-3'],
  ])('%s %s keys by its entity', (topic, type, payload, expected) => {
    expect(key(topic, { type, payload })).toBe(expected);
  });

  it('names the missing key field', () => {
    expect(() => key('stock.counted', { sku: 'SKU-1' })).toThrow(ValidationError);
    expect(() => key('stock.counted', { sku: 'SKU-1' })).toThrow(/warehouse/);
    expect(() => key('erp.commands', { type: 'PostGoodsIssue', payload: {} })).toThrow(/payload\.orderId/);
    expect(() => key('crm.commands', { type: 'UpsertCustomer', payload: { customerId: 'C' } })).toThrow(/not a command type of crm\.commands/);
  });
});
