/**
 * The agenda pops earliest first and, at equal times, in scheduling order.
 */
import { describe, expect, it } from 'vitest';
import { Agenda } from './agenda';
import { Random } from './random';

describe('Agenda', () => {
  it('pops by time, ties in the order scheduled, whatever the insertion order', () => {
    const rng = new Random('agenda');
    const agenda = new Agenda<{ at: number; n: number }>();
    const entries = Array.from({ length: 2000 }, (_, n) => ({ at: rng.int(0, 300), n }));
    for (const entry of entries) agenda.schedule(entry.at, entry);
    expect(agenda.size).toBe(2000);
    expect(agenda.peekAt()).toBe(Math.min(...entries.map((e) => e.at)));
    const popped = [];
    for (let next = agenda.pop(); next; next = agenda.pop()) popped.push(next.item);
    const expected = [...entries].sort((a, b) => a.at - b.at || a.n - b.n);
    expect(popped).toEqual(expected);
    expect(agenda.peekAt()).toBe(Infinity);
    expect(agenda.pop()).toBeUndefined();
  });
});
