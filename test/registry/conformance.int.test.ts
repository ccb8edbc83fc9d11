/**
 * Schema registry conformance, written from Confluent's API reference: driven through
 * @kafkajs/confluent-schema-registry (as Tributary uses it) and raw HTTP, against whatever
 * registry the test stack names (the embedded one, Confluent, Karapace, ...). Every test uses its
 * own subjects and never changes the global config, so it can run against a shared registry.
 */
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { beforeAll, describe, expect, it } from 'vitest';
import { testStack } from '../harness/stack';
import { uniqueName } from '../harness/names';
import { call, enc, orderSchema } from './registry-http';

let url: string;
let client: SchemaRegistry;

beforeAll(() => {
  url = testStack().registryUrl.replace(/\/+$/, '');
  client = new SchemaRegistry({ host: url });
});

const subjectName = () => uniqueName('conformance') + '-value';
const avro = (schema: string) => ({ type: SchemaType.AVRO as const, schema });
const register = (subject: string, schema: string) =>
  client.register(avro(schema), { subject, compatibility: COMPATIBILITY.BACKWARD });
const withNote = orderSchema([{ name: 'note', type: ['null', 'string'], default: null, doc: 'free text' }]);

describe('registry conformance', () => {
  it('answers the root and lists AVRO among schema types', async () => {
    const root = await call(url, 'GET', '/');
    expect(root.status).toBe(200);
    expect(root.body).toEqual({});
    const types = await call<string[]>(url, 'GET', '/schemas/types');
    expect(types.status).toBe(200);
    expect(types.body).toContain('AVRO');
  });

  it('re-registering the same schema returns the same id and adds no version', async () => {
    const subject = subjectName();
    const first = await register(subject, orderSchema());
    const again = await register(subject, orderSchema());
    expect(again.id).toBe(first.id);
    // Same schema written differently (whitespace, key order) is the same schema.
    const reformatted = JSON.stringify(JSON.parse(orderSchema()), null, 2);
    const raw = await call<{ id: number }>(url, 'POST', `/subjects/${enc(subject)}/versions`, { schema: reformatted });
    expect(raw.status).toBe(200);
    expect(raw.body.id).toBe(first.id);
    const versions = await call<number[]>(url, 'GET', `/subjects/${enc(subject)}/versions`);
    expect(versions.body).toEqual([1]);
  });

  it('a new version gets a new id; the same schema in another subject reuses the global id', async () => {
    const subject = subjectName();
    const v1 = await register(subject, orderSchema());
    const v2 = await register(subject, withNote);
    expect(v2.id).not.toBe(v1.id);
    expect((await call<number[]>(url, 'GET', `/subjects/${enc(subject)}/versions`)).body).toEqual([1, 2]);
    const other = subjectName();
    const elsewhere = await call<{ id: number }>(url, 'POST', `/subjects/${enc(other)}/versions`, { schema: withNote });
    expect(elsewhere.status).toBe(200);
    expect(elsewhere.body.id).toBe(v2.id);
    const holders = await call<Array<{ subject: string; version: number }>>(url, 'GET', `/schemas/ids/${v2.id}/versions`);
    expect(holders.status).toBe(200);
    expect(holders.body).toEqual(expect.arrayContaining([{ subject, version: 2 }, { subject: other, version: 1 }]));
    const subjects = await call<string[]>(url, 'GET', `/schemas/ids/${v2.id}/subjects`);
    expect(subjects.body).toEqual(expect.arrayContaining([subject, other]));
  });

  it('encodes and decodes through the client (Confluent wire format)', async () => {
    const subject = subjectName();
    const { id } = await register(subject, withNote);
    const value = { orderId: 'O-1', note: 'rush' };
    const bytes = await client.encode(id, value);
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(id);
    // A fresh client has no cache: decoding fetches the schema by id.
    const fresh = new SchemaRegistry({ host: url });
    expect(await fresh.decode(bytes)).toEqual(value);
  });

  it('gives the latest id, versions by number and latest, with schema as a string', async () => {
    const subject = subjectName();
    await register(subject, orderSchema());
    const v2 = await register(subject, withNote);
    expect(await client.getLatestSchemaId(subject)).toBe(v2.id);
    expect(await client.getRegistryId(subject, 2)).toBe(v2.id);
    for (const version of ['latest', '-1', '2']) {
      const answer = await call(url, 'GET', `/subjects/${enc(subject)}/versions/${version}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ subject, version: 2, id: v2.id });
      expect(typeof answer.body.schema).toBe('string');
      expect(JSON.parse(answer.body.schema)).toMatchObject({ name: 'Order', fields: [{ name: 'orderId' }, { name: 'note' }] });
    }
    const rawSchema = await call(url, 'GET', `/subjects/${enc(subject)}/versions/1/schema`);
    expect(rawSchema.status).toBe(200);
    expect(rawSchema.body).toMatchObject({ type: 'record', name: 'Order' });
    const byId = await call(url, 'GET', `/schemas/ids/${v2.id}`);
    expect(byId.status).toBe(200);
    expect(typeof byId.body.schema).toBe('string');
    expect(JSON.parse(byId.body.schema)).toEqual(JSON.parse((await call(url, 'GET', `/subjects/${enc(subject)}/versions/2`)).body.schema));
    const byIdRaw = await call(url, 'GET', `/schemas/ids/${v2.id}/schema`);
    expect(byIdRaw.body).toMatchObject({ type: 'record' });
    const subjects = await call<string[]>(url, 'GET', '/subjects');
    expect(subjects.body).toContain(subject);
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions/1/referencedby`)).body).toEqual([]);
  });

  it('looks a schema up under a subject', async () => {
    const subject = subjectName();
    const { id } = await register(subject, orderSchema());
    await register(subject, withNote);
    expect(await client.getRegistryIdBySchema(subject, avro(orderSchema()))).toBe(id);
    const answer = await call(url, 'POST', `/subjects/${enc(subject)}`, { schema: orderSchema() });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ subject, id, version: 1 });
    expect(typeof answer.body.schema).toBe('string');
    const missing = await call(url, 'POST', `/subjects/${enc(subject)}`, { schema: orderSchema([{ name: 'x', type: 'int' }]) });
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe(40403);
    const noSubject = await call(url, 'POST', `/subjects/${enc(subjectName())}`, { schema: orderSchema() });
    expect(noSubject.status).toBe(404);
    expect(noSubject.body.error_code).toBe(40401);
  });

  it('refuses an incompatible version with 409 and registers nothing', async () => {
    const subject = subjectName();
    await register(subject, orderSchema());
    const answer = await call(url, 'POST', `/subjects/${enc(subject)}/versions`, {
      schema: orderSchema([{ name: 'qty', type: 'int' }]),
    });
    expect(answer.status).toBe(409);
    // Confluent answers error_code 409 (40901 in its newest releases).
    expect([409, 40901]).toContain(answer.body.error_code);
    expect(typeof answer.body.message).toBe('string');
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions`)).body).toEqual([1]);
    await expect(register(subject, orderSchema([{ name: 'qty', type: 'int' }]))).rejects.toThrow();
  });

  it('checks compatibility against a version, latest, or the subject', async () => {
    const subject = subjectName();
    await register(subject, orderSchema());
    const good = { schema: withNote };
    const bad = { schema: orderSchema([{ name: 'qty', type: 'int' }]) };
    for (const path of [`/compatibility/subjects/${enc(subject)}/versions/latest`, `/compatibility/subjects/${enc(subject)}/versions/1`, `/compatibility/subjects/${enc(subject)}/versions`]) {
      const yes = await call(url, 'POST', path, good);
      expect(yes.status).toBe(200);
      expect(yes.body.is_compatible).toBe(true);
      const no = await call(url, 'POST', path, bad);
      expect(no.status).toBe(200);
      expect(no.body.is_compatible).toBe(false);
    }
    const verbose = await call(url, 'POST', `/compatibility/subjects/${enc(subject)}/versions/latest?verbose=true`, bad);
    expect(verbose.body.is_compatible).toBe(false);
    expect(Array.isArray(verbose.body.messages)).toBe(true);
    expect(verbose.body.messages.length).toBeGreaterThan(0);
    const missingVersion = await call(url, 'POST', `/compatibility/subjects/${enc(subject)}/versions/7`, good);
    expect(missingVersion.status).toBe(404);
    expect(missingVersion.body.error_code).toBe(40402);
    const invalid = await call(url, 'POST', `/compatibility/subjects/${enc(subject)}/versions/latest`, { schema: '{"type":"recor' });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error_code).toBe(42201);
  });

  it('answers Confluent error codes for missing subjects, versions and schemas', async () => {
    const subject = subjectName();
    const { id } = await register(subject, orderSchema());
    const cases: Array<[string, number, number]> = [
      [`/subjects/${enc(subjectName())}/versions`, 404, 40401],
      [`/subjects/${enc(subjectName())}/versions/1`, 404, 40401],
      [`/subjects/${enc(subjectName())}/versions/latest`, 404, 40401],
      [`/subjects/${enc(subject)}/versions/99`, 404, 40402],
      [`/subjects/${enc(subject)}/versions/0`, 422, 42202],
      [`/subjects/${enc(subject)}/versions/first`, 422, 42202],
      [`/schemas/ids/${id + 1_000_000}`, 404, 40403],
    ];
    for (const [path, status, code] of cases) {
      const answer = await call(url, 'GET', path);
      expect({ path, status: answer.status, code: answer.body.error_code }).toEqual({ path, status, code });
      expect(typeof answer.body.message).toBe('string');
    }
  });

  it('refuses an invalid schema with 42201', async () => {
    const subject = subjectName();
    for (const schema of ['{"type":"recor', '{"type":"record","name":"A","fields":[{"name":"a","type":"int","default":"x"}]}', '"nonsense"']) {
      const answer = await call(url, 'POST', `/subjects/${enc(subject)}/versions`, { schema });
      expect(answer.status).toBe(422);
      expect(answer.body.error_code).toBe(42201);
    }
  });

  it('sets, reads and deletes a subject-level compatibility', async () => {
    const subject = subjectName();
    const global = await call(url, 'GET', '/config');
    expect(global.status).toBe(200);
    expect(typeof global.body.compatibilityLevel).toBe('string');
    const unset = await call(url, 'GET', `/config/${enc(subject)}`);
    expect(unset.status).toBe(404);
    expect(unset.body.error_code).toBe(40408);
    const fallback = await call(url, 'GET', `/config/${enc(subject)}?defaultToGlobal=true`);
    expect(fallback.status).toBe(200);
    expect(fallback.body.compatibilityLevel).toBe(global.body.compatibilityLevel);
    const put = await call(url, 'PUT', `/config/${enc(subject)}`, { compatibility: 'FULL_TRANSITIVE' });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ compatibility: 'FULL_TRANSITIVE' });
    expect((await call(url, 'GET', `/config/${enc(subject)}`)).body).toMatchObject({ compatibilityLevel: 'FULL_TRANSITIVE' });
    const invalid = await call(url, 'PUT', `/config/${enc(subject)}`, { compatibility: 'SIDEWAYS' });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error_code).toBe(42203);
    const deleted = await call(url, 'DELETE', `/config/${enc(subject)}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ compatibilityLevel: 'FULL_TRANSITIVE' });
    expect((await call(url, 'GET', `/config/${enc(subject)}`)).body.error_code).toBe(40408);
  });

  it('applies the subject-level compatibility when registering', async () => {
    const subject = subjectName();
    await call(url, 'PUT', `/config/${enc(subject)}`, { compatibility: 'NONE' });
    expect((await call(url, 'POST', `/subjects/${enc(subject)}/versions`, { schema: orderSchema() })).status).toBe(200);
    const unrelated = await call(url, 'POST', `/subjects/${enc(subject)}/versions`, { schema: '{"type":"record","name":"Other","fields":[{"name":"n","type":"int"}]}' });
    expect(unrelated.status).toBe(200);
    await call(url, 'PUT', `/config/${enc(subject)}`, { compatibility: 'FORWARD' });
    // Under FORWARD the old schema must read the new data: adding a default-less field is fine.
    const added = await call(url, 'POST', `/subjects/${enc(subject)}/versions`, {
      schema: '{"type":"record","name":"Other","fields":[{"name":"n","type":"int"},{"name":"m","type":"int"}]}',
    });
    expect(added.status).toBe(200);
  });

  it('deletes a subject softly first and permanently second', async () => {
    const subject = subjectName();
    const { id } = await register(subject, orderSchema());
    await register(subject, withNote);
    const tooEarly = await call(url, 'DELETE', `/subjects/${enc(subject)}?permanent=true`);
    expect(tooEarly.status).toBe(404);
    expect(tooEarly.body.error_code).toBe(40405);
    const soft = await call(url, 'DELETE', `/subjects/${enc(subject)}`);
    expect(soft.status).toBe(200);
    expect(soft.body).toEqual([1, 2]);
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions`)).body.error_code).toBe(40401);
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions?deleted=true`)).body).toEqual([1, 2]);
    expect((await call<string[]>(url, 'GET', '/subjects')).body).not.toContain(subject);
    expect((await call<string[]>(url, 'GET', '/subjects?deleted=true')).body).toContain(subject);
    // Data written with a soft-deleted schema stays decodable.
    expect((await call(url, 'GET', `/schemas/ids/${id}`)).status).toBe(200);
    const again = await call(url, 'DELETE', `/subjects/${enc(subject)}`);
    expect(again.status).toBe(404);
    expect(again.body.error_code).toBe(40404);
    const permanent = await call(url, 'DELETE', `/subjects/${enc(subject)}?permanent=true`);
    expect(permanent.status).toBe(200);
    expect(permanent.body).toEqual([1, 2]);
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions?deleted=true`)).body.error_code).toBe(40401);
    expect((await call(url, 'DELETE', `/subjects/${enc(subject)}`)).body.error_code).toBe(40401);
  });

  it('deletes a version softly first and permanently second', async () => {
    const subject = subjectName();
    await register(subject, orderSchema());
    const v2 = await register(subject, withNote);
    const tooEarly = await call(url, 'DELETE', `/subjects/${enc(subject)}/versions/2?permanent=true`);
    expect(tooEarly.status).toBe(404);
    expect(tooEarly.body.error_code).toBe(40407);
    const soft = await call(url, 'DELETE', `/subjects/${enc(subject)}/versions/2`);
    expect(soft.status).toBe(200);
    expect(soft.body).toBe(2);
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions`)).body).toEqual([1]);
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions/2`)).body.error_code).toBe(40402);
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions/2?deleted=true`)).body).toMatchObject({ version: 2, id: v2.id });
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions/latest`)).body.version).toBe(1);
    expect((await call(url, 'DELETE', `/subjects/${enc(subject)}/versions/2`)).body.error_code).toBe(40406);
    const permanent = await call(url, 'DELETE', `/subjects/${enc(subject)}/versions/2?permanent=true`);
    expect(permanent.status).toBe(200);
    expect(permanent.body).toBe(2);
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions?deleted=true`)).body).toEqual([1]);
    const missing = await call(url, 'DELETE', `/subjects/${enc(subject)}/versions/9`);
    expect(missing.status).toBe(404);
    expect(missing.body.error_code).toBe(40402);
    // Re-registering a deleted schema makes a new version after the highest one ever used.
    const back = await call(url, 'POST', `/subjects/${enc(subject)}/versions`, { schema: withNote });
    expect(back.status).toBe(200);
    expect((await call(url, 'GET', `/subjects/${enc(subject)}/versions`)).body).toEqual([1, 2]);
  });

  it('answers 404 with an error_code for unknown paths', async () => {
    for (const path of ['/nope', '/subjects/a/b/c/d/e', '/schemas/nothing']) {
      const answer = await call(url, 'GET', path);
      expect(answer.status).toBe(404);
      expect(typeof answer.body.error_code).toBe('number');
    }
  });

  it('accepts the content types clients send and answers the registry media type', async () => {
    const subject = subjectName();
    for (const type of ['application/vnd.schemaregistry.v1+json', 'application/vnd.schemaregistry+json', 'application/json']) {
      const answer = await call(url, 'POST', `/subjects/${enc(subject)}/versions`, { schema: orderSchema() }, type);
      expect(answer.status).toBe(200);
      expect(answer.contentType).toContain('application/vnd.schemaregistry.v1+json');
    }
    const ignored = await call(url, 'GET', `/subjects/${enc(subject)}/versions?whatever=1`);
    expect(ignored.body).toEqual([1]);
  });

  it('reports READWRITE mode', async () => {
    const mode = await call(url, 'GET', '/mode');
    expect(mode.status).toBe(200);
    expect(mode.body.mode).toBe('READWRITE');
  });
});
