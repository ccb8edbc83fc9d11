/**
 * Natural-JSON shapes (SPEC §4) of the events the reference fold reads, and the normalizer that
 * turns loosely-typed input (occurredAt as epoch millis OR an ISO-8601 string, optional fields
 * omitted or null) into these shapes. Deliberately independent of the simulator's and the
 * processors' types: the reference must not share code with what it checks.
 */

export interface RefMeta {
  eventId: string;
  /** Epoch millis after normalization. */
  occurredAt: number;
  source: string;
  correlationId: string | null;
  causationId: string | null;
}

export interface RefItemUpserted {
  meta: RefMeta;
  sku: string;
  description: string;
  baseUom: string;
  uomConversions: Record<string, number>;
  safetyStock: Record<string, number>;
}

export interface RefOrderLine {
  lineNo: number;
  sku: string;
  warehouse: string;
  quantity: number;
  uom: string | null;
  unitPriceMinor: number | null;
}

export interface RefOrderCreated {
  meta: RefMeta;
  orderId: string;
  customerId: string;
  channel: string;
  currency: string;
  requestedShipDate: string | null;
  lines: RefOrderLine[];
}

export interface RefOrderChanged {
  meta: RefMeta;
  orderId: string;
  lines: RefOrderLine[];
}

export interface RefOrderCancelled {
  meta: RefMeta;
  orderId: string;
  reason: string | null;
}

export interface RefPickConfirmed {
  meta: RefMeta;
  orderId: string;
  warehouse: string;
  lines: { lineNo: number; sku: string; quantityPicked: number; quantityShort: number }[];
}

export interface RefShipmentConfirmed {
  meta: RefMeta;
  orderId: string;
  shipmentId: string;
  warehouse: string;
  carrier: string;
  trackingNumber: string | null;
  lines: { lineNo: number; sku: string; quantityShipped: number }[];
}

export interface RefStockAdjusted {
  meta: RefMeta;
  sku: string;
  warehouse: string;
  delta: number;
  reason: string;
}

export interface RefStockCounted {
  meta: RefMeta;
  sku: string;
  warehouse: string;
  countedQuantity: number;
}

export interface RefReturnReceived {
  meta: RefMeta;
  returnId: string;
  orderId: string;
  warehouse: string;
  lines: { sku: string; quantity: number; disposition: 'RESTOCK' | 'SCRAP' }[];
}

export interface RefCustomerUpserted {
  meta: RefMeta;
  customerId: string;
  name: string;
  email: string | null;
  creditLimitMinor: number | null;
  creditHold: boolean;
}

/** One normalized event, discriminated by its topic. */
export type RefEvent =
  | { topic: 'item.upserted'; value: RefItemUpserted }
  | { topic: 'customer.upserted'; value: RefCustomerUpserted }
  | { topic: 'order.created'; value: RefOrderCreated }
  | { topic: 'order.changed'; value: RefOrderChanged }
  | { topic: 'order.cancelled'; value: RefOrderCancelled }
  | { topic: 'pick.confirmed'; value: RefPickConfirmed }
  | { topic: 'shipment.confirmed'; value: RefShipmentConfirmed }
  | { topic: 'stock.adjusted'; value: RefStockAdjusted }
  | { topic: 'stock.counted'; value: RefStockCounted }
  | { topic: 'return.received'; value: RefReturnReceived };

export type RefTopic = RefEvent['topic'];

export const REF_TOPICS: readonly RefTopic[] = [
  'item.upserted',
  'customer.upserted',
  'order.created',
  'order.changed',
  'order.cancelled',
  'pick.confirmed',
  'shipment.confirmed',
  'stock.adjusted',
  'stock.counted',
  'return.received',
];

/** What callers hand the fold: a topic and a natural-JSON value (occurredAt number or ISO string). */
export interface InputRecord {
  topic: string;
  value: unknown;
}

type Loose = Record<string, unknown>;

/** Epoch millis from a number or an ISO-8601 string; anything else is a bug in the test input. */
export function toEpochMillis(at: unknown): number {
  if (typeof at === 'number' && Number.isFinite(at)) return at;
  if (typeof at === 'string') {
    const ms = Date.parse(at);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new Error(`reference fold: occurredAt must be epoch millis or an ISO-8601 string, got ${JSON.stringify(at)}`);
}

function orNull<T>(v: unknown): T | null {
  return v === undefined || v === null ? null : (v as T);
}

function normalizeMeta(meta: unknown): RefMeta {
  const m = (meta ?? {}) as Loose;
  if (typeof m.eventId !== 'string') throw new Error('reference fold: meta.eventId must be a string');
  return {
    eventId: m.eventId,
    occurredAt: toEpochMillis(m.occurredAt),
    source: typeof m.source === 'string' ? m.source : '',
    correlationId: orNull<string>(m.correlationId),
    causationId: orNull<string>(m.causationId),
  };
}

function normalizeOrderLines(lines: unknown): RefOrderLine[] {
  return ((lines ?? []) as Loose[]).map((l) => ({
    lineNo: l.lineNo as number,
    sku: l.sku as string,
    warehouse: l.warehouse as string,
    quantity: l.quantity as number,
    uom: orNull<string>(l.uom),
    unitPriceMinor: orNull<number>(l.unitPriceMinor),
  }));
}

/**
 * A record as a typed, normalized event: occurredAt in epoch millis, optional fields present
 * (null or their SPEC default: `safetyStock {}`, `currency "USD"`, `creditHold false`).
 * Throws on an unknown topic, so a test that feeds derived topics by mistake fails loudly.
 */
export function normalizeEvent(record: InputRecord): RefEvent {
  const v = (record.value ?? {}) as Loose;
  const meta = normalizeMeta(v.meta);
  switch (record.topic) {
    case 'item.upserted':
      return {
        topic: 'item.upserted',
        value: {
          meta,
          sku: v.sku as string,
          description: (v.description as string) ?? '',
          baseUom: v.baseUom as string,
          uomConversions: (v.uomConversions ?? {}) as Record<string, number>,
          safetyStock: (v.safetyStock ?? {}) as Record<string, number>,
        },
      };
    case 'customer.upserted':
      return {
        topic: 'customer.upserted',
        value: {
          meta,
          customerId: v.customerId as string,
          name: v.name as string,
          email: orNull<string>(v.email),
          creditLimitMinor: orNull<number>(v.creditLimitMinor),
          creditHold: (v.creditHold as boolean | null | undefined) ?? false,
        },
      };
    case 'order.created':
      return {
        topic: 'order.created',
        value: {
          meta,
          orderId: v.orderId as string,
          customerId: v.customerId as string,
          channel: v.channel as string,
          currency: (v.currency as string | null | undefined) ?? 'USD',
          requestedShipDate: orNull<string>(v.requestedShipDate),
          lines: normalizeOrderLines(v.lines),
        },
      };
    case 'order.changed':
      return { topic: 'order.changed', value: { meta, orderId: v.orderId as string, lines: normalizeOrderLines(v.lines) } };
    case 'order.cancelled':
      return { topic: 'order.cancelled', value: { meta, orderId: v.orderId as string, reason: orNull<string>(v.reason) } };
    case 'pick.confirmed':
      return {
        topic: 'pick.confirmed',
        value: {
          meta,
          orderId: v.orderId as string,
          warehouse: v.warehouse as string,
          lines: ((v.lines ?? []) as Loose[]).map((l) => ({
            lineNo: l.lineNo as number,
            sku: l.sku as string,
            quantityPicked: l.quantityPicked as number,
            quantityShort: l.quantityShort as number,
          })),
        },
      };
    case 'shipment.confirmed':
      return {
        topic: 'shipment.confirmed',
        value: {
          meta,
          orderId: v.orderId as string,
          shipmentId: v.shipmentId as string,
          warehouse: v.warehouse as string,
          carrier: v.carrier as string,
          trackingNumber: orNull<string>(v.trackingNumber),
          lines: ((v.lines ?? []) as Loose[]).map((l) => ({
            lineNo: l.lineNo as number,
            sku: l.sku as string,
            quantityShipped: l.quantityShipped as number,
          })),
        },
      };
    case 'stock.adjusted':
      return {
        topic: 'stock.adjusted',
        value: { meta, sku: v.sku as string, warehouse: v.warehouse as string, delta: v.delta as number, reason: v.reason as string },
      };
    case 'stock.counted':
      return {
        topic: 'stock.counted',
        value: { meta, sku: v.sku as string, warehouse: v.warehouse as string, countedQuantity: v.countedQuantity as number },
      };
    case 'return.received':
      return {
        topic: 'return.received',
        value: {
          meta,
          returnId: v.returnId as string,
          orderId: v.orderId as string,
          warehouse: v.warehouse as string,
          lines: ((v.lines ?? []) as Loose[]).map((l) => ({
            sku: l.sku as string,
            quantity: l.quantity as number,
            disposition: l.disposition as 'RESTOCK' | 'SCRAP',
          })),
        },
      };
    default:
      throw new Error(`reference fold: unknown source topic "${record.topic}" (expected one of ${REF_TOPICS.join(', ')})`);
  }
}
