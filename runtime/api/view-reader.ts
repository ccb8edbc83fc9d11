/**
 * The API's reads of the processors' read model in Redis (key layout: runtime/redis/keys.ts).
 *
 * Every read that answers a request is ONE read-only Lua call (./view-read.lua) doing
 *   GET   trb:{<store>}:epoch
 *   HMGET trb:{<store>:<p>}:watermark @epoch @catchup      for every partition p of the store
 *   the view reads                                          for every partition p
 * so a FLUSHALL, a rebuild's wipe or a catch-up start cannot land between the servability check
 * and the read. (It was a MULTI of the same 2N+2 commands, each built and parsed by ioredis: at
 * 3,000 requests/s the script halved GET's p99 and cut POST /atp/check's to a third.) A read
 * returns `{ ok: true, value }` or `{ ok: false, reasons }` (the store is not servable: answer
 * 503, never a 404 or a number from it). Every partition is checked and
 * read: rows are spread by the producers' partitioner, which the API does not know.
 *
 * Redis failures throw TributaryError (runtime/redis/failure.ts): TRB_REDIS_UNAVAILABLE when
 * Redis does not answer within `timeoutMs` or the client is reconnecting (answer fast instead of
 * queueing requests behind a dead connection), TRB_STATE_INVALID for error replies and rows that
 * do not parse. Redis Cluster: one script spans several partitions' hash slots, so this needs a
 * single Redis (or a proxy that allows cross-slot scripts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ReplyError, type Redis } from 'ioredis';
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

const VIEW_READ = readFileSync(new URL('./view-read.lua', import.meta.url), 'utf8');
const VIEW_READ_SHA = createHash('sha1').update(VIEW_READ).digest('hex');

/** The view reads of one request, queued for ./view-read.lua. */
interface Reads {
  all(key: string): void;
  get(key: string, field: string): void;
  many(key: string, fields: readonly string[]): void;
}

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
   * One atomic read (./view-read.lua): for the store read and every store it derives from (ATP is
   * derived from orders' reservations, so an orders rebuild makes ATP unservable too), the epoch
   * and every partition's marks; then `queue`'s view reads of the first store. `decode` gets the
   * view answers from index `from` on, HGETALLs as records.
   */
  async function transact<T>(stores: readonly Store[], doing: string, queue: (reads: Reads, layout: Layout) => void, decode: (results: unknown[], from: number, layout: Layout) => T): Promise<ViewRead<T>> {
    const layouts = stores.map((store) => store.current());
    const layout = layouts[0] as Layout;
    const keys: string[] = [];
    const args: string[] = [EPOCH_FIELD, CATCHUP_FIELD, String(stores.length)];
    stores.forEach((store, i) => {
      const l = layouts[i] as Layout;
      keys.push(store.epochKey, ...l.watermarks);
      args.push(String(l.n));
    });
    const from = keys.length;
    const hashes: number[] = [];
    queue(
      {
        all(key) {
          hashes.push(keys.length - from);
          keys.push(key);
          args.push('A');
        },
        get(key, field) {
          keys.push(key);
          args.push('G', field);
        },
        many(key, fields) {
          keys.push(key);
          args.push('M', String(fields.length), ...fields);
        },
      },
      layout,
    );
    const results = (await bounded(() => evalRead(keys, args), doing)) as unknown[];
    if (!Array.isArray(results) || results.length !== keys.length) throw redisFailure(new Error(`view-read.lua answered ${Array.isArray(results) ? results.length : typeof results} values for ${keys.length} keys`), doing);
    let at = 0;
    for (let i = 0; i < stores.length; i++) {
      const l = layouts[i] as Layout;
      const reasons = judgePartitions(results[at] as string | null, results.slice(at + 1, at + 1 + l.n) as (string | null)[][]);
      if (reasons) return { ok: false, store: (stores[i] as Store).name, reasons };
      at += 1 + l.n;
    }
    for (const h of hashes) results[from + h] = pairsToRecord(results[from + h] as string[]);
    return { ok: true, value: decode(results, from, layout) };
  }

  async function evalRead(keys: string[], args: string[]): Promise<unknown> {
    try {
      return await redis.evalsha(VIEW_READ_SHA, keys.length, ...keys, ...args);
    } catch (error) {
      // After a Redis restart or SCRIPT FLUSH the script cache is empty: EVAL loads it again.
      if (!(error instanceof ReplyError) || !(error as Error).message.startsWith('NOSCRIPT')) throw error;
      return redis.eval(VIEW_READ, keys.length, ...keys, ...args);
    }
  }

  /** ATP rows are derived from the orders state as well (SPEC §5 reserved). */
  const atpStores = [atp, orders];

  return {
    atpOfSku(sku) {
      return transact(
        atpStores,
        `read the ATP of ${sku}`,
        (reads, { n, skuPrefixes }) => {
          for (let p = 0; p < n; p++) reads.all((skuPrefixes[p] as string) + sku);
        },
        (results, from, { n }) => {
          const rows: SkuRows = new Map();
          for (let p = 0; p < n; p++) addRows(rows, sku, results[from + p] as Record<string, string>);
          return rows;
        },
      );
    },

    atpRow(sku, warehouse) {
      return transact(
        atpStores,
        `read the ATP of ${sku}@${warehouse}`,
        (reads, { n, skuPrefixes }) => {
          for (let p = 0; p < n; p++) reads.get((skuPrefixes[p] as string) + sku, warehouse);
        },
        (results, from, { n }) => {
          let found: AtpRowValue | null = null;
          for (let p = 0; p < n; p++) {
            const json = results[from + p] as string | null;
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
        (reads, { n, skuPrefixes }) => {
          for (const [sku, { all, warehouses }] of plan) {
            for (let p = 0; p < n; p++) {
              const key = (skuPrefixes[p] as string) + sku;
              if (all) reads.all(key);
              else reads.many(key, warehouses);
            }
          }
        },
        (results, from, { n }) => {
          const bySku = new Map<string, SkuRows>();
          let i = from;
          for (const [sku, { all, warehouses }] of plan) {
            const rows: SkuRows = new Map();
            for (let p = 0; p < n; p++, i++) {
              const value = results[i];
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
        (reads, { n, statusKeys }) => {
          for (let p = 0; p < n; p++) reads.get(statusKeys[p] as string, orderId);
        },
        (results, from, { n }) => {
          let found: OrderStatusValue | null = null;
          for (let p = 0; p < n; p++) {
            const json = results[from + p] as string | null;
            if (json !== null) found = mergeOrder(found, parseOrderStatus(json, orderId));
          }
          return found;
        },
      );
    },

    async storeStatus(which) {
      const store = which === 'atp' ? atp : orders;
      let partitions = 0;
      const read = await transact([store], `check the ${store.name} state`, (_reads, layout) => void (partitions = layout.n), () => undefined);
      return { store: store.name, partitions, reasons: read.ok ? null : read.reasons };
    },

    ping() {
      return bounded(() => redis.ping(), 'ping Redis');
    },
  };
}

/** HGETALL's flat field/value list, as a record. */
function pairsToRecord(pairs: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) record[pairs[i] as string] = pairs[i + 1] as string;
  return record;
}

function addRows(rows: SkuRows, sku: string, hash: Record<string, string> | null | undefined): void {
  if (!hash) return;
  for (const warehouse in hash) mergeAtpRow(rows, parseAtpRow(hash[warehouse] as string, `${sku}@${warehouse}`));
}
