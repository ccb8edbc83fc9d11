/**
 * The `tributary registry serve` contract the local stack relies on: one stdout line
 * `registry listening on http://HOST:PORT` once ready, `GET /subjects` answers, SIGTERM stops it
 * cleanly (exit 0); a start-up that cannot read the topic in time is one stderr line and exit 3.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../runtime/kafka/client';
import { testStack } from '../harness/stack';
import { uniqueName } from '../harness/names';
import { waitFor } from '../harness/wait';

const topic = uniqueName('_schemas-cli');
const slowTopic = uniqueName('_schemas-cli-slow');

afterAll(async () => {
  const admin = createKafka(testStack().brokers, 'registry-cli-test').admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topic, slowTopic] });
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

describe('tributary registry serve start-up deadline', () => {
  it('says in one line that it could not read the topic within --read-timeout, and exits 3', async () => {
    // Enough records (~3 MB) that no reader gets through them within a millisecond: more than one
    // fetch of at most 1 MB per partition, so the deadline's timer runs between two fetches (with
    // one small fetch, the whole topic could be applied in the tick before the timer fires).
    const kafka = createKafka(testStack().brokers, 'registry-cli-test');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic: slowTopic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer();
    await producer.connect();
    try {
      const noop = { key: JSON.stringify({ keytype: 'NOOP', magic: 0 }), value: null };
      for (let batch = 0; batch < 40; batch += 1) {
        await producer.send({ topic: slowTopic, messages: Array.from({ length: 1_000 }, () => noop) });
      }
    } finally {
      await producer.disconnect();
    }
    const child = spawn(
      process.execPath,
      ['bin/tributary.js', 'registry', 'serve', '--port', '0', '--topic', slowTopic, '--read-timeout', '0.001'],
      { env: { ...process.env, KAFKA_BROKERS: testStack().brokers.join(','), LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    const errors = stderr.split('\n').filter((line) => line.startsWith('tributary: '));
    expect({ code, stdout, errors: errors.length }).toEqual({ code: 3, stdout: '', errors: 1 });
    expect(errors[0]).toMatch(new RegExp(`^tributary: TRB_STACK_START_FAILED: cannot read the schemas topic ${slowTopic} .*--read-timeout`));
  }, 60_000);
});
