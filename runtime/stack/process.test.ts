import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StackError } from '../errors';
import { waitFor } from '../../test/harness/wait';
import { freePorts, isPortFree } from './ports';
import { isAlive, isOwnProcess, logExcerpt, procProbe, psProbe, spawnDetached, stopProcess, type ProcessProbe } from './process';

const dir = () => mkdtempSync(join(tmpdir(), 'tributary-process-'));

describe('detached processes', () => {
  it('start with output in the log, are found by command line, and stop on SIGTERM', async () => {
    const logFile = join(dir(), 'out.log');
    const pid = await spawnDetached({
      what: 'a test sleeper',
      command: process.execPath,
      args: ['-e', 'console.log("sleeper up"); setInterval(() => {}, 1000)', 'tributary-sleeper-marker'],
      logFile,
    });
    expect(isAlive(pid)).toBe(true);
    expect(isOwnProcess(pid, { command: 'tributary-sleeper-marker' })).toBe(true);
    expect(isOwnProcess(pid, { command: 'kafka.Kafka' })).toBe(false);
    await waitFor(() => readFileSync(logFile, 'utf8').includes('sleeper up'), { what: 'the log line' });
    await expect(stopProcess(pid, 5_000)).resolves.toBe('stopped');
    expect(isAlive(pid)).toBe(false);
    await expect(stopProcess(pid, 5_000)).resolves.toBe('not-running');
  });

  it('are killed when they ignore SIGTERM past the grace period', async () => {
    const logFile = join(dir(), 'out.log');
    const pid = await spawnDetached({
      what: 'a stubborn sleeper',
      command: process.execPath,
      args: ['-e', 'process.on("SIGTERM", () => {}); console.log("ignoring SIGTERM"); setInterval(() => {}, 1000)'],
      logFile,
    });
    // Until the handler is installed, SIGTERM would still end it.
    await waitFor(() => readFileSync(logFile, 'utf8').includes('ignoring SIGTERM'), { what: 'the handler' });
    await expect(stopProcess(pid, 300)).resolves.toBe('killed');
    expect(isAlive(pid)).toBe(false);
  });

  it('report a missing program as a StackError naming it', async () => {
    const error = await spawnDetached({ what: 'Ghost', command: '/nonexistent/ghost', args: [], logFile: join(dir(), 'g.log') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackError);
    expect((error as StackError).message).toMatch(/^cannot start Ghost \(\/nonexistent\/ghost\): .*ENOENT/);
  });

  it('treat pid 0 and negative pids as not alive (pid 0 marks a part given by env)', () => {
    expect(isAlive(0)).toBe(false);
    expect(isAlive(-1)).toBe(false);
  });
});

describe('isOwnProcess', () => {
  const home = dir();
  const other = dir();
  const sleeper = () =>
    spawnDetached({
      what: 'a marked sleeper',
      command: process.execPath,
      args: ['-e', 'setInterval(() => {}, 1000)', 'tributary-identity-marker'],
      cwd: home,
      env: { ...process.env, TRIBUTARY_HOME: home },
      logFile: join(home, 'out.log'),
    });
  const identity = { command: 'tributary-identity-marker', cwd: home, env: { name: 'TRIBUTARY_HOME', value: home } };

  it.each([
    ['/proc', procProbe],
    ['ps and lsof (no /proc, as on macOS)', psProbe],
  ])('recognises a process by command line, working folder and env through %s', async (_how, probe) => {
    const pid = await sleeper();
    try {
      expect(isOwnProcess(pid, identity, probe)).toBe(true);
      expect(isOwnProcess(pid, { ...identity, cwd: other }, probe), 'another home as working folder').toBe(false);
      expect(isOwnProcess(pid, { ...identity, env: { name: 'TRIBUTARY_HOME', value: other } }, probe), 'another home in env').toBe(false);
      expect(isOwnProcess(pid, { ...identity, command: 'redis-server' }, probe), 'another command').toBe(false);
    } finally {
      await stopProcess(pid, 5_000);
    }
  });

  it('never claims a live process whose identity cannot be read', async () => {
    const pid = await sleeper();
    const blind: ProcessProbe = { commandLine: () => undefined, cwd: () => undefined, hasEnv: () => undefined };
    const commandOnly: ProcessProbe = { ...procProbe, cwd: () => undefined, hasEnv: () => undefined };
    try {
      expect(isOwnProcess(pid, { command: 'tributary-identity-marker' }, blind)).toBe(false);
      expect(isOwnProcess(pid, identity, commandOnly)).toBe(false);
      expect(isOwnProcess(pid, { command: 'tributary-identity-marker' }, commandOnly)).toBe(true);
    } finally {
      await stopProcess(pid, 5_000);
    }
  });
});

describe('logExcerpt', () => {
  it('prefers error lines and fits on one line', async () => {
    const logFile = join(dir(), 'k.log');
    writeFileSync(logFile, 'INFO a\n[x] ERROR Exiting Kafka due to fatal exception\nINFO b\nINFO c\n');
    expect(logExcerpt(logFile)).toBe('"[x] ERROR Exiting Kafka due to fatal exception"');
    expect(logExcerpt(join(dir(), 'missing.log'))).toBe('(log is empty)');
    const nodeCrash = join(dir(), 'registry.log');
    writeFileSync(nodeCrash, "file:///x.ts:3\nSyntaxError: The requested module './y' does not provide an export named 'z'\n    at ModuleJob._instantiate (node:internal)\n\nNode.js v20.20.2\n");
    expect(logExcerpt(nodeCrash)).toBe(`"SyntaxError: The requested module './y' does not provide an export named 'z'"`);
  });
});

describe('ports', () => {
  it('hands out distinct free ports and sees a listening one as taken', async () => {
    const ports = await freePorts(3);
    expect(new Set(ports).size).toBe(3);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(ports[0], '127.0.0.1', resolve));
    try {
      expect(await isPortFree(ports[0]!)).toBe(false);
    } finally {
      server.close();
    }
    expect(await isPortFree(0)).toBe(false);
  });
});
