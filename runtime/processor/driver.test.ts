/**
 * The synchronous driver and its building blocks: the latest-by-event-time table, deterministic
 * ids, dedupe by (topic, eventId), routing of orders.movements into atp, table refresh, view.
 */
import { describe, expect, it } from 'vitest';
import { adjust, at, created, item, pipelineDriver, ship } from '../../processors/test-builders';
import type { Item } from '../../processors/types';
import { deterministicId } from './ids';
import { LatestTable } from './table';

describe('LatestTable', () => {
  const version = (occurredAt: number, eventId: string, description: string) =>
    ({ meta: { eventId, occurredAt, source: 'ERP', correlationId: null, causationId: null }, sku: 'A', description, baseUom: 'EA', uomConversions: {}, safetyStock: {} }) as Item;

  it('keeps the latest by occurredAt whatever the arrival order, ties to the greater eventId', () => {
    const table = new LatestTable<Item>((v) => v.sku);
    expect(table.upsert(version(5, 'e1', 'five'))).toBe(true);
    expect(table.upsert(version(3, 'e9', 'three'))).toBe(false);
    expect(table.get('A')?.description).toBe('five');
    expect(table.upsert(version(5, 'e0', 'tie-lower'))).toBe(false);
    expect(table.upsert(version(5, 'e2', 'tie-greater'))).toBe(true);
    expect(table.get('A')?.description).toBe('tie-greater');
    expect(table.get('B')).toBeUndefined();
  });
});

describe('deterministicId', () => {
  it('is a function of cause topic, cause eventId and role', () => {
    const id = deterministicId('order.created', 'E1', 'rejected');
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(deterministicId('order.created', 'E1', 'rejected')).toBe(id);
    expect(deterministicId('order.changed', 'E1', 'rejected')).not.toBe(id);
    expect(deterministicId('order.created', 'E2', 'rejected')).not.toBe(id);
    expect(deterministicId('order.created', 'E1', 'stock:0')).not.toBe(id);
  });
});

describe('ProcessorDriver', () => {
  it('routes orders.movements into atp and builds the view', () => {
    const driver = pipelineDriver();
    driver.pipe([
      item('A', at(0), { safetyStock: { W1: 2 } }),
      adjust('A', 'W1', 10, at(1)),
      created('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 3 }]),
      ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 1 }], at(3)),
    ]);
    // onHand 10 − 1 = 9; reserved 3 − 1 = 2; safety 2; atp 5.
    expect(driver.view()).toEqual({
      atp: [['A@W1', { sku: 'A', warehouse: 'W1', onHand: 9, reserved: 2, safetyStock: 2, atp: 5, available: 5, asOf: at(3) }]],
      totals: [['A', { onHand: 9, reserved: 2, safetyStock: 2, atp: 5, available: 5 }]],
      orders: [['O1', { orderId: 'O1', status: 'PARTIALLY_SHIPPED', lines: [{ lineNo: 1, sku: 'A', warehouse: 'W1', ordered: 3, shipped: 1, short: 0 }] }]],
      rejections: [],
    });
  });

  it('drops a repeated (topic, eventId), first content wins; the same eventId on another topic is another event', () => {
    const driver = pipelineDriver();
    driver.pipe([item('A', at(0)), adjust('A', 'W1', 10, at(1), 'dup'), adjust('A', 'W1', 99, at(1), 'dup')]);
    expect(driver.view().atp[0]?.[1].onHand).toBe(10);
    driver.pipe([created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 4 }], 'dup')]);
    expect(driver.view().atp[0]?.[1].reserved).toBe(4);
  });

  it('an item update refreshes every warehouse row of its sku (safety stock), and only those', () => {
    const driver = pipelineDriver();
    driver.pipe([item('A', at(0)), item('B', at(0)), adjust('A', 'W1', 10, at(1)), adjust('A', 'W2', 10, at(1)), adjust('B', 'W1', 10, at(1))]);
    const caused = driver.send('item.upserted', item('A', at(5), { safetyStock: { W1: 3, W2: 4 } }).value);
    expect(caused.filter((o) => o.topic === 'atp.changed').map((o) => [o.key, (o.value as { safetyStock: number }).safetyStock])).toEqual([
      ['A@W1', 3],
      ['A@W2', 4],
    ]);
    // An older item version changes nothing.
    expect(driver.send('item.upserted', item('A', at(2), { safetyStock: { W1: 9 } }).value)).toEqual([]);
  });

  it('takes occurredAt as an ISO-8601 string like the natural JSON of SPEC §4', () => {
    const driver = pipelineDriver();
    const iso = new Date(at(7)).toISOString();
    driver.pipe([item('A', at(0)), { topic: 'stock.adjusted', value: { ...adjust('A', 'W1', 1, 0).value, meta: { eventId: 'x', occurredAt: iso, source: 'WMS' } } }]);
    expect(driver.view().atp[0]?.[1].asOf).toBe(at(7));
  });
});
