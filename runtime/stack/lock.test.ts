import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
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

  it('lets exactly one of several waiters take over a stale lock, and leaves no takeover files', async () => {
    const file = lockFile();
    writeFileSync(file, '2147483646');
    let inside = 0;
    let most = 0;
    const hold = () =>
      withLock(file, 'test', { timeoutMs: 10_000 }, async () => {
        inside += 1;
        most = Math.max(most, inside);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inside -= 1;
      });
    await Promise.all([hold(), hold(), hold(), hold()]);
    expect(most).toBe(1);
    expect(readdirSync(dirname(file))).toEqual([]);
  });

  it('waits while another process is taking a stale lock over, and clears a takeover left by a dead one', async () => {
    const file = lockFile();
    // Only the takeover's holder may remove the stale lock: deleting it here could delete its fresh one.
    writeFileSync(`${file}.takeover`, String(process.ppid));
    writeFileSync(file, '2147483646');
    await expect(withLock(file, 'test', { timeoutMs: 300 }, async () => 'ran')).rejects.toThrow('another tributary process (pid 2147483646)');
    writeFileSync(`${file}.takeover`, '2147483645');
    await expect(withLock(file, 'test', { timeoutMs: 1_000 }, async () => 'ran')).resolves.toBe('ran');
    expect(readdirSync(dirname(file))).toEqual([]);
  });

  it('gives up after the timeout while a live process holds it, naming it', async () => {
    const file = lockFile();
    writeFileSync(file, String(process.ppid));
    await expect(withLock(file, 'fetching', { timeoutMs: 300 }, async () => 'ran')).rejects.toThrow(
      `another tributary process (pid ${process.ppid}) is busy with fetching`,
    );
  });
});
