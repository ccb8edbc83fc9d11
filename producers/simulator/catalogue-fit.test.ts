/**
 * The simulator against the Avro catalogue (schemas/*.avsc through runtime/schemas/catalogue.ts):
 * it covers exactly the catalogue's source-event topics, every value it makes (invalid orders and
 * duplicates included) is valid for its topic's Avro type and survives an encode/decode round
 * trip unchanged, keys follow each schema's declared key, and sources are among its `from`.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { simulate, SOURCE_TOPICS } from './index';

describe('simulated values against the Avro catalogue', () => {
  const catalogue = loadCatalogue();
  const events = [...simulate({ seed: 'avro', events: 20_000, invalidRate: 0.05, duplicateRate: 0.01 })];

  it('simulates exactly the topics the catalogue says source systems write', () => {
    const sourceTopics = catalogue.topics().filter((t) => t.kind === 'event').map((t) => t.topic);
    expect([...SOURCE_TOPICS].sort()).toEqual(sourceTopics.sort());
    expect(new Set(events.map((e) => e.topic))).toEqual(new Set(SOURCE_TOPICS));
  });

  it('makes values that are valid for their topic type and round-trip through Avro unchanged', { timeout: 90_000 }, () => {
    const invalid = new Map<string, number>();
    let roundTripped = 0;
    for (const event of events) {
      const { type } = catalogue.require(event.topic);
      const paths: string[] = [];
      if (!type.isValid(event.value, { errorHook: (path) => paths.push(`${event.topic}:${path.join('.')}`) })) {
        for (const path of paths) invalid.set(path, (invalid.get(path) ?? 0) + 1);
        continue;
      }
      expect(type.fromBuffer(type.toBuffer(event.value))).toEqual(event.value);
      roundTripped++;
    }
    expect([...invalid]).toEqual([]);
    expect(roundTripped).toBe(events.length);
  });

  it('keys each record by the fields its schema declares, from a system its schema lists', () => {
    for (const event of events) {
      const schema = catalogue.require(event.topic);
      const value = event.value as unknown as Record<string, string>;
      const expectedKey = schema.key
        .split('@')
        .map((field) => value[field])
        .join('@');
      expect(event.key, `${event.topic} key`).toBe(expectedKey);
      expect(schema.from, `${event.topic} source`).toContain(event.value.meta.source);
    }
  });
});
