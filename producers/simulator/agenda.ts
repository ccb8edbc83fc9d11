/**
 * The simulator's agenda: things due at a simulated time (a pick, a shipment, a receipt), popped
 * earliest first. Ties go to what was scheduled first, so the order never depends on heap layout
 * and a run is reproducible.
 */

interface Entry<T> {
  at: number;
  seq: number;
  item: T;
}

export class Agenda<T> {
  private readonly heap: Entry<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  schedule(at: number, item: T): void {
    this.heap.push({ at, seq: this.seq++, item });
    this.up(this.heap.length - 1);
  }

  /** When the next entry is due, or Infinity when nothing is scheduled. */
  peekAt(): number {
    return this.heap[0]?.at ?? Infinity;
  }

  pop(): { at: number; item: T } | undefined {
    const top = this.heap[0];
    if (!top) return undefined;
    const last = this.heap.pop() as Entry<T>;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return { at: top.at, item: top.item };
  }

  private before(a: Entry<T>, b: Entry<T>): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private up(index: number): void {
    const heap = this.heap;
    const entry = heap[index] as Entry<T>;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = heap[parent] as Entry<T>;
      if (!this.before(entry, above)) break;
      heap[index] = above;
      index = parent;
    }
    heap[index] = entry;
  }

  private down(index: number): void {
    const heap = this.heap;
    const entry = heap[index] as Entry<T>;
    const length = heap.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      const right = child + 1;
      if (right < length && this.before(heap[right] as Entry<T>, heap[child] as Entry<T>)) child = right;
      const below = heap[child] as Entry<T>;
      if (!this.before(below, entry)) break;
      heap[index] = below;
      index = child;
    }
    heap[index] = entry;
  }
}
