/**
 * A lock file so that two `tributary` processes never fetch the Kafka jars, or start/stop the same
 * local stack, at the same time. The file holds the owner's pid; a lock whose owner is dead is
 * stale and taken over, so a crash never leaves a stack that cannot be started.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
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

export async function withLock<T>(file: string, what: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(file), { recursive: true });
  const deadline = Date.now() + options.timeoutMs;
  let announced = false;
  while (!tryTake(file)) {
    const owner = ownerOf(file);
    // An unreadable pid is a lock being written right now: wait a round before judging it stale.
    if (owner !== undefined && owner !== process.pid && !isAlive(owner)) {
      rmSync(file, { force: true });
      continue;
    }
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
