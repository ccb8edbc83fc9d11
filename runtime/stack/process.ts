/**
 * The local stack's processes: started detached (their own process group, output appended to a
 * log file, not tied to the `tributary` process that started them), found again later by pid,
 * and stopped with a grace period. A recorded pid is only trusted when /proc still shows the
 * expected command line, so a pid reused after a reboot is never signalled.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StackError } from '../errors';

export interface DetachedSpec {
  command: string;
  args: string[];
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Names the process in errors, e.g. "Kafka". */
  what: string;
}

export async function spawnDetached(spec: DetachedSpec): Promise<number> {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', (error) =>
        reject(new StackError('TRB_STACK_START_FAILED', `cannot start ${spec.what} (${spec.command}): ${error.message}`, { cause: error })),
      );
    });
    child.unref();
    return pid;
  } finally {
    closeSync(out);
  }
}

function procState(pid: number): string | undefined {
  try {
    // The state letter follows the parenthesised command name, which may itself hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A zombie has exited; its parent just has not reaped it yet.
  return procState(pid) !== 'Z';
}

/** Whether `pid` is alive and its command line contains `marker` (true when /proc is absent). */
export function isOwnProcess(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  if (!existsSync('/proc/self/cmdline')) return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker);
  } catch {
    return false;
  }
}

async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** SIGTERM, wait up to `graceMs` for the exit, then SIGKILL. */
export async function stopProcess(pid: number, graceMs: number): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isAlive(pid)) return 'not-running';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'not-running';
  }
  if (await exited(pid, graceMs)) return 'stopped';
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'stopped';
  }
  await exited(pid, 5_000);
  return 'killed';
}

/** The last non-empty lines of a log file, for error messages ('' when there is none). */
export function tailFile(file: string, lines = 5): string[] {
  try {
    const text = readFileSync(file, 'utf8');
    return text
      .slice(-64 * 1024)
      .split('\n')
      .map((line) => line.trimEnd())
      .filter(Boolean)
      .slice(-lines);
  } catch {
    return [];
  }
}

/** A log excerpt that fits on the one line of a CLI error: errors first, else the last lines. */
export function logExcerpt(file: string): string {
  const last = tailFile(file, 40);
  // Kafka's log4j levels, Java exceptions, and Node's "SyntaxError: …" lines; not stack frames.
  const errors = last.filter((line) => /\b(ERROR|FATAL)\b|Exception|Error\b/.test(line) && !/^\s+at /.test(line));
  const chosen = (errors.length > 0 ? errors : last).slice(-2).map((line) => (line.length > 240 ? `${line.slice(0, 240)}…` : line));
  return chosen.length > 0 ? `"${chosen.join(' | ')}"` : '(log is empty)';
}
