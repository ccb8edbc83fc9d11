/**
 * The registry client against the embedded registry's HTTP app (in-memory log, real HTTP on a
 * local port): credentials in the URL travel as Basic auth and never reach a message; the
 * compatibility check covers every version a _TRANSITIVE level requires; versions' schemas
 * are read back as registered.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../errors';
import { buildRegistryApp } from '../registry/app';
import { MemorySchemaLog } from '../registry/memory-log';
import { SchemaRegistryService } from '../registry/service';
import { RegistryState } from '../registry/state';
import { subjectsClient } from './subjects';

const state = new RegistryState();
const app = buildRegistryApp(new SchemaRegistryService(state, new MemorySchemaLog(state)));
const authorizations: (string | undefined)[] = [];
app.addHook('onRequest', async (request) => {
  authorizations.push(request.headers.authorization);
});
let port = 0;

beforeAll(async () => {
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app.close();
});

const record = (...fields: Record<string, unknown>[]) => ({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'string' }, ...fields] });

describe('subjectsClient', () => {
  it('sends URL credentials as HTTP Basic auth, not in the URL', async () => {
    authorizations.length = 0;
    const client = subjectsClient(`http://alice:s%3Acret@127.0.0.1:${port}/`);
    expect(await client.versions('nobody-value')).toEqual([]);
    expect(authorizations).toEqual([`Basic ${Buffer.from('alice:s:cret').toString('base64')}`]);
  });

  it('checks against every version a _TRANSITIVE level requires and reads each version back', async () => {
    const client = subjectsClient(`http://127.0.0.1:${port}`);
    const subject = 'transitive-value';
    await client.setCompatibility(subject, 'BACKWARD_TRANSITIVE');
    await client.register(subject, record());
    await client.register(subject, record({ name: 'qty', type: 'int', default: 0 }));
    expect(await client.versions(subject)).toEqual([1, 2]);
    expect(JSON.parse((await client.schema(subject, 1)).schema)).toEqual(record());
    expect((await client.schema(subject, 2)).schemaType).toBe('AVRO');

    // Readable against version 2 (which has a default for qty), not against version 1.
    const verdict = await client.checkCompatibility(subject, record({ name: 'qty', type: 'int' }));
    expect(verdict.ok).toBe(false);
    expect(verdict.messages.join(' ')).toMatch(/version 1\b/);
    expect(verdict.messages.join(' ')).not.toMatch(/version 2\b/);
  });

  it('reads one version, or the latest, with its schema id', async () => {
    const client = subjectsClient(`http://127.0.0.1:${port}`);
    const subject = 'versions-value';
    const first = await client.register(subject, record());
    const second = await client.register(subject, record({ name: 'note', type: ['null', 'string'], default: null }));
    expect(second).not.toBe(first);
    const latest = await client.version(subject, 'latest');
    expect({ version: latest.version, id: latest.id }).toEqual({ version: 2, id: second });
    expect(JSON.parse(latest.schema)).toEqual(record({ name: 'note', type: ['null', 'string'], default: null }));
    const one = await client.version(subject, 1);
    expect({ subject: one.subject, version: one.version, id: one.id, schemaType: one.schemaType }).toEqual({ subject, version: 1, id: first, schemaType: 'AVRO' });
    await expect(client.version(subject, 3)).rejects.toMatchObject({ code: 'TRB_REGISTRY', status: 404 });
  });

  it('names an unreachable registry without its password', async () => {
    // A port nothing listens on: take one from a server, then close it.
    const closed = buildRegistryApp(new SchemaRegistryService(new RegistryState(), new MemorySchemaLog(new RegistryState())));
    await closed.listen({ host: '127.0.0.1', port: 0 });
    const free = (closed.server.address() as AddressInfo).port;
    await closed.close();

    const attempt = subjectsClient(`http://alice:hunter2@127.0.0.1:${free}`).versions('orders-value');
    await expect(attempt).rejects.toBeInstanceOf(RegistryError);
    const error = (await attempt.catch((e: unknown) => e)) as RegistryError;
    expect(error.message).toContain(`schema registry at http://alice:***@127.0.0.1:${free} cannot be reached`);
    expect(error.message).not.toContain('hunter2');
    expect(String((error as Error & { cause?: unknown }).cause)).not.toContain('hunter2');
  });
});
