/**
 * Wall-clock pacing for `simulate --rate N`: releases events at about N per second, however fast
 * they are generated. The simulated timestamps inside the events are untouched; only delivery is
 * paced. It sleeps only when ahead by a few milliseconds, so high rates go out in small bursts
 * rather than paying a timer per event, and it never tries to catch up faster than the rate
 * after the consumer was slow (the schedule restarts from the late point).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../../runtime/errors';

const MIN_SLEEP_MS = 4;

export async function* paced<T>(events: Iterable<T> | AsyncIterable<T>, rate: number, signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
  if (!Number.isFinite(rate) || rate <= 0) throw new UsageError(`rate must be a number of events per second above 0, got ${rate}`);
  const interval = 1000 / rate;
  let start = performance.now();
  let released = 0;
  for await (const event of events) {
    if (signal?.aborted) return;
    const due = start + released * interval;
    const now = performance.now();
    if (due - now >= MIN_SLEEP_MS) {
      try {
        await sleep(due - now, undefined, { signal });
      } catch (error) {
        if (signal?.aborted) return;
        throw error;
      }
    } else if (now - due > 1000) {
      // More than a second behind (a slow consumer): pace from here instead of bursting to catch up.
      start = now;
      released = 0;
    }
    released++;
    yield event;
  }
}
