/**
 * The `atp` fold (SPEC §5), per sku@warehouse. Pure: no clock, no I/O; safety stock comes from
 * the item table in `ctx`, the grace period from `ctx.graceMs`.
 *
 * Inputs: stock.adjusted, stock.counted, orders.movements (./../orders/movements.ts). Output:
 * atp.changed `{ sku, warehouse, onHand, reserved, safetyStock, atp, available, asOf }` whenever
 * the row differs from the last one sent. `refresh` recomputes a row after its item changed.
 *
 * On hand in event time, with a grace period:
 *  - `watermark` = the greatest occurredAt of a stock fact at the row (adjustment, count, STOCK
 *    movement); `settledBefore` = watermark − graceMs, never decreasing. Movements at or after
 *    it are kept one by one in `recent`; older ones are folded into `baseline`, the on-hand
 *    contribution of everything before `settledBefore`. So the state stays bounded by the
 *    traffic of one grace period.
 *  - The latest count C (greatest occurredAt, ties greater eventId) has an effective time `at`,
 *    normally its occurredAt. onHand = C.qty + Σ recent after C.at when C.at ≥ settledBefore,
 *    else baseline + Σ recent (baseline already starts from C).
 *  - A movement older than settledBefore is still exact: sums commute and the only thing that
 *    decides whether it counts is whether it is later than C, which the state knows; it goes
 *    into baseline (or is dropped if C supersedes it). It is still reported as late.
 *  - A count older than settledBefore that is later than C cannot be exact (the movements
 *    between it and settledBefore are folded away): it is applied as of its arrival, i.e. with
 *    `at` = the watermark, so only movements after the watermark add to it. The step reports it
 *    in `lateBeyondGrace` for the metric. Its real occurredAt/eventId still rank later counts.
 *  - A movement with occurredAt EQUAL to C's is inside the count (SPEC's strict `>`).
 * Reservations: one absolute value per orderId with its generation and rev. A record is taken
 * when its generation is newer (a rebuilt orders state: its history was refolded in another
 * interleaving, so only its own revs are comparable), or the same with a greater rev; anything
 * else is an older picture of the order and ignored. An entry that drops to 0 is removed
 * (shipped and cancelled orders would otherwise pile up on hot rows and make every fold
 * O(orders ever)); within a generation an older record for it can then only come back as a
 * duplicate, which the runtime's eventId dedupe (kept at least a grace period) drops.
 * asOf = greatest occurredAt of stock facts and of RESERVATION touchedAt (valid versions naming
 * the row); cancels, picks and item updates never move it. A row exists once any of those
 * arrived; a RESERVATION with touchedAt null for a row never touched creates nothing.
 */
import type { TableView } from '../../runtime/processor/table';
import type { FoldInput, Output, Step } from '../../runtime/processor/types';
import { CRM_COMMANDS, crmCommand, ERP_COMMANDS, erpCommand, type Cause } from '../commands';
import { MOVEMENTS_TOPIC, type MovementRecord } from '../orders/movements';
import { stockKey, type Item, type Meta, type StockAdjusted, type StockCounted } from '../types';

export const ATP_INPUTS = ['stock.adjusted', 'stock.counted', MOVEMENTS_TOPIC] as const;
export const ATP_OUTPUTS = ['atp.changed', ERP_COMMANDS, CRM_COMMANDS] as const;
export const DEFAULT_GRACE_MS = 24 * 60 * 60 * 1000;

export interface AtpContext {
  items: TableView<Item>;
  graceMs: number;
}

export interface Count {
  eventId: string;
  occurredAt: number;
  /** Effective time: occurredAt, or the watermark at arrival for a count late beyond grace. */
  at: number;
  qty: number;
}

export interface AtpState {
  sku: string;
  warehouse: string;
  count: Count | null;
  baseline: number;
  settledBefore: number | null;
  watermark: number | null;
  /** Movements with occurredAt ≥ settledBefore, sorted by occurredAt: [occurredAt, delta]. */
  recent: [number, number][];
  /** By orderId; `gen` absent = the empty generation. */
  reservations: Record<string, { reserved: number; rev: number; gen?: string }>;
  /** Σ reservations[*].reserved, kept so a hot row does not re-add its orders on every fold. */
  reserved: number;
  asOf: number | null;
  /** JSON of the last atp.changed sent. */
  lastSent: string | null;
  /** The effective time given to the last event applied as of its arrival (beyond grace); absent: none yet. */
  lateAt?: number;
}

export interface AtpRow {
  sku: string;
  warehouse: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  atp: number;
  available: number;
  asOf: number;
}

export function emptyAtpState(sku: string, warehouse: string): AtpState {
  return { sku, warehouse, count: null, baseline: 0, settledBefore: null, watermark: null, recent: [], reservations: {}, reserved: 0, asOf: null, lastSent: null };
}

/**
 * Running sums over `recent`, kept on the state object under a symbol (never serialised) and
 * updated by the two functions that change `recent`; rebuilt when absent (a state parsed from
 * JSON, once per batch). Without them every fold summed its row's whole grace window again — on a
 * hot row thousands of movements, a third of the folds' time at 100,000 events. Quantities are
 * integers, so the sums are exactly the ones the window would give.
 */
const SUMS = Symbol('atp.recentSums');

interface RecentSums {
  /** Σ delta over `recent`. */
  total: number;
  /** The count time `after` is for; null: not computed. */
  afterAt: number | null;
  /** Σ delta over `recent` with occurredAt > afterAt. */
  after: number;
}

function sumsOf(state: AtpState): RecentSums {
  const holder = state as AtpState & { [SUMS]?: RecentSums };
  let sums = holder[SUMS];
  if (sums === undefined) {
    sums = { total: state.recent.reduce((sum, [, delta]) => sum + delta, 0), afterAt: null, after: 0 };
    Object.defineProperty(state, SUMS, { value: sums, writable: true, enumerable: false, configurable: true });
  }
  return sums;
}

export function onHandOf(state: AtpState): number {
  const { count } = state;
  const settled = state.settledBefore ?? Number.NEGATIVE_INFINITY;
  const sums = sumsOf(state);
  if (count && count.at >= settled) {
    if (sums.afterAt !== count.at) {
      sums.after = state.recent.reduce((sum, [t, delta]) => (t > count.at ? sum + delta : sum), 0);
      sums.afterAt = count.at;
    }
    return count.qty + sums.after;
  }
  return state.baseline + sums.total;
}

export function safetyStockOf(item: Item | undefined, warehouse: string): number {
  if (!item || !Object.prototype.hasOwnProperty.call(item.safetyStock, warehouse)) return 0;
  return item.safetyStock[warehouse] ?? 0;
}

export function rowOf(state: AtpState, ctx: AtpContext): AtpRow {
  const onHand = onHandOf(state);
  const reserved = state.reserved;
  const safetyStock = safetyStockOf(ctx.items.get(state.sku), state.warehouse);
  const atp = onHand - reserved - safetyStock;
  return { sku: state.sku, warehouse: state.warehouse, onHand, reserved, safetyStock, atp, available: Math.max(0, atp), asOf: state.asOf as number };
}

function isLaterCount(a: { occurredAt: number; eventId: string }, b: Count): boolean {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt > b.occurredAt;
  return a.eventId > b.eventId;
}

const moveAsOf = (state: AtpState, t: number): void => {
  state.asOf = state.asOf === null ? t : Math.max(state.asOf, t);
};

/** Advances the watermark and folds movements that fell out of the grace window into baseline. */
function advance(state: AtpState, t: number, graceMs: number): void {
  if (state.watermark !== null && t <= state.watermark) return;
  state.watermark = t;
  const horizon = t - graceMs;
  if (state.settledBefore !== null && horizon <= state.settledBefore) return;
  const settled = state.settledBefore ?? Number.NEGATIVE_INFINITY;
  let k = 0;
  while (k < state.recent.length && (state.recent[k] as [number, number])[0] < horizon) k++;
  const sums = sumsOf(state);
  const leaving = state.recent.splice(0, k);
  for (const [at, delta] of leaving) {
    sums.total -= delta;
    if (sums.afterAt !== null && at > sums.afterAt) sums.after -= delta;
  }
  const { count } = state;
  if (count && count.at >= settled && count.at < horizon) {
    state.baseline = leaving.reduce((sum, [at, delta]) => (at > count.at ? sum + delta : sum), count.qty);
  } else if (!(count && count.at >= horizon)) {
    state.baseline = leaving.reduce((sum, [, delta]) => sum + delta, state.baseline);
  }
  state.settledBefore = horizon;
}

/**
 * The time an event beyond grace is applied at (SPEC §5 "as of its arrival"): just after the
 * newest event seen at the row and after the previous late one, so late events keep their arrival
 * order among themselves (a late count covers the late movements before it, not those after).
 * Steps of 1/1024 ms are exact in a double at epoch-millis magnitudes and stay below the next
 * millisecond for a thousand late events in a row.
 */
function arrivalTime(state: AtpState): number {
  const at = Math.max(state.watermark as number, state.lateAt ?? Number.NEGATIVE_INFINITY) + LATE_STEP_MS;
  state.lateAt = at;
  return at;
}

const LATE_STEP_MS = 1 / 1024;

/**
 * Applies a movement in event time; true if it arrived later than the grace period. A late one is
 * applied as of its arrival, so it adds to on hand even when the latest count's time is after its own.
 */
function applyMovement(state: AtpState, t: number, delta: number, graceMs: number): boolean {
  const late = state.settledBefore !== null && t < state.settledBefore;
  insertRecent(state, late ? arrivalTime(state) : t, delta);
  if (!late) advance(state, t, graceMs);
  return late;
}

function insertRecent(state: AtpState, t: number, delta: number): void {
  let i = state.recent.length;
  while (i > 0 && (state.recent[i - 1] as [number, number])[0] > t) i--;
  const sums = sumsOf(state);
  state.recent.splice(i, 0, [t, delta]);
  sums.total += delta;
  if (sums.afterAt !== null && t > sums.afterAt) sums.after += delta;
}

function applyCount(state: AtpState, counted: StockCounted, graceMs: number): boolean {
  const { eventId, occurredAt } = counted.meta;
  const late = state.settledBefore !== null && occurredAt < state.settledBefore;
  if (state.count && !isLaterCount({ eventId, occurredAt }, state.count)) return late;
  if (late) {
    // As of its arrival: everything seen so far, earlier late movements included, is inside the count.
    state.count = { eventId, occurredAt, at: arrivalTime(state), qty: counted.countedQuantity };
  } else {
    state.count = { eventId, occurredAt, at: occurredAt, qty: counted.countedQuantity };
    advance(state, occurredAt, graceMs);
  }
  return late;
}

/**
 * atp.changed when the row changed, and UpdateAvailability for the CRM when what the CRM is told
 * (available, atp, asOf) changed (its id names those figures, ../commands.ts). The sink coalesces them per row (SPEC §7).
 */
function emitIfChanged(state: AtpState, ctx: AtpContext, cause: Cause): Output[] {
  if (state.asOf === null) return [];
  const row = rowOf(state, ctx);
  const json = JSON.stringify(row);
  if (json === state.lastSent) return [];
  const before = state.lastSent === null ? null : (JSON.parse(state.lastSent) as AtpRow);
  state.lastSent = json;
  const key = stockKey(state.sku, state.warehouse);
  const outputs: Output[] = [{ topic: 'atp.changed', key, value: row }];
  if (!before || before.available !== row.available || before.atp !== row.atp || before.asOf !== row.asOf) {
    const payload = { sku: row.sku, warehouse: row.warehouse, available: row.available, atp: row.atp, asOf: row.asOf };
    outputs.push(crmCommand('UpdateAvailability', key, cause, payload));
  }
  return outputs;
}

export function foldAtp(previous: AtpState | undefined, input: FoldInput, ctx: AtpContext): Step<AtpState> {
  const value = input.value as { meta: Meta; sku: string; warehouse: string };
  // The fold owns `previous` (runtime/processor/types.ts): updated in place, hot rows stay cheap.
  const state: AtpState = previous ?? emptyAtpState(value.sku, value.warehouse);
  const cause: Cause = { topic: input.topic, meta: value.meta };
  const commands: Output[] = [];
  let late = false;
  switch (input.topic) {
    case 'stock.adjusted': {
      const adjusted = value as StockAdjusted;
      late = applyMovement(state, adjusted.meta.occurredAt, adjusted.delta, ctx.graceMs);
      moveAsOf(state, adjusted.meta.occurredAt);
      commands.push(
        erpCommand('PostInventoryAdjustment', stockKey(adjusted.sku, adjusted.warehouse), cause, {
          sku: adjusted.sku,
          warehouse: adjusted.warehouse,
          delta: adjusted.delta,
          reason: adjusted.reason,
          adjustedAt: adjusted.meta.occurredAt,
        }),
      );
      break;
    }
    case 'stock.counted': {
      const counted = value as StockCounted;
      late = applyCount(state, counted, ctx.graceMs);
      moveAsOf(state, counted.meta.occurredAt);
      commands.push(
        erpCommand('PostCycleCount', stockKey(counted.sku, counted.warehouse), cause, {
          sku: counted.sku,
          warehouse: counted.warehouse,
          countedQuantity: counted.countedQuantity,
          countedAt: counted.meta.occurredAt,
        }),
      );
      break;
    }
    case MOVEMENTS_TOPIC: {
      const record = value as unknown as MovementRecord;
      if (record.kind === 'STOCK') {
        late = applyMovement(state, record.occurredAt, record.delta, ctx.graceMs);
        moveAsOf(state, record.occurredAt);
      } else {
        const known = state.reservations[record.orderId];
        const gen = record.generation ?? '';
        if (known && !isNewerReservation(gen, record.rev, known.gen ?? '', known.rev)) return { state: previous, outputs: [] };
        state.reserved += record.reserved - (known?.reserved ?? 0);
        if (record.reserved === 0) delete state.reservations[record.orderId];
        else state.reservations[record.orderId] = gen === '' ? { reserved: record.reserved, rev: record.rev } : { reserved: record.reserved, rev: record.rev, gen };
        if (record.touchedAt !== null) moveAsOf(state, record.touchedAt);
      }
      break;
    }
    default:
      throw new Error(`atp: not an input topic "${input.topic}"`);
  }
  if (state.asOf === null && !previous) {
    // Nothing has named this row yet (a zero reservation from an order without a line here).
    return { state: Object.keys(state.reservations).length > 0 ? state : undefined, outputs: [] };
  }
  const step: Step<AtpState> = { state, outputs: [...emitIfChanged(state, ctx, cause), ...commands] };
  if (late) step.lateBeyondGrace = 1;
  return step;
}

/** Generations are time-ordered strings (runtime/redis/state-store.ts epochs): compare as strings. */
export function isNewerReservation(gen: string, rev: number, knownGen: string, knownRev: number): boolean {
  if (gen !== knownGen) return gen > knownGen;
  return rev > knownRev;
}

/**
 * After the sku's item changed (safety stock): re-emit the row if it changed. The cause is the
 * item record that changed it — given, or else the sku's current item (a whole-partition refresh).
 */
export function refreshAtp(previous: AtpState, _key: string, ctx: AtpContext, table?: { topic: string; value: unknown }): Step<AtpState> {
  const item = (table?.value as Item | undefined) ?? ctx.items.get(previous.sku);
  const meta: Meta = item?.meta ?? { eventId: `no-item:${previous.sku}`, occurredAt: previous.asOf ?? 0, source: 'atp', correlationId: null, causationId: null };
  return { state: previous, outputs: emitIfChanged(previous, ctx, { topic: 'item.upserted', meta }) };
}

/** The state key of an atp input: sku@warehouse. */
export function atpKeyOf(_topic: string, value: unknown): string {
  const v = value as { sku: string; warehouse: string };
  return stockKey(v.sku, v.warehouse);
}
