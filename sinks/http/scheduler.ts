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
 *
 * take() and nextReadyAt() cost O(log keys), not a scan of every queued key: a backlog of 10,000
 * keys after a receiver outage otherwise cost ~3 ms per command started. Two heaps index the
 * heads of idle keys — `idle` by age, `held` (heads waiting out a coalescing window) by when the
 * window opens. An entry names a key and the sequence number of its head at the time; when the
 * head changes (taken, superseded, dropped) or the key is busy, the entry is stale and skipped
 * when it surfaces, and the new head gets an entry of its own.
 */
import type { Coalescer } from './coalescer';
import { MinHeap } from './min-heap';

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

interface Head {
  key: string;
  seq: number;
  /** For `held`: when the coalescing window opens. */
  at: number;
}

export class KeyScheduler<T> {
  private readonly queues = new Map<string, Queued<T>[]>();
  private readonly busy = new Set<string>();
  private seq = 0;
  private queuedCount = 0;
  private readonly idle = new MinHeap<Head>((a, b) => a.seq < b.seq);
  private readonly held = new MinHeap<Head>((a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq));

  constructor(private readonly coalescer: Coalescer) {}

  /** Queues a command; returns the commands it superseded (never started, now finished as coalesced). */
  add(command: Scheduled<T>): Scheduled<T>[] {
    let queue = this.queues.get(command.key);
    if (!queue) {
      queue = [];
      this.queues.set(command.key, queue);
    }
    const headBefore = queue[0]?.seq;
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
    if (queue[0]?.seq !== headBefore) this.indexHead(command.key);
    return superseded.reverse();
  }

  /** The next command to start, or undefined when none may start now. */
  take(now: number): Scheduled<T> | undefined {
    // Heads whose window has opened compete by age again.
    for (let top = this.held.peek(); top && top.at <= now; top = this.held.peek()) {
      this.held.pop();
      if (this.isHead(top)) this.idle.push(top);
    }
    for (let top = this.idle.pop(); top; top = this.idle.pop()) {
      if (!this.isHead(top)) continue;
      const queue = this.queues.get(top.key) as Queued<T>[];
      const head = queue[0] as Queued<T>;
      const at = this.coalescer.readyAt(top.key, head.command.type);
      if (at > now) {
        this.held.push({ ...top, at });
        continue;
      }
      queue.shift();
      if (queue.length === 0) this.queues.delete(top.key);
      this.queuedCount -= 1;
      this.busy.add(top.key);
      return head.command;
    }
    return undefined;
  }

  /** The command taken earlier is done (whatever its outcome, or given up): its key may go on. */
  finish(command: Scheduled<T>, now: number, sent = true): void {
    this.busy.delete(command.key);
    if (sent) this.coalescer.finished(command.key, command.type, now);
    this.indexHead(command.key);
  }

  /**
   * The earliest time a queued command held only by its coalescing window may be taken (as far
   * as take() has seen: a head not yet looked at is looked at by the next take()).
   */
  nextReadyAt(): number | undefined {
    for (let top = this.held.peek(); top; top = this.held.peek()) {
      if (this.isHead(top)) return top.at;
      this.held.pop();
    }
    return undefined;
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
      else {
        this.queues.set(key, kept);
        if (kept[0]?.seq !== queue[0]?.seq) this.indexHead(key);
      }
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

  /** Gives the key's current head an entry, when the key is idle and has one. */
  private indexHead(key: string): void {
    const head = this.queues.get(key)?.[0];
    if (head && !this.busy.has(key)) this.idle.push({ key, seq: head.seq, at: 0 });
  }

  private isHead(entry: Head): boolean {
    return !this.busy.has(entry.key) && this.queues.get(entry.key)?.[0]?.seq === entry.seq;
  }
}
