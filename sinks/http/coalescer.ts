/**
 * Coalescing of "latest state" commands per key (SPEC §7, UpdateAvailability): at most one
 * request per `coalesceMs` per key and type, and the last value always sent. Configured per command
 * type (`coalesce: { UpdateAvailability: 1000 }`); types not listed are never coalesced.
 *
 * This module keeps the windows; superseding a not-yet-sent command by a newer one of the same
 * key and type is the scheduler's (./scheduler.ts). A window runs from the moment the previous
 * command of that key and type finished (delivered, dead-lettered), so two commands' requests —
 * the retries of the first included — are always at least `coalesceMs` apart. No clock inside.
 */
export const DEFAULT_COALESCE: Readonly<Record<string, number>> = { UpdateAvailability: 1_000 };

export class Coalescer {
  private readonly lastDone = new Map<string, number>();

  constructor(private readonly windows: Readonly<Record<string, number>> = DEFAULT_COALESCE) {
    for (const [type, ms] of Object.entries(windows)) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`coalesce window of ${type} must be >= 0 ms, not ${ms}`);
    }
  }

  /** Whether commands of this type are coalesced (a newer one supersedes an older unsent one). */
  coalesces(type: string): boolean {
    return Object.hasOwn(this.windows, type);
  }

  /** The earliest time a command of this key and type may start; 0 when nothing holds it. */
  readyAt(key: string, type: string): number {
    const last = this.lastDone.get(slot(key, type));
    return last === undefined ? 0 : last + (this.windows[type] ?? 0);
  }

  /** A command of this key and type finished at `now`. */
  finished(key: string, type: string, now: number): void {
    if (!this.coalesces(type)) return;
    this.lastDone.set(slot(key, type), now);
    this.prune(now);
  }

  /** Windows remembered (for tests: they do not pile up). */
  get size(): number {
    return this.lastDone.size;
  }

  private prune(now: number): void {
    // Amortised: a full sweep only when the map has doubled since the last one.
    if (this.lastDone.size < this.sweepAt) return;
    for (const [at, done] of this.lastDone) {
      const type = at.slice(0, at.indexOf('\u0000'));
      if (done + (this.windows[type] ?? 0) <= now) this.lastDone.delete(at);
    }
    this.sweepAt = Math.max(1024, this.lastDone.size * 2);
  }

  private sweepAt = 1024;
}

function slot(key: string, type: string): string {
  return `${type}\u0000${key}`;
}
