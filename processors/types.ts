/**
 * The source events as the processors read them (SPEC §4), decoded and normalized: `occurredAt`
 * is epoch millis, optional fields are present (null or their SPEC default). The runtime's
 * decoder (next session) and the test driver both go through `toEvent`, so a fold never sees a
 * string timestamp or a missing field.
 *
 * The shapes themselves live in runtime/schemas/events.ts (shared with the simulator); this
 * module adds the topic map and the normalization.
 */

import type * as events from '../runtime/schemas/events';

export type * from '../runtime/schemas/events';

/** The folds' name for an `item.upserted` value. */
export type Item = events.ItemUpserted;

export interface SourceEvents {
  'item.upserted': Item;
  'customer.upserted': events.CustomerUpserted;
  'order.created': events.OrderCreated;
  'order.changed': events.OrderChanged;
  'order.cancelled': events.OrderCancelled;
  'pick.confirmed': events.PickConfirmed;
  'shipment.confirmed': events.ShipmentConfirmed;
  'return.received': events.ReturnReceived;
  'stock.adjusted': events.StockAdjusted;
  'stock.counted': events.StockCounted;
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

function normalizeMeta(meta: unknown): events.Meta {
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

function normalizeLines(lines: unknown): events.OrderLine[] {
  return ((lines ?? []) as Loose[]).map((l) => ({
    lineNo: l.lineNo as number,
    sku: l.sku as string,
    warehouse: l.warehouse as string,
    quantity: l.quantity as number,
    uom: orNull<string>(l.uom),
    unitPriceMinor: orNull<number>(l.unitPriceMinor),
  }));
}
