/**
 * The API's reads of the processors' read model in Redis (key layout: runtime/redis/keys.ts).
 *
 * Every read that answers a request is ONE MULTI/EXEC holding
 *   GET   trb:{<store>}:epoch
 *   HMGET trb:{<store>:<p>}:watermark @epoch @catchup      for every partition p of the store
 *   the view reads                                          for every partition p
 * so a FLUSHALL, a rebuild's wipe or a catch-up start cannot land between the servability check
 * and the read. A read returns `{ ok: true, value }` or `{ ok: false, reasons }` (the store is
 * not servable: answer 503, never a 404 or a number from it). Every partition is checked and
 * read: rows are spread by the producers' partitioner, which the API does not know.
 *
 * Redis failures throw TributaryError (runtime/redis/failure.ts): TRB_REDIS_UNAVAILABLE when
 * Redis does not answer within `timeoutMs` or the client is reconnecting (answer fast instead of
 * queueing requests behind a dead connection), TRB_STATE_INVALID for error replies and rows that
 * do not parse. Redis Cluster: one MULTI spans several partitions' hash slots, so this needs a
 * single Redis (or a proxy that allows cross-slot transactions).
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { redisFailure } from '../redis/failure';
import { assertProcessorName, CATCHUP_FIELD, EPOCH_FIELD, epochKey, partitionKeys, viewKey } from '../redis/keys';
import { judgePartitions, mergeAtpRow, mergeOrder, parseAtpRow, parseOrderStatus, type AtpRowValue, type OrderStatusValue, type SkuReadPlan, type SkuRows } from './answers';

export interface StoreRef {
  /** Processor state name in Redis, e.g. `atp` or `<prefix>atp`. */
  store: string;
  /** Partition count of the store's input topics; a function when the caller refreshes it. */
  partitions: number | (() => number);
}

export type ViewRead<T> = { ok: true; value: T } | { ok: false; store: string; reasons: string[] };

export interface StoreStatus {
  store: string;
  partitions: number;
  /** null: every partition servable. */
  reasons: string[] | null;
}

export interface ViewReaderOptions {
  redis: Redis;
  atp: StoreRef;
  orders: StoreRef;
  /** Longest wait for Redis per request before answering TRB_REDIS_UNAVAILABLE; default 1000 ms. */
  timeoutMs?: number;
}

export interface ViewReader {
  /** Every warehouse row of a sku (empty map: never seen). */
  atpOfSku(sku: string): Promise<ViewRead<SkuRows>>;
  atpRow(sku: string, warehouse: string): Promise<ViewRead<AtpRowValue | null>>;
  /** Rows of every sku of a check plan, in one transaction. */
  atpForCheck(plan: ReadonlyMap<string, SkuReadPlan>): Promise<ViewRead<Map<string, SkuRows>>>;
  order(orderId: string): Promise<ViewRead<OrderStatusValue | null>>;
  storeStatus(which: 'atp' | 'orders'): Promise<StoreStatus>;
  ping(): Promise<string>;
}

export const DEFAULT_REDIS_TIMEOUT_MS = 1000;

type ExecResults = [error: Error | null, result: unknown][];

/** Key names of one store for a partition count; rebuilt only when the count changes. */
interface Layout {
  n: number;
  watermarks: string[];
  /** `viewKey(store, p, 'sku:')`: append the sku. */
  skuPrefixes: string[];
  statusKeys: string[];
}

class Store {
  readonly name: string;
  readonly epochKey: string;
  private readonly partitions: StoreRef['partitions'];
  private layout: Layout = { n: 0, watermarks: [], skuPrefixes: [], statusKeys: [] };

  constructor(ref: StoreRef) {
    assertProcessorName(ref.store);
    this.name = ref.store;
    this.epochKey = epochKey(ref.store);
    this.partitions = ref.partitions;
  }

  current(): Layout {
    const n = partitionCount(this.partitions);
    if (n !== this.layout.n) {
      const watermarks: string[] = [];
      const skuPrefixes: string[] = [];
      const statusKeys: string[] = [];
      for (let p = 0; p < n; p++) {
        watermarks.push(partitionKeys(this.name, p).watermark);
        skuPrefixes.push(viewKey(this.name, p, 'sku:'));
        statusKeys.push(viewKey(this.name, p, 'status'));
      }
      this.layout = { n, watermarks, skuPrefixes, statusKeys };
    }
    return this.layout;
  }
}

/** A count that is not a non-negative integer (or a refresher that throws) counts as unknown: 0. */
function partitionCount(partitions: StoreRef['partitions']): number {
  let n: unknown;
  try {
    n = typeof partitions === 'function' ? partitions() : partitions;
  } catch {
    return 0;
  }
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

// ioredis states in which a command would only wait in the offline queue for a connection.
const DOWN_STATES = new Set(['reconnecting', 'close', 'end']);

export function createViewReader(options: ViewReaderOptions): ViewReader {
  const { redis } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  const atp = new Store(options.atp);
  const orders = new Store(options.orders);

  function bounded<T>(run: () => Promise<T>, doing: string): Promise<T> {
    if (DOWN_STATES.has(redis.status)) return Promise.reject(redisFailure(new Error(`the connection is ${redis.status}`), doing));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(redisFailure(new Error(`no answer within ${timeoutMs} ms`), doing)), timeoutMs);
      let pending: Promise<T>;
      try {
        pending = run();
      } catch (error) {
        clearTimeout(timer);
        reject(redisFailure(error, doing));
        return;
      }
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(redisFailure(error, doing));
        },
      );
    });
  }

  /**
   * One MULTI: for the store read and every store it derives from (ATP is derived from orders'
   * reservations, so an orders rebuild makes ATP unservable too), the epoch and every partition's
   * marks; then `queue`'s view reads of the first store.
   */
  async function transact<T>(stores: readonly Store[], doing: string, queue: (m: ChainableCommander, layout: Layout) => void, decode: (results: ExecResults, from: number, layout: Layout) => T): Promise<ViewRead<T>> {
    const layouts = stores.map((store) => store.current());
    const layout = layouts[0] as Layout;
    const results = await bounded(() => {
      const m = redis.multi();
      stores.forEach((store, i) => {
        const l = layouts[i] as Layout;
        m.get(store.epochKey);
        for (let p = 0; p < l.n; p++) m.hmget(l.watermarks[p] as string, EPOCH_FIELD, CATCHUP_FIELD);
      });
      queue(m, layout);
      return m.exec();
    }, doing);
    if (results === null) throw redisFailure(new Error('the transaction was aborted'), doing);
    for (let i = 0; i < results.length; i++) {
      const error = (results[i] as ExecResults[number])[0];
      if (error) throw redisFailure(error, doing);
    }
    let at = 0;
    for (let i = 0; i < stores.length; i++) {
      const l = layouts[i] as Layout;
      const marks: (string | null)[][] = new Array(l.n);
      for (let p = 0; p < l.n; p++) marks[p] = (results[at + 1 + p] as ExecResults[number])[1] as (string | null)[];
      const reasons = judgePartitions((results[at] as ExecResults[number])[1] as string | null, marks);
      if (reasons) return { ok: false, store: (stores[i] as Store).name, reasons };
      at += 1 + l.n;
    }
    return { ok: true, value: decode(results, at, layout) };
  }

  /** ATP rows are derived from the orders state as well (SPEC §5 reserved). */
  const atpStores = [atp, orders];

  return {
    atpOfSku(sku) {
      return transact(
        atpStores,
        `read the ATP of ${sku}`,
        (m, { n, skuPrefixes }) => {
          for (let p = 0; p < n; p++) m.hgetall((skuPrefixes[p] as string) + sku);
        },
        (results, from, { n }) => {
          const rows: SkuRows = new Map();
          for (let p = 0; p < n; p++) addRows(rows, sku, (results[from + p] as ExecResults[number])[1] as Record<string, string>);
          return rows;
        },
      );
    },

    atpRow(sku, warehouse) {
      return transact(
        atpStores,
        `read the ATP of ${sku}@${warehouse}`,
        (m, { n, skuPrefixes }) => {
          for (let p = 0; p < n; p++) m.hget((skuPrefixes[p] as string) + sku, warehouse);
        },
        (results, from, { n }) => {
          let found: AtpRowValue | null = null;
          for (let p = 0; p < n; p++) {
            const json = (results[from + p] as ExecResults[number])[1] as string | null;
            if (json === null) continue;
            const row = parseAtpRow(json, `${sku}@${warehouse}`);
            if (found === null || (row.asOf ?? -Infinity) > (found.asOf ?? -Infinity)) found = row;
          }
          return found;
        },
      );
    },

    atpForCheck(plan) {
      return transact(
        atpStores,
        'read the ATP for a check',
        (m, { n, skuPrefixes }) => {
          for (const [sku, { all, warehouses }] of plan) {
            for (let p = 0; p < n; p++) {
              const key = (skuPrefixes[p] as string) + sku;
              if (all) m.hgetall(key);
              else m.hmget(key, ...warehouses);
            }
          }
        },
        (results, from, { n }) => {
          const bySku = new Map<string, SkuRows>();
          let i = from;
          for (const [sku, { all, warehouses }] of plan) {
            const rows: SkuRows = new Map();
            for (let p = 0; p < n; p++, i++) {
              const value = (results[i] as ExecResults[number])[1];
              if (all) {
                addRows(rows, sku, value as Record<string, string>);
              } else {
                const found = value as (string | null)[];
                for (let w = 0; w < warehouses.length; w++) {
                  const json = found[w];
                  if (json !== null && json !== undefined) mergeAtpRow(rows, parseAtpRow(json, `${sku}@${warehouses[w]}`));
                }
              }
            }
            bySku.set(sku, rows);
          }
          return bySku;
        },
      );
    },

    order(orderId) {
      return transact(
        [orders],
        `read order ${orderId}`,
        (m, { n, statusKeys }) => {
          for (let p = 0; p < n; p++) m.hget(statusKeys[p] as string, orderId);
        },
        (results, from, { n }) => {
          let found: OrderStatusValue | null = null;
          for (let p = 0; p < n; p++) {
            const json = (results[from + p] as ExecResults[number])[1] as string | null;
            if (json !== null) found = mergeOrder(found, parseOrderStatus(json, orderId));
          }
          return found;
        },
      );
    },

    async storeStatus(which) {
      const store = which === 'atp' ? atp : orders;
      let partitions = 0;
      const read = await transact([store], `check the ${store.name} state`, (_m, layout) => void (partitions = layout.n), () => undefined);
      return { store: store.name, partitions, reasons: read.ok ? null : read.reasons };
    },

    ping() {
      return bounded(() => redis.ping(), 'ping Redis');
    },
  };
}

function addRows(rows: SkuRows, sku: string, hash: Record<string, string> | null | undefined): void {
  if (!hash) return;
  for (const warehouse in hash) mergeAtpRow(rows, parseAtpRow(hash[warehouse] as string, `${sku}@${warehouse}`));
}
