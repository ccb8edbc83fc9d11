import { describe, expect, it } from 'vitest';
import { TributaryError } from '../errors';
import { planReset, resetTargetOf, type PartitionOffsets } from './offsets-reset';

const p = (partition: number, committed: number | null, low: number, high: number, atTime?: number | null): PartitionOffsets => ({
  topic: 'erp.commands',
  partition,
  committed: committed === null ? null : BigInt(committed),
  low: BigInt(low),
  high: BigInt(high),
  ...(atTime === undefined ? {} : { atTime: atTime === null ? null : BigInt(atTime) }),
});

describe('resetTargetOf', () => {
  it('takes exactly one target', () => {
    expect(resetTargetOf({ toEarliest: true })).toEqual({ kind: 'earliest' });
    expect(resetTargetOf({ shiftBy: '-20' })).toEqual({ kind: 'shift', by: -20n });
    expect(resetTargetOf({ toDatetime: '2026-11-20T10:00:00Z' })).toEqual({ kind: 'datetime', at: new Date(Date.UTC(2026, 10, 20, 10)) });
    expect(() => resetTargetOf({})).toThrow(/exactly one/);
    expect(() => resetTargetOf({ toEarliest: true, toLatest: true })).toThrow(/exactly one/);
  });

  it('refuses times without a zone, and offsets that are not integers', () => {
    for (const bad of [{ toDatetime: '2026-11-20T10:00:00' }, { toDatetime: 'yesterday' }, { toOffset: '-1' }, { toOffset: '1.5' }, { shiftBy: 'ten' }]) {
      expect(() => resetTargetOf(bad)).toThrow(TributaryError);
    }
  });
});

describe('planReset', () => {
  it('to earliest replays everything between the log start and the committed offset', () => {
    expect(planReset([p(0, 120, 0, 150), p(1, 40, 10, 40)], { kind: 'earliest' })).toEqual([
      { topic: 'erp.commands', partition: 0, current: '120', target: '0', low: '0', high: '150', replay: 120, skip: 0 },
      { topic: 'erp.commands', partition: 1, current: '40', target: '10', low: '10', high: '40', replay: 30, skip: 0 },
    ]);
  });

  it('to latest skips the lag', () => {
    const [row] = planReset([p(0, 120, 0, 150)], { kind: 'latest' });
    expect(row).toMatchObject({ target: '150', replay: 0, skip: 30 });
  });

  it('a datetime goes to the first record at or after it, or to the end when there is none', () => {
    const rows = planReset([p(0, 120, 0, 150, 100), p(1, 50, 0, 60, null)], { kind: 'datetime', at: new Date(0) });
    expect(rows[0]).toMatchObject({ target: '100', replay: 20, skip: 0 });
    expect(rows[1]).toMatchObject({ target: '60', replay: 0, skip: 10, note: expect.stringMatching(/no record/) });
  });

  it('shifts from the committed offset, or from the log start when never committed, and clamps with a note', () => {
    const rows = planReset([p(0, 120, 0, 150), p(1, null, 5, 60), p(2, 10, 0, 60)], { kind: 'shift', by: -20n });
    expect(rows[0]).toMatchObject({ current: '120', target: '100', replay: 20 });
    expect(rows[1]).toMatchObject({ current: null, target: '5', replay: 0, skip: 0, note: expect.stringMatching(/before the log start/) });
    expect(rows[2]).toMatchObject({ target: '0', replay: 10 });
  });

  it('an explicit offset past the end goes to the end', () => {
    const [row] = planReset([p(0, 10, 0, 50)], { kind: 'offset', offset: 99n });
    expect(row).toMatchObject({ target: '50', skip: 40, note: expect.stringMatching(/past the end/) });
  });
});
