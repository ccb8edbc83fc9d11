/** foldBatch: duplicates skipped, a throwing record dead-lettered without leaving its half-done changes behind. */
import { describe, expect, it } from 'vitest';
import { seenMember } from '../redis/keys';
import { foldBatch, type BatchRecord } from './batch';
import { defineProcessor } from './types';

interface Counter {
  total: number;
  seen: string[];
}

// A tiny processor: adds `amount` to a per-key total; an amount of 13 throws AFTER mutating the state.
const counter = defineProcessor<Counter, null>({
  name: 'counter',
  inputs: ['in'],
  tables: [],
  outputs: ['out'],
  keyOf: (_t, v) => (v as { key: string }).key,
  createContext: () => null,
  fold(state, input) {
    const s = state ?? { total: 0, seen: [] };
    const { amount, id } = input.value as { amount: number; id: string };
    s.total += amount;
    s.seen.push(id);
    if (amount === 13) throw new Error('unlucky amount');
    return { state: s, outputs: [{ topic: 'out', key: 'k', value: { total: s.total } }] };
  },
});

let offset = 0;
const rec = (key: string, id: string, amount: number): BatchRecord => ({ topic: 'in', offset: String(offset++), value: { key, id, amount }, eventId: id, key, occurredAt: 0 });

describe('foldBatch', () => {
  it('skips ids applied before and ids repeated within the batch, keeping the first', () => {
    const result = foldBatch({ declaration: counter, ctx: null, records: [rec('a', 'e1', 1), rec('a', 'e2', 2), rec('a', 'e2', 2), rec('a', 'e3', 4)], loaded: new Map(), alreadySeen: new Set([seenMember('in', 'e1')]) });
    expect(result.states.get('a')).toEqual({ total: 6, seen: ['e2', 'e3'] });
    expect(result.applied.map((r) => r.eventId)).toEqual(['e2', 'e3']);
    expect(result.duplicates.map((r) => r.eventId)).toEqual(['e1', 'e2']);
  });

  it('takes the same eventId on two input topics as two events (a batch may span topics)', () => {
    const other = (key: string, id: string, amount: number): BatchRecord => ({ ...rec(key, id, amount), topic: 'other' });
    const twoTopics = defineProcessor<Counter, null>({ ...counter, inputs: ['in', 'other'] });
    const result = foldBatch({
      declaration: twoTopics,
      ctx: null,
      records: [rec('a', 'e1', 1), other('a', 'e1', 2), other('a', 'e2', 4), rec('a', 'e2', 8), other('a', 'e2', 16)],
      loaded: new Map(),
      alreadySeen: new Set([seenMember('other', 'e2')]),
    });
    expect(result.applied.map((r) => `${r.topic}:${r.eventId}`)).toEqual(['in:e1', 'other:e1', 'in:e2']);
    expect(result.duplicates.map((r) => `${r.topic}:${r.eventId}`)).toEqual(['other:e2', 'other:e2']);
    expect(result.states.get('a')?.total).toBe(11);
  });

  it('dead-letters a record the fold throws on and rebuilds its key as if it never came', () => {
    const loaded = new Map([['a', { total: 100, seen: ['old'] }]]);
    const result = foldBatch({
      declaration: counter,
      ctx: null,
      records: [rec('a', 'e1', 1), rec('b', 'e2', 5), rec('a', 'e3', 13), rec('a', 'e4', 2)],
      loaded,
      alreadySeen: new Set(),
    });
    expect(result.failed.map((f) => [f.record.eventId, (f.error as Error).message])).toEqual([['e3', 'unlucky amount']]);
    expect(result.states.get('a')).toEqual({ total: 103, seen: ['old', 'e1', 'e4'] });
    expect(result.states.get('b')).toEqual({ total: 5, seen: ['e2'] });
    // Outputs of the good records only, in order; the failed record's output never appears.
    expect(result.outputs.map((o) => (o.value as { total: number }).total)).toEqual([101, 5, 103]);
  });

  it('rebuilds a poisoned key from the JSON it was loaded from, when the caller hands it over', () => {
    const json = JSON.stringify({ total: 100, seen: ['old'] });
    const result = foldBatch({
      declaration: counter,
      ctx: null,
      records: [rec('a', 'e1', 1), rec('a', 'e2', 13), rec('c', 'e3', 13), rec('a', 'e4', 2)],
      loaded: new Map([['a', JSON.parse(json) as Counter]]),
      loadedJson: new Map([['a', json]]),
      alreadySeen: new Set(),
    });
    expect(result.failed.map((f) => f.record.eventId)).toEqual(['e2', 'e3']);
    expect(result.states.get('a')).toEqual({ total: 103, seen: ['old', 'e1', 'e4'] });
    // A key not in Redis rebuilds from nothing.
    expect(result.states.get('c')).toBeUndefined();
  });

  it('dead-letters a record whose output cannot be encoded, with the same rollback', () => {
    const result = foldBatch({
      declaration: counter,
      ctx: null,
      records: [rec('a', 'e1', 1), rec('a', 'e2', 7)],
      loaded: new Map(),
      alreadySeen: new Set(),
      encode: (output) => {
        if ((output.value as { total: number }).total === 8) throw new TypeError('not encodable');
        return output.key;
      },
    });
    expect(result.failed.map((f) => f.record.eventId)).toEqual(['e2']);
    expect(result.states.get('a')).toEqual({ total: 1, seen: ['e1'] });
    expect(result.outputs).toEqual(['k']);
  });
});
