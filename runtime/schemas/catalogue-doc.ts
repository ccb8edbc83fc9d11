/**
 * Renders the catalogue as markdown, committed as docs/catalogue.md (a unit test keeps the two
 * equal). The `doc` attributes of the .avsc files are the source of truth; this only arranges them:
 * one section per topic with its metadata and a table of fields, nested fields flattened
 * (`meta.eventId`, `lines[].sku`), and one sub-table per branch of a union of records (a command's
 * payloads). Regenerate with: npx tsx runtime/schemas/catalogue-doc.ts > docs/catalogue.md
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fullName, namespaceOf } from './avro-types';
import { loadCatalogue, metadataOf, type Catalogue, type TopicSchema } from './catalogue';

type Json = Record<string, unknown>;

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const REGENERATE_COMMAND = 'npx tsx runtime/schemas/catalogue-doc.ts > docs/catalogue.md';

export function renderCatalogue(catalogue: Catalogue): string {
  const topics = catalogue.topics();
  const out: string[] = [
    '# Event catalogue',
    '',
    `<!-- Generated from schemas/*.avsc by runtime/schemas/catalogue-doc.ts; do not edit. Regenerate: ${REGENERATE_COMMAND} -->`,
    '',
    'Every topic carries Avro values in Confluent wire format, registered under the subject `<topic>-value`.',
    'Timestamps (`timestamp-millis`) are epoch milliseconds UTC; quantities are integers (base units unless',
    'the field says otherwise); money is a `long` in minor units. Codes (`sku`, `warehouse`, ids) match',
    '`[A-Za-z0-9._-]{1,64}`: the publisher checks that, not Avro. Optional fields may be omitted or null',
    'in natural JSON.',
    '',
    '| topic | kind | key | from |',
    '|---|---|---|---|',
    ...topics.map((t) => `| [\`${t.topic}\`](#${anchor(t.topic)}) | ${t.kind} | \`${cell(t.key)}\` | ${t.from.join(', ')} |`),
    '',
  ];
  for (const topic of topics) out.push(...renderTopic(topic));
  return `${out.join('\n').trimEnd()}\n`;
}

function renderTopic(topic: TopicSchema): string[] {
  const meta = metadataOf(topic);
  const schema = topic.schema;
  const out = [
    `## ${topic.topic}`,
    '',
    cell(topic.doc, false),
    '',
    `- kind: ${topic.kind}`,
    `- key: \`${topic.key}\`${meta.keyByType ? ' (by command type, below)' : ''}`,
    `- from: ${topic.from.join(', ')}`,
    `- subject: \`${topic.subject}\``,
    `- Avro record: \`${fullName(schema, undefined)}\``,
    `- schema file: \`${relative(REPO_ROOT, topic.file)}\``,
    '',
  ];
  if (meta.keyByType) {
    out.push('| command type | key |', '|---|---|');
    for (const [type, key] of Object.entries(meta.keyByType)) out.push(`| \`${type}\` | \`${key}\` |`);
    out.push('');
  }
  const table = new FieldTable(schema);
  out.push(...table.render(schema, ''));
  return out;
}

export interface FieldRow {
  path: string;
  type: string;
  presence: string;
  doc: string;
}

/** The rows of one fields table; `branch` names the union branch a sub-table describes. */
export interface FieldSection {
  branch?: { path: string; name: string; doc: string };
  rows: FieldRow[];
}

/**
 * A record schema's fields as docs/catalogue.md tables them: the record's own rows, then one
 * section per branch of a union of records. `tributary schemas show` prints registered schemas
 * with it, so the CLI and the catalogue describe a schema the same way.
 */
export function fieldSections(schema: Json): FieldSection[] {
  return new FieldTable(schema).sections(schema);
}

/** One schema's fields as rows, resolving named types as it goes (definitions precede references). */
class FieldTable {
  private readonly named = new Map<string, { schema: Json; namespace: string | undefined }>();
  private readonly unions: { path: string; branches: Json[]; namespace: string | undefined }[] = [];

  constructor(root: Json) {
    this.define(root, undefined);
  }

  render(record: Json, heading: string): string[] {
    const out = heading ? [heading, ''] : [];
    for (const { branch, rows } of this.sections(record)) {
      if (branch) out.push(`### \`${branch.path}\`: ${branch.name}`, '', cell(branch.doc, false), '');
      out.push(
        '| field | type | presence | doc |',
        '|---|---|---|---|',
        ...rows.map((r) => `| \`${r.path}\` | \`${cell(r.type)}\` | ${cell(r.presence)} | ${cell(r.doc)} |`),
        '',
      );
    }
    return out;
  }

  sections(record: Json): FieldSection[] {
    const rows: FieldRow[] = [];
    this.collect(record, namespaceOf(record, undefined), '', rows);
    const sections: FieldSection[] = [{ rows }];
    for (const union of this.unions.splice(0)) {
      for (const branch of union.branches) {
        const rowsOfBranch: FieldRow[] = [];
        this.collect(branch, namespaceOf(branch, union.namespace), '', rowsOfBranch);
        sections.push({ branch: { path: union.path, name: String(branch.name), doc: String(branch.doc ?? '') }, rows: rowsOfBranch });
      }
    }
    return sections;
  }

  private collect(record: Json, namespace: string | undefined, prefix: string, rows: FieldRow[]): void {
    for (const field of record.fields as Json[]) {
      const path = `${prefix}${String(field.name)}`;
      const nullable = Array.isArray(field.type) && field.type.includes('null');
      const inner = Array.isArray(field.type) ? field.type.filter((b) => b !== 'null') : [field.type];
      const presence = presenceOf(field, nullable);
      const recordBranches = inner.map((b) => this.resolve(b, namespace)).filter((b) => b.schema.type === 'record');
      if (inner.length > 1 && recordBranches.length > 1) {
        const names = recordBranches.map((b) => String(b.schema.name));
        rows.push({ path, type: `one of ${names.join(', ')}`, presence, doc: String(field.doc ?? '') });
        this.unions.push({ path, branches: recordBranches.map((b) => b.schema), namespace });
        continue;
      }
      const type = inner.length === 1 ? inner[0] : inner;
      rows.push({ path, type: this.label(type, namespace), presence, doc: String(field.doc ?? '') });
      this.expand(type, namespace, path, rows);
    }
  }

  /** Rows for what a field holds: a record's fields, an array's or map's record items. */
  private expand(type: unknown, namespace: string | undefined, path: string, rows: FieldRow[]): void {
    const { schema, namespace: ns } = this.resolve(type, namespace);
    if (schema.type === 'record') this.collect(schema, namespaceOf(schema, ns), `${path}.`, rows);
    else if (schema.type === 'array') this.expand(schema.items, ns, `${path}[]`, rows);
    else if (schema.type === 'map') this.expand(schema.values, ns, `${path}{}`, rows);
  }

  private label(type: unknown, namespace: string | undefined): string {
    if (Array.isArray(type)) return type.map((b) => this.label(b, namespace)).join(' | ');
    const { schema, namespace: ns } = this.resolve(type, namespace);
    switch (schema.type) {
      case 'record':
        return `record ${String(schema.name)}`;
      case 'enum':
        return `enum ${String(schema.name)}: ${(schema.symbols as string[]).join(', ')}`;
      case 'array':
        return `array<${this.label(schema.items, ns)}>`;
      case 'map':
        return `map<string, ${this.label(schema.values, ns)}>`;
      default:
        if (schema.logicalType === 'timestamp-millis') return 'timestamp-millis (long, epoch ms)';
        return String(schema.type);
    }
  }

  private resolve(type: unknown, namespace: string | undefined): { schema: Json; namespace: string | undefined } {
    if (typeof type === 'string') {
      const name = type.includes('.') || !namespace ? type : `${namespace}.${type}`;
      return this.named.get(name) ?? this.named.get(type) ?? { schema: { type }, namespace };
    }
    return { schema: type as Json, namespace };
  }

  private define(node: unknown, namespace: string | undefined): void {
    if (Array.isArray(node)) {
      for (const branch of node) this.define(branch, namespace);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    const schema = node as Json;
    if (schema.type === 'record' || schema.type === 'enum' || schema.type === 'fixed') {
      this.named.set(fullName(schema, namespace), { schema, namespace });
    }
    if (schema.type === 'record') {
      const inner = namespaceOf(schema, namespace);
      for (const field of schema.fields as Json[]) this.define(field.type, inner);
    } else if (schema.type === 'array') this.define(schema.items, namespace);
    else if (schema.type === 'map') this.define(schema.values, namespace);
  }
}

function presenceOf(field: Json, nullable: boolean): string {
  if (nullable && field.default === null) return 'optional (null)';
  if ('default' in field) return `default \`${JSON.stringify(field.default)}\``;
  return nullable ? 'nullable' : 'required';
}

function cell(text: string, inTable = true): string {
  const flat = text.replace(/\s*\n\s*/g, ' ').trim();
  return inTable ? flat.replace(/\|/g, '\\|') : flat;
}

function anchor(heading: string): string {
  return heading.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-');
}

const invokedDirectly = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invokedDirectly) process.stdout.write(renderCatalogue(loadCatalogue()));
