/**
 * The local stack's processes: started detached (their own process group, output appended to a
 * log file, not tied to the `tributary` process that started them), found again later by pid,
 * and stopped with a grace period. A recorded pid is only trusted when the process shows something
 * unique to its stack home (a path in its command line, its working folder, or an env var it was
 * started with), read from /proc or else from `ps`/`lsof`; when that cannot be read the pid is not
 * ours, so a pid reused after a reboot (or by the machine's own Redis) is never signalled.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
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

/** What marks a process as one this stack home started; every given field must match. */
export interface ProcessIdentity {
  /** Text its command line contains. */
  command: string;
  /** Its working folder, exactly (Redis rewrites its command line, but not where it runs). */
  cwd?: string;
  /** A variable it was started with, e.g. TRIBUTARY_HOME=<home>. */
  env?: { name: string; value: string };
}

/** Reads another process's command line, working folder and env; undefined when it cannot. */
export interface ProcessProbe {
  commandLine(pid: number): string | undefined;
  cwd(pid: number): string | undefined;
  hasEnv(pid: number, name: string, value: string): boolean | undefined;
}

function readProc(pid: number, entry: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${entry}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Linux: /proc, readable for our own user's processes only. */
export const procProbe: ProcessProbe = {
  commandLine: (pid) => readProc(pid, 'cmdline')?.split('\0').join(' '),
  cwd: (pid) => {
    try {
      return readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      return undefined;
    }
  },
  hasEnv: (pid, name, value) => readProc(pid, 'environ')?.split('\0').includes(`${name}=${value}`),
};

function run(command: string, args: string[]): string | undefined {
  try {
    const out = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 });
    return out.trim() === '' ? undefined : out.replace(/\n$/, '');
  } catch {
    return undefined;
  }
}

/** Where /proc is absent (macOS): `ps` for the command line and env, `lsof` for the working folder. */
export const psProbe: ProcessProbe = {
  commandLine: (pid) => run('ps', ['-ww', '-o', 'command=', '-p', String(pid)]),
  cwd: (pid) => {
    const out = run('lsof', ['-a', '-p', String(pid), '-d', 'cwd', '-Fn']);
    return out
      ?.split('\n')
      .find((line) => line.startsWith('n'))
      ?.slice(1);
  },
  // BSD `e`: the env follows the command, space-separated.
  hasEnv: (pid, name, value) => {
    const out = run('ps', ['eww', '-o', 'command=', '-p', String(pid)]);
    return out === undefined ? undefined : ` ${out} `.includes(` ${name}=${value} `);
  },
};

/** /proc where it answers, else `ps`/`lsof`. */
export const systemProbe: ProcessProbe = {
  commandLine: (pid) => procProbe.commandLine(pid) ?? psProbe.commandLine(pid),
  cwd: (pid) => procProbe.cwd(pid) ?? psProbe.cwd(pid),
  hasEnv: (pid, name, value) => procProbe.hasEnv(pid, name, value) ?? psProbe.hasEnv(pid, name, value),
};

/** The kernel reports working folders with symlinks resolved (macOS: /tmp is /private/tmp). */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** Whether `pid` is alive and shows `identity`; false whenever identity cannot be checked. */
export function isOwnProcess(pid: number, identity: ProcessIdentity, probe: ProcessProbe = systemProbe): boolean {
  if (!isAlive(pid)) return false;
  if (!probe.commandLine(pid)?.includes(identity.command)) return false;
  if (identity.cwd !== undefined && probe.cwd(pid) !== realPath(identity.cwd)) return false;
  if (identity.env && probe.hasEnv(pid, identity.env.name, identity.env.value) !== true) return false;
  return true;
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

/** What each part of the local stack (Kafka, Redis, the registry) is started with. */
export interface StartPartOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
  onProgress?: (message: string) => void;
  /** Called as soon as the process exists, before it is ready, so it can be found if we are interrupted. */
  onSpawn?: (pid: number) => void;
}
