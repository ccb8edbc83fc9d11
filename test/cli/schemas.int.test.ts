/**
 * `tributary schemas list | show | check` against the test stack's registry, under a unique topic
 * prefix (so its subjects are `<prefix><topic>-value`, as `topology apply --topic-prefix` makes
 * them). Registered here with the registry client:
 *   order.created   the catalogue schema (v1)                 → same as latest
 *   order.cancelled v1 without `reason`, v2 `reason` as a      → differs from v2; BACKWARD_TRANSITIVE
 *                   string with default ''
 *   item.upserted   the catalogue schema with another doc     → docs differ
 * every other catalogue subject is left unregistered (new). A temp copy of schemas/ then makes
 * order.created need a field without default (incompatible with v1) and order.cancelled need
 * `reason` without default (readable from v2, not from v1: only a transitive check sees it).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckResult as CheckRow, SubjectRow as ListRow } from '../../runtime/ops/schemas';
import { parseAvroSchema } from '../../runtime/registry/avro-schema';
import { DEFAULT_SCHEMAS_DIR, loadCatalogue } from '../../runtime/schemas/catalogue';
import { subjectsClient } from '../../runtime/topology/subjects';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';
import { deleteSubjects, ROOT, tributary } from '../publish/cli-helpers';

const PREFIX = `${uniqueName('schemas')}.`;
const subject = (topic: string) => `${PREFIX}${topic}-value`;
const catalogue = loadCatalogue();
const registry = () => subjectsClient(testStack().registryUrl);
const dir = mkdtempSync(join(tmpdir(), 'tributary-schemas-check-'));
const ids: Record<string, number> = {};

type Schema = { fields: { name: string; type: unknown; default?: unknown; doc?: string }[] } & Record<string, unknown>;
const catalogueSchema = (topic: string) => structuredClone(catalogue.require(topic).schema) as Schema;

/** order.cancelled with `reason` as given (or without it). */
function cancelledWith(reason: Schema['fields'][number] | null): Schema {
  const schema = catalogueSchema('order.cancelled');
  const fields = schema.fields.filter((f) => f.name !== 'reason');
  return { ...schema, fields: reason ? [...fields, reason] : fields };
}

const schemas = (...args: string[]) => tributary(['schemas', ...args, '--topic-prefix', PREFIX]);

/** The cells of each row of a cli-table3 table in the output. */
function tableCells(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.includes('│'))
    .map((line) => line.split('│').map((c) => c.trim()).filter((c) => c !== ''));
}

beforeAll(async () => {
  const client = registry();
  for (const topic of ['order.created', 'order.cancelled', 'item.upserted']) await client.setCompatibility(subject(topic), 'BACKWARD');
  ids.created = await client.register(subject('order.created'), catalogueSchema('order.created'));
  ids.cancelled1 = await client.register(subject('order.cancelled'), cancelledWith(null));
  ids.cancelled2 = await client.register(subject('order.cancelled'), cancelledWith({ name: 'reason', type: 'string', default: '', doc: 'why' }));
  await client.setCompatibility(subject('order.cancelled'), 'BACKWARD_TRANSITIVE');
  ids.item = await client.register(subject('item.upserted'), { ...catalogueSchema('item.upserted'), doc: 'An older wording of the item doc.' });

  // The schema author's working copy: two incompatible changes.
  cpSync(DEFAULT_SCHEMAS_DIR, dir, { recursive: true });
  const createdFile = join(dir, 'order.created.avsc');
  const created = JSON.parse(readFileSync(createdFile, 'utf8')) as Schema;
  created.fields.push({ name: 'priority', type: 'int', doc: 'Fulfilment priority, 1 (first) to 9.' });
  writeFileSync(createdFile, JSON.stringify(created, null, 2));
  const cancelledFile = join(dir, 'order.cancelled.avsc');
  const cancelled = JSON.parse(readFileSync(cancelledFile, 'utf8')) as Schema;
  cancelled.fields = cancelled.fields.map((f) => (f.name === 'reason' ? { name: 'reason', type: 'string', doc: 'Why, now required.' } : f));
  writeFileSync(cancelledFile, JSON.stringify(cancelled, null, 2));
}, 60_000);

afterAll(async () => {
  await deleteSubjects(PREFIX);
  const base = testStack().registryUrl.replace(/\/+$/, '');
  for (const topic of ['order.created', 'order.cancelled', 'item.upserted']) {
    await fetch(`${base}/config/${encodeURIComponent(subject(topic))}`, { method: 'DELETE' }).catch(() => undefined);
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('tributary schemas list', () => {
  it('--format json: every catalogue topic with its prefixed subject, the registry side and the local standing', async () => {
    const run = await schemas('list', '--format', 'json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as ListRow[];
    expect(rows.map((r) => r.subject)).toEqual(catalogue.topics().map((t) => subject(t.topic)));
    const by = new Map(rows.map((r) => [r.topic, r]));
    expect(by.get('order.created')).toEqual({
      topic: 'order.created',
      subject: subject('order.created'),
      kind: 'event',
      key: 'orderId',
      from: ['CRM', 'ECOMMERCE', 'EDI'],
      versions: [1],
      latest: { version: 1, id: ids.created },
      compatibility: 'BACKWARD',
      local: 'latest',
      localVersion: 1,
    });
    expect(by.get('order.cancelled')).toMatchObject({ versions: [1, 2], latest: { version: 2, id: ids.cancelled2 }, compatibility: 'BACKWARD_TRANSITIVE', local: 'differs' });
    expect(by.get('item.upserted')).toMatchObject({ versions: [1], latest: { version: 1, id: ids.item }, local: 'equivalent' });
    expect(by.get('stock.adjusted')).toMatchObject({ kind: 'event', key: 'sku@warehouse', versions: [], latest: null, local: 'unregistered', localVersion: null });
  });

  it('prints a table with the same facts', async () => {
    const run = await schemas('list');
    expect(run.code).toBe(0);
    const cells = tableCells(run.stdout);
    expect(cells).toContainEqual([subject('order.cancelled'), 'event', 'orderId', 'CRM, ECOMMERCE, EDI', 'v2', String(ids.cancelled2), '2', 'BACKWARD_TRANSITIVE', 'differs']);
    expect(cells).toContainEqual([subject('order.created'), 'event', 'orderId', 'CRM, ECOMMERCE, EDI', 'v1', String(ids.created), '1', 'BACKWARD', 'same as latest']);
    expect(cells.find((c) => c[0] === subject('pick.confirmed'))?.at(-1)).toBe('not registered');
  });
});

describe('tributary schemas show', () => {
  it('a topic name: the versions with their ids, the latest schema and its fields', async () => {
    const run = await schemas('show', 'order.cancelled');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`subject ${subject('order.cancelled')} (topic order.cancelled), compatibility BACKWARD_TRANSITIVE`);
    const cells = tableCells(run.stdout);
    expect(cells).toContainEqual(['v1', String(ids.cancelled1)]);
    expect(cells).toContainEqual(['v2 (latest)', String(ids.cancelled2)]);
    expect(run.stdout).toContain(`v2 (id ${ids.cancelled2}, AVRO):`);
    expect(cells).toContainEqual(['reason', 'string', 'default `""`', 'why']);
    expect(cells).toContainEqual(['meta.eventId', 'string', 'required', expect.stringContaining('Identity of the business fact')]);
  });

  it('--schema-version 1 --format json prints that version as registered', async () => {
    const run = await schemas('show', subject('order.cancelled'), '--schema-version', '1', '--format', 'json');
    expect(run.code).toBe(0);
    const registered = (await registry().version(subject('order.cancelled'), 1)).schema;
    expect(run.stdout).toBe(`${registered}\n`);
    // The registry keeps its canonical text (a namespace it can infer is dropped): the same schema.
    expect(parseAvroSchema(run.stdout.trim()).canonical).toBe(parseAvroSchema(JSON.stringify(cancelledWith(null))).canonical);
    expect((JSON.parse(run.stdout) as Schema).fields.map((f) => f.name)).toEqual(['meta', 'orderId']);
  });

  it('an unknown subject or version is one line with TRB_NOT_FOUND and exit 1', async () => {
    const unknown = await schemas('show', 'no.such.topic');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^tributary: TRB_NOT_FOUND: subject no\.such\.topic has no versions/)]);
    const version = await schemas('show', 'order.created', '--schema-version', '7');
    expect(version.code).toBe(1);
    expect(version.stderr).toContain(`TRB_NOT_FOUND: subject ${subject('order.created')} has no version 7 (versions: 1)`);
  });
});

describe('tributary schemas check', () => {
  it('the shipped schemas: compatible or new, exit 0', async () => {
    const run = await schemas('check', '--format', 'json');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as CheckRow[];
    const by = new Map(rows.map((r) => [r.subject, r]));
    expect(by.get(subject('order.created'))).toMatchObject({ outcome: 'compatible', compatibility: 'BACKWARD', versions: [1] });
    // Writers of v1 (no reason) and v2 (reason a string) are both readable by the nullable reason.
    expect(by.get(subject('order.cancelled'))).toMatchObject({ outcome: 'compatible', compatibility: 'BACKWARD_TRANSITIVE', versions: [1, 2] });
    expect(by.get(subject('item.upserted'))).toMatchObject({ outcome: 'compatible' });
    expect(by.get(subject('stock.adjusted'))).toMatchObject({ outcome: 'new', versions: [] });
    expect(rows.filter((r) => r.outcome === 'new').length).toBe(catalogue.topics().length - 3);
  });

  it("an incompatible working copy: each incompatible subject with the registry's reasons, exit 1 with TRB_SCHEMA_INCOMPATIBLE", async () => {
    const run = await schemas('check', '--schemas-dir', dir);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^tributary: TRB_SCHEMA_INCOMPATIBLE: 2 of \d+ schemas not compatible with the registry: /),
    ]);
    expect(run.stderr).toContain(`${subject('order.cancelled')} (BACKWARD_TRANSITIVE)`);
    expect(run.stderr).toContain(`${subject('order.created')} (BACKWARD)`);
    const lines = run.stdout.split('\n');
    const created = lines.findIndex((l) => l.startsWith(`INCOMPATIBLE  ${subject('order.created')} (BACKWARD, versions 1)`));
    expect(created).toBeGreaterThanOrEqual(0);
    expect(lines[created + 1]).toMatch(/^\s+- .*priority/);
    expect(lines.some((l) => l.startsWith(`compatible    ${subject('item.upserted')}`))).toBe(true);
  });

  it('checks every version at a _TRANSITIVE level: the required reason reads v2 but not v1', async () => {
    const transitive = await schemas('check', '--schemas-dir', dir, '--format', 'json');
    expect(transitive.code).toBe(1);
    const cancelled = (JSON.parse(transitive.stdout) as CheckRow[]).find((r) => r.subject === subject('order.cancelled'))!;
    expect(cancelled.outcome).toBe('incompatible');
    expect(cancelled.messages.join(' ')).toMatch(/version 1\b/);
    expect(cancelled.messages.join(' ')).not.toMatch(/version 2\b/);

    // At plain BACKWARD only the latest (v2) counts, and it is readable.
    await registry().setCompatibility(subject('order.cancelled'), 'BACKWARD');
    try {
      const latestOnly = await schemas('check', '--schemas-dir', dir, '--format', 'json');
      expect((JSON.parse(latestOnly.stdout) as CheckRow[]).find((r) => r.subject === subject('order.cancelled'))).toMatchObject({ outcome: 'compatible' });
      expect(latestOnly.code).toBe(1); // order.created is still incompatible
    } finally {
      await registry().setCompatibility(subject('order.cancelled'), 'BACKWARD_TRANSITIVE');
    }
  });
});

describe('tributary schemas: usage and infrastructure errors', () => {
  /** The CLI with the registry pointing nowhere. */
  function unreachable(args: string[]): Promise<{ code: number; stderr: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1' };
    delete env.LOG_LEVEL;
    return new Promise((resolve) => {
      execFile(process.execPath, ['bin/tributary.js', ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, _stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
      );
    });
  }

  it('an unreachable registry is one line with TRB_REGISTRY_UNAVAILABLE and exit 3', async () => {
    for (const sub of [['list'], ['show', 'order.created'], ['check']]) {
      const run = await unreachable(['schemas', ...sub]);
      expect(run.code, sub.join(' ')).toBe(3);
      expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^tributary: TRB_REGISTRY_UNAVAILABLE: schema registry at http:\/\/127\.0\.0\.1:1 cannot be reached/)]);
    }
  });

  it('a bad version, an unreadable schema directory: exit 2', async () => {
    const version = await schemas('show', 'order.created', '--schema-version', 'latest-ish');
    expect(version.code).toBe(2);
    expect(version.stderr).toContain('expected a version number');
    const missing = await schemas('check', '--schemas-dir', join(dir, 'nope'));
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^tributary: TRB_CONFIG: schema directory .*nope cannot be read/)]);
  });

  it('every subcommand has --help with an example', async () => {
    for (const sub of ['list', 'show', 'check']) {
      const run = await tributary(['schemas', sub, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`Examples?:\\n  tributary schemas ${sub}|Examples?:\\n  SCHEMA_REGISTRY_URL=\\S+ tributary schemas ${sub}`));
    }
  });
});
