/**
 * The simulation run: a discrete-event state machine over simulated time that plays a
 * distributor's day as its source systems would report it.
 *
 *   bootstrap   ERP item.upserted for the catalogue, CRM customer.upserted, WMS opening receipts
 *   arrivals    orders (CRM / ECOMMERCE / EDI), cycle counts, stock adjustments, master-data edits
 *   agenda      what each arrival sets in motion: order changes and cancels, picks (short when
 *               the shelf is empty), shipments (full, split, over-shipped), backorder re-picks,
 *               returns, replenishment receipts, transfers arriving
 *
 * Events come out in simulated-time order, so a pick follows its order and a shipment its pick,
 * while streams interleave. Two deliberate exceptions: a late order.changed carries an occurredAt
 * older than an already sent version, and a duplicate re-sends an earlier event unchanged.
 * State is kept for open orders only (closed on the last shipment or a cancel) and for the fixed
 * (sku, warehouse) book, so memory stays bounded however long the run.
 */
import type {
  AdjustmentReason,
  Channel,
  Meta,
  OrderLine,
  SimEvent,
  Source,
  SourceTopic,
  EventValues,
} from './events';
import { keyOf, stockKey } from './events';
import { Agenda } from './agenda';
import { resolveOptions, type ResolvedOptions, type SimulateOptions } from './options';
import { Random } from './random';
import { buildWorld, LINE_COUNT_WEIGHTS, UOM_CHOICE_WEIGHTS, type Customer, type Item, type StockPolicy, type World } from './world';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Relative frequency of spontaneous happenings, per new order. */
const ARRIVAL_WEIGHTS = [
  ['order', 1],
  ['count', 0.25],
  ['adjustment', 0.08],
  ['item', 0.01],
  ['customer', 0.015],
] as const;
type ArrivalKind = (typeof ARRIVAL_WEIGHTS)[number][0];

const ORDER_PREFIX: Record<Channel, string> = { CRM: 'SO', ECOMMERCE: 'WEB', EDI: 'EDI', MARKETPLACE: 'MKT' };
const PICK_DELAY_MINUTES: Record<Channel, readonly [number, number]> = {
  ECOMMERCE: [5, 60],
  MARKETPLACE: [5, 60],
  CRM: [15, 120],
  EDI: [30, 180],
};
const CARRIERS = [
  ['UPS', 35],
  ['FEDEX', 30],
  ['USPS', 10],
  ['DHL', 5],
  ['XPO', 10],
  ['ODFL', 10],
] as const;
const CANCEL_REASONS = [
  ['Customer request', 40],
  ['Ordered in error', 20],
  ['Duplicate order', 10],
  ['Found a better price', 10],
  [null, 20],
] as const;
const FOREIGN_UOMS = ['DZ', 'GAL', 'PK', 'LB', 'BX', 'CS', 'BAG', 'EA'];
const PRICE_FACTOR: Record<string, number> = { USD: 1, CAD: 1.37, EUR: 0.92 };

/** One (sku, warehouse) in the simulated warehouse book. */
interface StockCell {
  key: string;
  item: Item;
  warehouse: string;
  policy: StockPolicy;
  onHand: number;
  /** Picked, not yet shipped. */
  allocated: number;
  /** Ordered from the supplier, not yet received. */
  inbound: number;
}

interface Version {
  eventId: string;
  occurredAt: number;
  lines: OrderLine[];
}

interface FulfilmentLine {
  lineNo: number;
  sku: string;
  cell: StockCell;
  picked: number;
  /** Short and not yet re-picked. */
  short: number;
  /** Picked and still held for this line. */
  allocated: number;
}

interface Fulfilment {
  warehouse: string;
  lines: FulfilmentLine[];
  lastEventId: string | null;
  repicked: boolean;
  unfilled: boolean;
  done: boolean;
  shipped: Map<string, number>;
}

interface OpenOrder {
  orderId: string;
  correlationId: string;
  source: Source;
  channel: Channel;
  customer: Customer;
  /** Emitted versions' occurredAt and eventId, ascending by occurredAt. */
  versions: { occurredAt: number; eventId: string }[];
  current: Version | null;
  /** The lines the customer means: the current valid set, or the set an invalid version garbled. */
  intended: OrderLine[];
  lastEventId: string;
  fulfilments: Fulfilment[];
  closed: boolean;
}

interface PendingReturn {
  orderId: string;
  correlationId: string;
  causationId: string | null;
  warehouse: string;
  lines: { sku: string; quantity: number }[];
}

type Action =
  | { kind: 'change'; order: OpenOrder; correction: boolean }
  | { kind: 'cancel'; order: OpenOrder; reason: string | null }
  | { kind: 'pick'; order: OpenOrder; fulfilment: Fulfilment }
  | { kind: 'repick'; order: OpenOrder; fulfilment: Fulfilment }
  | { kind: 'ship'; order: OpenOrder; fulfilment: Fulfilment; lines: { line: FulfilmentLine; quantity: number }[]; last: boolean }
  | { kind: 'return'; pending: PendingReturn }
  | { kind: 'receipt'; cell: StockCell; quantity: number; reason: 'RECEIPT' | 'TRANSFER_IN'; correlationId: string | null; causationId: string | null };

export interface SimulationState {
  emitted: number;
  openOrders: number;
  scheduled: number;
  clock: number;
}

export class SimulationRun {
  readonly options: ResolvedOptions;
  readonly world: World;
  private readonly rng: Random;
  private readonly duplicates: Random;
  private readonly tag: string;
  private readonly agenda = new Agenda<Action>();
  private readonly cells: StockCell[] = [];
  private readonly book = new Map<string, StockCell>();
  private readonly outbox: SimEvent[] = [];
  private readonly recent: SimEvent[] = [];
  private readonly arrivalGapMs: number;
  private clock: number;
  private nextArrivalAt = Infinity;
  private emittedCount = 0;
  private open = 0;
  private sequence = 0;

  constructor(options: SimulateOptions = {}) {
    this.options = resolveOptions(options);
    const root = new Random(this.options.seed);
    this.rng = root.fork('scenario');
    this.duplicates = root.fork('duplicates');
    this.world = buildWorld(root.fork('world'), this.options);
    this.tag = root.fork('tag').code(4);
    this.clock = this.options.startAt;
    const weightSum = ARRIVAL_WEIGHTS.reduce((sum, [, weight]) => sum + weight, 0);
    this.arrivalGapMs = HOUR / (this.options.ordersPerHour * weightSum);
    for (const item of this.world.items) {
      for (const warehouse of item.stockedAt) {
        const policy = item.policy[warehouse] as StockPolicy;
        const cell: StockCell = { key: stockKey(item.sku, warehouse), item, warehouse, policy, onHand: 0, allocated: 0, inbound: 0 };
        this.cells.push(cell);
        this.book.set(cell.key, cell);
      }
    }
  }

  state(): SimulationState {
    return { emitted: this.emittedCount, openOrders: this.open, scheduled: this.agenda.size, clock: this.clock };
  }

  *events(): Generator<SimEvent, void, undefined> {
    const { events: limit, durationMs, startAt, duplicateRate } = this.options;
    const endAt = startAt + durationMs;
    this.bootstrap();
    this.nextArrivalAt = this.clock + this.gap();
    for (;;) {
      while (this.outbox.length > 0) {
        const event = this.outbox.shift() as SimEvent;
        // The bootstrap is emitted in one go, so a very short duration can end inside it.
        if (this.emittedCount >= limit || event.value.meta.occurredAt > endAt) return;
        this.emittedCount++;
        yield event;
        this.remember(event);
        if (duplicateRate > 0 && this.duplicates.chance(duplicateRate)) {
          if (this.emittedCount >= limit) return;
          this.emittedCount++;
          yield structuredClone(this.duplicates.pick(this.recent));
        }
      }
      if (this.emittedCount >= limit) return;
      const dueAt = this.agenda.peekAt();
      const at = Math.min(dueAt, this.nextArrivalAt);
      if (at > endAt) return;
      this.clock = at;
      if (dueAt <= this.nextArrivalAt) {
        this.perform((this.agenda.pop() as { item: Action }).item);
      } else {
        this.arrive(this.rng.weighted<ArrivalKind>(ARRIVAL_WEIGHTS));
        this.nextArrivalAt = this.clock + this.gap();
      }
    }
  }

  // ---- emission ---------------------------------------------------------------------------

  private gap(): number {
    return Math.max(1, Math.round(this.rng.exponential(this.arrivalGapMs)));
  }

  private meta(source: Source, correlationId: string | null, causationId: string | null, occurredAt = this.clock): Meta {
    return { eventId: this.rng.uuid(), occurredAt, source, correlationId, causationId };
  }

  private emit<T extends SourceTopic>(topic: T, value: EventValues[T]): EventValues[T] {
    const event = { topic, key: '', value } as SimEvent;
    event.key = keyOf(event);
    this.outbox.push(event);
    return value;
  }

  private remember(event: SimEvent): void {
    if (this.options.duplicateRate === 0) return;
    if (this.recent.length >= 128) this.recent.shift();
    this.recent.push(event);
  }

  private nextId(prefix: string): string {
    return `${prefix}-${this.tag}-${String(++this.sequence).padStart(7, '0')}`;
  }

  // ---- bootstrap ------------------------------------------------------------------------------

  private bootstrap(): void {
    const tick = () => (this.clock += 10);
    for (const item of this.world.items) {
      this.emitItem(item);
      tick();
    }
    for (const customer of this.world.customers) {
      this.emitCustomer(customer);
      tick();
    }
    for (const cell of this.cells) {
      cell.onHand = cell.policy.initialStock;
      this.emit('stock.adjusted', {
        meta: this.meta('WMS', null, null),
        sku: cell.item.sku,
        warehouse: cell.warehouse,
        delta: cell.policy.initialStock,
        reason: 'RECEIPT',
      });
      tick();
    }
  }

  private emitItem(item: Item): void {
    this.emit('item.upserted', {
      meta: this.meta('ERP', null, null),
      sku: item.sku,
      description: item.description,
      baseUom: item.baseUom,
      uomConversions: { ...item.uomConversions },
      safetyStock: { ...item.safetyStock },
    });
  }

  private emitCustomer(customer: Customer): void {
    this.emit('customer.upserted', {
      meta: this.meta('CRM', null, null),
      customerId: customer.customerId,
      name: customer.name,
      email: customer.email,
      creditLimitMinor: customer.creditLimitMinor,
      creditHold: customer.creditHold,
    });
  }

  // ---- arrivals -------------------------------------------------------------------------------

  private arrive(kind: ArrivalKind): void {
    switch (kind) {
      case 'order':
        return this.createOrder();
      case 'count':
        return this.countStock();
      case 'adjustment':
        return this.adjustStock();
      case 'item':
        return this.editItem();
      case 'customer':
        return this.editCustomer();
    }
  }

  private createOrder(): void {
    const rng = this.rng;
    const customer = this.world.activeCustomers.draw(rng);
    const channel = customer.channel;
    // Marketplace orders reach the distributor through its ecommerce platform.
    const source: Source = channel === 'MARKETPLACE' ? 'ECOMMERCE' : channel;
    const orderId = this.nextId(ORDER_PREFIX[channel]);
    const correlationId = rng.uuid();
    const lines = this.buildLines(customer, rng.weighted(LINE_COUNT_WEIGHTS));
    const invalid = rng.chance(this.options.invalidRate);
    const shipDate = channel === 'EDI' || rng.chance(0.4) ? new Date(this.clock + rng.int(0, 7) * 24 * HOUR).toISOString().slice(0, 10) : null;
    const created = this.emit('order.created', {
      meta: this.meta(source, correlationId, null),
      orderId,
      customerId: customer.customerId,
      channel,
      currency: customer.currency,
      requestedShipDate: shipDate,
      lines: invalid ? this.breach(lines) : lines,
    });
    const order: OpenOrder = {
      orderId,
      correlationId,
      source,
      channel,
      customer,
      versions: [{ occurredAt: this.clock, eventId: created.meta.eventId }],
      current: invalid ? null : { eventId: created.meta.eventId, occurredAt: this.clock, lines },
      intended: lines,
      lastEventId: created.meta.eventId,
      fulfilments: [],
      closed: false,
    };
    if (!invalid) {
      this.open++;
      this.planFulfilment(order, false);
    } else if (rng.chance(0.5)) {
      // Customer service fixes the rejected order and sends the corrected lines as a change.
      this.open++;
      this.agenda.schedule(this.clock + rng.int(5, 90) * MINUTE, { kind: 'change', order, correction: true });
    }
  }

  private buildLines(customer: Customer, count: number): OrderLine[] {
    const rng = this.rng;
    const used = new Set<string>();
    const lines: OrderLine[] = [];
    const step = customer.channel === 'EDI' ? 10 : 1;
    for (let i = 0; i < count; i++) {
      let item = this.world.popularItems.draw(rng);
      for (let tries = 0; used.has(item.sku) && tries < 10; tries++) item = this.world.popularItems.draw(rng);
      if (used.has(item.sku)) break;
      used.add(item.sku);
      const warehouse = item.stockedAt.includes(customer.home) ? customer.home : rng.pick(item.stockedAt);
      lines.push(this.line((i + 1) * step, item, warehouse, customer));
    }
    return lines;
  }

  private line(lineNo: number, item: Item, warehouse: string, customer: Customer): OrderLine {
    const rng = this.rng;
    const packs = Object.keys(item.uomConversions);
    const w = UOM_CHOICE_WEIGHTS;
    const choice = rng.weighted<keyof typeof UOM_CHOICE_WEIGHTS>(
      packs.length === 0
        ? [['none', w.none], ['base', w.base]]
        : [['none', w.none], ['base', w.base], ['firstPack', w.firstPack], ['secondPack', w.secondPack], ['largestPack', w.largestPack]],
    );
    let uom: string | null = null;
    let quantity = rng.int(1, item.maxBaseQuantity);
    if (choice === 'base') uom = item.baseUom;
    else if (choice !== 'none') {
      const index = choice === 'firstPack' ? 0 : choice === 'secondPack' ? Math.min(1, packs.length - 1) : packs.length - 1;
      uom = packs[index] as string;
      quantity = choice === 'largestPack' ? 1 : rng.int(1, 3);
    }
    const perUnit = uom === null || uom === item.baseUom ? 1 : (item.uomConversions[uom] as number);
    const contract = customer.channel === 'EDI' ? 0.9 : 1;
    const unitPriceMinor = rng.chance(0.03)
      ? null
      : Math.round(item.unitPriceMinor * perUnit * contract * (PRICE_FACTOR[customer.currency] ?? 1));
    return { lineNo, sku: item.sku, warehouse, quantity, uom, unitPriceMinor };
  }

  /** A copy of `lines` with one business-rule breach the orders processor must reject. */
  private breach(lines: OrderLine[]): OrderLine[] {
    const rng = this.rng;
    const out = lines.map((line) => ({ ...line }));
    const target = rng.pick(out);
    switch (rng.pick(['UNKNOWN_SKU', 'UNKNOWN_UOM', 'INVALID_QUANTITY', 'DUPLICATE_LINE'] as const)) {
      case 'UNKNOWN_SKU':
        // Catalogue SKUs stay below SKU-90000 (see world.ts), so this one is never known.
        target.sku = `SKU-9${rng.digits(4)}`;
        break;
      case 'UNKNOWN_UOM': {
        const item = this.world.itemsBySku.get(target.sku) as Item;
        const known = new Set([item.baseUom, ...Object.keys(item.uomConversions)]);
        target.uom = rng.pick(FOREIGN_UOMS.filter((uom) => !known.has(uom)));
        break;
      }
      case 'INVALID_QUANTITY':
        target.quantity = 0;
        break;
      case 'DUPLICATE_LINE': {
        const first = out[0] as OrderLine;
        if (out.length > 1) (out[1] as OrderLine).lineNo = first.lineNo;
        else out.push({ ...first, quantity: first.quantity + 1 });
        break;
      }
    }
    return out;
  }

  /** Schedules the picks (one per warehouse) and, before the first of them, any changes or a cancel. */
  private planFulfilment(order: OpenOrder, afterCorrection: boolean): void {
    const rng = this.rng;
    const current = order.current as Version;
    const warehouses = [...new Set(current.lines.map((line) => line.warehouse))];
    const [min, max] = PICK_DELAY_MINUTES[order.channel];
    let firstPick = Infinity;
    for (const warehouse of warehouses) {
      const fulfilment: Fulfilment = { warehouse, lines: [], lastEventId: null, repicked: false, unfilled: false, done: false, shipped: new Map() };
      order.fulfilments.push(fulfilment);
      const at = this.clock + rng.int(min * MINUTE, max * MINUTE);
      firstPick = Math.min(firstPick, at);
      this.agenda.schedule(at, { kind: 'pick', order, fulfilment });
    }
    const window = firstPick - this.clock;
    const onHold = order.customer.creditHold;
    if (rng.chance(onHold ? 0.6 : 0.04)) {
      const reason = onHold ? 'Credit hold' : rng.weighted(CANCEL_REASONS);
      this.agenda.schedule(this.clock + rng.int(1, window - 1), { kind: 'cancel', order, reason });
    }
    if (!afterCorrection && rng.chance(0.1)) {
      const count = rng.weighted([
        [1, 55],
        [2, 30],
        [3, 15],
      ]);
      const times = new Set<number>();
      for (let i = 0; i < count; i++) times.add(this.clock + rng.int(1, window - 1));
      for (const at of [...times].sort((a, b) => a - b)) this.agenda.schedule(at, { kind: 'change', order, correction: false });
    }
  }

  // ---- agenda ---------------------------------------------------------------------------------

  private perform(action: Action): void {
    switch (action.kind) {
      case 'change':
        return this.changeOrder(action.order, action.correction);
      case 'cancel':
        return this.cancelOrder(action.order, action.reason);
      case 'pick':
        return this.pick(action.order, action.fulfilment);
      case 'repick':
        return this.repick(action.order, action.fulfilment);
      case 'ship':
        return this.ship(action.order, action.fulfilment, action.lines, action.last);
      case 'return':
        return this.receiveReturn(action.pending);
      case 'receipt':
        return this.receive(action);
    }
  }

  private changeOrder(order: OpenOrder, correction: boolean): void {
    if (order.closed) return;
    const rng = this.rng;
    const versions = order.versions;
    const latest = versions[versions.length - 1] as { occurredAt: number; eventId: string };
    const previous = versions[versions.length - 2];
    // Late arrival: a change made between the two newest versions reaches Kafka only now.
    const late = !correction && previous !== undefined && latest.occurredAt - previous.occurredAt >= 2 && rng.chance(0.25);
    const lines = correction ? order.intended : this.mutate(order, (order.current as Version).lines);
    const invalid = rng.chance(this.options.invalidRate);
    const occurredAt = late ? rng.int(previous.occurredAt + 1, latest.occurredAt - 1) : this.clock;
    const causationId = late ? previous.eventId : order.current?.eventId ?? latest.eventId;
    const changed = this.emit('order.changed', {
      meta: this.meta(order.source, order.correlationId, causationId, occurredAt),
      orderId: order.orderId,
      lines: invalid ? this.breach(lines) : lines,
    });
    order.lastEventId = changed.meta.eventId;
    versions.push({ occurredAt, eventId: changed.meta.eventId });
    versions.sort((a, b) => a.occurredAt - b.occurredAt);
    if (!invalid && occurredAt > (order.current?.occurredAt ?? -Infinity)) {
      order.current = { eventId: changed.meta.eventId, occurredAt, lines };
      order.intended = lines;
    }
    if (correction) {
      if (invalid) this.close(order);
      else this.planFulfilment(order, true);
    }
  }

  /** A complete new line set: one quantity changed, a line added, or a line removed. */
  private mutate(order: OpenOrder, lines: OrderLine[]): OrderLine[] {
    const rng = this.rng;
    const out = lines.map((line) => ({ ...line }));
    const warehouses = new Set(out.map((line) => line.warehouse));
    const op = rng.weighted([
      ['quantity', 60],
      ['add', 20],
      ['remove', 20],
    ] as const);
    if (op === 'add') {
      const used = new Set(out.map((line) => line.sku));
      for (let tries = 0; tries < 10; tries++) {
        const item = this.world.popularItems.draw(rng);
        const warehouse = item.stockedAt.find((w) => warehouses.has(w));
        if (used.has(item.sku) || warehouse === undefined) continue;
        const step = order.channel === 'EDI' ? 10 : 1;
        const lineNo = Math.max(...out.map((line) => line.lineNo)) + step;
        out.push(this.line(lineNo, item, warehouse, order.customer));
        return out;
      }
    } else if (op === 'remove') {
      // Keep every warehouse the order was planned for, so each planned pick has a line.
      const removable = out.filter((line) => out.some((other) => other !== line && other.warehouse === line.warehouse));
      if (removable.length > 0) {
        const gone = rng.pick(removable);
        return out.filter((line) => line !== gone);
      }
    }
    const target = rng.pick(out);
    const item = this.world.itemsBySku.get(target.sku) as Item;
    const max = target.uom === null || target.uom === item.baseUom ? Math.max(2, item.maxBaseQuantity) : 4;
    const quantity = rng.int(1, max - 1);
    target.quantity = quantity >= target.quantity ? quantity + 1 : quantity;
    return out;
  }

  private cancelOrder(order: OpenOrder, reason: string | null): void {
    if (order.closed) return;
    const cancelled = this.emit('order.cancelled', {
      meta: this.meta(order.source, order.correlationId, order.lastEventId),
      orderId: order.orderId,
      reason,
    });
    order.lastEventId = cancelled.meta.eventId;
    this.close(order);
  }

  private pick(order: OpenOrder, fulfilment: Fulfilment): void {
    if (order.closed) return;
    const rng = this.rng;
    const current = order.current as Version;
    const picked: { lineNo: number; sku: string; quantityPicked: number; quantityShort: number }[] = [];
    for (const line of current.lines) {
      if (line.warehouse !== fulfilment.warehouse) continue;
      const cell = this.book.get(stockKey(line.sku, line.warehouse)) as StockCell;
      const item = cell.item;
      const base = line.quantity * (line.uom === null || line.uom === item.baseUom ? 1 : (item.uomConversions[line.uom] as number));
      let quantityPicked = Math.min(base, Math.max(0, cell.onHand - cell.allocated));
      // Now and then the shelf holds less than the book says (damage, misplaced stock).
      if (quantityPicked === base && rng.chance(0.015)) quantityPicked = rng.int(0, base - 1);
      const quantityShort = base - quantityPicked;
      cell.allocated += quantityPicked;
      fulfilment.lines.push({ lineNo: line.lineNo, sku: line.sku, cell, picked: quantityPicked, short: quantityShort, allocated: quantityPicked });
      picked.push({ lineNo: line.lineNo, sku: line.sku, quantityPicked, quantityShort });
      this.replenish(cell);
    }
    const event = this.emit('pick.confirmed', {
      meta: this.meta('WMS', order.correlationId, current.eventId),
      orderId: order.orderId,
      warehouse: fulfilment.warehouse,
      lines: picked,
    });
    order.lastEventId = fulfilment.lastEventId = event.meta.eventId;
    this.planShipments(order, fulfilment, fulfilment.lines.map((line) => line.picked));
  }

  /** A later attempt at the short quantities, once stock may have come in. */
  private repick(order: OpenOrder, fulfilment: Fulfilment): void {
    if (order.closed) return;
    const quantities: number[] = [];
    const lines: { lineNo: number; sku: string; quantityPicked: number; quantityShort: number }[] = [];
    for (const line of fulfilment.lines) {
      const cell = line.cell;
      const quantityPicked = Math.min(line.short, Math.max(0, cell.onHand - cell.allocated));
      quantities.push(quantityPicked);
      if (line.short === 0) continue;
      line.short -= quantityPicked;
      line.picked += quantityPicked;
      line.allocated += quantityPicked;
      cell.allocated += quantityPicked;
      lines.push({ lineNo: line.lineNo, sku: line.sku, quantityPicked, quantityShort: line.short });
      this.replenish(cell);
    }
    const event = this.emit('pick.confirmed', {
      meta: this.meta('WMS', order.correlationId, fulfilment.lastEventId),
      orderId: order.orderId,
      warehouse: fulfilment.warehouse,
      lines,
    });
    order.lastEventId = fulfilment.lastEventId = event.meta.eventId;
    this.planShipments(order, fulfilment, quantities);
  }

  /** Ships `quantities` (per fulfilment line): mostly at once, sometimes split, rarely one unit too many. */
  private planShipments(order: OpenOrder, fulfilment: Fulfilment, quantities: number[]): void {
    const rng = this.rng;
    const total = quantities.reduce((sum, q) => sum + q, 0);
    if (total === 0) return this.afterShipments(order, fulfilment);
    const toShip = [...quantities];
    const mode = rng.weighted([
      ['full', 82],
      ['split', 15],
      ['over', 3],
    ] as const);
    if (mode === 'over') {
      const candidates = toShip.flatMap((q, i) => (q > 0 ? [i] : []));
      const index = rng.pick(candidates);
      toShip[index] = (toShip[index] as number) + rng.int(1, 2);
    }
    const parcels = mode === 'split' && total >= 2 ? rng.int(2, 3) : 1;
    const parts: { line: FulfilmentLine; quantity: number }[][] = Array.from({ length: parcels }, () => []);
    toShip.forEach((quantity, index) => {
      let remaining = quantity;
      for (let p = 0; p < parcels && remaining > 0; p++) {
        const take = p === parcels - 1 ? remaining : rng.int(0, remaining);
        if (take > 0) (parts[p] as { line: FulfilmentLine; quantity: number }[]).push({ line: fulfilment.lines[index] as FulfilmentLine, quantity: take });
        remaining -= take;
      }
    });
    const shipments = parts.filter((part) => part.length > 0);
    let at = this.clock + rng.int(10 * MINUTE, 180 * MINUTE);
    shipments.forEach((lines, i) => {
      this.agenda.schedule(at, { kind: 'ship', order, fulfilment, lines, last: i === shipments.length - 1 });
      at += rng.int(30 * MINUTE, 240 * MINUTE);
    });
  }

  private ship(order: OpenOrder, fulfilment: Fulfilment, lines: { line: FulfilmentLine; quantity: number }[], last: boolean): void {
    if (order.closed) return;
    const rng = this.rng;
    const carrier = rng.weighted(CARRIERS);
    for (const { line, quantity } of lines) {
      const released = Math.min(line.allocated, quantity);
      line.allocated -= released;
      line.cell.allocated -= released;
      line.cell.onHand -= quantity;
      fulfilment.shipped.set(line.sku, (fulfilment.shipped.get(line.sku) ?? 0) + quantity);
    }
    const event = this.emit('shipment.confirmed', {
      meta: this.meta('WMS', order.correlationId, fulfilment.lastEventId),
      orderId: order.orderId,
      shipmentId: this.nextId('SHP'),
      warehouse: fulfilment.warehouse,
      carrier,
      trackingNumber: this.trackingNumber(carrier),
      lines: lines.map(({ line, quantity }) => ({ lineNo: line.lineNo, sku: line.sku, quantityShipped: quantity })),
    });
    order.lastEventId = fulfilment.lastEventId = event.meta.eventId;
    if (last) this.afterShipments(order, fulfilment);
  }

  private trackingNumber(carrier: string): string | null {
    const rng = this.rng;
    switch (carrier) {
      case 'UPS':
        return `1Z${rng.code(16)}`;
      case 'FEDEX':
        return rng.digits(12);
      case 'USPS':
        return `94${rng.digits(20)}`;
      case 'DHL':
        return rng.digits(10);
      default:
        // LTL freight: a PRO number when the carrier has issued one yet.
        return rng.chance(0.5) ? `PRO${rng.digits(9)}` : null;
    }
  }

  private afterShipments(order: OpenOrder, fulfilment: Fulfilment): void {
    const rng = this.rng;
    if (fulfilment.lines.some((line) => line.short > 0)) {
      if (!fulfilment.repicked && rng.chance(0.6)) {
        fulfilment.repicked = true;
        this.agenda.schedule(this.clock + rng.int(2 * HOUR, 8 * HOUR), { kind: 'repick', order, fulfilment });
        return;
      }
      fulfilment.unfilled = true;
    }
    fulfilment.done = true;
    if (!order.fulfilments.every((f) => f.done)) return;
    if (order.fulfilments.some((f) => f.unfilled)) {
      // The customer gives up on what could not be filled; the cancel releases its reservation.
      this.agenda.schedule(this.clock + rng.int(10 * MINUTE, 2 * HOUR), { kind: 'cancel', order, reason: 'Backorder not filled' });
      return;
    }
    this.close(order);
    const shippedFrom = order.fulfilments.filter((f) => f.shipped.size > 0);
    if (shippedFrom.length === 0 || !rng.chance(0.04)) return;
    const from = rng.pick(shippedFrom);
    const skus = rng.shuffle([...from.shipped.keys()]).slice(0, rng.int(1, 2));
    this.agenda.schedule(this.clock + Math.max(20 * MINUTE, Math.round(rng.exponential(3 * HOUR))), {
      kind: 'return',
      pending: {
        orderId: order.orderId,
        correlationId: order.correlationId,
        causationId: from.lastEventId,
        warehouse: from.warehouse,
        lines: skus.map((sku) => ({ sku, quantity: rng.int(1, Math.min(from.shipped.get(sku) as number, 6)) })),
      },
    });
  }

  private close(order: OpenOrder): void {
    if (order.closed) return;
    order.closed = true;
    this.open--;
    for (const fulfilment of order.fulfilments) {
      for (const line of fulfilment.lines) {
        line.cell.allocated -= line.allocated;
        line.allocated = 0;
      }
    }
  }

  private receiveReturn(pending: PendingReturn): void {
    const rng = this.rng;
    const lines = pending.lines.map(({ sku, quantity }) => {
      const disposition = rng.chance(0.75) ? ('RESTOCK' as const) : ('SCRAP' as const);
      if (disposition === 'RESTOCK') (this.book.get(stockKey(sku, pending.warehouse)) as StockCell).onHand += quantity;
      return { sku, quantity, disposition };
    });
    this.emit('return.received', {
      meta: this.meta('WMS', pending.correlationId, pending.causationId),
      returnId: this.nextId('RMA'),
      orderId: pending.orderId,
      warehouse: pending.warehouse,
      lines,
    });
  }

  // ---- stock ----------------------------------------------------------------------------------

  /** Orders from the supplier when the cell's position falls below its reorder point. */
  private replenish(cell: StockCell): void {
    const position = cell.onHand - cell.allocated + cell.inbound;
    if (cell.inbound > 0 || position >= cell.policy.reorderPoint) return;
    const quantity = cell.policy.reorderQuantity + (cell.policy.reorderPoint - position);
    cell.inbound += quantity;
    this.agenda.schedule(this.clock + this.rng.int(1 * HOUR, 6 * HOUR), {
      kind: 'receipt',
      cell,
      quantity,
      reason: 'RECEIPT',
      correlationId: this.nextId('PO'),
      causationId: null,
    });
  }

  private receive(action: Extract<Action, { kind: 'receipt' }>): void {
    const { cell, quantity, reason } = action;
    if (reason === 'RECEIPT') cell.inbound = Math.max(0, cell.inbound - quantity);
    cell.onHand += quantity;
    this.emitAdjustment(cell, quantity, reason, action.correlationId, action.causationId);
  }

  private emitAdjustment(cell: StockCell, delta: number, reason: AdjustmentReason, correlationId: string | null = null, causationId: string | null = null): string {
    const event = this.emit('stock.adjusted', {
      meta: this.meta('WMS', correlationId, causationId),
      sku: cell.item.sku,
      warehouse: cell.warehouse,
      delta,
      reason,
    });
    return event.meta.eventId;
  }

  private countStock(): void {
    const rng = this.rng;
    const cell = rng.pick(this.cells);
    let counted = Math.max(0, cell.onHand);
    // Most counts confirm the book; some find a few units more or less.
    if (rng.chance(0.12)) counted = Math.max(0, counted + rng.pick([-1, 1]) * rng.int(1, 4));
    cell.onHand = counted;
    this.emit('stock.counted', {
      meta: this.meta('WMS', null, null),
      sku: cell.item.sku,
      warehouse: cell.warehouse,
      countedQuantity: counted,
    });
    this.replenish(cell);
  }

  private adjustStock(): void {
    const rng = this.rng;
    const cell = rng.pick(this.cells);
    const free = cell.onHand - cell.allocated;
    const kind = rng.weighted([
      ['DAMAGE', 30],
      ['LOST', 12],
      ['FOUND', 12],
      ['CORRECTION', 16],
      ['TRANSFER', 15],
      ['SCRAP', 8],
      ['RECEIPT', 7],
    ] as const);
    let delta: number;
    let reason: AdjustmentReason;
    switch (kind) {
      case 'DAMAGE':
      case 'LOST':
      case 'SCRAP': {
        const loss = rng.int(1, kind === 'LOST' ? 3 : 5);
        [delta, reason] = free >= loss ? [-loss, kind] : [rng.int(1, 3), 'FOUND'];
        break;
      }
      case 'CORRECTION': {
        const size = rng.int(1, 10);
        delta = free >= size && rng.chance(0.5) ? -size : size;
        reason = 'CORRECTION';
        break;
      }
      case 'TRANSFER': {
        const to = cell.item.stockedAt.filter((w) => w !== cell.warehouse);
        const quantity = Math.floor(free / 4);
        if (to.length > 0 && quantity > 0) return this.transfer(cell, this.book.get(stockKey(cell.item.sku, rng.pick(to))) as StockCell, rng.int(1, quantity));
        [delta, reason] = [rng.int(1, 3), 'FOUND'];
        break;
      }
      case 'RECEIPT':
        [delta, reason] = [Math.ceil(cell.policy.reorderQuantity / 2), 'RECEIPT'];
        break;
      default:
        [delta, reason] = [rng.int(1, 3), 'FOUND'];
    }
    cell.onHand += delta;
    this.emitAdjustment(cell, delta, reason);
    if (delta < 0) this.replenish(cell);
  }

  private transfer(from: StockCell, to: StockCell, quantity: number): void {
    const correlationId = this.rng.uuid();
    from.onHand -= quantity;
    const outId = this.emitAdjustment(from, -quantity, 'TRANSFER_OUT', correlationId, null);
    this.replenish(from);
    this.agenda.schedule(this.clock + this.rng.int(2 * HOUR, 24 * HOUR), {
      kind: 'receipt',
      cell: to,
      quantity,
      reason: 'TRANSFER_IN',
      correlationId,
      causationId: outId,
    });
  }

  // ---- master data ----------------------------------------------------------------------------

  /** ERP re-publishes an item, usually because planning moved a safety stock. */
  private editItem(): void {
    const rng = this.rng;
    const item = rng.pick(this.world.items);
    const warehouse = rng.pick(item.stockedAt);
    const old = item.safetyStock[warehouse] ?? 0;
    const next = Math.max(0, old + rng.int(-Math.floor(old / 2), Math.floor(old / 2) + 5));
    if (next === 0) delete item.safetyStock[warehouse];
    else item.safetyStock[warehouse] = next;
    this.emitItem(item);
  }

  private editCustomer(): void {
    const rng = this.rng;
    const customer = rng.pick(this.world.customers);
    // Holds are rare and short-lived: released often, imposed seldom.
    if (rng.chance(customer.creditHold ? 0.6 : 0.03)) customer.creditHold = !customer.creditHold;
    if (rng.chance(0.5)) customer.creditLimitMinor = rng.int(50, 5000) * 10000;
    if (rng.chance(0.2)) customer.email = `${rng.pick(['orders', 'purchasing', 'ap'])}@${customer.customerId.toLowerCase()}.example.com`;
    this.emitCustomer(customer);
  }
}
