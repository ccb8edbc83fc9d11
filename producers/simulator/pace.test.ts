/**
 * Pacing: events come out no faster than the rate, all of them, in order, and an abort stops it.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../runtime/errors';
import { paced } from './pace';
import { simulate } from './index';

describe('paced', () => {
  it('releases events at no more than the rate, all of them and in order', async () => {
    const events = [...simulate({ seed: 1, events: 60 })];
    const started = performance.now();
    const out = [];
    for await (const event of paced(events, 200)) out.push(event);
    const elapsed = performance.now() - started;
    expect(out).toEqual(events);
    // 60 events at 200/s: the 60th is due 295 ms after the first.
    expect(elapsed).toBeGreaterThanOrEqual(290);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const out = [];
    for await (const event of paced(simulate({ seed: 1, events: 1000 }), 100, controller.signal)) {
      out.push(event);
      if (out.length === 5) controller.abort();
    }
    expect(out).toHaveLength(5);
  });

  it('refuses a rate that is not a positive number', async () => {
    await expect(paced([1], 0).next()).rejects.toThrow(UsageError);
  });
});
