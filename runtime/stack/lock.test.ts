import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withLock } from './lock';

describe('withLock', () => {
  const lockFile = () => join(mkdtempSync(join(tmpdir(), 'tributary-lock-')), 'x.lock');

  it('runs holders one after the other', async () => {
    const file = lockFile();
    const events: string[] = [];
    const hold = (name: string) =>
      withLock(file, 'test', { timeoutMs: 10_000 }, async () => {
        events.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        events.push(`${name} out`);
      });
    await Promise.all([hold('a'), hold('b')]);
    expect(events).toEqual(['a in', 'a out', 'b in', 'b out']);
  });

  it('takes over a lock whose owner is dead', async () => {
    const file = lockFile();
    writeFileSync(file, '2147483646');
    await expect(withLock(file, 'test', { timeoutMs: 1_000 }, async () => 'ran')).resolves.toBe('ran');
  });

  it('gives up after the timeout while a live process holds it, naming it', async () => {
    const file = lockFile();
    writeFileSync(file, String(process.ppid));
    await expect(withLock(file, 'fetching', { timeoutMs: 300 }, async () => 'ran')).rejects.toThrow(
      `another tributary process (pid ${process.ppid}) is busy with fetching`,
    );
  });
});
