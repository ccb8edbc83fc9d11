/**
 * The reference fold against hand-computed cases, one per SPEC §5/§6 rule (expected numbers are
 * worked out from the SPEC in the comments, never read off the fold), and the defining property:
 * permuting the input and repeating events changes nothing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalResult, referenceFold, rowsAppliedBy, statusOf, type ReferenceResult } from './fold';
import { normalizeEvent, type InputRecord } from './types';

// ---------- builders (natural JSON, SPEC §4) ----------

let serial = 0;
const nextId = (prefix: string): string => `${prefix}-${String(++serial).padStart(6, '0')}`;
const T0 = Date.parse('2026-11-20T10:00:00Z');
/** Minute `m` after T0, in epoch millis. */
const at = (m: number): number => T0 + m * 60_000;
const meta = (occurredAt: number | string, eventId?: string) => ({
  eventId: eventId ?? nextId('e'),
  occurredAt,
  source: 'TEST',
  correlationId: null,
  causationId: null,
});

type Line = { lineNo: number; sku: string; warehouse: string; quantity: number; uom?: string | null };

const item = (sku: string, t: number, opts: { safetyStock?: Record<string, number>; conv?: Record<string, number>; baseUom?: string; id?: string } = {}): InputRecord => ({
  topic: 'item.upserted',
  value: { meta: meta(t, opts.id), sku, description: `item ${sku}`, baseUom: opts.baseUom ?? 'EA', uomConversions: opts.conv ?? { CS: 12 }, safetyStock: opts.safetyStock ?? {} },
});
const orderLines = (lines: Line[]) => lines.map((l) => ({ uom: null, unitPriceMinor: 100, ...l }));
const created = (orderId: string, t: number, lines: Line[], id?: string): InputRecord => ({
  topic: 'order.created',
  value: { meta: meta(t, id), orderId, customerId: 'C1', channel: 'CRM', currency: 'USD', lines: orderLines(lines) },
});
const changed = (orderId: string, t: number, lines: Line[], id?: string): InputRecord => ({
  topic: 'order.changed',
  value: { meta: meta(t, id), orderId, lines: orderLines(lines) },
});
const cancel = (orderId: string, t: number, id?: string): InputRecord => ({ topic: 'order.cancelled', value: { meta: meta(t, id), orderId } });
const adjust = (sku: string, warehouse: string, delta: number, t: number, id?: string): InputRecord => ({
  topic: 'stock.adjusted',
  value: { meta: meta(t, id), sku, warehouse, delta, reason: 'CORRECTION' },
});
const count = (sku: string, warehouse: string, countedQuantity: number, t: number, id?: string): InputRecord => ({
  topic: 'stock.counted',
  value: { meta: meta(t, id), sku, warehouse, countedQuantity },
});
const ship = (orderId: string, warehouse: string, lines: { lineNo: number; sku: string; qty: number }[], t: number, id?: string): InputRecord => ({
  topic: 'shipment.confirmed',
  value: {
    meta: meta(t, id),
    orderId,
    shipmentId: nextId('s'),
    warehouse,
    carrier: 'UPS',
    lines: lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, quantityShipped: l.qty })),
  },
});
const pick = (orderId: string, warehouse: string, lines: { lineNo: number; sku: string; picked: number; short: number }[], t: number): InputRecord => ({
  topic: 'pick.confirmed',
  value: { meta: meta(t), orderId, warehouse, lines: lines.map((l) => ({ lineNo: l.lineNo, sku: l.sku, quantityPicked: l.picked, quantityShort: l.short })) },
});
const ret = (orderId: string, warehouse: string, lines: { sku: string; qty: number; disposition: 'RESTOCK' | 'SCRAP' }[], t: number): InputRecord => ({
  topic: 'return.received',
  value: { meta: meta(t), returnId: nextId('r'), orderId, warehouse, lines: lines.map((l) => ({ sku: l.sku, quantity: l.qty, disposition: l.disposition })) },
});

const row = (r: ReferenceResult, sku: string, warehouse: string) => r.atp.get(`${sku}@${warehouse}`);
const numbers = (r: ReferenceResult, sku: string, warehouse: string) => {
  const x = row(r, sku, warehouse);
  return x && { onHand: x.onHand, reserved: x.reserved, safetyStock: x.safetyStock, atp: x.atp, available: x.available };
};

// ---------- on hand, counts, movements ----------

describe('on hand (SPEC §5)', () => {
  const cases: { name: string; events: InputRecord[]; onHand: number; asOf: number }[] = [
    {
      name: 'without a count: the sum of all movements',
      // +100 − 30 − 5 (shipment) + 4 (RESTOCK) + 0 (SCRAP) = 69
      events: [
        adjust('A', 'W1', 100, at(1)),
        adjust('A', 'W1', -30, at(2)),
        ship('O9', 'W1', [{ lineNo: 1, sku: 'A', qty: 5 }], at(3)),
        ret('O9', 'W1', [{ sku: 'A', qty: 4, disposition: 'RESTOCK' }], at(4)),
        ret('O9', 'W1', [{ sku: 'A', qty: 9, disposition: 'SCRAP' }], at(5)),
      ],
      onHand: 69,
      asOf: at(5),
    },
    {
      name: 'cycle count then later and earlier movements: only strictly later ones count',
      // count 80 @5; +50 @1 is before (ignored); −10 @6 and −5 shipped @7 after: 80 − 10 − 5 = 65
      events: [adjust('A', 'W1', 50, at(1)), count('A', 'W1', 80, at(5)), adjust('A', 'W1', -10, at(6)), ship('O9', 'W1', [{ lineNo: 1, sku: 'A', qty: 5 }], at(7))],
      onHand: 65,
      asOf: at(7),
    },
    {
      name: 'a count arriving after later movements (input order) gives the same result',
      // same set as above, count last in input: 80 − 10 − 5 = 65
      events: [adjust('A', 'W1', 50, at(1)), adjust('A', 'W1', -10, at(6)), ship('O9', 'W1', [{ lineNo: 1, sku: 'A', qty: 5 }], at(7)), count('A', 'W1', 80, at(5))],
      onHand: 65,
      asOf: at(7),
    },
    {
      name: 'a movement at exactly the count time is inside the count',
      // count 40 @5, +7 @5 not strictly later: 40
      events: [count('A', 'W1', 40, at(5)), adjust('A', 'W1', 7, at(5))],
      onHand: 40,
      asOf: at(5),
    },
    {
      name: 'two counts with equal occurredAt: the greater eventId wins',
      // c-b (20) > c-a (10) by eventId; then +3 @6: 20 + 3 = 23
      events: [count('A', 'W1', 20, at(5), 'c-b'), count('A', 'W1', 10, at(5), 'c-a'), adjust('A', 'W1', 3, at(6))],
      onHand: 23,
      asOf: at(6),
    },
    {
      name: 'the latest count is by occurredAt, not by eventId',
      // 'z' @1 (10) is older than 'a' @2 (30): 30; −4 @1.5 is before 'a', ignored
      events: [count('A', 'W1', 10, at(1), 'z'), count('A', 'W1', 30, at(2), 'a'), adjust('A', 'W1', -4, at(1.5))],
      onHand: 30,
      asOf: at(2),
    },
    {
      name: 'returns restock only with RESTOCK, at the return warehouse',
      // count 0 @0, RESTOCK +6 @1 and SCRAP 2 @2: 0 + 6 = 6
      events: [count('A', 'W1', 0, at(0)), ret('O1', 'W1', [{ sku: 'A', qty: 6, disposition: 'RESTOCK' }, { sku: 'A', qty: 2, disposition: 'SCRAP' }], at(1))],
      onHand: 6,
      asOf: at(1),
    },
  ];
  it.each(cases)('$name', ({ events, onHand, asOf }) => {
    const r = referenceFold(events);
    expect(row(r, 'A', 'W1')).toMatchObject({ onHand, asOf, reserved: 0, safetyStock: 0, atp: onHand, available: Math.max(0, onHand) });
  });

  it('negative on hand gives negative atp and zero available', () => {
    // −8 with nothing else: onHand −8, atp −8, available 0
    expect(numbers(referenceFold([adjust('A', 'W1', -8, at(1))]), 'A', 'W1')).toEqual({ onHand: -8, reserved: 0, safetyStock: 0, atp: -8, available: 0 });
  });

  it('a return SCRAP creates the row but moves nothing', () => {
    const r = referenceFold([ret('O1', 'W2', [{ sku: 'B', qty: 5, disposition: 'SCRAP' }], at(3))]);
    expect(row(r, 'B', 'W2')).toEqual({ sku: 'B', warehouse: 'W2', onHand: 0, reserved: 0, safetyStock: 0, atp: 0, available: 0, asOf: at(3) });
    expect(r.orders.size).toBe(0);
  });

  it('a shipment for an unknown order moves stock at the shipment warehouse and creates no status', () => {
    // +10 then −3 shipped for order X that has no version: 7
    const r = referenceFold([adjust('A', 'W1', 10, at(1)), ship('X', 'W1', [{ lineNo: 1, sku: 'A', qty: 3 }], at(2))]);
    expect(numbers(r, 'A', 'W1')).toEqual({ onHand: 7, reserved: 0, safetyStock: 0, atp: 7, available: 7 });
    expect(r.orders.has('X')).toBe(false);
  });
});

// ---------- reservations, order versions, uom ----------

describe('reserved and order versions (SPEC §5)', () => {
  const items = [item('A', at(0), { conv: { CS: 12 } }), item('B', at(0))];

  it('reserves the base quantity of open lines: 2 CS → 24, EA (the base unit) → 1×', () => {
    // line 1: 2 CS × 12 = 24; line 2: 5 EA × 1 = 5; line 3: 3 null × 1 = 3 → A@W1 reserved 24 + 5 = 29, B@W1 3
    const r = referenceFold([
      ...items,
      adjust('A', 'W1', 100, at(1)),
      created('O1', at(2), [
        { lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 2, uom: 'CS' },
        { lineNo: 2, sku: 'A', warehouse: 'W1', quantity: 5, uom: 'EA' },
        { lineNo: 3, sku: 'B', warehouse: 'W1', quantity: 3 },
      ]),
    ]);
    // A@W1: 100 − 29 − 0 = 71
    expect(numbers(r, 'A', 'W1')).toEqual({ onHand: 100, reserved: 29, safetyStock: 0, atp: 71, available: 71 });
    expect(numbers(r, 'B', 'W1')).toEqual({ onHand: 0, reserved: 3, safetyStock: 0, atp: -3, available: 0 });
    expect(r.orders.get('O1')?.lines.map((l) => l.ordered)).toEqual([24, 5, 3]);
  });

  it('partial shipment reduces the reservation; over-shipment floors it at 0', () => {
    // O1 line 1: 10 ordered, 4 shipped → 6 reserved; O2 line 1: 5 ordered, 7 shipped → max(0, −2) = 0
    // onHand A@W1: 50 − 4 − 7 = 39; atp 39 − 6 = 33
    const r = referenceFold([
      ...items,
      adjust('A', 'W1', 50, at(1)),
      created('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 10 }]),
      created('O2', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 5 }]),
      ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 4 }], at(3)),
      ship('O2', 'W1', [{ lineNo: 1, sku: 'A', qty: 7 }], at(3)),
    ]);
    expect(numbers(r, 'A', 'W1')).toEqual({ onHand: 39, reserved: 6, safetyStock: 0, atp: 33, available: 33 });
    expect(r.orders.get('O2')).toEqual({ orderId: 'O2', status: 'SHIPPED', lines: [{ lineNo: 1, sku: 'A', warehouse: 'W1', ordered: 5, shipped: 7, short: 0 }] });
  });

  it('shipped is matched by lineNo, even when the shipment line names another sku', () => {
    // O1 line 1 is 10 A@W1; the shipment says lineNo 1 sku B qty 3: shipped(O1,1) = 3 → A@W1 reserved 7;
    // the goods that left are B at W1: B@W1 onHand −3
    const r = referenceFold([...items, created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 10 }]), ship('O1', 'W1', [{ lineNo: 1, sku: 'B', qty: 3 }], at(2))]);
    expect(numbers(r, 'A', 'W1')).toEqual({ onHand: 0, reserved: 7, safetyStock: 0, atp: -7, available: 0 });
    expect(numbers(r, 'B', 'W1')).toEqual({ onHand: -3, reserved: 0, safetyStock: 0, atp: -3, available: 0 });
  });

  it('a change arriving before its creation still wins when it is newer', () => {
    // changed @2 (8) is newer than created @1 (5): reserved 8
    const r = referenceFold([...items, changed('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 8 }]), created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 5 }])]);
    expect(row(r, 'A', 'W1')?.reserved).toBe(8);
    expect(r.orders.get('O1')?.lines[0]?.ordered).toBe(8);
  });

  it('a change older than the creation loses to it', () => {
    // created @3 (5) is newer than changed @2 (8): reserved 5
    const r = referenceFold([...items, created('O1', at(3), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 5 }]), changed('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 8 }])]);
    expect(row(r, 'A', 'W1')?.reserved).toBe(5);
  });

  it('versions tied on occurredAt: the greater eventId is current', () => {
    // both @2: 'v-2' (7) > 'v-1' (4) → 7
    const r = referenceFold([
      ...items,
      changed('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 7 }], 'v-2'),
      changed('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 4 }], 'v-1'),
    ]);
    expect(row(r, 'A', 'W1')?.reserved).toBe(7);
  });

  it('a cancel before the creation: nothing reserved, the row exists, status CANCELLED', () => {
    const r = referenceFold([...items, cancel('O1', at(1)), created('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 5 }])]);
    // the cancelled order's valid version still creates A@W1; asOf = the version's @2 (cancels move no asOf)
    expect(row(r, 'A', 'W1')).toEqual({ sku: 'A', warehouse: 'W1', onHand: 0, reserved: 0, safetyStock: 0, atp: 0, available: 0, asOf: at(2) });
    expect(r.orders.get('O1')).toEqual({ orderId: 'O1', status: 'CANCELLED', lines: [{ lineNo: 1, sku: 'A', warehouse: 'W1', ordered: 5, shipped: 0, short: 0 }] });
  });

  it('a cancel is final even against a newer version', () => {
    // cancel @1, change @9: still cancelled, reserved 0
    const r = referenceFold([...items, created('O1', at(0), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 5 }]), cancel('O1', at(1)), changed('O1', at(9), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 6 }])]);
    expect(row(r, 'A', 'W1')?.reserved).toBe(0);
    expect(r.orders.get('O1')?.status).toBe('CANCELLED');
  });

  it('an invalid newer version is ignored: the previous valid version stays current', () => {
    // created @1 (5 A@W1) valid; changed @2 names unknown sku Z → rejected; reserved stays 5; no Z row
    const r = referenceFold([
      ...items,
      created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 5 }]),
      changed('O1', at(2), [{ lineNo: 1, sku: 'Z', warehouse: 'W2', quantity: 9 }], 'bad-1'),
    ]);
    expect(row(r, 'A', 'W1')?.reserved).toBe(5);
    expect(row(r, 'Z', 'W2')).toBeUndefined();
    expect(r.orders.get('O1')?.status).toBe('OPEN');
    expect(r.rejections).toEqual([{ orderId: 'O1', rejectedEventId: 'bad-1', errors: [expect.objectContaining({ path: 'lines[0].sku', code: 'UNKNOWN_SKU' })] }]);
  });

  it('rows exist for lines of superseded versions, with nothing reserved there', () => {
    // created @1 at W2 (5), changed @2 moves it to W1 (5): W1 reserved 5, W2 reserved 0; W2 asOf @1
    const r = referenceFold([
      ...items,
      created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W2', quantity: 5 }]),
      changed('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 5 }]),
    ]);
    expect(row(r, 'A', 'W1')).toMatchObject({ reserved: 5, asOf: at(2) });
    expect(row(r, 'A', 'W2')).toMatchObject({ reserved: 0, onHand: 0, atp: 0, asOf: at(1) });
  });

  it('uses the latest item to validate: a unit dropped by a newer item is unknown', () => {
    // item A @0 knows CS; item A @5 (input first) knows only PL → an order in CS is UNKNOWN_UOM
    const r = referenceFold([
      item('A', at(5), { conv: { PL: 100 } }),
      item('A', at(0), { conv: { CS: 12 } }),
      created('O1', at(6), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 1, uom: 'CS' }], 'o-1'),
      created('O2', at(6), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 2, uom: 'PL' }]),
    ]);
    expect(r.rejections).toEqual([{ orderId: 'O1', rejectedEventId: 'o-1', errors: [expect.objectContaining({ path: 'lines[0].uom', code: 'UNKNOWN_UOM' })] }]);
    // O2: 2 PL × 100 = 200
    expect(row(r, 'A', 'W1')?.reserved).toBe(200);
  });
});

// ---------- validation and rejections ----------

describe('rejections (SPEC §6)', () => {
  it('lists every breach of one version, line by line', () => {
    const r = referenceFold([
      item('A', at(0)),
      created(
        'O1',
        at(1),
        [
          { lineNo: 1, sku: 'Z', warehouse: 'W1', quantity: 0 }, // unknown sku, quantity 0
          { lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 2, uom: 'XX' }, // unknown uom, duplicate lineNo
          { lineNo: 2, sku: 'A', warehouse: 'W1', quantity: -1, uom: 'CS' }, // negative quantity
        ],
        'o1-created',
      ),
    ]);
    expect(r.rejections).toHaveLength(1);
    expect(r.rejections[0]?.rejectedEventId).toBe('o1-created');
    expect(r.rejections[0]?.errors.map(({ path, code }) => ({ path, code }))).toEqual([
      { path: 'lines[0].sku', code: 'UNKNOWN_SKU' },
      { path: 'lines[0].quantity', code: 'INVALID_QUANTITY' },
      { path: 'lines[1].uom', code: 'UNKNOWN_UOM' },
      { path: 'lines[1].lineNo', code: 'DUPLICATE_LINE' },
      { path: 'lines[2].quantity', code: 'INVALID_QUANTITY' },
    ]);
    // no valid version: REJECTED, no lines; an invalid version creates no row
    expect(r.orders.get('O1')).toEqual({ orderId: 'O1', status: 'REJECTED', lines: [] });
    expect(r.atp.size).toBe(0);
  });

  it('one rejection per invalid event, also for old versions and cancelled orders; a fix makes the order valid', () => {
    const r = referenceFold([
      item('A', at(0)),
      created('O1', at(1), [{ lineNo: 1, sku: 'Q', warehouse: 'W1', quantity: 1 }], 'r-1'),
      changed('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 1 }]),
      changed('O1', at(0.5), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 0 }], 'r-2'),
      created('O2', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 1, uom: 'BOX' }], 'r-3'),
      cancel('O2', at(2)),
    ]);
    expect(r.rejections.map((x) => [x.orderId, x.rejectedEventId, x.errors.map((e) => e.code)])).toEqual([
      ['O1', 'r-1', ['UNKNOWN_SKU']],
      ['O1', 'r-2', ['INVALID_QUANTITY']],
      ['O2', 'r-3', ['UNKNOWN_UOM']],
    ]);
    expect(r.orders.get('O1')?.status).toBe('OPEN');
    expect(r.orders.get('O2')).toEqual({ orderId: 'O2', status: 'CANCELLED', lines: [] });
  });

  it('a version with no item master at all is rejected (items known only from item.upserted)', () => {
    const r = referenceFold([created('O1', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 1 }])]);
    expect(r.orders.get('O1')?.status).toBe('REJECTED');
    expect(r.rejections[0]?.errors.map((e) => e.code)).toEqual(['UNKNOWN_SKU']);
  });
});

// ---------- order.status ----------

describe('order.status (SPEC §6)', () => {
  const base = [item('A', at(0)), item('B', at(0))];
  const twoLines = created('O1', at(1), [
    { lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 10 },
    { lineNo: 2, sku: 'B', warehouse: 'W1', quantity: 4 },
  ]);
  const cases: { name: string; extra: InputRecord[]; status: string; shipped: number[]; short: number[] }[] = [
    { name: 'OPEN: nothing picked or shipped', extra: [], status: 'OPEN', shipped: [0, 0], short: [0, 0] },
    {
      name: 'BACKORDERED: a short pick, nothing shipped',
      extra: [pick('O1', 'W1', [{ lineNo: 1, sku: 'A', picked: 7, short: 3 }, { lineNo: 2, sku: 'B', picked: 4, short: 0 }], at(2))],
      status: 'BACKORDERED',
      shipped: [0, 0],
      short: [3, 0],
    },
    {
      name: 'PARTIALLY_SHIPPED wins over BACKORDERED',
      extra: [pick('O1', 'W1', [{ lineNo: 1, sku: 'A', picked: 7, short: 3 }], at(2)), ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 7 }], at(3))],
      status: 'PARTIALLY_SHIPPED',
      shipped: [7, 0],
      short: [3, 0],
    },
    {
      name: 'short is summed over picks; SHIPPED when every line shipped ≥ ordered (over two shipments)',
      // line 1: 6 + 4 = 10 ≥ 10; line 2: 5 ≥ 4; short 1 + 2 = 3
      extra: [
        pick('O1', 'W1', [{ lineNo: 1, sku: 'A', picked: 9, short: 1 }], at(2)),
        pick('O1', 'W1', [{ lineNo: 1, sku: 'A', picked: 0, short: 2 }], at(2)),
        ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 6 }, { lineNo: 2, sku: 'B', qty: 5 }], at(3)),
        ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 4 }], at(4)),
      ],
      status: 'SHIPPED',
      shipped: [10, 5],
      short: [3, 0],
    },
    {
      name: 'CANCELLED wins over everything, lines still reported',
      extra: [ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 10 }, { lineNo: 2, sku: 'B', qty: 4 }], at(3)), cancel('O1', at(4))],
      status: 'CANCELLED',
      shipped: [10, 4],
      short: [0, 0],
    },
  ];
  it.each(cases)('$name', ({ extra, status, shipped, short }) => {
    const o = referenceFold([...base, twoLines, ...extra]).orders.get('O1');
    expect(o?.status).toBe(status);
    expect(o?.lines.map((l) => l.shipped)).toEqual(shipped);
    expect(o?.lines.map((l) => l.short)).toEqual(short);
    expect(o?.lines.map((l) => l.ordered)).toEqual([10, 4]);
  });

  it('a cancel with no version at all: CANCELLED with no lines; picks alone make no status', () => {
    const r = referenceFold([cancel('O7', at(1)), pick('O8', 'W1', [{ lineNo: 1, sku: 'A', picked: 0, short: 1 }], at(1))]);
    expect(r.orders.get('O7')).toEqual({ orderId: 'O7', status: 'CANCELLED', lines: [] });
    expect(r.orders.has('O8')).toBe(false);
  });

  it('status rules in isolation, including an empty version (OPEN, not vacuously SHIPPED)', () => {
    const l = (ordered: number, shipped: number, short: number) => ({ lineNo: 1, sku: 'A', warehouse: 'W1', ordered, shipped, short });
    expect(statusOf(true, false, [])).toBe('CANCELLED');
    expect(statusOf(false, false, [])).toBe('REJECTED');
    expect(statusOf(false, true, [])).toBe('OPEN');
    expect(statusOf(false, true, [l(5, 5, 0), l(3, 4, 1)])).toBe('SHIPPED');
    expect(statusOf(false, true, [l(5, 5, 0), l(3, 0, 0)])).toBe('PARTIALLY_SHIPPED');
    expect(statusOf(false, true, [l(5, 0, 2)])).toBe('BACKORDERED');
    expect(statusOf(false, true, [l(5, 0, 0)])).toBe('OPEN');
  });

  it('status lines come sorted by lineNo', () => {
    const r = referenceFold([...base, created('O1', at(1), [{ lineNo: 30, sku: 'A', warehouse: 'W1', quantity: 1 }, { lineNo: 10, sku: 'B', warehouse: 'W1', quantity: 1 }])]);
    expect(r.orders.get('O1')?.lines.map((l) => l.lineNo)).toEqual([10, 30]);
  });
});

// ---------- safety stock, totals, asOf, duplicates, normalization ----------

describe('safety stock and network totals (SPEC §5)', () => {
  it('takes safetyStock[warehouse] from the latest item by occurredAt, else 0', () => {
    // item A @2 (W1: 3) is newer than item A @1 (W1: 5, W2: 9): W1 → 3, W2 → 0 (the newer item dropped it)
    const r = referenceFold([item('A', at(2), { safetyStock: { W1: 3 } }), item('A', at(1), { safetyStock: { W1: 5, W2: 9 } }), adjust('A', 'W1', 10, at(3)), adjust('A', 'W2', 10, at(3)), adjust('NOITEM', 'W1', 1, at(3))]);
    expect(numbers(r, 'A', 'W1')).toEqual({ onHand: 10, reserved: 0, safetyStock: 3, atp: 7, available: 7 });
    expect(numbers(r, 'A', 'W2')).toEqual({ onHand: 10, reserved: 0, safetyStock: 0, atp: 10, available: 10 });
    expect(numbers(r, 'NOITEM', 'W1')).toEqual({ onHand: 1, reserved: 0, safetyStock: 0, atp: 1, available: 1 });
  });

  it('an item alone creates no row', () => {
    expect(referenceFold([item('A', at(1), { safetyStock: { W1: 3 } })]).atp.size).toBe(0);
  });

  it('sums each field over warehouses; available is max(0, total atp), not the sum of availables', () => {
    // W1: onHand 10, reserved 25 (order), safety 2 → atp −17, available 0
    // W2: onHand 20, reserved 0, safety 5 → atp 15, available 15
    // total: onHand 30, reserved 25, safety 7, atp −2 → available 0 (sum of availables would be 15)
    const r = referenceFold([
      item('A', at(0), { safetyStock: { W1: 2, W2: 5 } }),
      adjust('A', 'W1', 10, at(1)),
      adjust('A', 'W2', 20, at(1)),
      created('O1', at(2), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 25 }]),
    ]);
    expect(numbers(r, 'A', 'W1')).toEqual({ onHand: 10, reserved: 25, safetyStock: 2, atp: -17, available: 0 });
    expect(numbers(r, 'A', 'W2')).toEqual({ onHand: 20, reserved: 0, safetyStock: 5, atp: 15, available: 15 });
    expect(r.totals.get('A')).toEqual({ onHand: 30, reserved: 25, safetyStock: 7, atp: -2, available: 0 });
  });

  it('a negative warehouse is offset by a positive one in the total', () => {
    // W1 atp 0 − 4 = −4; W2 atp 10 → total atp 6, available 6
    const r = referenceFold([adjust('B', 'W1', -4, at(1)), adjust('B', 'W2', 10, at(1))]);
    expect(r.totals.get('B')).toEqual({ onHand: 6, reserved: 0, safetyStock: 0, atp: 6, available: 6 });
  });
});

describe('asOf and rowsAppliedBy', () => {
  it('moves with stock events, shipment and return lines, and valid version lines only', () => {
    // A@W1: adjust @1, order version @4, shipment @6, return @7 → 7; item @20, cancel @30, pick @40 do not count
    const r = referenceFold([
      item('A', at(0)),
      adjust('A', 'W1', 10, at(1)),
      created('O1', at(4), [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 2 }]),
      ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 1 }], at(6)),
      ret('O1', 'W1', [{ sku: 'A', qty: 1, disposition: 'SCRAP' }], at(7)),
      item('A', at(20), { safetyStock: { W1: 1 } }),
      cancel('O1', at(30)),
      pick('O1', 'W1', [{ lineNo: 1, sku: 'A', picked: 1, short: 0 }], at(40)),
    ]);
    expect(row(r, 'A', 'W1')?.asOf).toBe(at(7));
  });

  it('names exactly the pairs an event carries', () => {
    const e = (rec: InputRecord) => normalizeEvent(rec);
    expect(rowsAppliedBy(e(adjust('A', 'W1', 1, at(1))), false)).toEqual([{ sku: 'A', warehouse: 'W1' }]);
    expect(rowsAppliedBy(e(count('A', 'W2', 1, at(1))), false)).toEqual([{ sku: 'A', warehouse: 'W2' }]);
    expect(rowsAppliedBy(e(ship('O', 'W3', [{ lineNo: 1, sku: 'A', qty: 1 }, { lineNo: 2, sku: 'B', qty: 1 }], at(1))), false)).toEqual([
      { sku: 'A', warehouse: 'W3' },
      { sku: 'B', warehouse: 'W3' },
    ]);
    expect(rowsAppliedBy(e(ret('O', 'W4', [{ sku: 'C', qty: 1, disposition: 'SCRAP' }], at(1))), false)).toEqual([{ sku: 'C', warehouse: 'W4' }]);
    const version = e(created('O', at(1), [{ lineNo: 1, sku: 'A', warehouse: 'W5', quantity: 1 }]));
    expect(rowsAppliedBy(version, true)).toEqual([{ sku: 'A', warehouse: 'W5' }]);
    expect(rowsAppliedBy(version, false)).toEqual([]);
    expect(rowsAppliedBy(e(cancel('O', at(1))), true)).toEqual([]);
    expect(rowsAppliedBy(e(item('A', at(1), { safetyStock: { W1: 1 } })), true)).toEqual([]);
    expect(rowsAppliedBy(e(pick('O', 'W1', [{ lineNo: 1, sku: 'A', picked: 1, short: 0 }], at(1))), true)).toEqual([]);
  });
});

describe('duplicates and input normalization', () => {
  it('collapses records with the same topic and eventId', () => {
    // +5 sent three times, once more under another eventId: 5 + 5 = 10; the shipment twice: −2
    const a = adjust('A', 'W1', 5, at(1), 'dup');
    const s = ship('O1', 'W1', [{ lineNo: 1, sku: 'A', qty: 2 }], at(2), 'ship-dup');
    const r = referenceFold([a, a, structuredClone(a), adjust('A', 'W1', 5, at(1), 'other'), s, structuredClone(s)]);
    expect(row(r, 'A', 'W1')?.onHand).toBe(8);
  });

  it('keeps the first record when a re-sent eventId carries different content', () => {
    const r = referenceFold([adjust('A', 'W1', 5, at(1), 'x'), adjust('A', 'W1', 50, at(1), 'x')]);
    expect(row(r, 'A', 'W1')?.onHand).toBe(5);
  });

  it('treats the same eventId on two topics as two events', () => {
    // adjust +5 and count 100 share eventId 'same' on different topics: count @0 then +5 @1 → 105
    const r = referenceFold([count('A', 'W1', 100, at(0), 'same'), adjust('A', 'W1', 5, at(1), 'same')]);
    expect(row(r, 'A', 'W1')?.onHand).toBe(105);
  });

  it('accepts ISO-8601 occurredAt and omitted optional fields', () => {
    const iso = new Date(at(3)).toISOString();
    const r = referenceFold([
      { topic: 'item.upserted', value: { meta: { eventId: 'i', occurredAt: iso, source: 'ERP' }, sku: 'A', description: 'a', baseUom: 'EA', uomConversions: {} } },
      { topic: 'order.created', value: { meta: { eventId: 'o', occurredAt: iso, source: 'CRM' }, orderId: 'O1', customerId: 'C', channel: 'EDI', lines: [{ lineNo: 1, sku: 'A', warehouse: 'W1', quantity: 3 }] } },
      { topic: 'customer.upserted', value: { meta: { eventId: 'c', occurredAt: iso, source: 'CRM' }, customerId: 'C', name: 'n' } },
    ]);
    expect(row(r, 'A', 'W1')).toEqual({ sku: 'A', warehouse: 'W1', onHand: 0, reserved: 3, safetyStock: 0, atp: -3, available: 0, asOf: at(3) });
  });

  it('refuses an unknown topic', () => {
    expect(() => referenceFold([{ topic: 'order.status', value: { meta: { eventId: 'x', occurredAt: 1 } } }])).toThrow(/unknown source topic/);
  });
});

// ---------- the defining property ----------

const SKUS = ['A', 'B', 'NOITEM'];
const WAREHOUSES = ['W1', 'W2'];
const ORDERS = ['O1', 'O2', 'O3'];

/**
 * Small universes with many collisions: shared times, lineNos, skus, warehouses and orders.
 * Weighted so most order versions are valid (and some are not), and cancels stay rare enough for
 * every status to show up.
 */
const validLine = fc.record({
  lineNo: fc.integer({ min: 1, max: 3 }),
  sku: fc.constantFrom('A', 'B'),
  warehouse: fc.constantFrom(...WAREHOUSES),
  quantity: fc.integer({ min: 1, max: 6 }),
  uom: fc.constantFrom(null, 'EA', 'CS'),
});
const anyLine = fc.record({
  lineNo: fc.integer({ min: 1, max: 3 }),
  sku: fc.constantFrom(...SKUS),
  warehouse: fc.constantFrom(...WAREHOUSES),
  quantity: fc.integer({ min: -1, max: 6 }),
  uom: fc.constantFrom(null, 'EA', 'CS', 'XX'),
});
const versionLines = fc.oneof(
  { weight: 8, arbitrary: fc.uniqueArray(validLine, { selector: (l) => l.lineNo, minLength: 1, maxLength: 3 }) },
  { weight: 2, arbitrary: fc.array(anyLine, { maxLength: 3 }) },
);
const anyBody = fc.oneof(
  { weight: 1, arbitrary: fc.record({ topic: fc.constant('item.upserted'), sku: fc.constantFrom('A', 'B'), cs: fc.integer({ min: 1, max: 24 }), ss: fc.integer({ min: 0, max: 5 }) }) },
  { weight: 4, arbitrary: fc.record({ topic: fc.constantFrom('order.created', 'order.changed'), orderId: fc.constantFrom(...ORDERS), lines: versionLines }) },
  { weight: 1, arbitrary: fc.record({ topic: fc.constant('order.cancelled'), orderId: fc.constantFrom(...ORDERS) }) },
  { weight: 2, arbitrary: fc.record({ topic: fc.constant('pick.confirmed'), orderId: fc.constantFrom(...ORDERS), lines: fc.array(fc.record({ lineNo: fc.integer({ min: 1, max: 3 }), short: fc.integer({ min: 0, max: 3 }) }), { maxLength: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ topic: fc.constant('shipment.confirmed'), orderId: fc.constantFrom(...ORDERS, 'GHOST'), warehouse: fc.constantFrom(...WAREHOUSES), lines: fc.array(fc.record({ lineNo: fc.integer({ min: 1, max: 3 }), sku: fc.constantFrom(...SKUS), qty: fc.integer({ min: 0, max: 8 }) }), { maxLength: 2 }) }) },
  { weight: 3, arbitrary: fc.record({ topic: fc.constant('stock.adjusted'), sku: fc.constantFrom(...SKUS), warehouse: fc.constantFrom(...WAREHOUSES), delta: fc.integer({ min: -20, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ topic: fc.constant('stock.counted'), sku: fc.constantFrom(...SKUS), warehouse: fc.constantFrom(...WAREHOUSES), qty: fc.integer({ min: 0, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ topic: fc.constant('return.received'), orderId: fc.constantFrom(...ORDERS), warehouse: fc.constantFrom(...WAREHOUSES), lines: fc.array(fc.record({ sku: fc.constantFrom(...SKUS), qty: fc.integer({ min: 1, max: 5 }), disposition: fc.constantFrom('RESTOCK' as const, 'SCRAP' as const) }), { maxLength: 2 }) }) },
);

/** Turns generated bodies into records with distinct eventIds (deliberately not in time order). */
type Body = typeof anyBody extends fc.Arbitrary<infer T> ? T : never;

function toRecords(bodies: { body: Body; minute: number }[]): InputRecord[] {
  return bodies.map(({ body: b, minute }, i): InputRecord => {
    const t = at(minute);
    const id = `ev-${String((i * 7919) % 100_003).padStart(6, '0')}`;
    switch (b.topic) {
      case 'item.upserted':
        return item(b.sku, t, { conv: { CS: b.cs }, safetyStock: { W1: b.ss }, id });
      case 'order.created':
      case 'order.changed':
        return (b.topic === 'order.created' ? created : changed)(b.orderId, t, b.lines, id);
      case 'order.cancelled':
        return cancel(b.orderId, t, id);
      case 'pick.confirmed': {
        const r = pick(b.orderId, 'W1', b.lines.map((l) => ({ lineNo: l.lineNo, sku: 'A', picked: 1, short: l.short })), t);
        (r.value as { meta: { eventId: string } }).meta.eventId = id;
        return r;
      }
      case 'shipment.confirmed':
        return ship(b.orderId, b.warehouse, b.lines, t, id);
      case 'stock.adjusted':
        return adjust(b.sku, b.warehouse, b.delta, t, id);
      case 'stock.counted':
        return count(b.sku, b.warehouse, b.qty, t, id);
      case 'return.received': {
        const r = ret(b.orderId, b.warehouse, b.lines, t);
        (r.value as { meta: { eventId: string } }).meta.eventId = id;
        return r;
      }
    }
  });
}

/** Items A and B always exist (so most versions can be valid); more item versions are generated. */
const anyEventSet = fc
  .array(fc.record({ body: anyBody, minute: fc.integer({ min: 0, max: 6 }) }), { minLength: 1, maxLength: 60 })
  .map((bodies) => [item('A', at(0), { id: 'item-A0', safetyStock: { W2: 1 } }), item('B', at(0), { id: 'item-B0' }), ...toRecords(bodies)]);

describe('the fold is a function of the set of events', () => {
  it('gives the same result for any permutation of the input', () => {
    fc.assert(
      fc.property(
        anyEventSet.chain((records) => fc.tuple(fc.constant(records), fc.shuffledSubarray(records, { minLength: records.length, maxLength: records.length }))),
        ([records, shuffled]) => {
          expect(canonicalResult(referenceFold(shuffled))).toEqual(canonicalResult(referenceFold(records)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the same result when events are repeated (re-sent identical copies), in any order', () => {
    fc.assert(
      fc.property(
        anyEventSet.chain((records) =>
          fc.tuple(
            fc.constant(records),
            fc.array(fc.nat({ max: Math.max(0, records.length - 1) }), { maxLength: records.length === 0 ? 0 : 40 }).chain((dupIdx) => {
              const withDups = [...records, ...dupIdx.map((i) => structuredClone(records[i] as InputRecord))];
              return fc.shuffledSubarray(withDups, { minLength: withDups.length, maxLength: withDups.length });
            }),
          ),
        ),
        ([records, noisy]) => {
          expect(canonicalResult(referenceFold(noisy))).toEqual(canonicalResult(referenceFold(records)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps the SPEC invariants on any set', () => {
    fc.assert(
      fc.property(anyEventSet, (records) => {
        const r = referenceFold(records);
        const sums = new Map<string, { onHand: number; reserved: number; safetyStock: number; atp: number }>();
        for (const x of r.atp.values()) {
          expect(x.reserved).toBeGreaterThanOrEqual(0);
          expect(x.atp).toBe(x.onHand - x.reserved - x.safetyStock);
          expect(x.available).toBe(Math.max(0, x.atp));
          const s = sums.get(x.sku) ?? { onHand: 0, reserved: 0, safetyStock: 0, atp: 0 };
          sums.set(x.sku, { onHand: s.onHand + x.onHand, reserved: s.reserved + x.reserved, safetyStock: s.safetyStock + x.safetyStock, atp: s.atp + x.atp });
        }
        expect(new Set(r.totals.keys())).toEqual(new Set(sums.keys()));
        for (const [sku, s] of sums) expect(r.totals.get(sku)).toEqual({ ...s, available: Math.max(0, s.atp) });
        for (const o of r.orders.values()) {
          if (o.status === 'REJECTED') expect(o.lines).toEqual([]);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('scale', () => {
  it('folds 100k events in a few seconds', () => {
    const records: InputRecord[] = [item('A', at(0), { safetyStock: { W1: 5 } }), item('B', at(0))];
    for (let i = 0; records.length < 100_000; i++) {
      const o = `O${i}`;
      const sku = i % 2 === 0 ? 'A' : 'B';
      const wh = `W${i % 10}`;
      records.push(adjust(sku, wh, 10, at(i % 1000)));
      records.push(created(o, at(i % 1000), [{ lineNo: 1, sku, warehouse: wh, quantity: 3 }]));
      records.push(ship(o, wh, [{ lineNo: 1, sku, qty: 1 }], at((i % 1000) + 1)));
      if (i % 100 === 0) records.push(count(sku, wh, 7, at(i % 1000)));
    }
    const started = performance.now();
    const r = referenceFold(records);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(r.orders.size).toBeGreaterThan(30_000);
  });
});
