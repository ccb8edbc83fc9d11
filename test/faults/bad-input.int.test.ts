/**
 * Reliability scenario 10 (issue 8, SPEC §12 "bad input: a clear error, never a crash"): bad input
 * everywhere a user types — NDJSON for `publish`, topic names, topology files, environment
 * variables, options — given to the real CLI (`node bin/tributary.js`) with the test stack's
 * addresses, so each case fails for its own reason only. Each must end with a non-zero exit code
 * (2 usage or configuration, 3 something unreachable, 1 otherwise), print exactly one line
 * starting `tributary: TRB_<code>: ` on stderr (problem listings such as `line 1: …` or
 * `file:line:col …` may come before it), and no stack trace. The quick profile leaves out the
 * cases marked `full` (another variable or value on a path a quick case already takes).
 *
 * Covered elsewhere, not repeated here: an unknown topic for `publish` and a topic missing in
 * Kafka (test/publish/publish-cli.int.test.ts), an unreachable broker, KAFKA_BROKERS=nonsense for
 * `topology apply`, an unknown component and KAFKA_SESSION_TIMEOUT_MS out of bounds
 * (test/cli/errors.int.test.ts), an invalid topology for `topology apply` (test/topology/
 * apply.int.test.ts), `dev up` without Java (test/stack/dev-cli.int.test.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stackEnv, testStack } from '../harness/stack';
import { ROOT } from '../e2e/child-process';
import { FULL, PROFILE } from './profile';

const stack = testStack();
const dir = mkdtempSync(join(tmpdir(), 'tributary-bad-input-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const shipped = readFileSync(join(ROOT, 'topology.yaml'), 'utf8');
const BROKEN_YAML = file('broken.yaml', 'version: 1\ntopics:\n  - name: [unclosed\n');
// The shipped topology with one processor reading a topic that is declared nowhere.
const UNKNOWN_INPUT = file('unknown-input.yaml', shipped.replace(/inputs: \[customer\.upserted\]/, 'inputs: [customer.upsertd]'));
const MALFORMED_NDJSON = file('malformed.ndjson', '{"orderId": "SO-1",\n');
const WRONG_TYPES = file('wrong-types.ndjson', '{"meta": {"eventId": "E-1", "occurredAt": "yesterday", "source": "CRM"}, "orderId": 5, "customerId": "C-1", "channel": "FAX", "lines": "none"}\n');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  /** Only in the full profile: the same path as a quick case with another variable or value. */
  full?: true;
  name: string;
  args: string[];
  env?: Record<string, string>;
  exit: number;
  code: string;
  /** Something stderr must say, so the error is the one meant (not another failing first). */
  says: RegExp;
}

const CASES: Case[] = [
  // publish: the file is validated whole before anything is sent.
  { name: 'publish: a line that is not JSON', args: ['publish', 'order.created', '--file', MALFORMED_NDJSON], exit: 2, code: 'TRB_VALIDATION', says: /line 1: not valid JSON/ },
  { name: 'publish: fields of the wrong type', args: ['publish', 'order.created', '--file', WRONG_TYPES], exit: 2, code: 'TRB_VALIDATION', says: /orderId: expected a string, got 5/ },
  { name: 'publish: a file that does not exist', args: ['publish', 'order.created', '--file', join(dir, 'missing.ndjson')], exit: 2, code: 'TRB_USAGE', says: /ENOENT/ },
  // topics: `consume` documents exit 1 for an unknown topic (runtime/cli/commands/consume.ts).
  { name: 'consume: an unknown topic', args: ['consume', 'order.shiped', '--limit', '1'], exit: 1, code: 'TRB_UNKNOWN_TOPIC', says: /unknown topic "order\.shiped"; known topics: .*order\.created/ },
  // topology files
  { name: 'run: a topology file that is not YAML', args: ['run', 'orders', 'atp', '--file', BROKEN_YAML], exit: 2, code: 'TRB_TOPOLOGY_INVALID', says: /broken\.yaml:\d+:\d+ / },
  { name: 'topology validate: a processor reading an undeclared topic', args: ['topology', 'validate', '--file', UNKNOWN_INPUT], exit: 2, code: 'TRB_TOPOLOGY_INVALID', says: /unknown-input\.yaml:\d+:\d+ .*customer\.upsertd/ },
  { name: 'lag: TRIBUTARY_TOPOLOGY naming a broken file', args: ['lag'], env: { TRIBUTARY_TOPOLOGY: BROKEN_YAML }, exit: 2, code: 'TRB_TOPOLOGY_INVALID', says: /broken\.yaml:\d+:\d+ / },
  { full: true, name: 'topology validate: TRIBUTARY_PARTITIONS=abc', args: ['topology', 'validate'], env: { TRIBUTARY_PARTITIONS: 'abc' }, exit: 2, code: 'TRB_TOPOLOGY_INVALID', says: /partitions must be an integer/ },
  { name: 'run erp: ERP_URL=not-a-url', args: ['run', 'erp', '--metrics-port', '0'], env: { ERP_URL: 'not-a-url' }, exit: 2, code: 'TRB_TOPOLOGY_INVALID', says: /url "not-a-url" is not an http\(s\) URL/ },
  { full: true, name: 'run erp: ERP_RATE_LIMIT=fast', args: ['run', 'erp', '--metrics-port', '0'], env: { ERP_URL: 'http://127.0.0.1:1', ERP_RATE_LIMIT: 'fast' }, exit: 2, code: 'TRB_TOPOLOGY_INVALID', says: /rateLimit must be a number/ },
  // environment variables
  { name: 'run: KAFKA_BROKERS=nonsense', args: ['run', 'orders', 'atp', '--metrics-port', '0'], env: { KAFKA_BROKERS: 'nonsense' }, exit: 2, code: 'TRB_CONFIG', says: /KAFKA_BROKERS has "nonsense", which is not host:port/ },
  { name: 'schemas check: SCHEMA_REGISTRY_URL=not-a-url', args: ['schemas', 'check'], env: { SCHEMA_REGISTRY_URL: 'not-a-url' }, exit: 2, code: 'TRB_CONFIG', says: /SCHEMA_REGISTRY_URL="not-a-url" is not a URL/ },
  { name: 'run: REDIS_URL=nonsense', args: ['run', 'orders', 'atp', '--metrics-port', '0'], env: { REDIS_URL: 'nonsense' }, exit: 2, code: 'TRB_CONFIG', says: /REDIS_URL="nonsense" is not a URL/ },
  { name: 'schemas list: a registry that does not answer', args: ['schemas', 'list'], env: { SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1' }, exit: 3, code: 'TRB_REGISTRY_UNAVAILABLE', says: /cannot be reached/ },
  { name: 'lag: LOG_LEVEL=loud', args: ['lag'], env: { LOG_LEVEL: 'loud' }, exit: 2, code: 'TRB_CONFIG', says: /LOG_LEVEL="loud" is not a log level/ },
  { name: 'lag: KAFKA_SSL=maybe', args: ['lag'], env: { KAFKA_SSL: 'maybe' }, exit: 2, code: 'TRB_CONFIG', says: /KAFKA_SSL="maybe" must be true or false/ },
  { name: 'lag: KAFKA_SASL_MECHANISM=kerberos', args: ['lag'], env: { KAFKA_SASL_MECHANISM: 'kerberos', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, exit: 2, code: 'TRB_CONFIG', says: /kerberos is not supported/ },
  { full: true, name: 'lag: KAFKA_SASL_MECHANISM without a password', args: ['lag'], env: { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u' }, exit: 2, code: 'TRB_CONFIG', says: /set KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/ },
  { full: true, name: 'lag: SASL PLAIN without TLS', args: ['lag'], env: { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, exit: 2, code: 'TRB_CONFIG', says: /sends the password in clear/ },
  { name: 'lag: SASL against a broker whose listener does not speak it', args: ['lag'], env: { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }, exit: 2, code: 'TRB_CONFIG', says: /Kafka refused the SASL authentication/ },
  { name: 'run api: PORT=99999', args: ['run', 'api'], env: { PORT: '99999' }, exit: 2, code: 'TRB_USAGE', says: /--port must be a port number/ },
  { full: true, name: 'run: METRICS_PORT=abc', args: ['run', 'orders'], env: { METRICS_PORT: 'abc' }, exit: 2, code: 'TRB_USAGE', says: /--metrics-port must be a port number/ },
  { name: 'lag: a topic prefix with a space', args: ['lag', '--topic-prefix', 'bad prefix!'], exit: 2, code: 'TRB_CONFIG', says: /topic prefix "bad prefix!" may hold only/ },
  { full: true, name: 'lag: TRIBUTARY_FAULT that is not a fault plan', args: ['lag'], env: { TRIBUTARY_FAULT: 'whenever' }, exit: 2, code: 'TRB_CONFIG', says: /TRIBUTARY_FAULT has "whenever"/ },
  // options and commands
  { name: 'an unknown option', args: ['run', 'orders', '--bogus'], exit: 2, code: 'TRB_USAGE', says: /unknown option '--bogus'/ },
  { name: 'an unknown command', args: ['publsh', 'order.created'], exit: 2, code: 'TRB_USAGE', says: /unknown command 'publsh'/ },
  { full: true, name: 'too many arguments', args: ['lag', 'order.changed'], exit: 2, code: 'TRB_USAGE', says: /too many arguments for 'lag'/ },
  { full: true, name: 'publish: a file given without --file', args: ['publish', 'order.created', 'order.changed'], exit: 2, code: 'TRB_USAGE', says: /unexpected argument "order\.changed": give a file as --file/ },
  { name: 'consume: --from that is no position', args: ['consume', 'order.created', '--from', 'yesterday'], exit: 2, code: 'TRB_USAGE', says: /--from "yesterday" is not a start position/ },
  { name: 'simulate: --events that is not a number', args: ['simulate', '--events', 'many', '--out', dir], exit: 2, code: 'TRB_USAGE', says: /--events many is not a number/ },
];

function tributary(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['LOG_LEVEL', 'TRIBUTARY_TOPOLOGY', 'TRIBUTARY_TOPIC_PREFIX', 'TRIBUTARY_FAULT', 'ERP_URL', 'CRM_URL']) delete base[name];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/tributary.js', ...args],
      // A fresh TRIBUTARY_HOME: nothing falls back on a local stack the case did not ask for.
      { cwd: ROOT, env: { ...base, ...stackEnv(stack), TRIBUTARY_HOME: join(dir, 'home'), ...env }, timeout: 60_000 },
      (error, _stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

describe.concurrent(`scenario 10 (${PROFILE}): bad input everywhere a user types`, () => {
  it.each(CASES.filter((c) => FULL || !c.full))('$name: exit $exit, one line $code, no stack trace', async ({ args, env, exit, code, says }) => {
    const run = await tributary(args, env);
    const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
    expect({ exit: run.code, errorLines: lines.filter((l) => l.startsWith('tributary: ')) }, run.stderr).toEqual({ exit, errorLines: [expect.stringMatching(new RegExp(`^tributary: ${code}: \\S`))] });
    expect(lines.filter((l) => /^\s+at \S/.test(l) || /^(Type|Reference|Syntax)?Error: /.test(l)), 'stack trace lines').toEqual([]);
    expect(run.stderr).toMatch(says);
  });
});
