/**
 * A synchronous test driver for processor declarations (the Kafka Streams TopologyTestDriver
 * idea): no Kafka, no Redis, the same fold/table/dedupe contract the streaming runtime honours.
 *
 *  - `send(topic, value)` normalizes the value (processors/types.ts `toEvent`), drops a repeat of
 *    (topic, meta.eventId) as the runtime does (the first content wins), feeds table topics to
 *    their global table (and refreshes the affected keys of processors with `onTableUpdate`),
 *    folds the record into every processor that consumes the topic, then routes each output to
 *    the processors that consume it (orders.movements → atp), breadth first, until quiet.
 *  - State is one Map per processor, keyed as `keyOf` says (optionally JSON round-tripped after
 *    every step, like Redis); outputs are logged in order.
 *  - `view()` is the Redis-like read model: the latest atp.changed per sku@warehouse, network
 *    totals per sku, the latest order.status per orderId (without updatedAt) and every
 *    order.rejected, in the shape of the reference fold's `canonicalResult`.
 * Records are processed in the order given; interleavings are the caller's (property tests) choice.
 */
import type { AtpRow } from '../../processors/atp/fold';
import { toEvent, type Meta } from '../../processors/types';
import { keepLatest } from './coalesce';
import { LatestTable, type TableView } from './table';
import type { Output, ProcessorDeclaration, Settings } from './types';

// Declarations of different state types run side by side; each is only ever given its own state.
type AnyDeclaration = ProcessorDeclaration<any, any>;

export interface DriverOptions {
  processors: readonly AnyDeclaration[];
  /** Table topic → the key a record is stored under (processors/tables.ts TABLE_KEYS). */
  tableKeys: Readonly<Record<string, (value: unknown) => string>>;
  /** Settings per processor name. */
  settings?: Readonly<Record<string, Settings>>;
  /**
   * Store each state as JSON and load it back before the next fold, as the Redis-backed runtime
   * will: proves states survive serialization (no Maps, Sets, undefined or shared references).
   */
  jsonState?: boolean;
}

export interface ViewTotals {
  onHand: number;
  reserved: number;
  safetyStock: number;
  atp: number;
  available: number;
}

export interface ViewStatus {
  orderId: string;
  status: string;
  lines: { lineNo: number; sku: string; warehouse: string; ordered: number; shipped: number; short: number }[];
}

export interface ViewRejection {
  orderId: string;
  rejectedEventId: string;
  errors: { path: string; code: string; message: string }[];
}

export interface DriverView {
  atp: [string, AtpRow][];
  totals: [string, ViewTotals][];
  orders: [string, ViewStatus][];
  rejections: ViewRejection[];
}

interface Running {
  declaration: AnyDeclaration;
  ctx: unknown;
  state: Map<string, unknown>;
}

export class ProcessorDriver {
  /** Every output of every processor, in production order. */
  readonly outputs: Output[] = [];
  /** Sum of the steps' lateBeyondGrace (what the runtime would add to its metric). */
  lateBeyondGrace = 0;
  private readonly seen = new Set<string>();
  private readonly tables = new Map<string, LatestTable<{ meta: Meta }>>();
  private readonly running: Running[];

  constructor(private readonly options: DriverOptions) {
    for (const [topic, keyOf] of Object.entries(options.tableKeys)) {
      this.tables.set(topic, new LatestTable((value) => keyOf(value)));
    }
    const views = this.tables as unknown as ReadonlyMap<string, TableView<unknown>>;
    this.running = options.processors.map((declaration) => ({
      declaration,
      ctx: declaration.createContext(views, options.settings?.[declaration.name] ?? {}),
      state: new Map(),
    }));
  }

  /** The state of one processor by key (read-only use in tests). */
  stateOf(name: string): ReadonlyMap<string, unknown> {
    const running = this.running.find((r) => r.declaration.name === name);
    if (!running) throw new Error(`driver: no processor named "${name}"`);
    return running.state;
  }

  /** Feeds records in order; returns the outputs they caused (transitively). */
  pipe(records: Iterable<{ topic: string; value: unknown }>): Output[] {
    const caused: Output[] = [];
    for (const record of records) caused.push(...this.send(record.topic, record.value));
    return caused;
  }

  /**
   * Feeds records in batches, as the runtime applies them: each batch's outputs are kept as a
   * processor's `latestOnly` says (./coalesce.ts: the newest per identity) before they are logged
   * and routed on, in batches again, wave after wave until quiet. `sizeOf` picks each batch's size.
   */
  pipeInBatches(records: Iterable<{ topic: string; value: unknown }>, sizeOf: () => number): void {
    let wave = [...records];
    while (wave.length > 0) {
      const next: { topic: string; value: unknown }[] = [];
      for (let i = 0; i < wave.length; ) {
        const batch = wave.slice(i, i + Math.max(1, sizeOf()));
        i += batch.length;
        const produced: { running: Running; output: Output }[] = [];
        for (const record of batch) {
          const value = this.firstSeen(record.topic, record.value);
          if (value !== undefined) produced.push(...this.deliverTagged(record.topic, value));
        }
        const { kept } = keepLatest(produced, ({ running, output }) => {
          const identity = running.declaration.latestOnly?.(output);
          return identity === undefined ? undefined : `${running.declaration.name}|${identity}`;
        });
        for (const { output } of kept) {
          this.outputs.push(output);
          next.push({ topic: output.topic, value: output.value });
        }
      }
      wave = next;
    }
  }

  /** The normalized value, or undefined for a repeat of (topic, meta.eventId) (the first content wins). */
  private firstSeen(topic: string, rawValue: unknown): unknown {
    const value = toEvent(topic, rawValue) as { meta?: { eventId: string } };
    if (value.meta) {
      const id = `${topic}\u0000${value.meta.eventId}`;
      if (this.seen.has(id)) return undefined;
      this.seen.add(id);
    }
    return value;
  }

  send(topic: string, rawValue: unknown): Output[] {
    const caused: Output[] = [];
    const queue: { topic: string; value: unknown }[] = [{ topic, value: rawValue }];
    while (queue.length > 0) {
      const next = queue.shift() as { topic: string; value: unknown };
      const value = this.firstSeen(next.topic, next.value);
      if (value === undefined) continue;
      const produced = this.deliverTagged(next.topic, value).map(({ output }) => output);
      for (const output of produced) {
        this.outputs.push(output);
        caused.push(output);
        queue.push({ topic: output.topic, value: output.value });
      }
    }
    return caused;
  }

  private deliverTagged(topic: string, value: unknown): { running: Running; output: Output }[] {
    const produced: { running: Running; output: Output }[] = [];
    const table = this.tables.get(topic);
    if (table && table.upsert(value as never)) {
      for (const running of this.running) {
        const handler = running.declaration.onTableUpdate;
        if (!handler || !running.declaration.tables.includes(topic)) continue;
        for (const [key, state] of running.state) {
          if (!handler.affects(topic, value, key)) continue;
          const step = handler.refresh(state, key, running.ctx, { topic, value });
          this.apply(running, key, step.state);
          for (const output of step.outputs) produced.push({ running, output });
        }
      }
    }
    for (const running of this.running) {
      if (!running.declaration.inputs.includes(topic)) continue;
      const key = running.declaration.keyOf(topic, value);
      const step = running.declaration.fold(running.state.get(key), { topic, value }, running.ctx);
      this.apply(running, key, step.state);
      this.lateBeyondGrace += step.lateBeyondGrace ?? 0;
      for (const output of step.outputs) produced.push({ running, output });
    }
    return produced;
  }

  private apply(running: Running, key: string, state: unknown): void {
    if (state === undefined) running.state.delete(key);
    else running.state.set(key, this.options.jsonState ? JSON.parse(JSON.stringify(state)) : state);
  }

  /** The read model (see the header), comparable with the reference's canonicalResult. */
  view(): DriverView {
    const rows = new Map<string, AtpRow>();
    const statuses = new Map<string, ViewStatus>();
    const rejections: ViewRejection[] = [];
    for (const output of this.outputs) {
      if (output.topic === 'atp.changed') rows.set(output.key, output.value as AtpRow);
      else if (output.topic === 'order.status') {
        const { orderId, status, lines } = output.value as ViewStatus & { updatedAt: number };
        statuses.set(output.key, { orderId, status, lines });
      } else if (output.topic === 'order.rejected') {
        const { orderId, rejectedEventId, errors } = output.value as ViewRejection;
        rejections.push({ orderId, rejectedEventId, errors });
      }
    }
    const totals = new Map<string, ViewTotals>();
    for (const row of rows.values()) {
      const total = totals.get(row.sku) ?? { onHand: 0, reserved: 0, safetyStock: 0, atp: 0, available: 0 };
      total.onHand += row.onHand;
      total.reserved += row.reserved;
      total.safetyStock += row.safetyStock;
      total.atp += row.atp;
      total.available = Math.max(0, total.atp);
      totals.set(row.sku, total);
    }
    const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    const sorted = <V>(m: Map<string, V>): [string, V][] => [...m.entries()].sort(([a], [b]) => byKey(a, b));
    const rejectionKey = (r: ViewRejection): string[] => [r.orderId, r.rejectedEventId, JSON.stringify(r.errors)];
    rejections.sort((a, b) => {
      const [ka, kb] = [rejectionKey(a), rejectionKey(b)];
      for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return byKey(ka[i] as string, kb[i] as string);
      return 0;
    });
    return { atp: sorted(rows), totals: sorted(totals), orders: sorted(statuses), rejections };
  }
}
