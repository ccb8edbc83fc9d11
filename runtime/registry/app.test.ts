/**
 * The registry HTTP app by injection over an in-memory log: what the embedded registry does
 * beyond the conformance suite (AVRO only, references, request parsing, log record format,
 * replay of the log into a fresh state).
 */
import { describe, expect, it } from 'vitest';
import { buildRegistryApp } from './app';
import { MemorySchemaLog } from './memory-log';
import { SchemaRegistryService } from './service';
import { RegistryState } from './state';

function registry() {
  const state = new RegistryState();
  const log = new MemorySchemaLog(state);
  return { app: buildRegistryApp(new SchemaRegistryService(state, log)), log };
}

const SR = { 'content-type': 'application/vnd.schemaregistry.v1+json' };
const schema = JSON.stringify({ type: 'record', name: 'A', fields: [{ name: 'a', type: 'int' }] });

describe('registry app', () => {
  it('refuses schema types other than AVRO with 42201', async () => {
    const { app } = registry();
    for (const schemaType of ['PROTOBUF', 'JSON']) {
      const answer = await app.inject({ method: 'POST', url: '/subjects/s/versions', headers: SR, payload: { schema: 'syntax = "proto3";', schemaType } });
      expect(answer.statusCode).toBe(422);
      expect(answer.json()).toMatchObject({ error_code: 42201 });
      expect(answer.json().message).toContain('AVRO');
    }
    expect((await app.inject({ method: 'POST', url: '/subjects/s/versions', headers: SR, payload: { schema, schemaType: 'AVRO' } })).statusCode).toBe(200);
  });

  it('refuses schema references with a clear 42201', async () => {
    const { app } = registry();
    const answer = await app.inject({
      method: 'POST',
      url: '/subjects/s/versions',
      headers: SR,
      payload: { schema, references: [{ name: 'B', subject: 'b', version: 1 }] },
    });
    expect(answer.statusCode).toBe(422);
    expect(answer.json().message).toContain('references');
  });

  it('answers malformed JSON with 400 and accepts an empty DELETE body with a content type', async () => {
    const { app } = registry();
    const bad = await app.inject({ method: 'POST', url: '/subjects/s/versions', headers: SR, payload: '{"schema":' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error_code: 400 });
    await app.inject({ method: 'PUT', url: '/config/s', headers: SR, payload: { compatibility: 'full' } });
    const deleted = await app.inject({ method: 'DELETE', url: '/config/s', headers: SR });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toEqual({ compatibilityLevel: 'FULL' });
  });

  it('accepts application/octet-stream bodies (some clients send them)', async () => {
    const { app } = registry();
    const answer = await app.inject({
      method: 'POST',
      url: '/subjects/s/versions',
      headers: { 'content-type': 'application/octet-stream' },
      payload: JSON.stringify({ schema }),
    });
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toContain('application/vnd.schemaregistry.v1+json');
  });

  it('writes Confluent-format records and a fresh state replayed from them answers the same', async () => {
    const { app, log } = registry();
    await app.inject({ method: 'POST', url: '/subjects/s/versions', headers: SR, payload: { schema } });
    await app.inject({ method: 'PUT', url: '/config/s', headers: SR, payload: { compatibility: 'NONE' } });
    await app.inject({ method: 'DELETE', url: '/subjects/s', headers: SR });
    await app.inject({ method: 'DELETE', url: '/subjects/s?permanent=true', headers: SR });
    await app.inject({ method: 'POST', url: '/subjects/t/versions', headers: SR, payload: { schema } });
    expect(JSON.parse(log.records[0]!.key)).toEqual({ keytype: 'SCHEMA', subject: 's', version: 1, magic: 1 });
    expect(JSON.parse(log.records[0]!.value!)).toMatchObject({ subject: 's', version: 1, id: 1, deleted: false });
    expect(JSON.parse(log.records[1]!.key)).toEqual({ keytype: 'CONFIG', subject: 's', magic: 0 });
    expect(JSON.parse(log.records[1]!.value!)).toEqual({ compatibilityLevel: 'NONE' });
    // The permanent delete leaves tombstones: for the version and for the subject's config.
    expect(log.records.filter((r) => r.value === null)).toHaveLength(2);

    const replayed = new RegistryState();
    for (const record of log.records) replayed.apply(record.key, record.value);
    expect(replayed.subjectNames(true)).toEqual(['t']);
    expect(replayed.subjectCompatibility('s')).toBeUndefined();
    expect(replayed.versions('t')).toEqual([expect.objectContaining({ subject: 't', version: 1 })]);
    const live = (await app.inject({ method: 'GET', url: '/subjects/t/versions/1' })).json();
    expect(replayed.versions('t')[0]).toMatchObject({ id: live.id, schema: live.schema });
    // Ids are never handed out twice: `t` did not get the permanently deleted version's id back.
    expect(live.id).toBe(2);
  });

  it('compatibility of an empty subject: latest is compatible, a numbered version is 40401', async () => {
    const { app } = registry();
    const latest = await app.inject({ method: 'POST', url: '/compatibility/subjects/none/versions/latest', headers: SR, payload: { schema } });
    expect(latest.json()).toEqual({ is_compatible: true });
    const numbered = await app.inject({ method: 'POST', url: '/compatibility/subjects/none/versions/1', headers: SR, payload: { schema } });
    expect(numbered.statusCode).toBe(404);
    expect(numbered.json().error_code).toBe(40401);
  });

  it('returns the canonical schema text, not the text as sent', async () => {
    const { app } = registry();
    const spaced = JSON.stringify(JSON.parse(schema), null, 4);
    await app.inject({ method: 'POST', url: '/subjects/s/versions', headers: SR, payload: { schema: spaced } });
    const answer = await app.inject({ method: 'GET', url: '/subjects/s/versions/1' });
    expect(answer.json().schema).toBe('{"type":"record","name":"A","fields":[{"name":"a","type":"int"}]}');
  });
});
