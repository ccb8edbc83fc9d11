/** Shared by the publish/simulate integration tests: run the CLI against the test stack, make and read topics. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { createKafka } from '../../runtime/kafka/client';
import { stackEnv, testStack } from '../harness/stack';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function tributary(args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      'node',
      ['bin/tributary.js', ...args],
      { cwd: ROOT, env: { ...process.env, ...stackEnv(testStack()), LOG_LEVEL: 'warn' }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

export async function withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createKafka(testStack().brokers, 'publish-tests').admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopics(topics: string[], partitions = 3): Promise<void> {
  await withAdmin((admin) => admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: partitions })) }));
}

export async function deleteTopics(topics: string[]): Promise<void> {
  await withAdmin((admin) => admin.deleteTopics({ topics })).catch(() => undefined);
}

/** Records in a topic: the sum of its partitions' end offsets (topics here are never compacted or trimmed). */
export async function recordCount(topic: string): Promise<number> {
  const offsets = await withAdmin((admin) => admin.fetchTopicOffsets(topic));
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

/** Deletes (soft, then permanently) the registry subjects a test's prefixed topics created. */
export async function deleteSubjects(prefix: string): Promise<void> {
  const base = testStack().registryUrl.replace(/\/+$/, '');
  const subjects = (await (await fetch(`${base}/subjects`)).json()) as string[];
  for (const subject of subjects.filter((s) => s.startsWith(prefix))) {
    const at = `${base}/subjects/${encodeURIComponent(subject)}`;
    await fetch(at, { method: 'DELETE' }).catch(() => undefined);
    await fetch(`${at}?permanent=true`, { method: 'DELETE' }).catch(() => undefined);
  }
}
