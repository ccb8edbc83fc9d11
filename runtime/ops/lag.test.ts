import { describe, expect, it } from 'vitest';
import { groupTotals, lagRows, type OffsetsByTopic } from './lag';

function offsets(byTopic: Record<string, Record<number, number>>): OffsetsByTopic {
  return new Map(Object.entries(byTopic).map(([topic, parts]) => [topic, new Map(Object.entries(parts).map(([p, o]) => [Number(p), o]))]));
}

describe('lagRows', () => {
  it('is end minus committed per partition, sorted by group, topic and partition', () => {
    const ends = offsets({ 'b.topic': { 1: 10, 0: 7 }, 'a.topic': { 0: 3 } });
    const rows = lagRows(
      [{ group: 'g', topics: ['b.topic', 'a.topic'], committed: offsets({ 'b.topic': { 0: 5, 1: 10 }, 'a.topic': { 0: 1 } }) }],
      ends,
    );
    expect(rows).toEqual([
      { group: 'g', topic: 'a.topic', partition: 0, committed: 1, end: 3, lag: 2 },
      { group: 'g', topic: 'b.topic', partition: 0, committed: 5, end: 7, lag: 2 },
      { group: 'g', topic: 'b.topic', partition: 1, committed: 10, end: 10, lag: 0 },
    ]);
  });

  it('a partition never committed has committed null and the whole end offset as lag', () => {
    const rows = lagRows([{ group: 'new', topics: ['t'], committed: new Map() }], offsets({ t: { 0: 4, 1: 0 } }));
    expect(rows).toEqual([
      { group: 'new', topic: 't', partition: 0, committed: null, end: 4, lag: 4 },
      { group: 'new', topic: 't', partition: 1, committed: null, end: 0, lag: 0 },
    ]);
  });

  it('mixes committed and never-committed partitions of one topic', () => {
    const rows = lagRows([{ group: 'g', topics: ['t'], committed: offsets({ t: { 1: 2 } }) }], offsets({ t: { 0: 6, 1: 9 } }));
    expect(rows.map((r) => [r.partition, r.committed, r.lag])).toEqual([
      [0, null, 6],
      [1, 2, 7],
    ]);
  });

  it('skips topics missing from Kafka and never reports negative lag', () => {
    const rows = lagRows(
      [{ group: 'g', topics: ['gone', 't', 't'], committed: offsets({ gone: { 0: 3 }, t: { 0: 50 } }) }],
      offsets({ t: { 0: 8 } }),
    );
    expect(rows).toEqual([{ group: 'g', topic: 't', partition: 0, committed: 50, end: 8, lag: 0 }]);
  });
});

describe('groupTotals', () => {
  it('sums the lag of each group', () => {
    const rows = lagRows(
      [
        { group: 'b', topics: ['t'], committed: offsets({ t: { 0: 1, 1: 1 } }) },
        { group: 'a', topics: ['t'], committed: new Map() },
      ],
      offsets({ t: { 0: 5, 1: 3 } }),
    );
    expect(groupTotals(rows)).toEqual([
      { group: 'a', lag: 8 },
      { group: 'b', lag: 6 },
    ]);
  });
});
