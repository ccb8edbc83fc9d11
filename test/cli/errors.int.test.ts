/**
 * Errors a user meets at the command line are one line with a code, and the exit code says what
 * kind of failure it was (runtime/cli/main.ts): 2 usage/configuration, 3 infrastructure unreachable.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/tributary.js', import.meta.url));

function tributary(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { ...process.env };
  for (const name of ['LOG_LEVEL', 'KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'REDIS_URL']) delete base[name];
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...base, ...env }, timeout: 90_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

const UNREACHABLE = { KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' };

describe('command-line errors', () => {
  it('an unreachable broker is one line with TRB_KAFKA_UNAVAILABLE and exit code 3', async () => {
    const run = await tributary(['topology', 'apply', '--dry-run'], UNREACHABLE);
    expect(run.code).toBe(3);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tributary: TRB_KAFKA_UNAVAILABLE: cannot reach Kafka .*KAFKA_BROKERS/);
  });

  it('KAFKA_BROKERS that is not host:port is one line with TRB_CONFIG and exit code 2', async () => {
    const run = await tributary(['topology', 'apply', '--dry-run'], { ...UNREACHABLE, KAFKA_BROKERS: 'nonsense' });
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'tributary: TRB_CONFIG: KAFKA_BROKERS has "nonsense", which is not host:port: set it to host:port[,host:port]',
    ]);
  });

  it('run with a name that is no component is a usage error listing the choices, before connecting', async () => {
    const run = await tributary(['run', 'orders', 'nosuch'], UNREACHABLE);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual(['tributary: TRB_USAGE: unknown component "nosuch": choose from orders, atp, customers, erp, crm, api']);
  });

  it('KAFKA_SESSION_TIMEOUT_MS out of the broker\'s bounds is one line with TRB_CONFIG and exit code 2', async () => {
    const run = await tributary(['run', 'orders'], { ...UNREACHABLE, KAFKA_SESSION_TIMEOUT_MS: '100' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('TRB_CONFIG: KAFKA_SESSION_TIMEOUT_MS=100 must be whole milliseconds between 6000 and 300000');
  });
});
