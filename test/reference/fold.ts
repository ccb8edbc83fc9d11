/**
 * The reference fold: SPEC §5 (ATP) and §6 (order status, rejections) computed as a plain function
 * of a SET of events. It is the oracle the streaming pipeline is checked against, so it has no
 * streaming concepts, no incremental state and no shared code with the processors; every quantity
 * is recomputed from the whole set, the way the SPEC states it.
 *
 * Input: records `{ topic, value }` (natural JSON, SPEC §4) in any order, duplicates allowed.
 * Output: the ATP view per sku@warehouse, network totals per sku, order.status per orderId (without
 * `updatedAt`) and one order.rejected per invalid order version.
 *
 * INTERPRETATION CHOICES (where SPEC §5/§6 is silent or ambiguous; the streaming side must agree):
 *  1. Duplicates: records with the same topic and meta.eventId are one event. If their contents
 *     differ, the FIRST by input order is kept (publishers re-send identical content, so this only
 *     matters for malformed test input; it is the one place where input order matters).
 *     The same eventId on two different topics is two events.
 *  2. Ties on occurredAt are broken by the greater eventId, compared as JS strings (UTF-16 code
 *     units = byte order for the ASCII code pattern of SPEC §4). This applies to order versions,
 *     stock counts and, as an addition to the SPEC, to items (SPEC says "latest by occurredAt"
 *     only). Should an order.created and an order.changed share occurredAt AND eventId, the
 *     order.changed wins.
 *  3. Item master (`itemsKnownAt: 'all'`, the only mode): a set has no processing time, so every
 *     item.upserted in the set counts as known when orders are validated (items are loaded before
 *     orders). Validation and uom conversion use, per sku, the latest item (choice 2); so does
 *     safety stock. `uom` equal to baseUom (or null) converts with 1 even if uomConversions also
 *     lists the base unit.
 *  4. Validation errors, per invalid version, are listed line by line (array index i, 0-based) and
 *     within a line in this order: UNKNOWN_SKU at `lines[i].sku` (then the uom is not checked),
 *     else UNKNOWN_UOM at `lines[i].uom`; INVALID_QUANTITY at `lines[i].quantity` (quantity <= 0);
 *     DUPLICATE_LINE at `lines[i].lineNo` for every line whose lineNo occurred at a smaller index.
 *     Every invalid version yields exactly one rejection (even if older than the current version
 *     or the order is cancelled). A version with no lines is valid. Messages are informative only.
 *  5. Shipped per (orderId, lineNo) sums every shipment.confirmed line of that order with that
 *     lineNo, whatever its sku or the shipment's warehouse. Two shipment events with different
 *     eventIds are two shipments even if they repeat a shipmentId. Returns never change shipped.
 *  6. `short` per (orderId, lineNo) sums quantityShort of every pick.confirmed line with that
 *     lineNo, whatever the pick's warehouse or sku.
 *  7. On hand: a movement with occurredAt EQUAL to the latest count's occurredAt is taken to be
 *     included in the count (only strictly later movements are added), as the SPEC's `>` says.
 *     No grace-period logic: this is the ideal, everything-in-grace result.
 *  8. asOf — see `rowsAppliedBy`: an event is "applied" to exactly the (sku, warehouse) pairs it
 *     names itself, which are exactly the events that make the row exist (SPEC §5, last
 *     paragraph). order.cancelled, item.upserted and pick.confirmed never move asOf, even though
 *     a cancel or a new safety stock changes a row's numbers: a cancel names no sku/warehouse (it
 *     would need a join to the order's versions), an item names no row (its safetyStock keys are
 *     not rows), and a pick does not change ATP. So each event's contribution to asOf depends on
 *     its own content only (plus, for an order version, its validity): no join, any arrival order.
 *  9. order.status exists for an orderId iff it has at least one order.created / order.changed
 *     (valid or not) or an order.cancelled. Shipments, picks or returns for an order never seen
 *     produce no status (the order is unknown, not rejected). A cancelled order reports CANCELLED
 *     with the lines of its current version, or no lines if it has no valid version. REJECTED
 *     orders report no lines.
 * 10. Status SHIPPED needs at least one line (an empty current version is OPEN, not vacuously
 *     SHIPPED). Status lines are sorted by lineNo (a canonical order for comparison).
 * 11. Rejections are sorted by orderId, then rejectedEventId (then errors); Maps are keyed as below.
 *     Negative or zero quantities on shipments, picks, returns or adjustments are taken as given.
 */
import {
  normalizeEvent,
  type InputRecord,
  type RefEvent,
  type RefItemUpserted,
  type RefMeta,
  type RefOrderLine,
} from './types';

export interface AtpRow {
  sku: string;
  warehouse: string;
  onHand: number;
  reserved: number;
  safetyStock: number;
  atp: number;
  available: number;
  /** Epoch millis: the greatest occurredAt of the events applied to this row (`rowsAppliedBy`). */
  asOf: number;
}

export interface AtpTotals {
  onHand: number;
  reserved: number;
  safetyStock: number;
  atp: number;
  available: number;
}

export interface StatusLine {
  lineNo: number;
  sku: string;
  warehouse: string;
  ordered: number;
  shipped: number;
  short: number;
}

export type OrderStatusCode = 'CANCELLED' | 'REJECTED' | 'SHIPPED' | 'PARTIALLY_SHIPPED' | 'BACKORDERED' | 'OPEN';

export interface OrderStatus {
  orderId: string;
  status: OrderStatusCode;
  lines: StatusLine[];
}

export type RejectionCode = 'UNKNOWN_SKU' | 'UNKNOWN_UOM' | 'INVALID_QUANTITY' | 'DUPLICATE_LINE';

export interface RejectionError {
  path: string;
  code: RejectionCode;
  message: string;
}

export interface Rejection {
  orderId: string;
  rejectedEventId: string;
  errors: RejectionError[];
}

export interface ReferenceResult {
  /** Key: `sku@warehouse`. */
  atp: Map<string, AtpRow>;
  /** Key: sku. Network totals over the sku's rows; `available` = max(0, total atp). */
  totals: Map<string, AtpTotals>;
  /** Key: orderId. */
  orders: Map<string, OrderStatus>;
  rejections: Rejection[];
}

export interface ReferenceOptions {
  /** The only supported mode: every item.upserted in the set is known when orders are validated. */
  itemsKnownAt?: 'all';
}

export interface RowRef {
  sku: string;
  warehouse: string;
}

export function rowKey(sku: string, warehouse: string): string {
  return `${sku}@${warehouse}`;
}

/** True if `a` is later than `b`: greater occurredAt, ties broken by the greater eventId. */
export function isLater(a: RefMeta, b: RefMeta): boolean {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt > b.occurredAt;
  return a.eventId > b.eventId;
}

/**
 * THE definition of "applied to a (sku, warehouse)" (SPEC §5, used for both asOf and existence):
 * the (sku, warehouse) pairs an event names itself.
 *  - stock.adjusted, stock.counted: its sku at its warehouse;
 *  - shipment.confirmed: each line's sku at the shipment's warehouse (any order, known or not);
 *  - return.received: each line's sku at the return's warehouse, RESTOCK or SCRAP;
 *  - order.created / order.changed: each line's (sku, warehouse), only if the version is valid
 *    (current or superseded, cancelled or not); an invalid version is applied to nothing;
 *  - order.cancelled, item.upserted, pick.confirmed, customer.upserted: nothing.
 * A row exists iff at least one event is applied to it; its asOf is the greatest occurredAt among
 * them. The same pair may appear several times in the answer.
 */
export function rowsAppliedBy(event: RefEvent, versionIsValid: boolean): RowRef[] {
  switch (event.topic) {
    case 'stock.adjusted':
    case 'stock.counted':
      return [{ sku: event.value.sku, warehouse: event.value.warehouse }];
    case 'shipment.confirmed':
    case 'return.received': {
      const warehouse = event.value.warehouse;
      return event.value.lines.map((line) => ({ sku: line.sku, warehouse }));
    }
    case 'order.created':
    case 'order.changed':
      return versionIsValid ? event.value.lines.map((line) => ({ sku: line.sku, warehouse: line.warehouse })) : [];
    default:
      return [];
  }
}

/** One event per (topic, eventId); the first record in input order wins (choice 1). */
export function uniqueEvents(records: readonly InputRecord[]): RefEvent[] {
  const seen = new Set<string>();
  const events: RefEvent[] = [];
  for (const record of records) {
    const event = normalizeEvent(record);
    const id = `${event.topic}\u0000${event.value.meta.eventId}`;
    if (seen.has(id)) continue;
    seen.add(id);
    events.push(event);
  }
  return events;
}

/** The latest item.upserted per sku (choice 2 and 3). */
export function latestItems(events: readonly RefEvent[]): Map<string, RefItemUpserted> {
  const items = new Map<string, RefItemUpserted>();
  for (const event of events) {
    if (event.topic !== 'item.upserted') continue;
    const known = items.get(event.value.sku);
    if (!known || isLater(event.value.meta, known.meta)) items.set(event.value.sku, event.value);
  }
  return items;
}

/** safetyStock[warehouse] of the latest item, else 0 (own keys only: "constructor" is a valid code). */
export function safetyStockOf(item: RefItemUpserted | undefined, warehouse: string): number {
  if (!item || !Object.prototype.hasOwnProperty.call(item.safetyStock, warehouse)) return 0;
  return item.safetyStock[warehouse] ?? 0;
}

/** Base units per unit of `uom` for `item`, or undefined if the item does not know that unit. */
export function conversion(item: RefItemUpserted, uom: string | null): number | undefined {
  if (uom === null || uom === item.baseUom) return 1;
  return Object.prototype.hasOwnProperty.call(item.uomConversions, uom) ? item.uomConversions[uom] : undefined;
}

/** The business-rule breaches of one order version's lines (choice 4); empty = valid. */
export function validateLines(lines: readonly RefOrderLine[], items: ReadonlyMap<string, RefItemUpserted>): RejectionError[] {
  const errors: RejectionError[] = [];
  const lineNos = new Set<number>();
  lines.forEach((line, i) => {
    const item = items.get(line.sku);
    if (!item) {
      errors.push({ path: `lines[${i}].sku`, code: 'UNKNOWN_SKU', message: `sku "${line.sku}" is not in the item master` });
    } else if (conversion(item, line.uom) === undefined) {
      errors.push({
        path: `lines[${i}].uom`,
        code: 'UNKNOWN_UOM',
        message: `uom "${line.uom}" is neither the base unit "${item.baseUom}" of sku "${line.sku}" nor one of its conversions`,
      });
    }
    if (!(line.quantity > 0)) {
      errors.push({ path: `lines[${i}].quantity`, code: 'INVALID_QUANTITY', message: `quantity must be > 0, got ${line.quantity}` });
    }
    if (lineNos.has(line.lineNo)) {
      errors.push({ path: `lines[${i}].lineNo`, code: 'DUPLICATE_LINE', message: `lineNo ${line.lineNo} appears more than once` });
    }
    lineNos.add(line.lineNo);
  });
  return errors;
}

type OrderVersionEvent = Extract<RefEvent, { topic: 'order.created' | 'order.changed' }>;

/** Version ordering (choice 2): occurredAt, then eventId, then order.changed over order.created. */
function isLaterVersion(a: OrderVersionEvent, b: OrderVersionEvent): boolean {
  if (a.value.meta.occurredAt !== b.value.meta.occurredAt || a.value.meta.eventId !== b.value.meta.eventId) {
    return isLater(a.value.meta, b.value.meta);
  }
  return a.topic === 'order.changed' && b.topic === 'order.created';
}

/** Adds `amount` under `key` in a map of sums. */
function addTo<K>(sums: Map<K, number>, key: K, amount: number): void {
  sums.set(key, (sums.get(key) ?? 0) + amount);
}

function lineKey(orderId: string, lineNo: number): string {
  return `${orderId}#${lineNo}`;
}

interface Movement {
  occurredAt: number;
  quantity: number;
}

export function referenceFold(records: readonly InputRecord[], options: ReferenceOptions = {}): ReferenceResult {
  if (options.itemsKnownAt !== undefined && options.itemsKnownAt !== 'all') {
    throw new Error(`reference fold: unsupported itemsKnownAt "${String(options.itemsKnownAt)}"`);
  }
  const events = uniqueEvents(records);
  const items = latestItems(events);

  // --- Order versions: validity, rejections, current version; cancels. ---
  const validity = new Map<RefEvent, boolean>();
  const rejections: Rejection[] = [];
  const currentVersion = new Map<string, OrderVersionEvent>();
  const ordersSeen = new Set<string>(); // any version (valid or not) or a cancel: gets a status (choice 9)
  const cancelled = new Set<string>();
  for (const event of events) {
    if (event.topic === 'order.cancelled') {
      cancelled.add(event.value.orderId);
      ordersSeen.add(event.value.orderId);
      continue;
    }
    if (event.topic !== 'order.created' && event.topic !== 'order.changed') continue;
    const orderId = event.value.orderId;
    ordersSeen.add(orderId);
    const errors = validateLines(event.value.lines, items);
    validity.set(event, errors.length === 0);
    if (errors.length > 0) {
      rejections.push({ orderId, rejectedEventId: event.value.meta.eventId, errors });
      continue;
    }
    const current = currentVersion.get(orderId);
    if (!current || isLaterVersion(event, current)) currentVersion.set(orderId, event);
  }

  // --- Shipped and short per (orderId, lineNo). ---
  const shipped = new Map<string, number>();
  const short = new Map<string, number>();
  for (const event of events) {
    if (event.topic === 'shipment.confirmed') {
      for (const line of event.value.lines) addTo(shipped, lineKey(event.value.orderId, line.lineNo), line.quantityShipped);
    } else if (event.topic === 'pick.confirmed') {
      for (const line of event.value.lines) addTo(short, lineKey(event.value.orderId, line.lineNo), line.quantityShort);
    }
  }

  // --- Rows (existence and asOf), movements and counts per sku@warehouse. ---
  const rows = new Map<string, { sku: string; warehouse: string; asOf: number }>();
  const movements = new Map<string, Movement[]>();
  const latestCount = new Map<string, { meta: RefMeta; countedQuantity: number }>();
  const move = (sku: string, warehouse: string, occurredAt: number, quantity: number): void => {
    const key = rowKey(sku, warehouse);
    const list = movements.get(key) ?? [];
    list.push({ occurredAt, quantity });
    movements.set(key, list);
  };
  for (const event of events) {
    const occurredAt = event.value.meta.occurredAt;
    for (const { sku, warehouse } of rowsAppliedBy(event, validity.get(event) ?? false)) {
      const key = rowKey(sku, warehouse);
      const row = rows.get(key);
      if (!row) rows.set(key, { sku, warehouse, asOf: occurredAt });
      else row.asOf = Math.max(row.asOf, occurredAt);
    }
    switch (event.topic) {
      case 'stock.adjusted':
        move(event.value.sku, event.value.warehouse, occurredAt, event.value.delta);
        break;
      case 'shipment.confirmed':
        // The goods left, whether or not the order is known or cancelled.
        for (const line of event.value.lines) move(line.sku, event.value.warehouse, occurredAt, -line.quantityShipped);
        break;
      case 'return.received':
        for (const line of event.value.lines) {
          if (line.disposition === 'RESTOCK') move(line.sku, event.value.warehouse, occurredAt, line.quantity);
        }
        break;
      case 'stock.counted': {
        const key = rowKey(event.value.sku, event.value.warehouse);
        const known = latestCount.get(key);
        if (!known || isLater(event.value.meta, known.meta)) latestCount.set(key, event.value);
        break;
      }
      default:
        break;
    }
  }

  // --- Reserved per sku@warehouse: current versions of orders that are not cancelled. ---
  const reserved = new Map<string, number>();
  for (const [orderId, version] of currentVersion) {
    if (cancelled.has(orderId)) continue;
    for (const line of version.value.lines) {
      const item = items.get(line.sku) as RefItemUpserted; // a valid version only names known skus
      const base = line.quantity * (conversion(item, line.uom) as number);
      const open = Math.max(0, base - (shipped.get(lineKey(orderId, line.lineNo)) ?? 0));
      addTo(reserved, rowKey(line.sku, line.warehouse), open);
    }
  }

  // --- The ATP view and network totals. ---
  const atp = new Map<string, AtpRow>();
  const totals = new Map<string, AtpTotals>();
  for (const [key, row] of rows) {
    const count = latestCount.get(key);
    const moves = movements.get(key) ?? [];
    const onHand = count
      ? count.countedQuantity + moves.filter((m) => m.occurredAt > count.meta.occurredAt).reduce((s, m) => s + m.quantity, 0)
      : moves.reduce((s, m) => s + m.quantity, 0);
    const rowReserved = reserved.get(key) ?? 0;
    const safetyStock = safetyStockOf(items.get(row.sku), row.warehouse);
    const rowAtp = onHand - rowReserved - safetyStock;
    atp.set(key, {
      sku: row.sku,
      warehouse: row.warehouse,
      onHand,
      reserved: rowReserved,
      safetyStock,
      atp: rowAtp,
      available: Math.max(0, rowAtp),
      asOf: row.asOf,
    });
    const total = totals.get(row.sku) ?? { onHand: 0, reserved: 0, safetyStock: 0, atp: 0, available: 0 };
    total.onHand += onHand;
    total.reserved += rowReserved;
    total.safetyStock += safetyStock;
    total.atp += rowAtp;
    total.available = Math.max(0, total.atp);
    totals.set(row.sku, total);
  }

  // --- order.status (SPEC §6, first match wins). ---
  const orders = new Map<string, OrderStatus>();
  for (const orderId of ordersSeen) {
    const version = currentVersion.get(orderId);
    const lines: StatusLine[] = (version?.value.lines ?? [])
      .map((line) => ({
        lineNo: line.lineNo,
        sku: line.sku,
        warehouse: line.warehouse,
        ordered: line.quantity * (conversion(items.get(line.sku) as RefItemUpserted, line.uom) as number),
        shipped: shipped.get(lineKey(orderId, line.lineNo)) ?? 0,
        short: short.get(lineKey(orderId, line.lineNo)) ?? 0,
      }))
      .sort((a, b) => a.lineNo - b.lineNo);
    orders.set(orderId, { orderId, status: statusOf(cancelled.has(orderId), version !== undefined, lines), lines });
  }

  // The errors are the last resort for an order.created and an order.changed sharing an eventId.
  const sortKey = (r: Rejection): string[] => [r.orderId, r.rejectedEventId, JSON.stringify(r.errors)];
  rejections.sort((a, b) => {
    const [ka, kb] = [sortKey(a), sortKey(b)];
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] !== kb[i]) return (ka[i] as string) < (kb[i] as string) ? -1 : 1;
    }
    return 0;
  });
  return { atp, totals, orders, rejections };
}

/** A JSON-friendly, order-free rendering of a result (entries sorted by key) for deep equality. */
export function canonicalResult(result: ReferenceResult): {
  atp: [string, AtpRow][];
  totals: [string, AtpTotals][];
  orders: [string, OrderStatus][];
  rejections: Rejection[];
} {
  const sorted = <V>(m: Map<string, V>): [string, V][] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { atp: sorted(result.atp), totals: sorted(result.totals), orders: sorted(result.orders), rejections: result.rejections };
}

/** SPEC §6 status rules, first match wins (choice 10 for an empty version). */
export function statusOf(isCancelled: boolean, hasValidVersion: boolean, lines: readonly StatusLine[]): OrderStatusCode {
  if (isCancelled) return 'CANCELLED';
  if (!hasValidVersion) return 'REJECTED';
  if (lines.length > 0 && lines.every((l) => l.shipped >= l.ordered)) return 'SHIPPED';
  if (lines.some((l) => l.shipped > 0)) return 'PARTIALLY_SHIPPED';
  if (lines.some((l) => l.short > 0 && l.shipped < l.ordered)) return 'BACKORDERED';
  return 'OPEN';
}
