/**
 * CPU seconds a process has used so far (user + system, from /proc/<pid>/stat), to tell a
 * CPU-bound process (about one core busy for the whole window: Node runs JavaScript on one
 * thread) from one that waits on Redis or Kafka. Linux only; null elsewhere or once it exited.
 */
import { readFileSync } from 'node:fs';

// USER_HZ: 100 on every Linux architecture Node runs on (the kernel exports times in these ticks).
const TICKS_PER_SECOND = 100;

export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** CPU seconds used between two readings, or null if either is missing. */
export function cpuBetween(before: number | null, after: number | null): number | null {
  return before === null || after === null ? null : Math.round((after - before) * 100) / 100;
}
