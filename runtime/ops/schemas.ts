/**
 * The schema catalogue next to the registry (SPEC §9 `tributary schemas list | show | check`).
 * Pure: the CLI (runtime/cli/commands/schemas.ts) reads the registry and hands the answers here,
 * so naming, comparison, verdicts and rendering are tested without a registry.
 *
 * - A catalogue topic's subject is `<prefix><topic>-value`: the topic prefix of the deployment
 *   goes in front, as `topology apply` registers it (runtime/topology/prefix.ts).
 * - "Same schema" is the registry's notion: the same canonical text (runtime/registry/
 *   avro-schema.ts), docs and custom attributes included, so a doc change is a new version. A
 *   schema whose Parsing Canonical Form (names, types, fields, symbols only) equals the latest is
 *   reported apart: registering it adds a version that changes no reader.
 * - `check` takes the registry's verdict at the subject's configured level (against every
 *   version a _TRANSITIVE level requires), which is what a later registration will face.
 */
import Table from 'cli-table3';
import { table as textTable } from '../cli/table';
import { TributaryError } from '../errors';
import type { Naming } from '../processor/naming';
import { parseAvroSchema } from '../registry/avro-schema';
import { fieldSections } from '../schemas/catalogue-doc';
import { subjectOf } from '../topology/model';

/** How the local schema stands against the subject's registered versions. */
export type LocalState =
  /** The subject has no versions. */
  | 'unregistered'
  /** The latest version is the local schema. */
  | 'latest'
  /** An older version is the local schema; the latest is something else. */
  | 'older'
  /** Not registered, but the latest differs only in docs or attributes (same Parsing Canonical Form). */
  | 'equivalent'
  /** Not registered, and its fields or types differ from the latest. */
  | 'differs';

export interface SubjectRow {
  topic: string;
  subject: string;
  kind: string;
  key: string;
  from: string[];
  /** Live versions, ascending; empty when the subject is not registered. */
  versions: number[];
  latest: { version: number; id: number } | null;
  /** The subject's effective compatibility level (its own, else the global one). */
  compatibility: string | null;
  local: LocalState;
  /** The version holding exactly the local schema, if any. */
  localVersion: number | null;
}

export type CheckOutcome = 'compatible' | 'incompatible' | 'new';

export interface CheckResult {
  topic: string;
  subject: string;
  compatibility: string | null;
  versions: number[];
  outcome: CheckOutcome;
  /** The registry's reasons when incompatible. */
  messages: string[];
}

export function subjectForTopic(topic: string, naming: Naming): string {
  return subjectOf(naming.topic(topic));
}

/**
 * The subject `show` reads for what the user typed: a catalogue topic (`order.created`) or its
 * unprefixed subject (`order.created-value`) gets the deployment's prefix; anything else is a
 * subject name taken as it is (a prefixed one, or a subject outside the catalogue).
 */
export function resolveSubject(name: string, topics: readonly string[], naming: Naming): { subject: string; topic: string | null } {
  if (topics.includes(name)) return { subject: subjectForTopic(name, naming), topic: name };
  const logical = name.endsWith('-value') ? name.slice(0, -'-value'.length) : undefined;
  if (logical !== undefined && topics.includes(logical)) return { subject: subjectForTopic(logical, naming), topic: logical };
  const unprefixed = naming.logical(name.endsWith('-value') ? name.slice(0, -'-value'.length) : name);
  return { subject: name, topic: unprefixed !== undefined && topics.includes(unprefixed) ? unprefixed : null };
}

/**
 * Compares the local schema with the latest registered one. `lookedUp` is the registry's answer
 * to "which version is exactly this schema" (its lookup), which wins over the local comparison:
 * another registry may normalise text differently from the embedded one.
 */
export function localState(local: Record<string, unknown>, latest: { version: number; schema: string } | null, lookedUp?: number): { local: LocalState; localVersion: number | null } {
  if (latest === null) return { local: 'unregistered', localVersion: null };
  const mine = parseAvroSchema(JSON.stringify(local));
  let theirs: ReturnType<typeof parseAvroSchema> | undefined;
  try {
    theirs = parseAvroSchema(latest.schema);
  } catch {
    // Not Avro we can read (another schema type): it cannot be the local schema.
  }
  if (lookedUp === latest.version || theirs?.canonical === mine.canonical) return { local: 'latest', localVersion: latest.version };
  if (lookedUp !== undefined) return { local: 'older', localVersion: lookedUp };
  if (theirs && theirs.type.fingerprint('sha256').equals(mine.type.fingerprint('sha256'))) return { local: 'equivalent', localVersion: null };
  return { local: 'differs', localVersion: null };
}

/** The registry's verdict on one subject as a check result (no versions: new). */
export function checkResult(
  entry: { topic: string; subject: string },
  versions: readonly number[],
  compatibility: string | null,
  verdict: { ok: boolean; messages: string[] } | null,
): CheckResult {
  const base = { topic: entry.topic, subject: entry.subject, compatibility, versions: [...versions].sort((a, b) => a - b) };
  if (versions.length === 0 || verdict === null) return { ...base, outcome: 'new', messages: [] };
  return { ...base, outcome: verdict.ok ? 'compatible' : 'incompatible', messages: verdict.ok ? [] : verdict.messages };
}

/** TRB_SCHEMA_INCOMPATIBLE naming every incompatible subject, or undefined when all pass. */
export function incompatibleError(results: readonly CheckResult[]): TributaryError | undefined {
  const bad = results.filter((r) => r.outcome === 'incompatible');
  if (bad.length === 0) return undefined;
  const names = bad.map((r) => `${r.subject}${r.compatibility ? ` (${r.compatibility})` : ''}`).join(', ');
  return new TributaryError(
    'TRB_SCHEMA_INCOMPATIBLE',
    `${bad.length} of ${results.length} schema${results.length === 1 ? '' : 's'} not compatible with the registry: ${names}; evolve compatibly (add fields with defaults) or use a new topic`,
  );
}

const LOCAL_LABELS: Record<LocalState, (row: SubjectRow) => string> = {
  unregistered: () => 'not registered',
  latest: () => 'same as latest',
  older: (row) => `same as v${row.localVersion} (older)`,
  equivalent: () => 'docs/attributes differ',
  differs: () => 'differs',
};

export function localLabel(row: SubjectRow): string {
  return LOCAL_LABELS[row.local](row);
}

const plain = { style: { head: [] as string[], border: [] as string[] } };

export function renderListTable(rows: readonly SubjectRow[]): string {
  const table = textTable(['subject', 'kind', 'key', 'from', 'latest', 'id', 'versions', 'compatibility', 'local schema']);
  for (const row of rows) {
    table.push([
      row.subject,
      row.kind,
      row.key,
      row.from.join(', '),
      row.latest ? `v${row.latest.version}` : '-',
      row.latest ? String(row.latest.id) : '-',
      String(row.versions.length),
      row.compatibility ?? '-',
      localLabel(row),
    ]);
  }
  return `${table.toString()}\n`;
}

export function renderCheck(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    const level = result.compatibility ?? 'registry default';
    if (result.outcome === 'new') lines.push(`new           ${result.subject} (not registered yet)`);
    else if (result.outcome === 'compatible') lines.push(`compatible    ${result.subject} (${level}, versions ${result.versions.join(', ')})`);
    else {
      lines.push(`INCOMPATIBLE  ${result.subject} (${level}, versions ${result.versions.join(', ')})`);
      for (const message of result.messages.length > 0 ? result.messages : ['the registry gave no reason']) lines.push(`                - ${message}`);
    }
  }
  const count = (outcome: CheckOutcome) => results.filter((r) => r.outcome === outcome).length;
  lines.push('', `${count('compatible')} compatible, ${count('incompatible')} incompatible, ${count('new')} new`);
  return `${lines.join('\n')}\n`;
}

export interface ShownSubject {
  subject: string;
  topic: string | null;
  compatibility: string | null;
  /** Every live version with its schema id, ascending. */
  versions: { version: number; id: number }[];
  /** The version printed (the latest unless asked for another). */
  shown: { version: number; id: number; schema: string; schemaType: string };
}

export function renderShow(shown: ShownSubject): string {
  const latest = shown.versions[shown.versions.length - 1];
  const out: string[] = [
    `subject ${shown.subject}${shown.topic ? ` (topic ${shown.topic})` : ''}, compatibility ${shown.compatibility ?? '-'}`,
    '',
  ];
  const versions = textTable(['version', 'id']);
  for (const { version, id } of shown.versions) versions.push([`v${version}${version === latest?.version ? ' (latest)' : ''}`, String(id)]);
  out.push(versions.toString(), '');

  out.push(`v${shown.shown.version} (id ${shown.shown.id}, ${shown.shown.schemaType}):`, prettySchema(shown.shown.schema), '');
  const schema = parsedObject(shown.shown.schema);
  if (shown.shown.schemaType.toUpperCase() === 'AVRO' && schema?.type === 'record' && Array.isArray(schema.fields)) {
    for (const { branch, rows } of fieldSections(schema)) {
      out.push(branch ? `fields of ${branch.path}: ${branch.name}` : 'fields:');
      const table = new Table({ head: ['field', 'type', 'presence', 'doc'], colWidths: [null, null, null, 60], wordWrap: true, ...plain });
      for (const row of rows) table.push([row.path, row.type, row.presence, row.doc]);
      out.push(table.toString(), '');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function parsedObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function prettySchema(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
