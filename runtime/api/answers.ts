/**
 * The pure half of the API: from what Redis returned to what a request is answered with. No I/O.
 *
 *   judgePartitions  is a store servable? (SPEC issue "never serve silently wrong data")
 *   parseAtpRow / mergeAtpRow / skuAnswer / rowAnswer / totalsOf   GET /atp/{sku}[/{warehouse}]
 *   planCheck / evaluateCheck                                        POST /atp/check
 *   parseOrderStatus / mergeOrder / orderAnswer                      GET /orders/{orderId}
 *
 * Stored rows (runtime/redis/keys.ts): atp `view:sku:<sku>` warehouse → JSON
 * `{sku, warehouse, onHand, reserved, safetyStock, atp, available, asOf}` (asOf epoch ms or null);
 * orders `view:status` orderId → JSON `{orderId, status, lines, updatedAt}` (updatedAt epoch ms).
 * Answers carry times as ISO-8601 UTC strings. A row that does not parse is TRB_STATE_INVALID:
 * answering with a guess would be silently wrong.
 */
import type { AtpRow } from '../../processors/atp/fold';
import type { StatusLine } from '../../processors/orders/fold';
import { TributaryError } from '../errors';

/** A row as the atp processor stores it in its view (processors/atp/fold.ts AtpRow). */
export type AtpRowValue = Omit<AtpRow, 'asOf'> & { asOf: number | null };

export type AtpRowAnswer = Omit<AtpRow, 'asOf'> & { asOf: string | null };

export type AtpWarehouseAnswer = Omit<AtpRowAnswer, 'sku'>;

export interface AtpTotals {
  onHand: number;
  reserved: number;
  safetyStock: number;
  atp: number;
  available: number;
}

export interface AtpSkuAnswer {
  sku: string;
  warehouses: AtpWarehouseAnswer[];
  total: AtpTotals;
}

export interface CheckLine {
  sku: string;
  /** null: checked against the sku's network total (extension of SPEC §10). */
  warehouse: string | null;
  quantity: number;
}

export interface CheckAnswerLine extends CheckLine {
  available: number;
  promisable: boolean;
}

/** What POST /atp/check reads per sku: every warehouse (network total needed) or the named ones. */
export interface SkuReadPlan {
  all: boolean;
  warehouses: string[];
}

export type OrderLine = StatusLine;

export interface OrderStatusValue {
  orderId: string;
  status: string;
  lines: OrderLine[];
  updatedAt: number;
}

export interface OrderAnswer {
  orderId: string;
  status: string;
  lines: OrderLine[];
  updatedAt: string;
}

/** Rows of one sku by warehouse, merged over partitions. */
export type SkuRows = Map<string, AtpRowValue>;

function invalid(what: string, detail: string): TributaryError {
  return new TributaryError('TRB_STATE_INVALID', `the stored ${what} cannot be read (${detail}); rebuild the view`);
}

function parseJson(json: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw invalid(what, (error as Error).message);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(what, 'not a JSON object');
  return value as Record<string, unknown>;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function iso(ms: number, what: string): string {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw invalid(what, `time ${ms} is out of range`);
  return date.toISOString();
}

// ---------------------------------------------------------------------------------------------
// Servability

/**
 * Why a store may not be served, or null if every partition is servable. `marks[p]` is the
 * partition's watermark `[@epoch, @catchup]`. Servable iff the processor epoch exists, the
 * partition carries that epoch and is not catching up. No partitions (count unknown) is not servable.
 */
export function judgePartitions(epoch: string | null, marks: ReadonlyArray<ReadonlyArray<string | null> | null | undefined>): string[] | null {
  let ok = epoch !== null && marks.length > 0;
  for (let p = 0; ok && p < marks.length; p++) {
    const mark = marks[p];
    ok = !!mark && mark[0] === epoch && (mark[1] === null || mark[1] === undefined);
  }
  if (ok) return null;
  if (marks.length === 0) return ['the partition count is not known yet'];
  if (epoch === null) return ['no state epoch (the state was lost or was never created)'];
  const reasons: string[] = [];
  for (let p = 0; p < marks.length; p++) {
    const mark = marks[p];
    const partitionEpoch = mark?.[0] ?? null;
    if (partitionEpoch === null) reasons.push(`partition ${p} holds no state yet`);
    else if (partitionEpoch !== epoch) reasons.push(`partition ${p} belongs to an older state epoch`);
    else if (mark?.[1] !== null && mark?.[1] !== undefined) reasons.push(`partition ${p} is catching up`);
  }
  return reasons;
}

// ---------------------------------------------------------------------------------------------
// ATP

export function parseAtpRow(json: string, where: string): AtpRowValue {
  const v = parseJson(json, `ATP row ${where}`);
  if (typeof v.sku !== 'string' || typeof v.warehouse !== 'string') throw invalid(`ATP row ${where}`, 'sku or warehouse is not a string');
  if (!isNumber(v.onHand) || !isNumber(v.reserved) || !isNumber(v.safetyStock) || !isNumber(v.atp) || !isNumber(v.available)) {
    throw invalid(`ATP row ${where}`, 'a quantity is not a number');
  }
  if (v.asOf !== null && v.asOf !== undefined && !isNumber(v.asOf)) throw invalid(`ATP row ${where}`, 'asOf is not a number');
  return {
    sku: v.sku,
    warehouse: v.warehouse,
    onHand: v.onHand,
    reserved: v.reserved,
    safetyStock: v.safetyStock,
    atp: v.atp,
    available: v.available,
    asOf: (v.asOf as number | null | undefined) ?? null,
  };
}

const newer = (a: number | null, b: number | null): boolean => (a ?? Number.NEGATIVE_INFINITY) > (b ?? Number.NEGATIVE_INFINITY);

/**
 * Adds a row found in one partition. A warehouse should live in one partition only; if two
 * partitions hold it (state left over from a different partition count), the row with the later
 * asOf wins so the answer does not depend on the order partitions are read in.
 */
export function mergeAtpRow(rows: SkuRows, row: AtpRowValue): void {
  const seen = rows.get(row.warehouse);
  if (!seen || newer(row.asOf, seen.asOf)) rows.set(row.warehouse, row);
}

export function rowAnswer(row: AtpRowValue): AtpRowAnswer {
  return {
    sku: row.sku,
    warehouse: row.warehouse,
    onHand: row.onHand,
    reserved: row.reserved,
    safetyStock: row.safetyStock,
    atp: row.atp,
    available: row.available,
    asOf: row.asOf === null ? null : iso(row.asOf, `asOf of ${row.sku}@${row.warehouse}`),
  };
}

/** SPEC §5 network totals: each field summed over warehouses, available = max(0, total atp). */
export function totalsOf(rows: Iterable<AtpRowValue>): AtpTotals {
  let onHand = 0;
  let reserved = 0;
  let safetyStock = 0;
  let atp = 0;
  for (const row of rows) {
    onHand += row.onHand;
    reserved += row.reserved;
    safetyStock += row.safetyStock;
    atp += row.atp;
  }
  return { onHand, reserved, safetyStock, atp, available: Math.max(0, atp) };
}

const byCode = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** GET /atp/{sku}: null when no partition holds a row of the sku (never seen). */
export function skuAnswer(sku: string, rows: SkuRows): AtpSkuAnswer | null {
  if (rows.size === 0) return null;
  const warehouses: AtpWarehouseAnswer[] = [];
  for (const code of [...rows.keys()].sort(byCode)) {
    const row = rows.get(code) as AtpRowValue;
    warehouses.push({
      warehouse: row.warehouse,
      onHand: row.onHand,
      reserved: row.reserved,
      safetyStock: row.safetyStock,
      atp: row.atp,
      available: row.available,
      asOf: row.asOf === null ? null : iso(row.asOf, `asOf of ${sku}@${row.warehouse}`),
    });
  }
  return { sku, warehouses, total: totalsOf(rows.values()) };
}

/** Per distinct sku, what to read: all warehouses if any line asks for the network total. */
export function planCheck(lines: readonly CheckLine[]): Map<string, SkuReadPlan> {
  const plan = new Map<string, SkuReadPlan>();
  for (const line of lines) {
    let entry = plan.get(line.sku);
    if (!entry) {
      entry = { all: false, warehouses: [] };
      plan.set(line.sku, entry);
    }
    if (line.warehouse === null) entry.all = true;
    else if (!entry.warehouses.includes(line.warehouse)) entry.warehouses.push(line.warehouse);
  }
  for (const entry of plan.values()) if (entry.all) entry.warehouses = [];
  return plan;
}

/**
 * POST /atp/check, lines in request order. An unknown sku@warehouse has available 0; a line
 * without a warehouse is checked against the sku's network `available` (0 for an unknown sku).
 */
export function evaluateCheck(lines: readonly CheckLine[], rowsBySku: ReadonlyMap<string, SkuRows>): CheckAnswerLine[] {
  const networkAvailable = new Map<string, number>();
  return lines.map(({ sku, warehouse, quantity }) => {
    const rows = rowsBySku.get(sku);
    let available: number;
    if (warehouse === null) {
      let total = networkAvailable.get(sku);
      if (total === undefined) {
        total = rows ? totalsOf(rows.values()).available : 0;
        networkAvailable.set(sku, total);
      }
      available = total;
    } else {
      available = rows?.get(warehouse)?.available ?? 0;
    }
    return { sku, warehouse, quantity, available, promisable: quantity <= available };
  });
}

// ---------------------------------------------------------------------------------------------
// Orders

export function parseOrderStatus(json: string, where: string): OrderStatusValue {
  const v = parseJson(json, `order status ${where}`);
  if (typeof v.orderId !== 'string' || typeof v.status !== 'string' || !Array.isArray(v.lines) || !isNumber(v.updatedAt)) {
    throw invalid(`order status ${where}`, 'orderId, status, lines or updatedAt missing');
  }
  return v as unknown as OrderStatusValue;
}

/** As mergeAtpRow: if two partitions hold the order, the later updatedAt wins. */
export function mergeOrder(found: OrderStatusValue | null, next: OrderStatusValue): OrderStatusValue {
  return found === null || next.updatedAt > found.updatedAt ? next : found;
}

export function orderAnswer(order: OrderStatusValue): OrderAnswer {
  return { orderId: order.orderId, status: order.status, lines: order.lines, updatedAt: iso(order.updatedAt, `updatedAt of order ${order.orderId}`) };
}
