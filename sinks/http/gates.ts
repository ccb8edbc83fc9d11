/**
 * The waits a command passes before each request, as small async objects over the pure pieces:
 *
 *   Slots        at most `concurrency` requests at once; a retry that waited out its backoff is
 *                served before a new command takes a slot, so the oldest work finishes first
 *   RateGate     a FIFO queue in front of the sink's token bucket (./token-bucket.ts): each
 *                caller gets a token when there is one, in the order they asked
 *   CircuitGate  the breaker (./circuit.ts): waits while it is open, lets one probe through when
 *                half-open, and reports every change of state (the runner pauses and resumes the
 *                consumer on it)
 *
 * Every wait takes an AbortSignal (stop, rebalance) and then rejects with Aborted.
 */
import { CircuitBreaker, type CircuitState } from './circuit';
import type { TokenBucket } from './token-bucket';

export class Aborted extends Error {
  constructor() {
    super('aborted');
    this.name = 'Aborted';
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new Aborted());
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Aborted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Waiter {
  resolve(): void;
}

export class Slots {
  private used = 0;
  private readonly waiters: Waiter[] = [];

  /** `onFree` runs when a slot frees with nobody waiting: the dispatcher may start a new command. */
  constructor(
    private readonly capacity: number,
    private readonly onFree: () => void = () => undefined,
  ) {}

  /** A new command may take a slot now (none free, or retries waiting for one: no). */
  hasFree(): boolean {
    return this.used < this.capacity && this.waiters.length === 0;
  }

  tryAcquire(): boolean {
    if (this.used >= this.capacity || this.waiters.length > 0) return false;
    this.used += 1;
    return true;
  }

  /** Waits for a slot, ahead of new commands (tryAcquire fails while anyone waits here). */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.used < this.capacity && this.waiters.length === 0) {
      this.used += 1;
      return Promise.resolve();
    }
    return waitFor(this.waiters, signal);
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next.resolve(); // the slot passes straight to the waiter
    else {
      this.used -= 1;
      this.onFree();
    }
  }

  get inUse(): number {
    return this.used;
  }
}

export class RateGate {
  private readonly queue: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly bucket: TokenBucket,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves when this caller has a token; callers are served in the order they asked. */
  take(signal?: AbortSignal): Promise<void> {
    const taken = waitFor(this.queue, signal);
    this.serve();
    return taken;
  }

  /** Hands out tokens to the head of the queue, at the moment they are there. */
  private serve(): void {
    if (this.timer) return;
    while (this.queue.length > 0) {
      const wait = this.bucket.take(this.now());
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.serve();
        }, wait);
        return;
      }
      (this.queue[0] as Waiter).resolve();
    }
  }
}

export class CircuitGate {
  private readonly waiters: Waiter[] = [];
  private last: CircuitState;

  constructor(
    readonly breaker: CircuitBreaker,
    private readonly onChange: (state: CircuitState, previous: CircuitState) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.last = breaker.state;
  }

  get state(): CircuitState {
    return this.breaker.state;
  }

  /** Resolves when a request may go; `probe` when it is the half-open probe. */
  async permit(signal?: AbortSignal): Promise<{ probe: boolean }> {
    for (;;) {
      if (signal?.aborted) throw new Aborted();
      const permit = this.breaker.acquire(this.now());
      this.changed();
      if (permit.ok) return { probe: permit.probe };
      await waitFor(this.waiters, signal, permit.retryAt === undefined ? undefined : permit.retryAt - this.now());
    }
  }

  success(): void {
    this.breaker.success();
    this.changed();
  }

  failure(probe: boolean): void {
    this.breaker.failure(this.now(), probe);
    this.changed();
  }

  abandon(probe: boolean): void {
    this.breaker.abandon(probe);
    this.changed();
    this.wakeAll();
  }

  /** Wakes every waiter (state changed, or a probe slot is free again); each asks the breaker anew. */
  private wakeAll(): void {
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  private changed(): void {
    const state = this.breaker.state;
    if (state === this.last) return;
    const previous = this.last;
    this.last = state;
    this.onChange(state, previous);
    this.wakeAll();
  }
}

/**
 * Queues a waiter until it is woken, `timeoutMs` passes (then it resolves too, and leaves the
 * queue) or the signal aborts (rejects with Aborted).
 */
function waitFor(waiters: Waiter[], signal?: AbortSignal, timeoutMs?: number): Promise<void> {
  if (signal?.aborted) return Promise.reject(new Aborted());
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const leave = () => {
      const at = waiters.indexOf(waiter);
      if (at >= 0) waiters.splice(at, 1);
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const waiter: Waiter = {
      resolve: () => {
        leave();
        resolve();
      },
    };
    const onAbort = () => {
      leave();
      reject(new Aborted());
    };
    waiters.push(waiter);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) timer = setTimeout(waiter.resolve, Math.max(0, timeoutMs));
  });
}
