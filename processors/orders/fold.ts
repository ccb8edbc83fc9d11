/**
 * The `orders` fold (SPEC §5 order versions, §6 status and rejections), per orderId. Pure: no
 * clock, no I/O; the item master comes from the global table in `ctx`.
 *
 * Inputs (all keyed orderId): order.created, order.changed, order.cancelled, pick.confirmed,
 * shipment.confirmed, return.received. Outputs:
 *  - order.rejected, once per invalid version (even if superseded or the order is cancelled);
 *    errors line by line in array order: UNKNOWN_SKU at lines[i].sku (the uom is then not
 *    checked) else UNKNOWN_UOM at lines[i].uom; INVALID_QUANTITY at lines[i].quantity when
 *    quantity <= 0; DUPLICATE_LINE at lines[i].lineNo when an earlier index had that lineNo.
 *    A version with no lines is valid.
 *  - order.status, whenever the record (including updatedAt) differs from the last one sent.
 *    An order has a status once any version (valid or not) or a cancel was seen: shipments,
 *    picks and returns alone do not make an order known. Lines are the current version's,
 *    sorted by lineNo; CANCELLED without a valid version and REJECTED have no lines; an empty
 *    current version is OPEN, never vacuously SHIPPED. updatedAt = the greatest occurredAt of
 *    any event folded into the order (versions valid or not, cancels, picks, shipments, returns).
 *  - orders.movements (protocol in ./movements.ts): a RESERVATION for every row whose reserved
 *    value for this order changed and for every row a newly folded valid version names (its
 *    touchedAt moved); a STOCK per shipment line and per return line.
 *
 * Decisions:
 *  - Validity is judged against the item master at the time the version is folded (SPEC §5) and
 *    never revisited; base quantities are fixed then too. The runtime bootstraps the item table
 *    first, so in practice "at the time" means "everything published before".
 *  - Current version = the valid version with the greatest occurredAt, ties the greater eventId,
 *    and for the same occurredAt AND eventId order.changed beats order.created.
 *  - Shipped and short sum per lineNo whatever the line's sku or the event's warehouse; a return
 *    never changes shipped.
 *  - No dedupe here (the runtime dedupes by topic + eventId), so a repeated pick or shipment
 *    would count twice if fed twice; version and cancel handling are idempotent anyway.
 */
import type { TableView } from '../../runtime/processor/table';
import { deterministicId } from '../../runtime/processor/ids';
import type { FoldInput, Output, Step } from '../../runtime/processor/types';
import {
  stockKey,
  type Item,
  type Meta,
  type OrderCancelled,
  type OrderChanged,
  type OrderCreated,
  type OrderLine,
  type PickConfirmed,
  type ReturnReceived,
  type ShipmentConfirmed,
} from '../types';
import { CRM_COMMANDS, ERP_COMMANDS, type Cause } from '../commands';
import { backorderCommand, cancelCommand, creditMemoCommand, rejectCommand, salesOrderCommand, shipmentCommands, statusCommand, type OrderHeader } from './commands';
import { MOVEMENTS_TOPIC, type ReservationRecord, type StockMovementRecord } from './movements';

export const ORDERS_INPUTS = [
  'order.created',
  'order.changed',
  'order.cancelled',
  'pick.confirmed',
  'shipment.confirmed',
  'return.received',
] as const;
export const ORDERS_OUTPUTS = ['order.status', 'order.rejected', MOVEMENTS_TOPIC, ERP_COMMANDS, CRM_COMMANDS] as const;

export interface OrdersContext {
  items: TableView<Item>;
}

export interface VersionLine {
  lineNo: number;
  sku: string;
  warehouse: string;
  /** Base units (quantity × conversion of its uom). */
  ordered: number;
}

export interface OrderVersion {
  topic: 'order.created' | 'order.changed';
  eventId: string;
  occurredAt: number;
  lines: VersionLine[];
}

export interface OrderState {
  orderId: string;
  /** A version (valid or not) or a cancel was seen: the order has a status. */
  known: boolean;
  current: OrderVersion | null;
  cancelled: boolean;
  /** By lineNo. */
  shipped: Record<string, number>;
  short: Record<string, number>;
  /** By sku@warehouse: greatest occurredAt of a valid version with a line there. */
  touched: Record<string, number>;
  /** By sku@warehouse: the reserved value last sent to atp (absent = 0). */
  reserved: Record<string, number>;
  /** Count of RESERVATION records emitted so far. */
  rev: number;
  updatedAt: number | null;
  /** JSON of the last order.status sent, to emit only on change. */
  lastStatus: string | null;
  /** customerId, channel, currency of the latest order.created (for sales-order commands). */
  header?: OrderHeader | null;
  /** The version last sent to the ERP (CreateSalesOrder / UpdateSalesOrder); absent = none. */
  sentVersion?: { topic: OrderVersion['topic']; eventId: string; occurredAt: number } | null;
  /** occurredAt of the order.created the header came from. */
  headerAt?: number | null;
  /** The status last sent to the CRM (UpdateOrderStatus). */
  sentStatus?: OrderStatusCode | null;
}

export type OrderStatusCode = 'CANCELLED' | 'REJECTED' | 'SHIPPED' | 'PARTIALLY_SHIPPED' | 'BACKORDERED' | 'OPEN';

export interface StatusLine {
  lineNo: number;
  sku: string;
  warehouse: string;
  ordered: number;
  shipped: number;
  short: number;
}

export interface OrderStatusValue {
  orderId: string;
  status: OrderStatusCode;
  lines: StatusLine[];
  updatedAt: number;
}

export type RejectionCode = 'UNKNOWN_SKU' | 'UNKNOWN_UOM' | 'INVALID_QUANTITY' | 'DUPLICATE_LINE';

export interface FieldProblem {
  path: string;
  code: RejectionCode;
  message: string;
}

export interface OrderRejectedValue {
  meta: Meta;
  orderId: string;
  rejectedEventId: string;
  errors: FieldProblem[];
}

export function emptyOrderState(orderId: string): OrderState {
  return {
    orderId,
    known: false,
    current: null,
    cancelled: false,
    shipped: {},
    short: {},
    touched: {},
    reserved: {},
    rev: 0,
    updatedAt: null,
    lastStatus: null,
  };
}

/** Base units per unit of `uom`, or undefined when the item does not know the unit. */
export function conversionOf(item: Item, uom: string | null): number | undefined {
  if (uom === null || uom === item.baseUom) return 1;
  return Object.prototype.hasOwnProperty.call(item.uomConversions, uom) ? item.uomConversions[uom] : undefined;
}

/** The business-rule breaches of a version's lines; empty = valid. */
export function validateLines(lines: readonly OrderLine[], items: TableView<Item>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<number>();
  lines.forEach((line, i) => {
    const item = items.get(line.sku);
    if (!item) {
      problems.push({ path: `lines[${i}].sku`, code: 'UNKNOWN_SKU', message: `unknown sku "${line.sku}": publish its item.upserted first` });
    } else if (conversionOf(item, line.uom) === undefined) {
      problems.push({
        path: `lines[${i}].uom`,
        code: 'UNKNOWN_UOM',
        message: `uom "${line.uom}" is not a unit of sku "${line.sku}" (base ${item.baseUom}, conversions: ${Object.keys(item.uomConversions).join(', ') || 'none'})`,
      });
    }
    if (!(line.quantity > 0)) {
      problems.push({ path: `lines[${i}].quantity`, code: 'INVALID_QUANTITY', message: `quantity must be greater than 0, got ${line.quantity}` });
    }
    if (seen.has(line.lineNo)) {
      problems.push({ path: `lines[${i}].lineNo`, code: 'DUPLICATE_LINE', message: `lineNo ${line.lineNo} is used by an earlier line` });
    }
    seen.add(line.lineNo);
  });
  return problems;
}

function isLaterVersion(a: OrderVersion, b: OrderVersion): boolean {
  if (a.occurredAt !== b.occurredAt) return a.occurredAt > b.occurredAt;
  if (a.eventId !== b.eventId) return a.eventId > b.eventId;
  return a.topic === 'order.changed' && b.topic === 'order.created';
}

/** SPEC §6, first match wins. */
export function statusOf(state: OrderState, lines: readonly StatusLine[]): OrderStatusCode {
  if (state.cancelled) return 'CANCELLED';
  if (!state.current) return 'REJECTED';
  if (lines.length > 0 && lines.every((l) => l.shipped >= l.ordered)) return 'SHIPPED';
  if (lines.some((l) => l.shipped > 0)) return 'PARTIALLY_SHIPPED';
  if (lines.some((l) => l.short > 0 && l.shipped < l.ordered)) return 'BACKORDERED';
  return 'OPEN';
}

function statusLines(state: OrderState): StatusLine[] {
  return (state.current?.lines ?? [])
    .map((l) => ({
      lineNo: l.lineNo,
      sku: l.sku,
      warehouse: l.warehouse,
      ordered: l.ordered,
      shipped: state.shipped[l.lineNo] ?? 0,
      short: state.short[l.lineNo] ?? 0,
    }))
    .sort((a, b) => a.lineNo - b.lineNo);
}

/** This order's open base quantity per row: lines of the current version unless cancelled. */
function reservedByRow(state: OrderState): Record<string, number> {
  const reserved: Record<string, number> = {};
  if (state.cancelled || !state.current) return reserved;
  for (const line of state.current.lines) {
    const open = Math.max(0, line.ordered - (state.shipped[line.lineNo] ?? 0));
    const row = stockKey(line.sku, line.warehouse);
    reserved[row] = (reserved[row] ?? 0) + open;
  }
  for (const row of Object.keys(reserved)) if (reserved[row] === 0) delete reserved[row];
  return reserved;
}

const addTo = (sums: Record<string, number>, key: string | number, amount: number): void => {
  sums[key] = (sums[key] ?? 0) + amount;
};

function derivedMeta(topic: string, cause: Meta, role: string): Meta {
  return {
    eventId: deterministicId(topic, cause.eventId, role),
    occurredAt: cause.occurredAt,
    source: 'orders',
    correlationId: cause.correlationId,
    causationId: cause.eventId,
  };
}

function rowOf(row: string): { sku: string; warehouse: string } {
  const at = row.lastIndexOf('@');
  return { sku: row.slice(0, at), warehouse: row.slice(at + 1) };
}

function stockMovement(topic: string, cause: Meta, index: number, sku: string, warehouse: string, delta: number): Output {
  const meta = derivedMeta(topic, cause, `stock:${index}`);
  const value: StockMovementRecord = { kind: 'STOCK', meta, movementId: meta.eventId, sku, warehouse, delta, occurredAt: cause.occurredAt };
  return { topic: MOVEMENTS_TOPIC, key: stockKey(sku, warehouse), value };
}

export function foldOrders(previous: OrderState | undefined, input: FoldInput, ctx: OrdersContext): Step<OrderState> {
  const topic = input.topic;
  const value = input.value as { meta: Meta; orderId: string };
  // The fold owns `previous` (runtime/processor/types.ts) and updates it in place.
  const state: OrderState = previous ?? emptyOrderState(value.orderId);
  const cause = value.meta;
  const causeOf: Cause = { topic, meta: cause };
  const outputs: Output[] = [];
  const touchedRows = new Set<string>();
  state.updatedAt = state.updatedAt === null ? cause.occurredAt : Math.max(state.updatedAt, cause.occurredAt);

  switch (topic) {
    case 'order.created':
    case 'order.changed': {
      const version = value as OrderCreated | OrderChanged;
      state.known = true;
      if (topic === 'order.created' && (state.headerAt == null || cause.occurredAt >= state.headerAt)) {
        const created = version as OrderCreated;
        state.header = { customerId: created.customerId, channel: created.channel, currency: created.currency };
        state.headerAt = cause.occurredAt;
      }
      const problems = validateLines(version.lines, ctx.items);
      if (problems.length > 0) {
        const rejected: OrderRejectedValue = {
          meta: derivedMeta(topic, cause, 'rejected'),
          orderId: state.orderId,
          rejectedEventId: cause.eventId,
          errors: problems,
        };
        outputs.push({ topic: 'order.rejected', key: state.orderId, value: rejected });
        outputs.push(rejectCommand(causeOf, state.orderId, problems));
        break;
      }
      const candidate: OrderVersion = {
        topic,
        eventId: cause.eventId,
        occurredAt: cause.occurredAt,
        lines: version.lines.map((l) => ({
          lineNo: l.lineNo,
          sku: l.sku,
          warehouse: l.warehouse,
          ordered: l.quantity * (conversionOf(ctx.items.get(l.sku) as Item, l.uom) as number),
        })),
      };
      for (const line of candidate.lines) {
        const row = stockKey(line.sku, line.warehouse);
        if (state.touched[row] === undefined || cause.occurredAt > state.touched[row]) {
          state.touched[row] = cause.occurredAt;
          touchedRows.add(row);
        }
      }
      if (!state.current || isLaterVersion(candidate, state.current)) state.current = candidate;
      // SPEC §7: the ERP sees versions only increase; the first one sent is a CreateSalesOrder.
      const sent = state.sentVersion ?? null;
      if (!sent || isLaterVersion(candidate, { ...sent, lines: [] })) {
        outputs.push(salesOrderCommand(sent === null, causeOf, version, candidate.lines, state.header ?? null));
        state.sentVersion = { topic, eventId: cause.eventId, occurredAt: cause.occurredAt };
      }
      break;
    }
    case 'order.cancelled':
      // A cancel is final and names no row; its reason is for the ERP command, not for state.
      state.known = true;
      // The ERP is told once: a second cancel of a cancelled order changes nothing.
      if (!state.cancelled) outputs.push(cancelCommand(causeOf, value as OrderCancelled));
      state.cancelled = true;
      break;
    case 'pick.confirmed': {
      for (const line of (value as PickConfirmed).lines) addTo(state.short, line.lineNo, line.quantityShort);
      const backorder = backorderCommand(causeOf, value as PickConfirmed);
      if (backorder) outputs.push(backorder);
      break;
    }
    case 'shipment.confirmed': {
      const shipment = value as ShipmentConfirmed;
      shipment.lines.forEach((line, i) => {
        addTo(state.shipped, line.lineNo, line.quantityShipped);
        outputs.push(stockMovement(topic, cause, i, line.sku, shipment.warehouse, -line.quantityShipped));
      });
      outputs.push(...shipmentCommands(causeOf, shipment));
      break;
    }
    case 'return.received': {
      const ret = value as ReturnReceived;
      ret.lines.forEach((line, i) => {
        outputs.push(stockMovement(topic, cause, i, line.sku, ret.warehouse, line.disposition === 'RESTOCK' ? line.quantity : 0));
      });
      outputs.push(creditMemoCommand(causeOf, ret));
      break;
    }
    default:
      throw new Error(`orders: not an input topic "${topic}"`);
  }

  // Reservations: absolute values for every row whose value changed or whose touchedAt moved.
  const reserved = reservedByRow(state);
  const rows = new Set([...Object.keys(state.reserved), ...Object.keys(reserved), ...touchedRows]);
  for (const row of [...rows].sort()) {
    const before = state.reserved[row] ?? 0;
    const now = reserved[row] ?? 0;
    if (before === now && !touchedRows.has(row)) continue;
    state.rev += 1;
    const { sku, warehouse } = rowOf(row);
    const generation = input.generation ?? '';
    const record: ReservationRecord = {
      kind: 'RESERVATION',
      meta: derivedMeta(topic, cause, `reservation:${row}:${generation}`),
      orderId: state.orderId,
      sku,
      warehouse,
      reserved: now,
      rev: state.rev,
      touchedAt: state.touched[row] ?? null,
      generation,
    };
    outputs.push({ topic: MOVEMENTS_TOPIC, key: row, value: record });
  }
  state.reserved = reserved;

  if (state.known) {
    const lines = statusLines(state);
    const status: OrderStatusValue = { orderId: state.orderId, status: statusOf(state, lines), lines, updatedAt: state.updatedAt };
    const json = JSON.stringify(status);
    if (json !== state.lastStatus) {
      state.lastStatus = json;
      outputs.push({ topic: 'order.status', key: state.orderId, value: status });
      if (status.status !== (state.sentStatus ?? null)) {
        state.sentStatus = status.status;
        outputs.push(statusCommand(causeOf, status));
      }
    }
  }
  return { state, outputs };
}
