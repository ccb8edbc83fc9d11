/**
 * The orders fold against hand-worked SPEC §5/§6 cases: validation codes and paths, the
 * last-writer-wins version register, cancels, shipped/short per line, status precedence, and
 * the orders.movements records (absolute reservations with rev and touchedAt, stock movements).
 * Expected values are worked out from the SPEC in the comments.
 */
import { describe, expect, it } from 'vitest';
import { toEvent } from '../types';
import { at, cancel, changed, created, item, itemTable, pick, ret, ship, type Rec } from '../test-builders';
import { foldOrders, type OrderState, type OrderStatusValue, type OrderRejectedValue } from './fold';
import type { ReservationRecord, StockMovementRecord } from './movements';
import type { Output } from '../../runtime/processor/types';

// Item master: A in EA with CS = 12; B in KG with BAG = 25.
const items = itemTable(item('A', at(0), { conv: { CS: 12 } }), item('B', at(0), { baseUom: 'KG', conv: { BAG: 25 } }));
const ctx = { items };

function run(records: Rec[], start?: OrderState): { state: OrderState | undefined; outputs: Output[]; last: Output[] } {
  let state = start;
  const outputs: Output[] = [];
  let last: Output[] = [];
  for (const r of records) {
    const step = foldOrders(state, { topic: r.topic, value: toEvent(r.topic, r.value) }, ctx);
    state = step.state;
    last = step.outputs;
    outputs.push(...step.outputs);
  }
  return { state, outputs, last };
}
const of = <T>(outputs: Output[], topic: string): T[] => outputs.filter((o) => o.topic === topic).map((o) => o.value as T);
const lastStatus = (outputs: Output[]): OrderStatusValue | undefined => of<OrderStatusValue>(outputs, 'order.status').at(-1);
const reservations = (outputs: Output[]): ReservationRecord[] => of<ReservationRecord>(outputs, 'orders.movements').filter((m) => m.kind === 'RESERVATION');
const stock = (outputs: Output[]): StockMovementRecord[] => of<StockMovementRecord>(outputs, 'orders.movements').filter((m) => m.kind === 'STOCK');

describe('validation (SPEC §5 valid version, §6 order.rejected)', () => {
  const cases: { name: string; lines: Parameters<typeof created>[2]; errors: { path: string; code: string }[] }[] = [
    { name: 'unknown sku', lines: [{ lineNo: 1, sku: 'Z', warehouse: 'W1', quantity: 1 }], errors: [{ path: 'lines[0].sku', code: 'UNKNOWN_SKU' }] },
    { name: 'unknown uom', lines: [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 1, uom: 'PL' }], errors: [{ path: 'lines[0].uom', code: 'UNKNOWN_UOM' }] },
    { name: 'a uom of another item', lines: [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 1, uom: 'BAG' }], errors: [{ path: 'lines[0].uom', code: 'UNKNOWN_UOM' }] },
    { name: 'zero quantity', lines: [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 0 }], errors: [{ path: 'lines[0].quantity', code: 'INVALID_QUANTITY' }] },
    { name: 'negative quantity', lines: [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: -3 }], errors: [{ path: 'lines[0].quantity', code: 'INVALID_QUANTITY' }] },
    {
      name: 'duplicate lineNo, reported on the later line only',
      lines: [
        { lineNo: 7, sku: 'A', warehouse: 'W1', quantity: 1 },
        { lineNo: 7, sku: 'B', warehouse: 'W1', quantity: 1 },
      ],
      errors: [{ path: 'lines[1].lineNo', code: 'DUPLICATE_LINE' }],
    },
    {
      name: 'an unknown sku hides its uom; other breaches of the line still count, line by line',
      lines: [
        { lineNo: 1, sku: 'Z', warehouse: 'W1', quantity: 0, uom: 'XX' },
        { lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 2, uom: 'XX' },
      ],
      errors: [
        { path: 'lines[0].sku', code: 'UNKNOWN_SKU' },
        { path: 'lines[0].quantity', code: 'INVALID_QUANTITY' },
        { path: 'lines[1].uom', code: 'UNKNOWN_UOM' },
        { path: 'lines[1].lineNo', code: 'DUPLICATE_LINE' },
      ],
    },
  ];
  it.each(cases)('$name', ({ lines, errors }) => {
    const version = created('O1', at(1), lines, 'bad-1');
    const { outputs } = run([version]);
    const rejected = of<OrderRejectedValue>(outputs, 'order.rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.rejectedEventId).toBe('bad-1');
    expect(rejected[0]?.orderId).toBe('O1');
    expect(rejected[0]?.errors.map(({ path, code }) => ({ path, code }))).toEqual(errors);
    expect(rejected[0]?.meta.causationId).toBe('bad-1');
    // No valid version: REJECTED, no lines, nothing reserved.
    expect(lastStatus(outputs)).toMatchObject({ status: 'REJECTED', lines: [] });
    expect(reservations(outputs)).toEqual([]);
  });

  it('accepts the base unit by name or null, and a listed conversion', () => {
    const { outputs } = run([
      created('O1', at(1), [
        { lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 2, uom: 'EA' },
        { lineNo: 2, sku: 'A', warehouse: 'W2', quantity: 2, uom: 'CS' },
        { lineNo: 3, sku: 'B', warehouse: 'W1', quantity: 3, uom: 'BAG' },
        { lineNo: 4, sku: 'B', warehouse: 'W1', quantity: 4, uom: null },
      ]),
    ]);
    expect(of(outputs, 'order.rejected')).toEqual([]);
    // ordered in base units: 2, 2×12, 3×25, 4.
    expect(lastStatus(outputs)?.lines.map((l) => l.ordered)).toEqual([2, 24, 75, 4]);
  });

  it('a version with no lines is valid and OPEN (not vacuously SHIPPED)', () => {
    const { outputs } = run([created('O1', at(1), [])]);
    expect(of(outputs, 'order.rejected')).toEqual([]);
    expect(lastStatus(outputs)).toMatchObject({ status: 'OPEN', lines: [] });
  });

  it('rejects every invalid version, even one older than the current or after a cancel', () => {
    const { outputs } = run([
      created('O1', at(5), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 1 }]),
      cancel('O1', at(6)),
      changed('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 0 }], 'old-bad'),
    ]);
    expect(of<OrderRejectedValue>(outputs, 'order.rejected').map((r) => r.rejectedEventId)).toEqual(['old-bad']);
  });
});

describe('versions, cancels and reservations (SPEC §5)', () => {
  it('a first valid version reserves its base quantity per sku@warehouse, summing lines that share a row', () => {
    const { outputs } = run([
      created('O1', at(1), [
        { lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 2, uom: 'CS' },
        { lineNo: 2, sku: 'A', warehouse: 'W1', quantity: 5 },
        { lineNo: 3, sku: 'B', warehouse: 'W2', quantity: 1 },
      ]),
    ]);
    // A@W1: 24 + 5 = 29; B@W2: 1. touchedAt = the version's time; revs 1, 2 in key order.
    expect(reservations(outputs).map(({ sku, warehouse, reserved, rev, touchedAt }) => ({ sku, warehouse, reserved, rev, touchedAt }))).toEqual([
      { sku: 'A', warehouse: 'W1', reserved: 29, rev: 1, touchedAt: at(1) },
      { sku: 'B', warehouse: 'W2', reserved: 1, rev: 2, touchedAt: at(1) },
    ]);
    expect(lastStatus(outputs)).toEqual({
      orderId: 'O1',
      status: 'OPEN',
      lines: [
        { lineNo: 1, sku: 'A', warehouse: 'W1', ordered: 24, shipped: 0, short: 0 },
        { lineNo: 2, sku: 'A', warehouse: 'W1', ordered: 5, shipped: 0, short: 0 },
        { lineNo: 3, sku: 'B', warehouse: 'W2', ordered: 1, shipped: 0, short: 0 },
      ],
      updatedAt: at(1),
    });
  });

  it('a change arriving before its creation stays current (last writer by occurredAt)', () => {
    const { outputs, last } = run([
      changed('O1', at(5), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 3 }]),
      created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W2', quantity: 9 }]),
    ]);
    // The older creation does not become current, reserves nothing, but names A@W2: a zero
    // reservation record with touchedAt at(1) so the row exists with that asOf.
    expect(reservations(last).map(({ warehouse, reserved, touchedAt }) => ({ warehouse, reserved, touchedAt }))).toEqual([
      { warehouse: 'W2', reserved: 0, touchedAt: at(1) },
    ]);
    expect(lastStatus(outputs)?.lines).toEqual([{ lineNo: 1, sku: 'A', warehouse: 'W1', ordered: 3, shipped: 0, short: 0 }]);
    expect(lastStatus(outputs)?.updatedAt).toBe(at(5));
  });

  it('equal occurredAt: the greater eventId wins, whatever the arrival order', () => {
    const v1 = changed('O1', at(3), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 1 }], 'e-b');
    const v2 = created('O1', at(3), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 2 }], 'e-a');
    for (const order of [[v1, v2], [v2, v1]]) {
      expect(lastStatus(run(order).outputs)?.lines[0]?.ordered).toBe(1);
    }
  });

  it('equal occurredAt AND eventId (created and changed): the change wins, either arrival order', () => {
    const c = changed('O1', at(3), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 1 }], 'same');
    const o = created('O1', at(3), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 2 }], 'same');
    for (const order of [[c, o], [o, c]]) {
      expect(lastStatus(run(order).outputs)?.lines[0]?.ordered).toBe(1);
    }
  });

  it('a change replaces the line set: rows it no longer names drop to 0, new rows are reserved', () => {
    const { last } = run([
      created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 4 }]),
      changed('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W2', quantity: 6 }]),
    ]);
    expect(reservations(last).map(({ warehouse, reserved, rev }) => ({ warehouse, reserved, rev }))).toEqual([
      { warehouse: 'W1', reserved: 0, rev: 2 },
      { warehouse: 'W2', reserved: 6, rev: 3 },
    ]);
  });

  it('an invalid newer version leaves the current one in force', () => {
    const { outputs } = run([
      created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 4 }]),
      changed('O1', at(2), [{ lineNo: 1, sku: 'Z', warehouse: 'W1', quantity: 6 }]),
    ]);
    expect(lastStatus(outputs)).toMatchObject({ status: 'OPEN', lines: [{ ordered: 4 }], updatedAt: at(2) });
    expect(reservations(outputs).map((r) => r.reserved)).toEqual([4]);
  });

  it('a cancel before the creation is final: CANCELLED with the lines, nothing reserved', () => {
    const { outputs } = run([cancel('O1', at(9)), created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 4 }])]);
    expect(lastStatus(outputs)).toMatchObject({ status: 'CANCELLED', lines: [{ lineNo: 1, ordered: 4 }], updatedAt: at(9) });
    // The row is still named (touchedAt) but holds 0.
    expect(reservations(outputs).map(({ reserved, touchedAt }) => ({ reserved, touchedAt }))).toEqual([{ reserved: 0, touchedAt: at(1) }]);
  });

  it('a cancel after the creation releases the reservation; a cancel alone is CANCELLED without lines', () => {
    const { last } = run([created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 4 }]), cancel('O1', at(2))]);
    expect(reservations(last).map((r) => r.reserved)).toEqual([0]);
    expect(lastStatus(run([cancel('O2', at(1))]).outputs)).toEqual({ orderId: 'O2', status: 'CANCELLED', lines: [], updatedAt: at(1) });
  });
});

describe('shipments, picks, returns (SPEC §5 movements, §6 status)', () => {
  const order = created('O1', at(1), [
    { lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 10 },
    { lineNo: 2, sku: 'B', warehouse: 'W1', quantity: 5 },
  ]);

  it('a partial shipment lowers the reservation and moves stock out at the shipment warehouse', () => {
    const { outputs, last } = run([order, ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 4 }], at(2), 'sh-1')]);
    expect(reservations(last).map(({ sku, reserved }) => ({ sku, reserved }))).toEqual([{ sku: 'A', reserved: 6 }]);
    expect(stock(last).map(({ sku, warehouse, delta, occurredAt }) => ({ sku, warehouse, delta, occurredAt }))).toEqual([
      { sku: 'A', warehouse: 'W1', delta: -4, occurredAt: at(2) },
    ]);
    expect(lastStatus(outputs)?.status).toBe('PARTIALLY_SHIPPED');
  });

  it('an over-shipment reserves max(0, ordered − shipped) and counts as shipped', () => {
    const { outputs } = run([order, ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 12 }, { lineNo: 2, sku: 'B', qty: 5 }], at(2))]);
    expect(reservations(outputs).slice(-2).map((r) => r.reserved)).toEqual([0, 0]);
    expect(lastStatus(outputs)).toMatchObject({ status: 'SHIPPED', lines: [{ shipped: 12 }, { shipped: 5 }] });
  });

  it('a short pick backorders without touching the reservation', () => {
    const { outputs, last } = run([order, pick('O1', 'W1', [{ lineNo: 2, sku: 'B', picked: 3, short: 2 }], at(2))]);
    expect(reservations(last)).toEqual([]);
    expect(lastStatus(outputs)).toMatchObject({ status: 'BACKORDERED', lines: [{ short: 0 }, { short: 2 }] });
  });

  it('status precedence: PARTIALLY_SHIPPED beats BACKORDERED', () => {
    const { outputs } = run([order, pick('O1', 'W1', [{ lineNo: 2, sku: 'B', picked: 3, short: 2 }], at(2)), ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 1 }], at(3))]);
    expect(lastStatus(outputs)?.status).toBe('PARTIALLY_SHIPPED');
  });

  it('a shipment for an unknown order moves stock but gives no status until a version arrives', () => {
    const first = run([ship('O9', 'W3', [{ lineNo: 1, sku: 'A', qty: 2 }], at(5))]);
    expect(lastStatus(first.outputs)).toBeUndefined();
    expect(stock(first.outputs).map((m) => m.delta)).toEqual([-2]);
    const then = run([created('O9', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 3 }])], first.state);
    // shipped 2 of 3 on line 1 (any warehouse): 1 reserved, PARTIALLY_SHIPPED, updatedAt the shipment's.
    expect(reservations(then.outputs).map((r) => r.reserved)).toEqual([1]);
    expect(lastStatus(then.outputs)).toMatchObject({ status: 'PARTIALLY_SHIPPED', updatedAt: at(5) });
  });

  it('a shipment of a cancelled order still moves stock', () => {
    const { last } = run([order, cancel('O1', at(2)), ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 10 }], at(3))]);
    expect(stock(last).map((m) => m.delta)).toEqual([-10]);
  });

  it('returns: RESTOCK moves +quantity, SCRAP moves 0 (the row still exists); shipped is unchanged', () => {
    const { outputs, last } = run([
      order,
      ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 10 }], at(2)),
      ret('O1', 'W2', [
        { sku: 'A', qty: 3, disposition: 'RESTOCK' },
        { sku: 'B', qty: 1, disposition: 'SCRAP' },
      ], at(4)),
    ]);
    expect(stock(last).map(({ sku, warehouse, delta }) => ({ sku, warehouse, delta }))).toEqual([
      { sku: 'A', warehouse: 'W2', delta: 3 },
      { sku: 'B', warehouse: 'W2', delta: 0 },
    ]);
    expect(lastStatus(outputs)).toMatchObject({ status: 'PARTIALLY_SHIPPED', lines: [{ shipped: 10 }, { shipped: 0 }], updatedAt: at(4) });
  });
});

describe('determinism and change detection', () => {
  it('derived ids depend on the cause only: the same input gives the same records', () => {
    const records = [created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 1 }], 'c-1'), ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 1 }], at(2), 's-1')];
    const a = run(structuredClone(records)).outputs;
    const b = run(structuredClone(records)).outputs;
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const ids = a.flatMap((o) => ((o.value as { meta?: { eventId: string } }).meta ? [(o.value as { meta: { eventId: string } }).meta.eventId] : []));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a repeated cancel emits nothing new', () => {
    const first = run([created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 1 }]), cancel('O1', at(2), 'x-1')]);
    const again = run([cancel('O1', at(2), 'x-2')], first.state);
    expect(again.outputs).toEqual([]);
  });
});
