/**
 * The benchmark's smoke run in CI (issue 7 acceptance): `npm run bench -- --quick` against the
 * test run's stack, as a user runs it. No timing is asserted — the machine running CI is shared
 * and its figures mean nothing — only that it ends in time with exit 0, prints every figure, and
 * that each view it built equalled the reference fold (the JSON says so field by field).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResult } from '../../bench/bench';
import { ROOT } from '../e2e/child-process';
import { stackEnv, testStack } from '../harness/stack';

const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench -- --quick', () => {
  it('prints every figure, and every view it built equals the reference fold', async () => {
    const out = join(dir, 'quick.json');
    const child = spawn('npm', ['run', '--silent', 'bench', '--', '--quick', '--out', out], {
      cwd: ROOT,
      // A user's shell, not a vitest worker: the suite's helpers register vitest hooks when VITEST is set.
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST'))), ...stackEnv(testStack()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const started = Date.now();
    const [code] = (await once(child, 'close')) as [number | null];
    // What a CI log should show: the table and the machine it ran on.
    console.log(`${stdout}\n(quick run took ${((Date.now() - started) / 1000).toFixed(0)} s)`);
    expect(code, stderr.split('\n').filter((l) => l.startsWith('bench')).join('\n')).toBe(0);

    for (const figure of ['ceiling: kafkajs read', 'ceiling: read + Avro decode', 'pipeline orders+atp', 'freshness p99', 'rebuild all, ', 'GET /atp/{sku}/{warehouse}', 'POST /atp/check', 'sink erp']) {
      expect(stdout).toContain(figure);
    }
    expect(stdout).toMatch(/machine: \d+ cores, .*Node v\d+/);

    const result = JSON.parse(readFileSync(out, 'utf8')) as BenchResult;
    expect(result.failures).toEqual([]);
    expect(result.passed).toBe(true);
    for (const field of ['ceilingEventsPerSec', 'pipelineEventsPerSec', 'pipelineRatio', 'freshnessP50Ms', 'freshnessP99Ms', 'rebuildSeconds', 'apiP99Ms', 'sinkCommandsPerSec'] as const) {
      expect(result[field], field).toBeGreaterThan(0);
    }
    expect(result.scenarios.pipeline?.fold.equal).toBe(true);
    expect(result.scenarios.rebuild?.fold.equal).toBe(true);
    expect(result.scenarios.freshness?.fold.equal).toBe(true);
    expect(result.apiErrors).toBe(0);
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.commit).toMatch(/^[0-9a-f]{40}$|^unknown$/);
  }, 300_000);
});
