/**
 * The pure half of the API (./answers.ts): servability, merging rows over partitions, network
 * totals (SPEC §5), check evaluation (SPEC §10) and ISO times. Expected values are worked out by
 * hand from the SPEC.
 */
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors';
import {
  evaluateCheck,
  judgePartitions,
  mergeAtpRow,
  mergeOrder,
  orderAnswer,
  parseAtpRow,
  parseOrderStatus,
  planCheck,
  rowAnswer,
  skuAnswer,
  totalsOf,
  type AtpRowValue,
  type SkuRows,
} from './answers';

const T0 = Date.UTC(2026, 0, 15, 9, 30, 0); // 2026-01-15T09:30:00.000Z

function row(warehouse: string, onHand: number, reserved: number, safetyStock: number, asOf: number | null = T0, sku = 'SKU-1'): AtpRowValue {
  const atp = onHand - reserved - safetyStock;
  return { sku, warehouse, onHand, reserved, safetyStock, atp, available: Math.max(0, atp), asOf };
}

function rows(...list: AtpRowValue[]): SkuRows {
  const map: SkuRows = new Map();
  for (const r of list) mergeAtpRow(map, r);
  return map;
}

describe('judgePartitions', () => {
  it('servable when the epoch exists and every partition carries it without @catchup', () => {
    expect(judgePartitions('e1', [['e1', null], ['e1', null], ['e1', null]])).toBeNull();
  });

  it('not servable without an epoch, whatever the partitions say', () => {
    expect(judgePartitions(null, [['e1', null]])).toEqual(['no state epoch (the state was lost or was never created)']);
  });

  it('names each partition that is catching up, from another epoch or empty', () => {
    expect(judgePartitions('e2', [['e2', null], ['e2', '{"stock.adjusted":"41"}'], ['e1', null], [null, null]])).toEqual([
      'partition 1 is catching up',
      'partition 2 belongs to an older state epoch',
      'partition 3 holds no state yet',
    ]);
  });

  it('an unknown partition count (0) is not servable', () => {
    expect(judgePartitions('e1', [])).toEqual(['the partition count is not known yet']);
  });
});

describe('ATP rows', () => {
  it('parses a stored row and rejects one that is not a row', () => {
    const json = JSON.stringify(row('DC-EAST', 10, 3, 2));
    expect(parseAtpRow(json, 'SKU-1@DC-EAST')).toEqual({ sku: 'SKU-1', warehouse: 'DC-EAST', onHand: 10, reserved: 3, safetyStock: 2, atp: 5, available: 5, asOf: T0 });
    expect(parseAtpRow(JSON.stringify({ ...row('W', 1, 0, 0), asOf: null }), 'x').asOf).toBeNull();
    for (const bad of ['{not json', '[1,2]', '"row"', JSON.stringify({ ...row('W', 1, 0, 0), onHand: '10' }), JSON.stringify({ warehouse: 'W' })]) {
      expect(() => parseAtpRow(bad, 'SKU-1@W')).toThrow(TributaryError);
      try {
        parseAtpRow(bad, 'SKU-1@W');
      } catch (error) {
        expect((error as TributaryError).code).toBe('TRB_STATE_INVALID');
      }
    }
  });

  it('asOf becomes an ISO-8601 UTC string; null stays null', () => {
    expect(rowAnswer(row('DC-EAST', 10, 3, 2)).asOf).toBe('2026-01-15T09:30:00.000Z');
    expect(rowAnswer(row('DC-EAST', 10, 3, 2, null)).asOf).toBeNull();
  });

  it('a warehouse found in two partitions keeps the row with the later asOf, in either order', () => {
    const older = row('DC-EAST', 10, 0, 0, T0);
    const newer = row('DC-EAST', 7, 0, 0, T0 + 1);
    expect(rows(older, newer).get('DC-EAST')?.onHand).toBe(7);
    expect(rows(newer, older).get('DC-EAST')?.onHand).toBe(7);
  });

  it('sums each field for the network total; available is max(0, total atp), not the sum of availables', () => {
    // EAST: 10-3-2 = 5 (available 5); WEST: 4-9-1 = -6 (available 0). Total atp -1 → available 0.
    expect(totalsOf([row('DC-EAST', 10, 3, 2), row('DC-WEST', 4, 9, 1)])).toEqual({ onHand: 14, reserved: 12, safetyStock: 3, atp: -1, available: 0 });
    // EAST 5, WEST -2 → total 3.
    expect(totalsOf([row('DC-EAST', 10, 3, 2), row('DC-WEST', 0, 2, 0)]).available).toBe(3);
    expect(totalsOf([])).toEqual({ onHand: 0, reserved: 0, safetyStock: 0, atp: 0, available: 0 });
  });

  it('GET /atp/{sku}: warehouses sorted by code, without the sku repeated; null for a sku never seen', () => {
    const answer = skuAnswer('SKU-1', rows(row('DC-WEST', 4, 9, 1, null), row('DC-EAST', 10, 3, 2), row('DC-CENTRAL', 1, 0, 0)));
    expect(answer).toEqual({
      sku: 'SKU-1',
      warehouses: [
        { warehouse: 'DC-CENTRAL', onHand: 1, reserved: 0, safetyStock: 0, atp: 1, available: 1, asOf: '2026-01-15T09:30:00.000Z' },
        { warehouse: 'DC-EAST', onHand: 10, reserved: 3, safetyStock: 2, atp: 5, available: 5, asOf: '2026-01-15T09:30:00.000Z' },
        { warehouse: 'DC-WEST', onHand: 4, reserved: 9, safetyStock: 1, atp: -6, available: 0, asOf: null },
      ],
      total: { onHand: 15, reserved: 12, safetyStock: 3, atp: 0, available: 0 },
    });
    expect(skuAnswer('SKU-9', new Map())).toBeNull();
  });

  it('sorts codes by code point, not by locale (upper case before lower case)', () => {
    const answer = skuAnswer('S', rows(row('b', 1, 0, 0), row('B', 1, 0, 0), row('a', 1, 0, 0), row('A-2', 1, 0, 0)));
    expect(answer?.warehouses.map((w) => w.warehouse)).toEqual(['A-2', 'B', 'a', 'b']);
  });
});

describe('POST /atp/check', () => {
  it('plans one read per distinct sku: named warehouses, or all when a line wants the network total', () => {
    const plan = planCheck([
      { sku: 'A', warehouse: 'W1', quantity: 1 },
      { sku: 'B', warehouse: 'W1', quantity: 1 },
      { sku: 'A', warehouse: 'W2', quantity: 1 },
      { sku: 'A', warehouse: 'W1', quantity: 5 },
      { sku: 'B', warehouse: null, quantity: 1 },
    ]);
    expect([...plan.entries()]).toEqual([
      ['A', { all: false, warehouses: ['W1', 'W2'] }],
      ['B', { all: true, warehouses: [] }],
    ]);
  });

  it('answers in request order; unknown rows have available 0; promisable = quantity ≤ available', () => {
    const bySku = new Map<string, SkuRows>([
      ['SKU-1', rows(row('DC-EAST', 10, 3, 2), row('DC-WEST', 4, 9, 1))], // EAST available 5, WEST 0, total 0
      ['SKU-2', rows(row('DC-EAST', 20, 0, 0, T0, 'SKU-2'), row('DC-WEST', 5, 0, 2, T0, 'SKU-2'))], // network atp 23
    ]);
    expect(
      evaluateCheck(
        [
          { sku: 'SKU-1', warehouse: 'DC-EAST', quantity: 5 },
          { sku: 'SKU-1', warehouse: 'DC-EAST', quantity: 6 },
          { sku: 'SKU-1', warehouse: 'DC-WEST', quantity: 1 },
          { sku: 'SKU-1', warehouse: 'DC-NORTH', quantity: 1 },
          { sku: 'SKU-404', warehouse: 'DC-EAST', quantity: 1 },
          { sku: 'SKU-1', warehouse: null, quantity: 1 },
          { sku: 'SKU-2', warehouse: null, quantity: 23 },
          { sku: 'SKU-2', warehouse: null, quantity: 24 },
          { sku: 'SKU-404', warehouse: null, quantity: 1 },
        ],
        bySku,
      ),
    ).toEqual([
      { sku: 'SKU-1', warehouse: 'DC-EAST', quantity: 5, available: 5, promisable: true },
      { sku: 'SKU-1', warehouse: 'DC-EAST', quantity: 6, available: 5, promisable: false },
      { sku: 'SKU-1', warehouse: 'DC-WEST', quantity: 1, available: 0, promisable: false },
      { sku: 'SKU-1', warehouse: 'DC-NORTH', quantity: 1, available: 0, promisable: false },
      { sku: 'SKU-404', warehouse: 'DC-EAST', quantity: 1, available: 0, promisable: false },
      { sku: 'SKU-1', warehouse: null, quantity: 1, available: 0, promisable: false },
      { sku: 'SKU-2', warehouse: null, quantity: 23, available: 23, promisable: true },
      { sku: 'SKU-2', warehouse: null, quantity: 24, available: 23, promisable: false },
      { sku: 'SKU-404', warehouse: null, quantity: 1, available: 0, promisable: false },
    ]);
  });
});

describe('orders', () => {
  const status = {
    orderId: 'SO-1',
    status: 'PARTIALLY_SHIPPED',
    lines: [{ lineNo: 1, sku: 'SKU-1', warehouse: 'DC-EAST', ordered: 10, shipped: 4, short: 0 }],
    updatedAt: T0,
  };

  it('parses the stored record and answers updatedAt as ISO', () => {
    expect(orderAnswer(parseOrderStatus(JSON.stringify(status), 'SO-1'))).toEqual({ ...status, updatedAt: '2026-01-15T09:30:00.000Z' });
  });

  it('refuses a record without its fields', () => {
    expect(() => parseOrderStatus(JSON.stringify({ orderId: 'SO-1' }), 'SO-1')).toThrow(/cannot be read/);
    expect(() => parseOrderStatus(JSON.stringify({ ...status, updatedAt: '2026-01-15' }), 'SO-1')).toThrow(TributaryError);
  });

  it('of two copies the later updatedAt wins', () => {
    const later = { ...status, status: 'SHIPPED', updatedAt: T0 + 5 };
    expect(mergeOrder(mergeOrder(null, status), later).status).toBe('SHIPPED');
    expect(mergeOrder(mergeOrder(null, later), status).status).toBe('SHIPPED');
  });
});
