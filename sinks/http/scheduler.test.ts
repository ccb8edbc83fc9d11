/**
 * Per-key order, concurrency across keys and coalescing, without I/O: a key's commands come out
 * one at a time in record order, other keys are not held up by it, and an UpdateAvailability not
 * yet sent is superseded by a newer one of its key, which waits out the coalescing window.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalescer';
import { KeyScheduler, type Scheduled } from './scheduler';

let offset = 0n;
function cmd(key: string, type = 'CreateSalesOrder', partition = 0): Scheduled<string> {
  offset += 1n;
  return { partition, offset, key, type, value: `${type}:${key}:${offset}` };
}

function scheduler(windows: Record<string, number> = { UpdateAvailability: 1_000 }) {
  return new KeyScheduler<string>(new Coalescer(windows));
}

describe('KeyScheduler', () => {
  it('gives out the oldest command of each idle key, one per key at a time', () => {
    const s = scheduler();
    const [a1, a2, b1] = [cmd('A'), cmd('A'), cmd('B')];
    for (const c of [a1, a2, b1]) s.add(c);
    expect(s.take(0)).toBe(a1);
    expect(s.take(0)).toBe(b1);
    expect(s.take(0)).toBeUndefined(); // a2 waits for a1
    s.finish(a1, 0);
    expect(s.take(0)).toBe(a2);
    expect(s.queued).toBe(0);
    expect(s.inProgress).toBe(2);
  });

  it('a slow key does not hold up the others', () => {
    const s = scheduler();
    const slow = cmd('slow');
    s.add(slow);
    s.add(cmd('slow'));
    const others = ['x', 'y', 'z'].map((k) => cmd(k));
    for (const c of others) s.add(c);
    expect(s.take(0)).toBe(slow);
    expect([s.take(0), s.take(0), s.take(0)]).toEqual(others);
  });

  it('a newer UpdateAvailability supersedes the queued one of its key; other types never', () => {
    const s = scheduler();
    const first = cmd('SKU-1@DC-EAST', 'UpdateAvailability');
    const other = cmd('SKU-1@DC-EAST', 'PostCycleCount');
    const second = cmd('SKU-1@DC-EAST', 'UpdateAvailability');
    expect(s.add(first)).toEqual([]);
    expect(s.add(other)).toEqual([]);
    expect(s.add(second)).toEqual([first]);
    expect(s.add(cmd('SKU-1@DC-EAST', 'PostCycleCount'))).toEqual([]);
    // The newest value keeps its place after the PostCycleCount it followed.
    expect(s.take(0)).toBe(other);
  });

  it('does not supersede a command already started: the newer one waits for it', () => {
    const s = scheduler();
    const first = cmd('K', 'UpdateAvailability');
    s.add(first);
    expect(s.take(0)).toBe(first);
    expect(s.add(cmd('K', 'UpdateAvailability'))).toEqual([]);
  });

  it('holds the next UpdateAvailability of a key for the window after the previous one finished', () => {
    const s = scheduler();
    const first = cmd('K', 'UpdateAvailability');
    s.add(first);
    s.take(0);
    s.finish(first, 5_000);
    const second = cmd('K', 'UpdateAvailability');
    const third = cmd('K', 'UpdateAvailability');
    s.add(second);
    expect(s.add(third)).toEqual([second]);
    const elsewhere = cmd('L', 'UpdateAvailability');
    s.add(elsewhere);
    expect(s.take(5_500)).toBe(elsewhere); // another key is not held
    expect(s.take(5_999)).toBeUndefined();
    expect(s.nextReadyAt()).toBe(6_000);
    expect(s.take(6_000)).toBe(third);
  });

  it('the window is per type: other commands of the key go at once', () => {
    const s = scheduler();
    const first = cmd('K', 'UpdateAvailability');
    s.add(first);
    s.take(0);
    s.finish(first, 0);
    const count = cmd('K', 'PostCycleCount');
    s.add(count);
    expect(s.take(1)).toBe(count);
  });

  it('a given-up command (not sent) does not start a window', () => {
    const s = scheduler();
    const first = cmd('K', 'UpdateAvailability');
    s.add(first);
    s.take(0);
    s.finish(first, 0, false);
    const next = cmd('K', 'UpdateAvailability');
    s.add(next);
    expect(s.take(1)).toBe(next);
  });

  it('drop(partition) forgets its queued commands, but a key in progress stays busy until it finishes', () => {
    const s = scheduler();
    const started = cmd('K', 'CreateSalesOrder', 3);
    s.add(started);
    s.take(0);
    const queued = cmd('K', 'UpdateSalesOrder', 3);
    const kept = cmd('M', 'CreateSalesOrder', 1);
    s.add(queued);
    s.add(kept);
    expect(s.drop(3)).toEqual([queued]);
    expect(s.queued).toBe(1);
    // The partition is re-read: the re-read command must not overtake the request still in flight.
    const reread = cmd('K', 'CreateSalesOrder', 3);
    s.add(reread);
    expect(s.take(0)).toBe(kept);
    expect(s.take(0)).toBeUndefined();
    s.finish(started, 0);
    expect(s.take(0)).toBe(reread);
  });

  it('property: each key is served in order, never two at once, and every command ends taken or superseded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), coalesced: fc.boolean(), finishNow: fc.boolean() }), { maxLength: 120, size: 'max' }),
        (ops) => {
          const s = scheduler({ UpdateAvailability: 0 });
          const added: Scheduled<string>[] = [];
          const superseded = new Set<Scheduled<string>>();
          const taken: Scheduled<string>[] = [];
          const busy = new Map<string, Scheduled<string>>();
          const drain = (finishAll: boolean) => {
            for (let next = s.take(0); next; next = s.take(0)) {
              expect(busy.has(next.key)).toBe(false);
              busy.set(next.key, next);
              taken.push(next);
            }
            if (finishAll) for (const [key, c] of busy) (s.finish(c, 0), busy.delete(key));
          };
          for (const op of ops) {
            const c = cmd(op.key, op.coalesced ? 'UpdateAvailability' : 'CreateSalesOrder');
            added.push(c);
            for (const old of s.add(c)) superseded.add(old);
            drain(op.finishNow);
          }
          while (s.queued > 0 || busy.size > 0) drain(true);
          expect(taken.length + superseded.size).toBe(added.length);
          for (const key of ['a', 'b', 'c', 'd']) {
            const offsets = taken.filter((c) => c.key === key).map((c) => c.offset);
            expect(offsets).toEqual([...offsets].sort((x, y) => (x < y ? -1 : 1)));
            // The last command of a key is always sent.
            const last = added.filter((c) => c.key === key).at(-1);
            if (last) expect(taken).toContain(last);
          }
        },
      ),
    );
  });
  it('property: take() and nextReadyAt() agree with a scan of every queued key (windows, drops, time)', () => {
    type Op =
      | { op: 'add'; key: string; coalesced: boolean; partition: number }
      | { op: 'take' }
      | { op: 'finish'; pick: number; sent: boolean }
      | { op: 'drop'; partition: number }
      | { op: 'wait'; ms: number };
    const op = fc.oneof(
      fc.record({ op: fc.constant<'add'>('add'), key: fc.constantFrom('a', 'b', 'c', 'd', 'e'), coalesced: fc.boolean(), partition: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ op: fc.constant<'take'>('take') }),
      fc.record({ op: fc.constant<'finish'>('finish'), pick: fc.nat(), sent: fc.boolean() }),
      fc.record({ op: fc.constant<'drop'>('drop'), partition: fc.integer({ min: 0, max: 2 }) }),
      fc.record({ op: fc.constant<'wait'>('wait'), ms: fc.integer({ min: 0, max: 60 }) }),
    );
    fc.assert(
      fc.property(fc.array(op as fc.Arbitrary<Op>, { maxLength: 150, size: 'max' }), (ops) => {
        const windows = { UpdateAvailability: 40 };
        const s = scheduler(windows);
        // The reference: every queued key scanned for the oldest head that is idle and not held.
        const windowsOf = new Coalescer(windows);
        const queued: Scheduled<string>[] = [];
        const busy = new Map<string, Scheduled<string>>();
        const scan = (now: number) =>
          queued.find((c) => !busy.has(c.key) && queued.find((q) => q.key === c.key) === c && windowsOf.readyAt(c.key, c.type) <= now);
        let now = 0;
        for (const step of ops) {
          if (step.op === 'add') {
            const c = cmd(step.key, step.coalesced ? 'UpdateAvailability' : 'CreateSalesOrder', step.partition);
            const superseded = step.coalesced ? queued.filter((q) => q.key === c.key && q.type === c.type) : [];
            for (const old of superseded) queued.splice(queued.indexOf(old), 1);
            queued.push(c);
            expect(s.add(c)).toEqual(superseded);
          } else if (step.op === 'take') {
            const expected = scan(now);
            expect(s.take(now)).toBe(expected);
            if (expected) {
              queued.splice(queued.indexOf(expected), 1);
              busy.set(expected.key, expected);
            } else {
              const heads = queued.filter((c) => !busy.has(c.key) && queued.find((q) => q.key === c.key) === c);
              const held = heads.map((c) => windowsOf.readyAt(c.key, c.type)).filter((at) => at > 0);
              expect(s.nextReadyAt()).toBe(held.length > 0 ? Math.min(...held) : undefined);
            }
          } else if (step.op === 'finish') {
            const running = [...busy.values()];
            const done = running[step.pick % Math.max(1, running.length)];
            if (!done) continue;
            busy.delete(done.key);
            if (step.sent) windowsOf.finished(done.key, done.type, now);
            s.finish(done, now, step.sent);
          } else if (step.op === 'drop') {
            const gone = queued.filter((c) => c.partition === step.partition);
            for (const c of gone) queued.splice(queued.indexOf(c), 1);
            expect(s.drop(step.partition).sort((x, y) => (x.offset < y.offset ? -1 : 1))).toEqual(gone);
          } else now += step.ms;
          expect(s.queued).toBe(queued.length);
          expect(s.inProgress).toBe(busy.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('Coalescer', () => {
  it('coalesces UpdateAvailability by default, 1000 ms', () => {
    const c = new Coalescer();
    expect(c.coalesces('UpdateAvailability')).toBe(true);
    expect(c.coalesces('CreateSalesOrder')).toBe(false);
    c.finished('K', 'UpdateAvailability', 100);
    expect(c.readyAt('K', 'UpdateAvailability')).toBe(1_100);
  });

  it('remembers no window for types it does not coalesce', () => {
    const c = new Coalescer();
    c.finished('K', 'CreateSalesOrder', 100);
    expect(c.readyAt('K', 'CreateSalesOrder')).toBe(0);
    expect(c.size).toBe(0);
  });

  it('forgets windows that are over, so they do not pile up', () => {
    const c = new Coalescer({ UpdateAvailability: 1_000 });
    for (let i = 0; i < 10_000; i++) c.finished(`K${i}`, 'UpdateAvailability', i);
    expect(c.size).toBeLessThan(3_000);
  });

  it('refuses a negative window', () => {
    expect(() => new Coalescer({ UpdateAvailability: -1 })).toThrow(RangeError);
  });
});
