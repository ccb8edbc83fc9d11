import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localStackStatus, processIdentity, stopLocalStack } from './local-stack';
import { isAlive, isOwnProcess, spawnDetached, stopProcess } from './process';
import { redisPaths } from './redis';

const folder = () => mkdtempSync(join(tmpdir(), 'tributary-home-'));

describe('stopLocalStack --purge', () => {
  it('deletes nothing in a folder that is not a stack home (a mistyped TRIBUTARY_HOME)', async () => {
    const home = folder();
    mkdirSync(join(home, 'kafka'));
    writeFileSync(join(home, 'kafka', 'notes.txt'), 'mine');
    const report = await stopLocalStack(home, { purge: true });
    expect(report).toEqual({ home, stopped: [], purged: false });
    expect(existsSync(join(home, 'kafka', 'notes.txt'))).toBe(true);
  });

  it('deletes its own files in a stack home but keeps the folder when the user put files there', async () => {
    const home = folder();
    writeFileSync(join(home, '.tributary-stack'), '');
    mkdirSync(join(home, 'redis'));
    writeFileSync(join(home, 'registry.log'), 'log');
    writeFileSync(join(home, 'todo.md'), 'mine');
    const report = await stopLocalStack(home, { purge: true });
    expect(report.purged).toBe(true);
    expect(existsSync(join(home, 'redis'))).toBe(false);
    expect(existsSync(join(home, 'registry.log'))).toBe(false);
    expect(existsSync(join(home, 'todo.md'))).toBe(true);
  });

  it('is a no-op for a home that does not exist, and does not create it', async () => {
    const home = join(folder(), 'never-started');
    expect(await stopLocalStack(home, { purge: true })).toEqual({ home, stopped: [], purged: false });
    expect(existsSync(home)).toBe(false);
  });
});

describe('localStackStatus', () => {
  it('reports a home without a record as not running', async () => {
    const home = folder();
    expect(await localStackStatus(home)).toEqual({ home, recorded: false, running: false, parts: [] });
  });
});

describe('which processes a stack home owns', () => {
  /** A process that looks like a stack part by name but belongs to another home (or to the machine). */
  const impostor = () =>
    spawnDetached({
      what: 'an impostor',
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)', 'redis-server', 'registry serve'],
      cwd: folder(),
      env: { ...process.env, TRIBUTARY_HOME: folder() },
      logFile: join(folder(), 'impostor.log'),
    });

  it('never signals a pid-file process that only looks like Redis or the registry', async () => {
    const home = folder();
    writeFileSync(join(home, '.tributary-stack'), '');
    const pid = await impostor();
    try {
      for (const part of ['redis', 'registry'] as const) writeFileSync(join(home, `${part}.pid`), `${pid}\n`);
      const report = await stopLocalStack(home);
      expect(report.stopped).toEqual([]);
      expect(isAlive(pid)).toBe(true);
    } finally {
      await stopProcess(pid, 5_000);
    }
  });

  it('knows its Redis by working folder and its registry by TRIBUTARY_HOME', async () => {
    const home = folder();
    mkdirSync(redisPaths(home).dir);
    const pid = await spawnDetached({
      what: 'a stand-in',
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)', 'redis-server', 'registry serve'],
      cwd: redisPaths(home).dir,
      env: { ...process.env, TRIBUTARY_HOME: home },
      logFile: join(home, 'stand-in.log'),
    });
    try {
      expect(isOwnProcess(pid, processIdentity(home, 'redis'))).toBe(true);
      expect(isOwnProcess(pid, processIdentity(home, 'registry'))).toBe(true);
      expect(isOwnProcess(pid, processIdentity(home, 'kafka'))).toBe(false);
      expect(isOwnProcess(pid, processIdentity(folder(), 'redis'))).toBe(false);
      expect(isOwnProcess(pid, processIdentity(folder(), 'registry'))).toBe(false);
    } finally {
      await stopProcess(pid, 5_000);
    }
  });
});
