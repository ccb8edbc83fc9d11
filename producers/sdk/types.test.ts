/**
 * types.ts cannot drift from schemas/*.avsc: it must equal what the generator renders now, and
 * (so a generator bug cannot hide a drift) each source topic's interface must list exactly the
 * schema's fields, optional exactly where the schema has a default.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { renderEventTypes, TYPES_FILE } from './generate-types';
import { PUBLISHABLE_TOPICS } from './types';

const catalogue = loadCatalogue();
const committed = readFileSync(TYPES_FILE, 'utf8');

/** `name` / `name?` of each member of `export interface <name> { ... }` in the committed file. */
function interfaceFields(name: string): string[] {
  const body = new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`).exec(committed)?.[1];
  if (body === undefined) throw new Error(`types.ts has no interface ${name}`);
  return body
    .split('\n')
    .filter((line) => /^ {2}[A-Za-z]/.test(line))
    .map((line) => line.trim().split(':')[0]!);
}

describe('producer SDK types', () => {
  it('types.ts is what generate-types.ts renders from the catalogue (run `npx tsx producers/sdk/generate-types.ts`)', () => {
    expect(committed).toBe(renderEventTypes(catalogue));
  });

  it('has one type for each event topic of the catalogue, and nothing else', () => {
    const events = catalogue.topics().filter((t) => t.kind === 'event').map((t) => t.topic);
    expect([...PUBLISHABLE_TOPICS]).toEqual(events);
    expect(events).toContain('order.created');
    expect(events).not.toContain('atp.changed');
  });

  it.each(PUBLISHABLE_TOPICS)('%s: the interface lists every schema field, optional where it has a default', (topic) => {
    const schema = catalogue.require(topic).schema as { name: string; fields: { name: string; default?: unknown; type: unknown }[] };
    const expected = schema.fields.map((f) => (f.default !== undefined ? `${f.name}?` : f.name));
    expect(interfaceFields(schema.name.split('.').pop()!)).toEqual(expected);
    for (const field of schema.fields) {
      const type = field.type as { type?: string; items?: { type?: string; name?: string; fields?: { name: string; default?: unknown }[] } };
      if (type.type === 'array' && type.items?.type === 'record') {
        const items = type.items;
        expect(interfaceFields(items.name!), `${topic} ${field.name}`).toEqual(items.fields!.map((f) => (f.default !== undefined ? `${f.name}?` : f.name)));
      }
    }
  });

  it('meta is the shared envelope with the SPEC fields', () => {
    expect(interfaceFields('Meta')).toEqual(['eventId', 'occurredAt', 'source', 'correlationId?', 'causationId?']);
    expect(committed).toContain('occurredAt: Timestamp;');
  });
});
