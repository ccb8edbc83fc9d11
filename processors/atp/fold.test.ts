/**
 * The atp fold against hand-worked SPEC §5 cases: on hand from movements and cycle counts in
 * event time (any arrival order within grace), the grace horizon and late counts, absolute
 * reservations with rev, asOf and row existence, safety stock and refresh, change detection.
 */
import { describe, expect, it } from 'vitest';
import type { Output } from '../../runtime/processor/types';
import { adjust, at, count, HOUR, item, itemTable, meta, type Rec } from '../test-builders';
import { toEvent } from '../types';
import atpDeclaration from './index';
import { DEFAULT_GRACE_MS, foldAtp, refreshAtp, type AtpRow, type AtpState } from './fold';

const items = itemTable(item('A', at(0), { safetyStock: { W1: 5 } }));
const ctx = { items, graceMs: DEFAULT_GRACE_MS };

const reservation = (orderId: string, reserved: number, rev: number, touchedAt: number | null, sku = 'A', warehouse = 'W1'): Rec => ({
  topic: 'orders.movements',
  value: { kind: 'RESERVATION', meta: meta(touchedAt ?? at(0)), orderId, sku, warehouse, reserved, rev, touchedAt },
});
const movement = (delta: number, t: number, sku = 'A', warehouse = 'W1'): Rec => {
  const m = meta(t);
  return { topic: 'orders.movements', value: { kind: 'STOCK', meta: m, movementId: m.eventId, sku, warehouse, delta, occurredAt: t } };
};

function run(records: Rec[], options: { graceMs?: number; start?: AtpState } = {}) {
  const c = { ...ctx, graceMs: options.graceMs ?? ctx.graceMs };
  let state = options.start;
  const outputs: Output[] = [];
  let late = 0;
  for (const r of records) {
    const step = foldAtp(state, { topic: r.topic, value: toEvent(r.topic, r.value) }, c);
    state = step.state;
    late += step.lateBeyondGrace ?? 0;
    outputs.push(...step.outputs);
  }
  const rows = outputs.filter((o) => o.topic === 'atp.changed').map((o) => o.value as AtpRow);
  return { state, outputs, rows, row: rows.at(-1), late };
}

describe('on hand (SPEC §5)', () => {
  const cases: { name: string; events: Rec[]; onHand: number; asOf: number }[] = [
    { name: 'movements only: their sum', events: [adjust('A', 'W1', 10, at(1)), movement(-3, at(2)), movement(4, at(3))], onHand: 11, asOf: at(3) },
    { name: 'a count then later movements', events: [count('A', 'W1', 50, at(1)), adjust('A', 'W1', -5, at(2))], onHand: 45, asOf: at(2) },
    { name: 'movements before the count are inside it', events: [adjust('A', 'W1', 7, at(1)), count('A', 'W1', 50, at(2))], onHand: 50, asOf: at(2) },
    {
      name: 'a count arriving after later movements still gives the event-time answer',
      events: [adjust('A', 'W1', 7, at(1)), adjust('A', 'W1', 3, at(5)), movement(-2, at(6)), count('A', 'W1', 50, at(4))],
      onHand: 51,
      asOf: at(6),
    },
    { name: 'a movement at the count’s very millisecond is inside the count', events: [adjust('A', 'W1', 9, at(2)), count('A', 'W1', 50, at(2))], onHand: 50, asOf: at(2) },
    {
      name: 'the latest count wins; an older count arriving later changes nothing',
      events: [count('A', 'W1', 50, at(3)), adjust('A', 'W1', 1, at(4)), count('A', 'W1', 10, at(1))],
      onHand: 51,
      asOf: at(4),
    },
    {
      name: 'equal count times: the greater eventId wins, either arrival order',
      events: [count('A', 'W1', 30, at(2), 'cnt-b'), count('A', 'W1', 20, at(2), 'cnt-a')],
      onHand: 30,
      asOf: at(2),
    },
    {
      name: 'equal count times, other order',
      events: [count('A', 'W1', 20, at(2), 'cnt-a2'), count('A', 'W1', 30, at(2), 'cnt-b2')],
      onHand: 30,
      asOf: at(2),
    },
  ];
  it.each(cases)('$name', ({ events, onHand, asOf }) => {
    const { row } = run(events);
    expect(row?.onHand).toBe(onHand);
    expect(row?.asOf).toBe(asOf);
  });
});

describe('grace period (SPEC §5)', () => {
  it('movements older than the grace window are folded away without changing on hand', () => {
    const hours = [0, 1, 2, 30, 31, 60];
    const { state, row } = run(hours.map((h) => adjust('A', 'W1', 1, at(h * 60))));
    expect(row?.onHand).toBe(6);
    // Kept one by one: only those within 24 h of the newest (60 h): none of 0..31 h.
    expect(state?.recent.map(([t]) => t)).toEqual([at(60 * 60)]);
  });

  it('a count up to the grace period late is exact', () => {
    const { row, late } = run([adjust('A', 'W1', 1, at(0)), adjust('A', 'W1', 2, at(24 * 60)), count('A', 'W1', 100, at(0))]);
    // count at t0 (exactly 24 h before the newest event: within grace) + the movement after it.
    expect(row?.onHand).toBe(102);
    expect(late).toBe(0);
  });

  it('a count later than grace is applied as of its arrival and reported', () => {
    const { row, late, state } = run([adjust('A', 'W1', 2, at(0)), adjust('A', 'W1', 3, at(25 * 60)), count('A', 'W1', 100, at(10))]);
    // Exact would be 100 + 3; beyond grace the count covers everything seen: 100.
    expect(row?.onHand).toBe(100);
    expect(late).toBe(1);
    // Movements after its arrival add to it; its own time still ranks later counts.
    const after = run([adjust('A', 'W1', 4, at(26 * 60)), count('A', 'W1', 7, at(5))], { start: state });
    expect(after.row?.onHand).toBe(104);
    expect(after.late).toBe(1);
  });

  it('a movement later than grace is applied as of its arrival: added, even before the latest count', () => {
    const base = [count('A', 'W1', 100, at(60)), adjust('A', 'W1', 1, at(30 * 60))];
    expect(run([...base, adjust('A', 'W1', 5, at(61))])).toMatchObject({ late: 1, row: { onHand: 106 } });
    // In event time the count at 60 would cover a movement at 59; as of its arrival it comes after.
    expect(run([...base, adjust('A', 'W1', 5, at(59))])).toMatchObject({ late: 1, row: { onHand: 106 } });
    // Without a count, and after the count became the latest event itself.
    expect(run([adjust('A', 'W1', 1, at(30 * 60)), adjust('A', 'W1', -4, at(0))])).toMatchObject({ late: 1, row: { onHand: -3 } });
    expect(run([adjust('A', 'W1', 1, at(0)), count('A', 'W1', 50, at(30 * 60)), adjust('A', 'W1', 7, at(60))])).toMatchObject({ late: 1, row: { onHand: 57 } });
  });

  it('late events keep their arrival order: a late count covers the late movements before it, not those after', () => {
    const base = [adjust('A', 'W1', 2, at(30 * 60))];
    // +5 late, then a late count of 100: the count came after the movement.
    expect(run([...base, adjust('A', 'W1', 5, at(60)), count('A', 'W1', 100, at(120))])).toMatchObject({ late: 2, row: { onHand: 100 } });
    // A late count, then +5 late: the movement came after the count.
    expect(run([...base, count('A', 'W1', 100, at(120)), adjust('A', 'W1', 5, at(60))])).toMatchObject({ late: 2, row: { onHand: 105 } });
    // Many late events in a row, then an on-time one: all still in arrival order, the on-time one after.
    const many = Array.from({ length: 50 }, (_, i) => adjust('A', 'W1', 1, at(i)));
    expect(run([...base, ...many, count('A', 'W1', 10, at(100)), adjust('A', 'W1', 3, at(30 * 60 + 1))])).toMatchObject({ late: 51, row: { onHand: 13 } });
  });

  it('a late movement, then a count in grace but older than its arrival: the count does not undo it', () => {
    // Newest event 30 h; the +5 (at 1 h) arrives beyond grace, as of 30 h; a count at 20 h (in grace) then
    // says 100 at 20 h: on hand = 100 + what came after 20 h = the +2 at 30 h and the late +5.
    const { row, late } = run([adjust('A', 'W1', 2, at(30 * 60)), adjust('A', 'W1', 5, at(60)), count('A', 'W1', 100, at(20 * 60))]);
    expect(late).toBe(1);
    expect(row?.onHand).toBe(107);
  });

  it('the grace period is a setting (default 24 h) and must be a non-negative number', () => {
    const tables = new Map([['item.upserted', items]]);
    expect(atpDeclaration.createContext(tables, {}).graceMs).toBe(24 * HOUR);
    expect(atpDeclaration.createContext(tables, { graceMs: HOUR }).graceMs).toBe(HOUR);
    expect(() => atpDeclaration.createContext(tables, { graceMs: -1 })).toThrow(/graceMs/);
    // With one hour of grace, a count two hours late is not exact any more.
    const events = [adjust('A', 'W1', 2, at(0)), adjust('A', 'W1', 3, at(180)), count('A', 'W1', 100, at(10))];
    expect(run(events, { graceMs: HOUR }).late).toBe(1);
    expect(run(events).late).toBe(0);
    expect(run(events).row?.onHand).toBe(103);
  });
});

describe('reservations, safety stock, asOf (SPEC §5)', () => {
  it('atp = onHand − reserved − safetyStock; available = max(0, atp)', () => {
    const { row } = run([adjust('A', 'W1', 20, at(1)), reservation('O1', 12, 1, at(2)), reservation('O2', 6, 1, at(3))]);
    expect(row).toEqual({ sku: 'A', warehouse: 'W1', onHand: 20, reserved: 18, safetyStock: 5, atp: -3, available: 0, asOf: at(3) });
  });

  it('reservations are absolute per order: a newer rev replaces, an older or equal rev is ignored', () => {
    const { row, state } = run([reservation('O1', 12, 1, at(2)), reservation('O1', 4, 3, at(2)), reservation('O1', 9, 2, at(2)), reservation('O1', 9, 3, at(2))]);
    expect(row?.reserved).toBe(4);
    const zero = run([reservation('O1', 0, 4, at(2))], { start: state });
    expect(zero.row?.reserved).toBe(0);
    expect(zero.state?.reservations).toEqual({});
  });

  it('a newer orders generation (a rebuild) replaces any rev of an older one; an older generation is ignored', () => {
    const inGen = (gen: string, orderId: string, reserved: number, rev: number): Rec => {
      const r = reservation(orderId, reserved, rev, at(2));
      return { ...r, value: { ...r.value, generation: gen } };
    };
    const old = '001795430000000-aaaaaaaa';
    const rebuilt = '001795439999999-00000000';
    const { row } = run([inGen(old, 'O1', 12, 9), inGen(rebuilt, 'O1', 5, 2), inGen(old, 'O1', 30, 10), inGen(rebuilt, 'O1', 7, 3), inGen(rebuilt, 'O1', 1, 1)]);
    expect(row?.reserved).toBe(7);
    // Records without a generation (the empty one) are older than any stamped generation.
    expect(run([inGen(old, 'O2', 3, 1), reservation('O2', 8, 5, at(2))]).row?.reserved).toBe(3);
  });

  it('touchedAt moves asOf (a valid version naming the row); a STOCK movement with delta 0 makes the row exist', () => {
    expect(run([reservation('O1', 0, 1, at(7))]).row).toMatchObject({ onHand: 0, reserved: 0, asOf: at(7) });
    expect(run([movement(0, at(4))]).row).toMatchObject({ onHand: 0, asOf: at(4) });
    // A zero reservation without touchedAt names nothing: no row, no state.
    expect(run([reservation('O1', 0, 1, null)])).toMatchObject({ state: undefined, rows: [] });
  });

  it('emits atp.changed only when the row changes', () => {
    const { rows } = run([adjust('A', 'W1', 5, at(1)), reservation('O1', 2, 1, at(1)), reservation('O1', 2, 1, at(1)), adjust('A', 'W1', 0, at(1))]);
    expect(rows.map((r) => [r.onHand, r.reserved])).toEqual([
      [5, 0],
      [5, 2],
    ]);
  });

  it('refresh re-emits a row whose safety stock changed, and nothing otherwise', () => {
    const table = itemTable(item('A', at(0), { safetyStock: { W1: 5 } }));
    const c = { items: table, graceMs: DEFAULT_GRACE_MS };
    const first = foldAtp(undefined, { topic: 'stock.adjusted', value: toEvent('stock.adjusted', adjust('A', 'W1', 10, at(1)).value) }, c);
    expect(refreshAtp(first.state as AtpState, 'A@W1', c).outputs).toEqual([]);
    table.upsert(toEvent('item.upserted', item('A', at(5), { safetyStock: { W1: 8 } }).value) as never);
    const refreshed = refreshAtp(first.state as AtpState, 'A@W1', c);
    expect(refreshed.outputs.filter((o) => o.topic === 'atp.changed').map((o) => o.value)).toEqual([{ sku: 'A', warehouse: 'W1', onHand: 10, reserved: 0, safetyStock: 8, atp: 2, available: 2, asOf: at(1) }]);
  });

  it('an item update affects every warehouse row of its sku and no other sku', () => {
    const handler = atpDeclaration.onTableUpdate;
    const value = toEvent('item.upserted', item('A', at(1)).value);
    expect(handler?.affects('item.upserted', value, 'A@W1')).toBe(true);
    expect(handler?.affects('item.upserted', value, 'A@W2')).toBe(true);
    expect(handler?.affects('item.upserted', value, 'AB@W1')).toBe(false);
  });
});
