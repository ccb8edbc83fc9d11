/**
 * The simulator against SPEC §4 and its own brief: reproducible by seed (events and files),
 * well-formed values with the SPEC's keys, realistic proportions, invalid orders and duplicates at
 * the configured rates (judged by the SPEC's business rules, re-implemented here), causally
 * plausible order, bounded state over long runs.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../runtime/errors';
import { simulate, simulateToDir, simulateToFile, SimulationRun, SOURCE_TOPICS, type SimEvent } from './index';

const CODE = /^[A-Za-z0-9._-]{1,64}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function take(options: Parameters<typeof simulate>[0]): SimEvent[] {
  return [...simulate(options)];
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-sim-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

// ---- an independent reading of SPEC §4 --------------------------------------------------------

type Json = Record<string, unknown>;

function problemsOf(event: SimEvent): string[] {
  const problems: string[] = [];
  const v = event.value as unknown as Json;
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${event.topic}: ${what}`);
  };
  const isInt = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x);
  const isCode = (x: unknown) => typeof x === 'string' && CODE.test(x);
  const optional = (x: unknown, check: (y: unknown) => boolean) => x === null || x === undefined || check(x);
  const intMap = (x: unknown) =>
    typeof x === 'object' && x !== null && !Array.isArray(x) && Object.entries(x).every(([k, n]) => CODE.test(k) && isInt(n));

  const meta = v.meta as Json | undefined;
  need(typeof meta === 'object' && meta !== null, 'meta is an object');
  if (meta) {
    need(isCode(meta.eventId), 'meta.eventId is a code');
    need(isInt(meta.occurredAt) && (meta.occurredAt as number) > Date.parse('2000-01-01'), 'meta.occurredAt is epoch millis');
    need(['CRM', 'ECOMMERCE', 'EDI', 'ERP', 'WMS'].includes(meta.source as string), 'meta.source is a source system');
    need(optional(meta.correlationId, isCode), 'meta.correlationId is null or a code');
    need(optional(meta.causationId, isCode), 'meta.causationId is null or a code');
    need('correlationId' in meta && 'causationId' in meta, 'meta names correlationId and causationId');
  }
  const expectedKey = (() => {
    switch (event.topic) {
      case 'item.upserted':
        return v.sku;
      case 'customer.upserted':
        return v.customerId;
      case 'stock.adjusted':
      case 'stock.counted':
        return `${v.sku as string}@${v.warehouse as string}`;
      default:
        return v.orderId;
    }
  })();
  need(event.key === expectedKey, `key ${event.key} is ${String(expectedKey)}`);

  const orderLines = (lines: unknown) => {
    need(Array.isArray(lines) && lines.length > 0, 'lines is a non-empty array');
    for (const line of (lines as Json[]) ?? []) {
      need(isInt(line.lineNo), 'line.lineNo is an int');
      need(isCode(line.sku) && isCode(line.warehouse), 'line sku and warehouse are codes');
      need(isInt(line.quantity), 'line.quantity is an int');
      need(optional(line.uom, isCode), 'line.uom is null or a code');
      need(optional(line.unitPriceMinor, isInt), 'line.unitPriceMinor is null or an int');
    }
  };
  const source = meta?.source;
  switch (event.topic) {
    case 'item.upserted':
      need(source === 'ERP', 'from the ERP');
      need(isCode(v.sku) && typeof v.description === 'string' && isCode(v.baseUom), 'sku, description, baseUom');
      need(intMap(v.uomConversions) && intMap(v.safetyStock), 'uomConversions and safetyStock are int maps');
      break;
    case 'customer.upserted':
      need(source === 'CRM', 'from the CRM');
      need(isCode(v.customerId) && typeof v.name === 'string', 'customerId and name');
      need(optional(v.email, (x) => typeof x === 'string' && x.includes('@')), 'email is null or an address');
      need(optional(v.creditLimitMinor, isInt), 'creditLimitMinor is null or an int');
      need(typeof v.creditHold === 'boolean', 'creditHold is a boolean');
      break;
    case 'order.created':
      need(isCode(v.orderId) && isCode(v.customerId), 'orderId and customerId are codes');
      need(['CRM', 'ECOMMERCE', 'EDI', 'MARKETPLACE'].includes(v.channel as string), 'channel is in the enum');
      need(source === (v.channel === 'MARKETPLACE' ? 'ECOMMERCE' : v.channel), 'source matches the channel');
      need(typeof v.currency === 'string' && /^[A-Z]{3}$/.test(v.currency), 'currency is a currency code');
      need(optional(v.requestedShipDate, (x) => typeof x === 'string' && DATE.test(x)), 'requestedShipDate is YYYY-MM-DD');
      orderLines(v.lines);
      break;
    case 'order.changed':
      need(['CRM', 'ECOMMERCE', 'EDI'].includes(source as string), 'from an order source');
      need(isCode(v.orderId), 'orderId');
      orderLines(v.lines);
      break;
    case 'order.cancelled':
      need(['CRM', 'ECOMMERCE', 'EDI'].includes(source as string), 'from an order source');
      need(isCode(v.orderId) && optional(v.reason, (x) => typeof x === 'string'), 'orderId and reason');
      break;
    case 'pick.confirmed':
      need(source === 'WMS' && isCode(v.orderId) && isCode(v.warehouse), 'WMS, orderId, warehouse');
      for (const line of v.lines as Json[]) {
        need(isInt(line.lineNo) && isCode(line.sku), 'pick line lineNo and sku');
        need(isInt(line.quantityPicked) && (line.quantityPicked as number) >= 0, 'quantityPicked ≥ 0');
        need(isInt(line.quantityShort) && (line.quantityShort as number) >= 0, 'quantityShort ≥ 0');
      }
      break;
    case 'shipment.confirmed':
      need(source === 'WMS' && isCode(v.orderId) && isCode(v.shipmentId) && isCode(v.warehouse), 'WMS, orderId, shipmentId, warehouse');
      need(typeof v.carrier === 'string' && optional(v.trackingNumber, (x) => typeof x === 'string'), 'carrier and trackingNumber');
      need((v.lines as Json[]).length > 0, 'shipment has lines');
      for (const line of v.lines as Json[]) {
        need(isInt(line.lineNo) && isCode(line.sku) && isInt(line.quantityShipped) && (line.quantityShipped as number) > 0, 'shipment line');
      }
      break;
    case 'stock.adjusted':
      need(source === 'WMS' && isCode(v.sku) && isCode(v.warehouse) && isInt(v.delta) && v.delta !== 0, 'WMS, sku, warehouse, non-zero delta');
      need(['RECEIPT', 'DAMAGE', 'LOST', 'FOUND', 'CORRECTION', 'TRANSFER_IN', 'TRANSFER_OUT', 'SCRAP'].includes(v.reason as string), 'reason');
      break;
    case 'stock.counted':
      need(source === 'WMS' && isCode(v.sku) && isCode(v.warehouse), 'WMS, sku, warehouse');
      need(isInt(v.countedQuantity) && (v.countedQuantity as number) >= 0, 'countedQuantity ≥ 0');
      break;
    case 'return.received':
      need(source === 'WMS' && isCode(v.returnId) && isCode(v.orderId) && isCode(v.warehouse), 'WMS, returnId, orderId, warehouse');
      for (const line of v.lines as Json[]) {
        need(isCode(line.sku) && isInt(line.quantity) && (line.quantity as number) > 0, 'return line');
        need(['RESTOCK', 'SCRAP'].includes(line.disposition as string), 'disposition');
      }
      break;
  }
  return problems;
}

/** SPEC §5's validity of an order version, against the items seen so far. */
function breaches(lines: Json[], items: Map<string, { baseUom: string; uomConversions: Record<string, number> }>): string[] {
  const found: string[] = [];
  const lineNos = new Set<number>();
  for (const line of lines) {
    const item = items.get(line.sku as string);
    if (!item) found.push('UNKNOWN_SKU');
    else if (line.uom !== null && line.uom !== item.baseUom && !(line.uom as string in item.uomConversions)) found.push('UNKNOWN_UOM');
    if (!((line.quantity as number) > 0)) found.push('INVALID_QUANTITY');
    if (lineNos.has(line.lineNo as number)) found.push('DUPLICATE_LINE');
    lineNos.add(line.lineNo as number);
  }
  return found;
}

function versionStats(events: SimEvent[]) {
  const items = new Map<string, { baseUom: string; uomConversions: Record<string, number> }>();
  let versions = 0;
  const invalid: string[][] = [];
  for (const event of events) {
    if (event.topic === 'item.upserted') items.set(event.value.sku, event.value);
    if (event.topic === 'order.created' || event.topic === 'order.changed') {
      versions++;
      const found = breaches(event.value.lines as unknown as Json[], items);
      if (found.length > 0) invalid.push(found);
    }
  }
  return { versions, invalid };
}

// ---- tests ------------------------------------------------------------------------------------

// Heavy cases get a long timeout: they take a few seconds alone, far more on a loaded shared machine.
describe('simulate', () => {
  const run20k = take({ seed: 'spec', events: 20_000 });

  it('gives the identical event sequence for the same seed, and a different one for another seed', { timeout: 90_000 }, () => {
    const again = take({ seed: 'spec', events: 20_000 });
    expect(again).toEqual(run20k);
    // The iterable replays its run each time it is iterated.
    const iterable = simulate({ seed: 5, events: 500 });
    expect([...iterable]).toEqual([...iterable]);
    const other = take({ seed: 'other', events: 20_000 });
    expect(other.map((e) => e.value.meta.eventId)).not.toEqual(run20k.map((e) => e.value.meta.eventId));
    expect(JSON.stringify(other.slice(0, 200))).not.toEqual(JSON.stringify(run20k.slice(0, 200)));
  });

  it('emits exactly the requested number of events', () => {
    expect(run20k).toHaveLength(20_000);
    expect(take({ events: 0 })).toHaveLength(0);
  });

  it('stops at the simulated duration', () => {
    const startAt = Date.parse('2026-11-20T08:00:00Z');
    const events = take({ seed: 3, duration: 1800, startAt });
    expect(events.length).toBeGreaterThan(500);
    const times = events.map((e) => e.value.meta.occurredAt);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(startAt);
    expect(Math.max(...times)).toBeLessThanOrEqual(startAt + 1800 * 1000);
    expect(Math.max(...times)).toBeGreaterThan(startAt + 1700 * 1000);
    // Even inside the opening master-data burst.
    const short = take({ seed: 3, duration: 1, startAt });
    expect(short.length).toBeGreaterThan(0);
    expect(short.every((e) => e.value.meta.occurredAt <= startAt + 1000)).toBe(true);
  });

  it('starts the simulated clock at startAt, 2026-11-20T08:00:00Z by default', () => {
    expect(run20k[0]?.value.meta.occurredAt).toBe(Date.parse('2026-11-20T08:00:00Z'));
    const [first] = take({ events: 1, startAt: '2030-01-02T03:04:05Z' });
    expect(first?.value.meta.occurredAt).toBe(Date.parse('2030-01-02T03:04:05Z'));
  });

  it('gives every event the SPEC fields with the right types, coded ids, integer quantities and the SPEC key', () => {
    const problems = new Map<string, number>();
    for (const event of run20k) for (const p of problemsOf(event)) problems.set(p, (problems.get(p) ?? 0) + 1);
    expect([...problems]).toEqual([]);
    expect(new Set(run20k.map((e) => e.value.meta.eventId)).size).toBe(run20k.length);
  });

  it('publishes the item master first: every item, then customers, then opening receipts', () => {
    const items = run20k.filter((e) => e.topic === 'item.upserted');
    const firstOrder = run20k.findIndex((e) => e.topic === 'order.created');
    const skus = new Set(items.map((e) => e.key));
    expect(skus.size).toBe(200);
    expect(run20k.slice(0, 200).every((e) => e.topic === 'item.upserted')).toBe(true);
    expect(run20k.slice(200, 500).every((e) => e.topic === 'customer.upserted')).toBe(true);
    expect(run20k.slice(0, firstOrder).filter((e) => e.topic === 'stock.adjusted').every((e) => e.topic === 'stock.adjusted' && e.value.reason === 'RECEIPT')).toBe(true);
    // Some items are re-published later with a changed safety stock.
    const later = items.slice(200);
    expect(later.length).toBeGreaterThan(0);
    const firstVersion = new Map(items.slice(0, 200).map((e) => [e.key, e.topic === 'item.upserted' ? JSON.stringify(e.value.safetyStock) : '']));
    expect(later.some((e) => e.topic === 'item.upserted' && JSON.stringify(e.value.safetyStock) !== firstVersion.get(e.key))).toBe(true);
  });

  it.each([200, 500, 2_000])('a short run of %i events is a small world with orders picked and shipped in it, not only master data', (n) => {
    const events = take({ seed: 'short', events: n });
    expect(events).toHaveLength(n);
    const count = (topic: string) => events.filter((e) => e.topic === topic).length;
    const master = count('item.upserted') + count('customer.upserted');
    expect(master / n, 'share of item and customer records').toBeLessThan(0.2);
    for (const topic of ['order.created', 'pick.confirmed', 'shipment.confirmed', 'stock.adjusted']) expect(count(topic), topic).toBeGreaterThan(0);
    expect(count('order.created') / n, 'orders').toBeGreaterThan(0.2);
    // Every order line names an item the run published first.
    const items = new Set(events.filter((e) => e.topic === 'item.upserted').map((e) => e.key));
    const lineSkus = events.filter((e) => e.topic === 'order.created').flatMap((e) => (e.value as { lines: { sku: string }[] }).lines.map((l) => l.sku));
    expect(lineSkus.filter((sku) => items.has(sku)).length / lineSkus.length).toBeGreaterThan(0.95);
  });

  it('has realistic proportions: every topic, mostly orders and their fulfilment, a few returns', () => {
    const counts = Object.fromEntries(SOURCE_TOPICS.map((t) => [t, 0])) as Record<string, number>;
    for (const event of run20k) counts[event.topic]!++;
    for (const topic of SOURCE_TOPICS) expect(counts[topic], topic).toBeGreaterThan(0);
    const created = counts['order.created'] as number;
    expect(created / run20k.length).toBeGreaterThan(0.2);
    expect(created / run20k.length).toBeLessThan(0.45);
    expect(counts['pick.confirmed']! / created).toBeGreaterThan(0.6);
    expect(counts['order.changed']! / created).toBeGreaterThan(0.05);
    expect(counts['order.changed']! / created).toBeLessThan(0.3);
    expect(counts['order.cancelled']! / created).toBeGreaterThan(0.01);
    expect(counts['order.cancelled']! / created).toBeLessThan(0.12);
    expect(counts['return.received']! / created).toBeLessThan(0.05);
    expect(counts['stock.counted']! / created).toBeGreaterThan(0.1);

    const channels = new Map<string, number>();
    const units = { none: 0, base: 0, pack: 0 };
    let lines = 0;
    for (const event of run20k) {
      if (event.topic !== 'order.created') continue;
      channels.set(event.value.channel, (channels.get(event.value.channel) ?? 0) + 1);
      expect(event.value.lines.length).toBeLessThanOrEqual(7);
      lines += event.value.lines.length;
      for (const line of event.value.lines) {
        if (line.uom === null) units.none++;
        else if (['EA', 'KG', 'L', 'M', 'PR'].includes(line.uom)) units.base++;
        else units.pack++;
      }
    }
    expect([...channels.keys()].sort()).toEqual(['CRM', 'ECOMMERCE', 'EDI', 'MARKETPLACE']);
    expect(lines / created).toBeGreaterThan(1.8);
    expect(lines / created).toBeLessThan(3.2);
    expect(units.none).toBeGreaterThan(0);
    expect(units.base).toBeGreaterThan(0);
    expect(units.pack).toBeGreaterThan(0);

    const stockReasons = new Set(run20k.flatMap((e) => (e.topic === 'stock.adjusted' ? [e.value.reason] : [])));
    for (const reason of ['RECEIPT', 'DAMAGE', 'LOST', 'FOUND', 'CORRECTION', 'TRANSFER_OUT', 'TRANSFER_IN']) expect(stockReasons).toContain(reason);
    const picks = run20k.filter((e) => e.topic === 'pick.confirmed');
    const short = picks.filter((e) => e.topic === 'pick.confirmed' && e.value.lines.some((l) => l.quantityShort > 0));
    expect(short.length).toBeGreaterThan(0);
    expect(short.length / picks.length).toBeLessThan(0.1);
    const counts2 = run20k.flatMap((e) => (e.topic === 'stock.counted' ? [e] : []));
    expect(counts2.length).toBeGreaterThan(0);
    const dispositions = new Set(run20k.flatMap((e) => (e.topic === 'return.received' ? e.value.lines.map((l) => l.disposition) : [])));
    expect(dispositions.size).toBeGreaterThan(0);
  });

  it('ships partially over several shipments, and now and then one unit too many', { timeout: 90_000 }, () => {
    const ordered = new Map<string, number>();
    const picked = new Map<string, number>();
    const shipped = new Map<string, number>();
    const shipmentsPerPick = new Map<string, number>();
    for (const event of take({ seed: 'ship', events: 60_000 })) {
      if (event.topic === 'pick.confirmed') {
        for (const l of event.value.lines) picked.set(`${event.key}/${l.lineNo}`, (picked.get(`${event.key}/${l.lineNo}`) ?? 0) + l.quantityPicked);
      }
      if (event.topic === 'shipment.confirmed') {
        const k = `${event.key}@${event.value.warehouse}`;
        shipmentsPerPick.set(k, (shipmentsPerPick.get(k) ?? 0) + 1);
        for (const l of event.value.lines) shipped.set(`${event.key}/${l.lineNo}`, (shipped.get(`${event.key}/${l.lineNo}`) ?? 0) + l.quantityShipped);
      }
      if (event.topic === 'order.created') ordered.set(event.key, 1);
    }
    expect([...shipmentsPerPick.values()].some((n) => n > 1)).toBe(true);
    expect([...shipped].some(([line, q]) => q > (picked.get(line) ?? 0))).toBe(true);
    expect([...shipped].filter(([line, q]) => q > (picked.get(line) ?? 0)).length / shipped.size).toBeLessThan(0.05);
  });

  it('breaks business rules in about invalidRate of order versions, and in none at 0', { timeout: 90_000 }, () => {
    const defaults = versionStats(run20k);
    expect(defaults.invalid.length / defaults.versions).toBeLessThan(0.015);

    const high = versionStats(take({ seed: 'invalid', events: 20_000, invalidRate: 0.05 }));
    expect(high.versions).toBeGreaterThan(4000);
    const share = high.invalid.length / high.versions;
    expect(share).toBeGreaterThan(0.035);
    expect(share).toBeLessThan(0.065);
    const kinds = new Set(high.invalid.flat());
    expect([...kinds].sort()).toEqual(['DUPLICATE_LINE', 'INVALID_QUANTITY', 'UNKNOWN_SKU', 'UNKNOWN_UOM']);
    // Every breach is still a valid Avro value: codes, integers.
    expect(take({ seed: 'invalid', events: 20_000, invalidRate: 0.05 }).flatMap(problemsOf)).toEqual([]);

    expect(versionStats(take({ seed: 'invalid', events: 10_000, invalidRate: 0 })).invalid).toEqual([]);
  });

  it('never picks or ships an order whose every version was invalid', () => {
    const events = take({ seed: 'invalid', events: 20_000, invalidRate: 0.2 });
    const items = new Map<string, { baseUom: string; uomConversions: Record<string, number> }>();
    const hasValid = new Set<string>();
    for (const event of events) {
      if (event.topic === 'item.upserted') items.set(event.value.sku, event.value);
      if ((event.topic === 'order.created' || event.topic === 'order.changed') && breaches(event.value.lines as unknown as Json[], items).length === 0) hasValid.add(event.key);
      if (event.topic === 'pick.confirmed' || event.topic === 'shipment.confirmed') expect(hasValid.has(event.key)).toBe(true);
    }
  });

  it('re-sends events unchanged at about duplicateRate, and never at the default 0', { timeout: 90_000 }, () => {
    const seen = new Set<string>();
    for (const event of run20k) {
      expect(seen.has(event.value.meta.eventId)).toBe(false);
      seen.add(event.value.meta.eventId);
    }

    const withDuplicates = take({ seed: 'spec', events: 20_000, duplicateRate: 0.02 });
    const first = new Map<string, SimEvent>();
    let repeats = 0;
    const originals: SimEvent[] = [];
    for (const event of withDuplicates) {
      const original = first.get(event.value.meta.eventId);
      if (original) {
        repeats++;
        expect(event).toEqual(original);
      } else {
        first.set(event.value.meta.eventId, event);
        originals.push(event);
      }
    }
    expect(repeats / withDuplicates.length).toBeGreaterThan(0.014);
    expect(repeats / withDuplicates.length).toBeLessThan(0.026);
    // Duplicates are inserted into the very same stream: without them it is the run without duplicates.
    expect(originals).toEqual(run20k.slice(0, originals.length));
  });

  it('emits in a causally plausible order; only deliberately late changes go back in time', () => {
    const created = new Map<string, number>();
    const versionTimes = new Map<string, number[]>();
    const pickedAt = new Set<string>();
    const shippedOrders = new Set<string>();
    const correlation = new Map<string, string | null>();
    let clock = 0;
    let late = 0;
    for (const event of run20k) {
      const { occurredAt, correlationId } = event.value.meta;
      const orderId = 'orderId' in event.value ? event.value.orderId : null;
      if (event.topic === 'order.created') {
        created.set(event.key, occurredAt);
        versionTimes.set(event.key, [occurredAt]);
        correlation.set(event.key, correlationId);
        expect(correlationId).not.toBeNull();
        expect(event.value.meta.causationId).toBeNull();
      } else if (orderId !== null) {
        expect(created.has(orderId), `${event.topic} for ${orderId} before its order.created`).toBe(true);
        expect(correlationId).toBe(correlation.get(orderId));
        expect(event.value.meta.causationId).not.toBeNull();
        expect(occurredAt).toBeGreaterThan(created.get(orderId) as number);
      }
      if (event.topic === 'order.changed') {
        const times = versionTimes.get(event.key) as number[];
        if (occurredAt < Math.max(...times)) late++;
        else expect(occurredAt).toBeGreaterThanOrEqual(clock);
        times.push(occurredAt);
      } else {
        expect(occurredAt, `${event.topic} goes back in time`).toBeGreaterThanOrEqual(clock);
      }
      if (event.topic === 'pick.confirmed') pickedAt.add(`${event.key}@${event.value.warehouse}`);
      if (event.topic === 'shipment.confirmed') {
        expect(pickedAt.has(`${event.key}@${event.value.warehouse}`), 'shipment before its pick').toBe(true);
        shippedOrders.add(event.key);
      }
      if (event.topic === 'return.received') expect(shippedOrders.has(event.key), 'return before any shipment').toBe(true);
      clock = Math.max(clock, occurredAt);
    }
    expect(late).toBeGreaterThan(0);
  });

  it('links transfers: TRANSFER_IN follows its TRANSFER_OUT of the same sku, sharing a correlationId', () => {
    const outs = new Map<string, { eventId: string; sku: string; delta: number; warehouse: string }>();
    let linked = 0;
    for (const event of run20k) {
      if (event.topic !== 'stock.adjusted') continue;
      const { meta, sku, delta, reason, warehouse } = event.value;
      if (reason === 'TRANSFER_OUT') outs.set(meta.correlationId as string, { eventId: meta.eventId, sku, delta, warehouse });
      if (reason === 'TRANSFER_IN') {
        const out = outs.get(meta.correlationId as string);
        expect(out).toBeDefined();
        expect(meta.causationId).toBe(out?.eventId);
        expect(sku).toBe(out?.sku);
        expect(delta).toBe(-(out?.delta as number));
        expect(warehouse).not.toBe(out?.warehouse);
        linked++;
      }
    }
    expect(linked).toBeGreaterThan(0);
  });

  it('honours warehouses, skus and customers', () => {
    const events = take({ seed: 9, events: 5000, warehouses: ['north', 'south'], skus: 25, customers: 10 });
    expect(new Set(events.flatMap((e) => ('warehouse' in e.value ? [e.value.warehouse] : [])))).toEqual(new Set(['north', 'south']));
    expect(new Set(events.flatMap((e) => (e.topic === 'item.upserted' ? [e.key] : []))).size).toBe(25);
    expect(new Set(events.flatMap((e) => (e.topic === 'customer.upserted' ? [e.key] : []))).size).toBe(10);
    const fourDcs = take({ seed: 9, events: 5000, warehouses: 4 });
    expect(new Set(fourDcs.flatMap((e) => (e.topic === 'stock.adjusted' ? [e.value.warehouse] : [])))).toEqual(new Set(['DC-EAST', 'DC-WEST', 'DC-CENTRAL', 'DC-SOUTH']));
  });

  it('refuses bad options with a usage error that names the option', () => {
    expect(() => simulate({ skus: 0 })).toThrow(UsageError);
    expect(() => simulate({ invalidRate: 2 })).toThrow(/invalidRate/);
    expect(() => simulate({ warehouses: ['DC@EAST'] })).toThrow(/warehouse code/);
    expect(() => simulate({ startAt: 'yesterday' })).toThrow(/startAt/);
    expect(() => simulateToDir({}, tempDir())).toThrow(/events or duration/);
  });
});

describe('simulateToDir', () => {
  it('writes one NDJSON file per topic, byte-identical for the same seed', { timeout: 90_000 }, () => {
    const a = tempDir();
    const b = tempDir();
    const summary = simulateToDir({ seed: 'files', events: 20_000 }, a);
    simulateToDir({ seed: 'files', events: 20_000 }, b);
    const files = readdirSync(a).sort();
    expect(files).toEqual(SOURCE_TOPICS.map((t) => `${t}.ndjson`).sort());
    expect(readdirSync(b).sort()).toEqual(files);
    for (const file of files) expect(readFileSync(join(a, file)).equals(readFileSync(join(b, file))), file).toBe(true);

    expect(summary.events).toBe(20_000);
    let lines = 0;
    for (const topic of SOURCE_TOPICS) {
      const text = readFileSync(join(a, `${topic}.ndjson`), 'utf8');
      const values = text.split('\n').filter((l) => l !== '');
      expect(values.length, topic).toBe(summary.perTopic[topic]);
      lines += values.length;
      // A line is the value itself: parseable, with meta, no key wrapper.
      const value = JSON.parse(values[0] as string) as Json;
      expect(value).toHaveProperty('meta.eventId');
      expect(value).not.toHaveProperty('key');
    }
    expect(lines).toBe(20_000);
    const events = take({ seed: 'files', events: 20_000 });
    const shipments = readFileSync(join(a, 'shipment.confirmed.ndjson'), 'utf8').trimEnd().split('\n');
    expect(shipments).toEqual(events.filter((e) => e.topic === 'shipment.confirmed').map((e) => JSON.stringify(e.value)));

    const c = tempDir();
    simulateToDir({ seed: 'other files', events: 20_000 }, c);
    expect(readFileSync(join(c, 'order.created.ndjson')).equals(readFileSync(join(a, 'order.created.ndjson')))).toBe(false);
  });
});

describe('simulateToFile', () => {
  it('writes the run in order, one {topic, key, value} line per event, byte-identical for the same seed', () => {
    const [a, b] = [join(tempDir(), 'run.ndjson'), join(tempDir(), 'nested', 'run.ndjson')];
    const summary = simulateToFile({ seed: 'one file', events: 3_000 }, a);
    simulateToFile({ seed: 'one file', events: 3_000 }, b);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(summary).toMatchObject({ path: a, events: 3_000 });
    const lines = readFileSync(a, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { topic: string; key: string; value: unknown });
    expect(lines).toEqual(take({ seed: 'one file', events: 3_000 }).map((e) => ({ topic: e.topic, key: e.key, value: e.value })));
    expect(() => simulateToFile({ seed: 1 }, join(tempDir(), 'endless.ndjson'))).toThrow(/events or duration/);
  });
});

describe('a long run', () => {
  it('keeps state for open orders only: open orders, agenda and heap stay flat over 400k events', { timeout: 90_000 }, () => {
    // A full collection before each heap reading, so the readings measure what is kept, not garbage.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const run = new SimulationRun({ seed: 'long', events: 400_000 });
    const samples: { openOrders: number; scheduled: number }[] = [];
    const heap: number[] = [];
    let n = 0;
    for (const event of run.events()) {
      n++;
      if (event.topic === 'order.created' && n % 1000 < 4) samples.push(run.state());
      if (n % 100_000 === 0) {
        gc();
        heap.push(process.memoryUsage().heapUsed);
      }
    }
    expect(n).toBe(400_000);
    const quarter = Math.floor(samples.length / 4);
    const peak = (xs: typeof samples, k: 'openOrders' | 'scheduled') => Math.max(...xs.map((s) => s[k]));
    const second = samples.slice(quarter, 2 * quarter);
    const last = samples.slice(3 * quarter);
    // Steady state: open orders ≈ intake × lifetime (1200/h × a few hours), not growing with the run.
    expect(peak(samples, 'openOrders')).toBeLessThan(8000);
    expect(peak(last, 'openOrders')).toBeLessThan(peak(second, 'openOrders') * 1.3);
    expect(peak(last, 'scheduled')).toBeLessThan(peak(second, 'scheduled') * 1.3);
    // 300k more events after the first 100k: a leak of even 40 bytes an event would show.
    expect((heap[3] as number) - (heap[0] as number)).toBeLessThan(12 * 1024 * 1024);
  });
});
