/**
 * The source events as the processors read them (SPEC §4), decoded and normalized: `occurredAt`
 * is epoch millis, optional fields are present (null or their SPEC default). The runtime's
 * decoder (next session) and the test driver both go through `toEvent`, so a fold never sees a
 * string timestamp or a missing field.
 *
 * Not the SDK's `producers/sdk/types.ts`: those are what a publisher may PASS (timestamps as
 * strings or Dates, omitted defaults); these are what a processor may RELY on.
 */

export interface Meta {
  eventId: string;
  /** Epoch millis. */
  occurredAt: number;
  source: string;
  correlationId: string | null;
  causationId: string | null;
}

export interface Item {
  meta: Meta;
  sku: string;
  description: string;
  baseUom: string;
  uomConversions: Record<string, number>;
  safetyStock: Record<string, number>;
}

export interface OrderLine {
  lineNo: number;
  sku: string;
  warehouse: string;
  quantity: number;
  uom: string | null;
  unitPriceMinor: number | null;
}

export interface OrderCreated {
  meta: Meta;
  orderId: string;
  customerId: string;
  channel: string;
  currency: string;
  requestedShipDate: string | null;
  lines: OrderLine[];
}

export interface OrderChanged {
  meta: Meta;
  orderId: string;
  lines: OrderLine[];
}

export interface OrderCancelled {
  meta: Meta;
  orderId: string;
  reason: string | null;
}

export interface PickConfirmed {
  meta: Meta;
  orderId: string;
  warehouse: string;
  lines: { lineNo: number; sku: string; quantityPicked: number; quantityShort: number }[];
}

export interface ShipmentConfirmed {
  meta: Meta;
  orderId: string;
  shipmentId: string;
  warehouse: string;
  carrier: string;
  trackingNumber: string | null;
  lines: { lineNo: number; sku: string; quantityShipped: number }[];
}

export interface ReturnReceived {
  meta: Meta;
  returnId: string;
  orderId: string;
  warehouse: string;
  lines: { sku: string; quantity: number; disposition: 'RESTOCK' | 'SCRAP' }[];
}

export interface StockAdjusted {
  meta: Meta;
  sku: string;
  warehouse: string;
  delta: number;
  reason: string;
}

export interface StockCounted {
  meta: Meta;
  sku: string;
  warehouse: string;
  countedQuantity: number;
}

export interface SourceEvents {
  'item.upserted': Item;
  'order.created': OrderCreated;
  'order.changed': OrderChanged;
  'order.cancelled': OrderCancelled;
  'pick.confirmed': PickConfirmed;
  'shipment.confirmed': ShipmentConfirmed;
  'return.received': ReturnReceived;
  'stock.adjusted': StockAdjusted;
  'stock.counted': StockCounted;
}

export type SourceTopic = keyof SourceEvents;

/** `sku@warehouse`: the key of stock topics, ATP rows and the orders→atp repartition topic. */
export function stockKey(sku: string, warehouse: string): string {
  return `${sku}@${warehouse}`;
}

type Loose = Record<string, unknown>;

/** Epoch millis from millis, an ISO-8601 string or a Date; NaN when it is none of those. */
export function epochMillis(at: unknown): number {
  if (typeof at === 'number') return at;
  if (at instanceof Date) return at.getTime();
  if (typeof at === 'string') return Date.parse(at);
  return Number.NaN;
}

const orNull = <T>(v: unknown): T | null => (v === undefined || v === null ? null : (v as T));

function normalizeMeta(meta: unknown): Meta {
  const m = (meta ?? {}) as Loose;
  return {
    eventId: m.eventId as string,
    occurredAt: epochMillis(m.occurredAt),
    source: (m.source as string) ?? '',
    correlationId: orNull<string>(m.correlationId),
    causationId: orNull<string>(m.causationId),
  };
}

/**
 * A decoded value with its meta normalized and defaults filled where a fold reads them. Values
 * of topics other than the source topics (e.g. orders.movements) pass through with only their
 * meta normalized, if they carry one.
 */
export function toEvent(topic: string, value: unknown): unknown {
  const v = { ...((value ?? {}) as Loose) };
  if (v.meta !== undefined) v.meta = normalizeMeta(v.meta);
  switch (topic) {
    case 'item.upserted':
      v.uomConversions ??= {};
      v.safetyStock ??= {};
      break;
    case 'order.created':
      v.currency ??= 'USD';
      v.requestedShipDate ??= null;
      v.lines = normalizeLines(v.lines);
      break;
    case 'order.changed':
      v.lines = normalizeLines(v.lines);
      break;
    case 'order.cancelled':
      v.reason ??= null;
      break;
    case 'shipment.confirmed':
      v.trackingNumber ??= null;
      break;
    default:
      break;
  }
  return v;
}

function normalizeLines(lines: unknown): OrderLine[] {
  return ((lines ?? []) as Loose[]).map((l) => ({
    lineNo: l.lineNo as number,
    sku: l.sku as string,
    warehouse: l.warehouse as string,
    quantity: l.quantity as number,
    uom: orNull<string>(l.uom),
    unitPriceMinor: orNull<number>(l.unitPriceMinor),
  }));
}
