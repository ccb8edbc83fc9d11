/**
 * Which command goes next (SPEC §7: "commands for one key are delivered in order"), with no I/O:
 *
 *   add(command, now)   queues it behind the commands of its key; a coalesced type (./coalescer.ts)
 *                       supersedes a queued, not yet started command of the same key and type,
 *                       which is returned (outcome `coalesced`: finished without a request)
 *   take(now)           the oldest queued command whose key has nothing in progress and whose
 *                       coalescing window is open; it is then in progress until finish()
 *   finish(command)     its key may go on
 *   nextReadyAt()       when a command held only by a coalescing window becomes takeable
 *   drop(partition)     forgets the queued commands of a partition this instance lost; commands in
 *                       progress keep their key busy until they finish, so a command re-read after
 *                       a rebalance never overtakes its own earlier attempt
 *
 * One key has at most one command in progress — being sent, or waiting to be retried — so the
 * receiver sees a key's commands in record order. How many keys are in progress at once is the
 * caller's limit (`concurrency`). Keys are the Kafka record keys; commands of one key come from
 * one partition, in offset order.
 */
import type { Coalescer } from './coalescer';

export interface Scheduled<T> {
  partition: number;
  offset: bigint;
  key: string;
  type: string;
  value: T;
}

interface Queued<T> {
  command: Scheduled<T>;
  seq: number;
}

export class KeyScheduler<T> {
  private readonly queues = new Map<string, Queued<T>[]>();
  private readonly busy = new Set<string>();
  private seq = 0;
  private queuedCount = 0;

  constructor(private readonly coalescer: Coalescer) {}

  /** Queues a command; returns the commands it superseded (never started, now finished as coalesced). */
  add(command: Scheduled<T>): Scheduled<T>[] {
    let queue = this.queues.get(command.key);
    if (!queue) {
      queue = [];
      this.queues.set(command.key, queue);
    }
    const superseded: Scheduled<T>[] = [];
    if (this.coalescer.coalesces(command.type)) {
      for (let i = queue.length - 1; i >= 0; i--) {
        const older = queue[i] as Queued<T>;
        if (older.command.type !== command.type) continue;
        superseded.push(older.command);
        queue.splice(i, 1);
        this.queuedCount -= 1;
      }
    }
    queue.push({ command, seq: this.seq++ });
    this.queuedCount += 1;
    return superseded.reverse();
  }

  /** The next command to start, or undefined when none may start now. */
  take(now: number): Scheduled<T> | undefined {
    let best: Queued<T> | undefined;
    for (const [key, queue] of this.queues) {
      const head = queue[0];
      if (!head || this.busy.has(key)) continue;
      if (this.coalescer.readyAt(key, head.command.type) > now) continue;
      if (!best || head.seq < best.seq) best = head;
    }
    if (!best) return undefined;
    const { key } = best.command;
    const queue = this.queues.get(key) as Queued<T>[];
    queue.shift();
    if (queue.length === 0) this.queues.delete(key);
    this.queuedCount -= 1;
    this.busy.add(key);
    return best.command;
  }

  /** The command taken earlier is done (whatever its outcome, or given up): its key may go on. */
  finish(command: Scheduled<T>, now: number, sent = true): void {
    this.busy.delete(command.key);
    if (sent) this.coalescer.finished(command.key, command.type, now);
  }

  /** The earliest time a queued command held only by its coalescing window may be taken. */
  nextReadyAt(): number | undefined {
    let earliest: number | undefined;
    for (const [key, queue] of this.queues) {
      const head = queue[0];
      if (!head || this.busy.has(key)) continue;
      const at = this.coalescer.readyAt(key, head.command.type);
      if (at > 0 && (earliest === undefined || at < earliest)) earliest = at;
    }
    return earliest;
  }

  /** Removes and returns the queued (not started) commands of a partition. */
  drop(partition: number): Scheduled<T>[] {
    const dropped: Scheduled<T>[] = [];
    for (const [key, queue] of this.queues) {
      const kept = queue.filter((q) => q.command.partition !== partition);
      if (kept.length === queue.length) continue;
      for (const q of queue) if (q.command.partition === partition) dropped.push(q.command);
      this.queuedCount -= queue.length - kept.length;
      if (kept.length === 0) this.queues.delete(key);
      else this.queues.set(key, kept);
    }
    return dropped;
  }

  /** Commands queued, not started. */
  get queued(): number {
    return this.queuedCount;
  }

  /** Keys with a command in progress. */
  get inProgress(): number {
    return this.busy.size;
  }
}
