/**
 * The Redis state store (runtime/redis/state-store.ts) against the real Redis of the test stack:
 * round trip, dedupe record, fencing of a stale instance, all-or-nothing batches, pruning of old
 * seen ids, lost-state detection after FLUSHALL (on a private redis-server, so the shared one is
 * never flushed), partition wipes and Redis-down errors. Unique processor names per test; every
 * key a test made is removed afterwards. Prints (does not assert) the time of a 5,000-key batch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '../../runtime/errors';
import { createStateStore, type PartitionBatch } from '../../runtime/redis/state-store';
import { freePort } from '../../runtime/stack/ports';
import { startRedis, stopRedis } from '../../runtime/stack/redis';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';
import { waitFor } from '../harness/wait';

const DAY = 24 * 60 * 60 * 1000;

let redis: Redis;
const processors: string[] = [];
const clients: Redis[] = [];

function newProcessor(): string {
  const name = uniqueName('store');
  processors.push(name);
  return name;
}

function client(url = testStack().redisUrl): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1 });
  clients.push(c);
  return c;
}

/** Every key of a processor, read with plain commands (not through the store under test). */
async function keysOf(r: Redis, processor: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `trb:{${processor}*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}

/** A full dump of a processor's keys and contents, to prove a refused call wrote nothing. */
async function dump(r: Redis, processor: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of await keysOf(r, processor)) {
    const type = await r.type(key);
    if (type === 'hash') out[key] = await r.hgetall(key);
    else if (type === 'zset') out[key] = await r.zrange(key, 0, -1, 'WITHSCORES');
    else if (type === 'string') out[key] = await r.get(key);
    else out[key] = type;
  }
  return out;
}

function batch<S>(overrides: Partial<PartitionBatch<S>>): PartitionBatch<S> {
  return { expectedWatermarks: {}, newWatermarks: {}, puts: new Map(), deletes: [], seen: [], ...overrides };
}

beforeAll(() => {
  redis = client();
});

afterEach(async () => {
  for (const processor of processors.splice(0)) {
    const keys = await keysOf(redis, processor);
    if (keys.length > 0) await redis.del(...keys);
  }
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
});

describe('state store', () => {
  it('applies puts, deletes and watermarks and loads them back as fresh objects', async () => {
    const processor = newProcessor();
    const store = createStateStore<{ onHand: number; orders: string[] }>({ redis, processor });
    await store.ensureEpoch();
    expect(await store.watermarks(0)).toEqual({});

    const first = await store.applyBatch(0, batch({
      expectedWatermarks: {},
      newWatermarks: { 'stock.adjusted': '4', 'orders.movements': '0' },
      puts: new Map([
        ['SKU-1@W1', { onHand: 5, orders: ['O-1'] }],
        ['SKU-2@W1', { onHand: 7, orders: [] }],
      ]),
    }));
    expect(first).toBe('applied');
    expect(await store.watermarks(0)).toEqual({ 'stock.adjusted': '4', 'orders.movements': '0' });

    const second = await store.applyBatch(0, batch({
      expectedWatermarks: { 'stock.adjusted': '4', 'orders.movements': '0' },
      newWatermarks: { 'stock.adjusted': '9' },
      puts: new Map([['SKU-1@W1', { onHand: 3, orders: ['O-1', 'O-2'] }]]),
      deletes: ['SKU-2@W1'],
    }));
    expect(second).toBe('applied');
    expect(await store.watermarks(0)).toEqual({ 'stock.adjusted': '9', 'orders.movements': '0' });

    const loaded = await store.load(0, ['SKU-1@W1', 'SKU-2@W1', 'SKU-9@W1']);
    expect([...loaded.entries()]).toEqual([['SKU-1@W1', { onHand: 3, orders: ['O-1', 'O-2'] }]]);
    // Each load decodes a new copy: a fold mutating one cannot touch the next.
    loaded.get('SKU-1@W1')!.onHand = 999;
    expect((await store.load(0, ['SKU-1@W1'])).get('SKU-1@W1')!.onHand).toBe(3);
    // Another partition of the same processor is untouched.
    expect(await store.load(1, ['SKU-1@W1'])).toEqual(new Map());
    expect(await store.watermarks(1)).toEqual({});
  });

  it('remembers applied event ids per topic', async () => {
    const processor = newProcessor();
    const store = createStateStore({ redis, processor });
    await store.ensureEpoch();
    await store.applyBatch(2, batch({
      newWatermarks: { 'stock.adjusted': '1', 'stock.counted': '0' },
      seen: [
        { topic: 'stock.adjusted', eventId: 'e-1', at: Date.now() },
        { topic: 'stock.adjusted', eventId: 'e-2', at: Date.now() },
        { topic: 'stock.counted', eventId: 'e-3', at: Date.now() },
      ],
    }));
    expect(await store.seenAmong(2, 'stock.adjusted', ['e-1', 'e-2', 'e-3', 'e-4'])).toEqual(new Set(['e-1', 'e-2']));
    // The same id on another topic is another event (SPEC §5).
    expect(await store.seenAmong(2, 'stock.counted', ['e-1', 'e-3'])).toEqual(new Set(['e-3']));
    expect(await store.seenAmong(3, 'stock.adjusted', ['e-1'])).toEqual(new Set());
    expect(await store.seenAmong(2, 'stock.adjusted', [])).toEqual(new Set());
  });

  it('fences a second instance whose expected watermarks are stale, writing nothing', async () => {
    const processor = newProcessor();
    const active = createStateStore<{ n: number }>({ redis, processor });
    const stale = createStateStore<{ n: number }>({ redis: client(), processor });
    await active.ensureEpoch();
    await stale.ensureEpoch();
    expect(await active.applyBatch(0, batch({ newWatermarks: { in: '10' }, puts: new Map([['k', { n: 1 }]]) }))).toBe('applied');

    // Both read the same watermarks (e.g. the stale one paused by SIGSTOP, then resumed)...
    const read = await stale.watermarks(0);
    expect(read).toEqual({ in: '10' });
    expect(await active.applyBatch(0, batch({
      expectedWatermarks: read,
      newWatermarks: { in: '20' },
      puts: new Map([['k', { n: 2 }]]),
      seen: [{ topic: 'in', eventId: 'a-20', at: Date.now() }],
    }))).toBe('applied');

    const before = await dump(redis, processor);
    const outcome = await stale.applyBatch(0, batch({
      expectedWatermarks: read,
      newWatermarks: { in: '20', other: '3' },
      puts: new Map([['k', { n: -1 }], ['k2', { n: -2 }]]),
      deletes: ['gone'],
      seen: [{ topic: 'in', eventId: 's-20', at: Date.now() }],
    }));
    expect(outcome).toBe('fenced');
    expect(await dump(redis, processor)).toEqual(before);
    expect(await stale.seenAmong(0, 'in', ['s-20', 'a-20'])).toEqual(new Set(['a-20']));

    // Reading the watermarks again is how a legitimate new owner continues.
    const current = await stale.watermarks(0);
    expect(current).toEqual({ in: '20' });
    expect(await stale.applyBatch(0, batch({ expectedWatermarks: current, newWatermarks: { in: '21' }, puts: new Map([['k', { n: 3 }]]) }))).toBe('applied');
    expect((await active.load(0, ['k'])).get('k')).toEqual({ n: 3 });
  });

  it('refuses expected watermarks that name a topic the partition does not have, and a partial match', async () => {
    const processor = newProcessor();
    const store = createStateStore({ redis, processor });
    await store.ensureEpoch();
    await store.applyBatch(0, batch({ newWatermarks: { a: '1', b: '2' } }));
    const before = await dump(redis, processor);
    expect(await store.applyBatch(0, batch({ expectedWatermarks: { a: '1' }, newWatermarks: { a: '2' }, puts: new Map([['x', 1]]) }))).toBe('fenced');
    expect(await store.applyBatch(0, batch({ expectedWatermarks: { a: '1', b: '2', c: '0' }, newWatermarks: { a: '2' }, puts: new Map([['x', 1]]) }))).toBe('fenced');
    expect(await store.applyBatch(0, batch({ expectedWatermarks: {}, newWatermarks: { a: '2' }, puts: new Map([['x', 1]]) }))).toBe('fenced');
    expect(await dump(redis, processor)).toEqual(before);
  });

  it('fences a store of an older epoch after a rebuild', async () => {
    const processor = newProcessor();
    const old = createStateStore({ redis, processor });
    await old.ensureEpoch();
    const rebuilder = createStateStore({ redis: client(), processor });
    await rebuilder.wipe();
    await rebuilder.ensureEpoch();
    await rebuilder.applyBatch(0, batch({ newWatermarks: { a: '5' }, puts: new Map([['k', 'new']]) }));
    const before = await dump(redis, processor);
    // Even with the right watermarks, state written under the old epoch would mix two generations.
    expect(await old.applyBatch(0, batch({ expectedWatermarks: { a: '5' }, newWatermarks: { a: '6' }, puts: new Map([['k', 'old']]) }))).toBe('fenced');
    expect(await dump(redis, processor)).toEqual(before);
  });

  it('writes state, seen ids and watermarks in one script call', async () => {
    const processor = newProcessor();
    const store = createStateStore({ redis, processor });
    await store.ensureEpoch();
    const commands: string[][] = [];
    const monitor = await new Redis(testStack().redisUrl).monitor();
    clients.push(monitor);
    // Commands a script issues show up with the source "lua"; only client-sent ones count here.
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (!source.includes('lua') && args.some((a) => a.includes(processor))) commands.push(args);
    });
    await store.applyBatch(0, batch({
      newWatermarks: { a: '1' },
      puts: new Map([['k1', 1], ['k2', 2]]),
      seen: [{ topic: 'a', eventId: 'e', at: Date.now() }],
    }));
    const marker = `${processor}-done`;
    await redis.echo(marker);
    await waitFor(() => commands.some((c) => c.includes(marker)), { what: 'MONITOR to report the marker' });
    const writes = commands.filter((c) => !c.includes(marker));
    // Everything reached Redis as one script call (EVAL only after a NOSCRIPT, which runs nothing):
    // no separate HSET/ZADD a crash could split.
    expect(writes.map((c) => c[0]?.toLowerCase())).toEqual(expect.arrayContaining(['evalsha']));
    expect(writes.every((c) => ['evalsha', 'eval'].includes(c[0]?.toLowerCase() ?? ''))).toBe(true);
    expect(await redis.hgetall(`trb:{${processor}:0}:state`)).toEqual({ k1: '1', k2: '2' });
  });

  it('writes view fields and meta fields with the state, and meta fields never count as topics', async () => {
    const processor = newProcessor();
    const store = createStateStore({ redis, processor });
    const epoch = await store.ensureEpoch();
    expect(await store.applyBatch(1, batch({
      newWatermarks: { a: '3' },
      views: [{ name: 'sku:S1', field: 'W1', value: '{"atp":4}' }, { name: 'status', field: 'O-1', value: '{"status":"OPEN"}' }],
      metaSet: { '@catchup': '{"a":"9"}' },
    }))).toBe('applied');
    expect(await redis.hgetall(`trb:{${processor}:1}:view:sku:S1`)).toEqual({ W1: '{"atp":4}' });
    expect(await redis.hgetall(`trb:{${processor}:1}:view:status`)).toEqual({ 'O-1': '{"status":"OPEN"}' });
    expect(await redis.hgetall(`trb:{${processor}:1}:watermark`)).toEqual({ '@epoch': epoch, '@catchup': '{"a":"9"}', a: '3' });
    // The stored meta field is not a topic: {a: 3} is still exactly what is expected.
    expect(await store.watermarks(1)).toEqual({ a: '3' });
    expect(await store.applyBatch(1, batch({
      expectedWatermarks: { a: '3' },
      newWatermarks: { a: '9' },
      views: [{ name: 'status', field: 'O-1', value: null }],
      metaDelete: ['@catchup'],
    }))).toBe('applied');
    expect(await redis.exists(`trb:{${processor}:1}:view:status`)).toBe(0);
    expect(await redis.hgetall(`trb:{${processor}:1}:watermark`)).toEqual({ '@epoch': epoch, a: '9' });
  });

  it('prunes seen ids older than the retention, keeping recent ones', async () => {
    const processor = newProcessor();
    let now = 10 * DAY;
    const store = createStateStore({ redis, processor, retentionMs: DAY, now: () => now });
    await store.ensureEpoch();
    await store.applyBatch(0, batch({
      newWatermarks: { a: '1' },
      seen: [
        { topic: 'a', eventId: 'old', at: now - 3 * DAY },
        { topic: 'a', eventId: 'recent', at: now - DAY / 2 },
      ],
    }));
    expect(await store.seenAmong(0, 'a', ['old', 'recent'])).toEqual(new Set(['old', 'recent']));
    now += DAY / 4;
    await store.applyBatch(0, batch({ expectedWatermarks: { a: '1' }, newWatermarks: { a: '2' }, seen: [{ topic: 'a', eventId: 'new', at: now }] }));
    expect(await store.seenAmong(0, 'a', ['old', 'recent', 'new'])).toEqual(new Set(['recent', 'new']));
    now += DAY;
    await store.applyBatch(0, batch({ expectedWatermarks: { a: '2' }, newWatermarks: { a: '3' } }));
    expect(await store.seenAmong(0, 'a', ['old', 'recent', 'new'])).toEqual(new Set(['new']));
  });

  it('refuses a retention shorter than the 24 h grace', () => {
    expect(() => createStateStore({ redis, processor: newProcessor(), retentionMs: DAY - 1 })).toThrow(TributaryError);
  });

  it('wipes only the named partitions; wiping all also drops the epoch', async () => {
    const processor = newProcessor();
    const neighbour = newProcessor();
    const store = createStateStore({ redis, processor });
    const other = createStateStore({ redis, processor: neighbour });
    await store.ensureEpoch();
    await other.ensureEpoch();
    for (const p of [0, 1, 2]) {
      await store.applyBatch(p, batch({ newWatermarks: { a: '1' }, puts: new Map([['k', p]]), seen: [{ topic: 'a', eventId: 'e', at: Date.now() }] }));
    }
    await other.applyBatch(1, batch({ newWatermarks: { a: '1' }, puts: new Map([['k', 'other']]) }));
    await redis.hset(`trb:{${processor}:1}:view:atp`, 'SKU@W', '{}');

    const deleted = await store.wipe([1]);
    expect(deleted).toBe(4);
    expect(await keysOf(redis, processor)).toEqual([
      `trb:{${processor}:0}:seen`, `trb:{${processor}:0}:state`, `trb:{${processor}:0}:watermark`,
      `trb:{${processor}:2}:seen`, `trb:{${processor}:2}:state`, `trb:{${processor}:2}:watermark`,
      `trb:{${processor}}:epoch`,
    ].sort());
    expect((await other.load(1, ['k'])).get('k')).toBe('other');

    await store.wipe();
    expect(await keysOf(redis, processor)).toEqual([]);
    expect(await other.watermarks(1)).toEqual({ a: '1' });
    await expect(store.applyBatch(0, batch({ newWatermarks: { a: '1' } }))).rejects.toThrow(/ensureEpoch/);
  });

  it('holds an applied batch\'s outbox entry until it is cleared or the partition wiped', async () => {
    const processor = newProcessor();
    const store = createStateStore({ redis, processor });
    await store.ensureEpoch();
    const records = Buffer.from('records of batch 1');
    const first = await store.apply(0, batch({ newWatermarks: { a: '1' }, outbox: records }));
    const second = await store.apply(0, batch({ expectedWatermarks: { a: '1' }, newWatermarks: { a: '2' }, outbox: Buffer.from('records of batch 2') }));
    expect(first.outcome).toBe('applied');
    const [seq1, seq2] = [first.outboxSeq as string, second.outboxSeq as string];
    expect(seq1 < seq2).toBe(true);
    expect(await store.outbox(0)).toEqual([{ seq: seq1, records }, { seq: seq2, records: Buffer.from('records of batch 2') }]);
    expect(await store.holdsOutbox(0, seq1)).toBe(true);

    // Another instance produced batch 1 and cleared it: a paused one must not send it again.
    await store.clearOutbox(0, [seq1]);
    expect(await store.holdsOutbox(0, seq1)).toBe(false);
    expect(await store.holdsOutbox(0, seq2)).toBe(true);
    // A rebuild wiped the partition: nothing is left to produce.
    await store.wipe([0]);
    expect(await store.holdsOutbox(0, seq2)).toBe(false);
  });

  it('applies a batch of 5,000 keys and 5,000 seen ids in one call (timing printed)', async () => {
    const processor = newProcessor();
    const store = createStateStore<{ sku: string; onHand: number; reservations: Record<string, number> }>({ redis, processor });
    await store.ensureEpoch();
    const puts = new Map<string, { sku: string; onHand: number; reservations: Record<string, number> }>();
    const seen = [];
    const at = Date.now();
    for (let i = 0; i < 5_000; i++) {
      const reservations: Record<string, number> = {};
      for (let o = 0; o < 10; o++) reservations[`ORD-${i}-${o}`] = o + 1;
      puts.set(`SKU-${i}@W${i % 7}`, { sku: `SKU-${i}`, onHand: i, reservations });
      seen.push({ topic: 'stock.adjusted', eventId: `evt-${i}`, at });
    }
    const started = performance.now();
    const outcome = await store.applyBatch(0, batch({ newWatermarks: { 'stock.adjusted': '4999' }, puts, seen }));
    const elapsed = performance.now() - started;
    expect(outcome).toBe('applied');
    const loadStarted = performance.now();
    const loaded = await store.load(0, [...puts.keys()]);
    const loadElapsed = performance.now() - loadStarted;
    expect(loaded.size).toBe(5_000);
    expect(loaded.get('SKU-4321@W2')?.reservations['ORD-4321-9']).toBe(10);
    expect((await store.seenAmong(0, 'stock.adjusted', ['evt-0', 'evt-4999', 'evt-5000'])).size).toBe(2);
    const bytes = [...puts.values()].reduce((sum, s) => sum + JSON.stringify(s).length, 0);
    console.log(`[bench] applyBatch 5,000 keys (${(bytes / 1e6).toFixed(2)} MB JSON) + 5,000 seen ids: ${elapsed.toFixed(0)} ms; load 5,000 keys: ${loadElapsed.toFixed(0)} ms`);
  });

  it('turns Redis being unreachable into a retriable TRB_REDIS_UNAVAILABLE', async () => {
    const port = await freePort();
    const down = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    down.on('error', () => {});
    clients.push(down);
    const store = createStateStore({ redis: down, processor: newProcessor() });
    const failure = await store.watermarks(0).then(() => null, (error: unknown) => error);
    expect(failure).toBeInstanceOf(TributaryError);
    expect((failure as TributaryError).code).toBe('TRB_REDIS_UNAVAILABLE');
    expect((failure as TributaryError).retriable).toBe(true);
  });
});

describe('lost state after FLUSHALL (private redis-server)', () => {
  let home: string;
  let pid: number | undefined;
  let url: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'trb-flush-'));
    const started = await startRedis({ home, redisServer: process.env.REDIS_SERVER ?? 'redis-server', port: await freePort() });
    pid = started.pid;
    url = started.url;
  });

  afterAll(async () => {
    if (pid !== undefined) await stopRedis(pid);
    rmSync(home, { recursive: true, force: true });
  });

  it('reports fresh, then ok, then lost after a flush; a running instance is fenced, not written', async () => {
    const r = client(url);
    const processor = newProcessor();
    const store = createStateStore({ redis: r, processor });
    expect((await store.checkIntegrity(0, { a: '-1' })).status).toBe('fresh');
    await store.ensureEpoch();
    await store.applyBatch(0, batch({ newWatermarks: { a: '41' }, puts: new Map([['k', 1]]) }));
    // The runtime commits offset 42 (the next to read) after applying up to 41.
    expect((await store.checkIntegrity(0, { a: '42' })).status).toBe('ok');

    await r.flushall();
    const afterFlush = await store.checkIntegrity(0, { a: '42' });
    expect(afterFlush.status).toBe('lost');
    expect(afterFlush.detail).toContain('a@42');
    // The instance that was running when Redis was flushed cannot write on top of nothing.
    expect(await store.applyBatch(0, batch({ expectedWatermarks: { a: '41' }, newWatermarks: { a: '50' }, puts: new Map([['k', 2]]) }))).toBe('fenced');
    expect(await r.dbsize()).toBe(0);

    // A new start stamps a new epoch; the partition is still lost until rebuilt from offset 0.
    await store.ensureEpoch();
    expect((await store.checkIntegrity(0, { a: '42' })).status).toBe('lost');
  });

  it('reports lost when only the epoch is gone, and behind when Redis is older than the commits', async () => {
    const r = client(url);
    const processor = newProcessor();
    const store = createStateStore({ redis: r, processor });
    await store.ensureEpoch();
    // After a restart Redis has no cached scripts: the store reloads its script (NOSCRIPT → EVAL).
    await r.script('FLUSH');
    expect(await store.applyBatch(0, batch({ newWatermarks: { a: '9' } }))).toBe('applied');
    expect((await store.checkIntegrity(0, { a: '30' })).status).toBe('behind');
    await r.del(`trb:{${processor}}:epoch`);
    expect((await store.checkIntegrity(0, { a: '10' })).status).toBe('lost');
  });
});
