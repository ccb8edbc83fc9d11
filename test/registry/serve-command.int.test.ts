/**
 * The `tributary registry serve` contract the local stack relies on: one stdout line
 * `registry listening on http://HOST:PORT` once ready, `GET /subjects` answers, SIGTERM stops it
 * cleanly (exit 0).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import { testStack } from '../harness/stack';
import { uniqueName } from '../harness/names';
import { waitFor } from '../harness/wait';

const topic = uniqueName('_schemas-cli');

afterAll(async () => {
  const admin = createKafka(testStack().brokers, 'registry-cli-test').admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic] });
  } finally {
    await admin.disconnect();
  }
});

describe('tributary registry serve', () => {
  it('prints one ready line, serves, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['bin/tributary.js', 'registry', 'serve', '--host', '127.0.0.1', '--port', '0', '--topic', topic], {
      env: { ...process.env, KAFKA_BROKERS: testStack().brokers.join(',') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');
    try {
      const ready = waitFor(() => /^registry listening on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(stdout)?.[1], {
        timeoutMs: 60_000,
        what: 'the ready line',
      });
      const died = exited.then(([code]) => {
        throw new Error(`registry serve exited with ${String(code)} before the ready line`);
      });
      const url = await Promise.race([ready, died]).catch((error: Error) => {
        throw new Error(`${error.message}; stdout: ${JSON.stringify(stdout)}; stderr tail: ${stderr.slice(-1500)}`);
      });
      const subjects = await fetch(`${url}/subjects`);
      expect(subjects.status).toBe(200);
      expect(await subjects.json()).toEqual([]);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    expect({ code, stderrTail: code === 0 ? '' : stderr.slice(-500) }).toEqual({ code: 0, stderrTail: '' });
    expect(stdout.split('\n').filter(Boolean)).toHaveLength(1);
  });
});
