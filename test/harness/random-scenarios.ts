/**
 * Random event sets for property tests of the pipeline (SPEC §5–6): a few skus, warehouses and
 * orders so that collisions (versions of one order, counts and movements of one row, ties on
 * occurredAt broken by eventId) are frequent; rare business-rule breaches; item versions that
 * change safety stock only; duplicates; one shuffle. Shared by the pure property test
 * (processors/pipeline.property.test.ts) and the one through Kafka and Redis (test/e2e).
 */
import fc from 'fast-check';
import { T0 } from '../../processors/test-builders';

export type Rec = { topic: string; value: Record<string, unknown> };

const SKUS = ['A', 'B', 'C'] as const;
const WAREHOUSES = ['W1', 'W2'] as const;
const ORDER_IDS = ['O1', 'O2', 'O3', 'O4'] as const;
const UOMS = [null, 'EA', 'KG', 'CS', 'PL', 'XX'] as const;

const minute = fc.integer({ min: 0, max: 30 }).map((m) => T0 + m * 60_000);
// A few eventId tokens so that equal occurredAt ties are decided by eventId in both directions.
const token = fc.integer({ min: 0, max: 19 }).map((n) => String(n).padStart(2, '0'));

const metaArb = fc.record({ occurredAt: minute, token });

// Mostly valid lines (each breach is rare), so that whole orders are often valid.
const lineArb = fc.record({
  lineNo: fc.integer({ min: 1, max: 2 }),
  sku: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...SKUS) }, { weight: 1, arbitrary: fc.constant('Z') }),
  warehouse: fc.constantFrom(...WAREHOUSES),
  quantity: fc.oneof({ weight: 12, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 1, arbitrary: fc.integer({ min: -1, max: 0 }) }),
  uom: fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: fc.constantFrom(...UOMS) }),
  unitPriceMinor: fc.constant(100),
});

type Draft = { topic: string; meta: { occurredAt: number; token: string }; body: Record<string, unknown> };

const draft = (topic: string, body: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Draft> =>
  fc.record({ meta: metaArb, body }).map(({ meta, body: b }) => ({ topic, meta, body: b }));

const orderId = fc.constantFrom(...ORDER_IDS, 'O9');
const sku = fc.constantFrom(...SKUS);
const warehouse = fc.constantFrom(...WAREHOUSES);

const sourceEvent: fc.Arbitrary<Draft> = fc.oneof(
  { weight: 4, arbitrary: draft('order.created', fc.record({ orderId, customerId: fc.constant('C1'), channel: fc.constant('CRM'), lines: fc.array(lineArb, { maxLength: 3 }) })) },
  { weight: 3, arbitrary: draft('order.changed', fc.record({ orderId, lines: fc.array(lineArb, { maxLength: 3 }) })) },
  { weight: 1, arbitrary: draft('order.cancelled', fc.record({ orderId })) },
  {
    weight: 2,
    arbitrary: draft(
      'pick.confirmed',
      fc.record({ orderId, warehouse, lines: fc.array(fc.record({ lineNo: fc.integer({ min: 1, max: 2 }), sku, quantityPicked: fc.nat(4), quantityShort: fc.nat(3) }), { maxLength: 2 }) }),
    ),
  },
  {
    weight: 3,
    arbitrary: draft(
      'shipment.confirmed',
      fc.record({
        orderId,
        shipmentId: fc.constant('S1'),
        warehouse,
        carrier: fc.constant('UPS'),
        lines: fc.array(fc.record({ lineNo: fc.integer({ min: 1, max: 2 }), sku, quantityShipped: fc.integer({ min: 0, max: 8 }) }), { minLength: 1, maxLength: 3 }),
      }),
    ),
  },
  {
    // Ships both line numbers generously, so whole orders (SHIPPED) and over-shipments occur.
    weight: 2,
    arbitrary: draft(
      'shipment.confirmed',
      fc.record({
        orderId,
        shipmentId: fc.constant('S2'),
        warehouse,
        carrier: fc.constant('UPS'),
        lines: fc.tuple(sku, sku, fc.integer({ min: 5, max: 9 }), fc.integer({ min: 5, max: 9 })).map(([s1, s2, q1, q2]) => [
          { lineNo: 1, sku: s1, quantityShipped: q1 },
          { lineNo: 2, sku: s2, quantityShipped: q2 },
        ]),
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: draft(
      'return.received',
      fc.record({ returnId: fc.constant('R1'), orderId, warehouse, lines: fc.array(fc.record({ sku, quantity: fc.nat(4), disposition: fc.constantFrom('RESTOCK', 'SCRAP') }), { maxLength: 2 }) }),
    ),
  },
  { weight: 3, arbitrary: draft('stock.adjusted', fc.record({ sku, warehouse, delta: fc.integer({ min: -10, max: 20 }), reason: fc.constant('CORRECTION') })) },
  { weight: 3, arbitrary: draft('stock.counted', fc.record({ sku, warehouse, countedQuantity: fc.nat(40) })) },
);

/** Per sku: one unit set for all its versions, 1–3 versions differing in safety stock. */
const itemVersions = fc.tuple(
  ...SKUS.map((s) =>
    fc.record({
      baseUom: fc.constantFrom('EA', 'KG'),
      conv: fc.dictionary(fc.constantFrom('CS', 'PL'), fc.integer({ min: 2, max: 24 })),
      versions: fc.array(fc.record({ meta: metaArb, safetyStock: fc.dictionary(fc.constantFrom(...WAREHOUSES), fc.nat(5)) }), { minLength: 1, maxLength: 3 }),
      sku: fc.constant(s),
    }),
  ),
);

export const scenario = fc.record({
  items: itemVersions,
  events: fc.array(sourceEvent, { maxLength: 60, size: 'medium' }),
  duplicates: fc.array(fc.nat(), { maxLength: 10 }),
  shuffleSeed: fc.integer(),
});

export type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** Deterministic Fisher–Yates from a seed (an LCG), so a failing case replays. */
export function shuffle<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The scenario as records: first item version per sku first, everything else shuffled with duplicates. */
export function recordsOf(sc: Scenario): { itemsFirst: Rec[]; rest: Rec[] } {
  // eventIds are unique within a topic but shared across topics when tokens meet (an
  // order.created and an order.changed may share one: the tie rule after eventId applies).
  const used = new Map<string, number>();
  const metaOf = (topic: string, m: { occurredAt: number; token: string }) => {
    const k = used.get(`${topic}/${m.token}`) ?? 0;
    used.set(`${topic}/${m.token}`, k + 1);
    return { eventId: k === 0 ? `e${m.token}` : `e${m.token}-${k}`, occurredAt: m.occurredAt, source: 'TEST', correlationId: null, causationId: null };
  };
  const itemsFirst: Rec[] = [];
  const rest: Rec[] = [];
  for (const it of sc.items) {
    it.versions.forEach((v, i) => {
      const rec = { topic: 'item.upserted', value: { meta: metaOf('item.upserted', v.meta), sku: it.sku, description: it.sku, baseUom: it.baseUom, uomConversions: it.conv, safetyStock: v.safetyStock } };
      (i === 0 ? itemsFirst : rest).push(rec);
    });
  }
  for (const d of sc.events) rest.push({ topic: d.topic, value: { meta: metaOf(d.topic, d.meta), ...d.body } });
  const withDuplicates = [...rest];
  for (const i of sc.duplicates) if (rest.length > 0) withDuplicates.push(rest[i % rest.length] as Rec);
  return { itemsFirst, rest: shuffle(withDuplicates, sc.shuffleSeed) };
}
