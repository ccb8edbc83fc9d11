/**
 * Which offset of a partition may be committed: the rule that makes a crash re-deliver, never
 * lose. Offsets are added in the order they were read; each is later finished (delivered,
 * duplicate, coalesced or dead-lettered), in any order since keys go concurrently. The commit
 * point is the lowest offset not finished yet — every record below it is finished — or, when all
 * are, one past the last. Kafka's committed offset is "the next record to read", hence +1.
 */
export class PartitionOffsets {
  /** Unfinished-or-not-yet-passed offsets in read order; the front is the commit point. */
  private readonly order: bigint[] = [];
  private head = 0;
  private readonly finished = new Set<bigint>();
  private lastAdded: bigint | undefined;

  /** Registers a record read; offsets must increase. False (ignored) for one read before. */
  add(offset: bigint): boolean {
    if (this.lastAdded !== undefined && offset <= this.lastAdded) return false;
    this.order.push(offset);
    this.lastAdded = offset;
    return true;
  }

  /** The record at `offset` is finished. */
  finish(offset: bigint): void {
    this.finished.add(offset);
    while (this.head < this.order.length && this.finished.has(this.order[this.head] as bigint)) {
      this.finished.delete(this.order[this.head] as bigint);
      this.head += 1;
    }
    // Compact now and then so the array does not grow with the partition's history.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The offset to commit (next to read), or undefined before anything was read. */
  commitPoint(): bigint | undefined {
    if (this.head < this.order.length) return this.order[this.head];
    return this.lastAdded === undefined ? undefined : this.lastAdded + 1n;
  }

  /** The last offset read, if any. */
  get last(): bigint | undefined {
    return this.lastAdded;
  }

  /** Records read and not finished. */
  get pending(): number {
    return this.order.length - this.head - this.finished.size;
  }
}
