import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localStackStatus, stopLocalStack } from './local-stack';

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
