import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../schemas/catalogue';
import { recordOutput, schemaColumns, type OutputFormat } from './record-output';

function capture(format: OutputFormat, follow = false, seedColumns: string[] = []) {
  let text = '';
  const warnings: string[] = [];
  const output = recordOutput({ format, follow, seedColumns, out: async (t) => void (text += t), warn: (l) => void warnings.push(l) });
  return { output, text: () => text, warnings };
}

/** RFC 4180 rows back into cells (quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    } else cell += c;
  }
  return rows;
}

const first = { topic: 't', offset: 1, value: { id: 'A', customer: { id: 'C-1' }, lines: [{ sku: 'S,1' }] } };
const second = { topic: 't', offset: 2, value: { id: 'B', note: 'said "hi"\nbye', customer: { id: 'C-2', tier: 'gold' }, lines: [] } };

describe('recordOutput', () => {
  it('ndjson: one JSON object per line', async () => {
    const { output, text } = capture('ndjson');
    await output.write(first);
    await output.write(second);
    await output.end();
    expect(text().split('\n')).toHaveLength(3);
    expect(text().trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([first, second]);
  });

  it('json: a pretty-printed array, [] when empty', async () => {
    const { output, text } = capture('json');
    await output.write(first);
    await output.write(second);
    await output.end();
    expect(JSON.parse(text())).toEqual([first, second]);
    expect(text()).toContain('\n  {\n    "topic": "t"');
    const empty = capture('json');
    await empty.output.end();
    expect(JSON.parse(empty.text())).toEqual([]);
  });

  it('csv without --follow: a header with the union of every record\'s columns, one line per record', async () => {
    const { output, text } = capture('csv');
    await output.write(first);
    await output.write(second);
    expect(text()).toBe('');
    await output.end();
    const rows = parseCsv(text());
    expect(rows[0]).toEqual(['topic', 'offset', 'value.id', 'value.customer.id', 'value.lines', 'value.note', 'value.customer.tier']);
    expect(rows.slice(1)).toEqual([
      ['t', '1', 'A', 'C-1', '[{"sku":"S,1"}]', '', ''],
      ['t', '2', 'B', 'C-2', '[]', 'said "hi"\nbye', 'gold'],
    ]);
    // One record per line once quoted line breaks are taken as part of their cell.
    expect(text().split('\r\n').filter(Boolean)).toHaveLength(3);
  });

  it('csv with no records prints nothing', async () => {
    const { output, text } = capture('csv');
    await output.end();
    expect(text()).toBe('');
  });

  it('csv with --follow: the header is the first record\'s columns plus the schema\'s it lacks; later new columns are warned about once and left out', async () => {
    const { output, text, warnings } = capture('csv', true, ['value.id', 'value.customer.id', 'value.customer.tier', 'value.lines']);
    await output.write(first);
    expect(parseCsv(text())[0]).toEqual(['topic', 'offset', 'value.id', 'value.customer.id', 'value.lines', 'value.customer.tier']);
    await output.write(second);
    await output.write({ ...second, offset: 3 });
    await output.end();
    const rows = parseCsv(text());
    expect(rows[2]).toEqual(['t', '2', 'B', 'C-2', '[]', 'gold']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('value.note');
  });
});

describe('schemaColumns', () => {
  const catalogue = loadCatalogue();

  it('order.created: nested records expand, arrays are one column', () => {
    const columns = schemaColumns(catalogue.require('order.created').type, 'value');
    expect(columns).toContain('value.meta.eventId');
    expect(columns).toContain('value.requestedShipDate');
    expect(columns).toContain('value.lines');
    expect(columns.some((c) => c.startsWith('value.lines.'))).toBe(false);
  });

  it('a command envelope: the fields of every payload type', () => {
    const columns = schemaColumns(catalogue.require('erp.commands').type, 'value');
    expect(columns).toContain('value.commandId');
    expect(columns).toContain('value.payload.orderId');
    expect(columns).toContain('value.payload.customerId');
    expect(columns).toContain('value.payload.lines');
  });

  it('a nullable record expands; a map has no columns of its own', () => {
    const type = avro.Type.forSchema({
      type: 'record',
      name: 'R',
      fields: [
        { name: 'inner', type: ['null', { type: 'record', name: 'I', fields: [{ name: 'x', type: 'int' }] }] },
        { name: 'byKey', type: { type: 'map', values: 'int' } },
        { name: 'either', type: ['null', 'string', 'int'] },
      ],
    });
    expect(schemaColumns(type, 'v')).toEqual(['v.inner.x', 'v.either']);
  });
});
