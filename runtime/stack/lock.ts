/**
 * A lock file so that two `tributary` processes never fetch the Kafka jars, or start/stop the same
 * local stack, at the same time. The file holds the owner's pid; a lock whose owner is dead is
 * stale and taken over, so a crash never leaves a stack that cannot be started. Takeover never
 * deletes by name a file someone may just have created (see `removeStale`), and the taker then
 * competes with the exclusive create like anyone else, so two processes never both hold it.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { StackError } from '../errors';
import { isAlive } from './process';

export interface LockOptions {
  timeoutMs: number;
  /** Called once when the lock is held by another live process and we start waiting. */
  onWait?: (ownerPid: number) => void;
}

function tryTake(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function ownerOf(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isNaN(pid) ? undefined : pid;
  } catch {
    return undefined;
  }
}

/** Renames `file` to a name only this call uses, then deletes it; false when it was gone already. */
function moveAway(file: string): boolean {
  const moved = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, moved);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  rmSync(moved, { force: true });
  return true;
}

/**
 * Takes away a lock judged stale (its owner `owner` is dead). Judging and removing are two steps,
 * and in between another process may take the lock over and create a fresh one under the same
 * name; so only the holder of `<file>.takeover` (itself an exclusive create) removes a stale lock,
 * and only after judging it again. Everyone then competes for the lock with the exclusive create.
 */
function removeStale(file: string, owner: number): boolean {
  const guard = `${file}.takeover`;
  if (!tryTake(guard)) {
    // A takeover whose process died between its two steps: a rare leftover, cleared the same way.
    const holder = ownerOf(guard);
    return holder !== undefined && holder !== process.pid && !isAlive(holder) && moveAway(guard);
  }
  try {
    if (ownerOf(file) === owner) moveAway(file);
    return true;
  } finally {
    rmSync(guard, { force: true });
  }
}

export async function withLock<T>(file: string, what: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(file), { recursive: true });
  const deadline = Date.now() + options.timeoutMs;
  let announced = false;
  while (!tryTake(file)) {
    const owner = ownerOf(file);
    // An unreadable pid is a lock being written right now: wait a round before judging it stale.
    // Retry at once after a takeover; else (another takeover under way) wait like for a live owner.
    if (owner !== undefined && owner !== process.pid && !isAlive(owner) && removeStale(file, owner)) continue;
    if (Date.now() > deadline) {
      throw new StackError(
        'TRB_STACK_START_FAILED',
        `another tributary process (pid ${owner ?? '?'}) is busy with ${what}: wait for it or remove ${file} if it is gone`,
      );
    }
    if (!announced && owner !== undefined) {
      announced = true;
      options.onWait?.(owner);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  try {
    return await work();
  } finally {
    if (ownerOf(file) === process.pid) rmSync(file, { force: true });
  }
}
