/**
 * The decoder against hand-built Confluent frames and a fake HTTP layer standing in for the
 * registry's `GET /schemas/ids/{id}` (the real registry is exercised in
 * test/runtime/decode-dlq.int.test.ts): wire-format errors, caching, error sorting, credentials,
 * and reading older writers through the catalogue schema.
 */
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { DecodeError, RegistryError, UnknownSchemaError } from '../errors';
import { avroOptions } from '../schemas/avro-types';
import { loadCatalogue } from '../schemas/catalogue';
import { createDecoder } from './decode';

const PLAIN_SCHEMA = {
  type: 'record',
  name: 'Line',
  fields: [
    { name: 'name', type: 'string' },
    { name: 'qty', type: 'int' },
  ],
};

/** { name: 'ab', qty: 3 } in Avro by hand: zigzag length 2 = 0x04, 'a', 'b', zigzag 3 = 0x06. */
const LINE_BODY = [0x04, 0x61, 0x62, 0x06];
const frame = (id: number, body: number[]) => Buffer.from([0, (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff, ...body]);

interface Call {
  url: string;
  headers: Record<string, string>;
}

/** A registry that knows `schemas` by id, answering like Confluent; records the calls it gets. */
function fakeRegistry(schemas: Record<number, unknown>, answer?: (id: number) => Promise<Response> | undefined) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, headers: (init?.headers ?? {}) as Record<string, string> });
    const id = Number(/\/schemas\/ids\/(\d+)$/.exec(url)?.[1]);
    const special = answer?.(id);
    if (special) return special;
    const schema = schemas[id];
    if (schema === undefined) return Response.json({ error_code: 40403, message: 'Schema not found' }, { status: 404 });
    return Response.json(typeof schema === 'string' ? { schema } : { schema: JSON.stringify(schema) });
  }) as typeof fetch;
  return { calls, fetch: fetchImpl };
}

const REGISTRY = 'http://registry.test:8081';

async function decodeError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the decode to fail');
}

describe('Confluent wire format', () => {
  const registry = fakeRegistry({ 42: PLAIN_SCHEMA });
  const decoder = createDecoder({ registryUrl: REGISTRY, fetch: registry.fetch });

  it('decodes a valid frame of a topic outside the catalogue with the writer schema', async () => {
    await expect(decoder.decode(frame(42, LINE_BODY), 'partner.lines')).resolves.toEqual({ schemaId: 42, value: { name: 'ab', qty: 3 } });
  });

  it('reads the schema id as a big-endian int32', async () => {
    const big = fakeRegistry({ 0x01020304: PLAIN_SCHEMA });
    const decoded = await createDecoder({ registryUrl: REGISTRY, fetch: big.fetch }).decode(frame(0x01020304, LINE_BODY), 'partner.lines');
    expect(decoded.schemaId).toBe(16909060);
    expect(big.calls[0]!.url).toBe(`${REGISTRY}/schemas/ids/16909060`);
  });

  it.each([
    ['a tombstone (null)', null],
    ['0 bytes', Buffer.alloc(0)],
    ['4 bytes', Buffer.from([0, 0, 0, 42])],
    ['magic byte 1', Buffer.from([1, 0, 0, 0, 42, ...LINE_BODY])],
    ['a truncated body', frame(42, LINE_BODY.slice(0, 3))],
    ['trailing garbage', frame(42, [...LINE_BODY, 0x00, 0x07])],
    ['a body that is not this schema (string length beyond the end)', frame(42, [0x7e, 0x61])],
  ])('%s is a DecodeError, not retriable', async (_, value) => {
    const error = await decodeError(decoder.decode(value, 'partner.lines'));
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).code).toBe('TRB_DECODE');
    expect((error as DecodeError).retriable).toBe(false);
  });

  it('does not ask the registry for frames that are broken before the schema id', async () => {
    const quiet = fakeRegistry({ 42: PLAIN_SCHEMA });
    const d = createDecoder({ registryUrl: REGISTRY, fetch: quiet.fetch });
    for (const value of [null, Buffer.alloc(0), Buffer.from([0, 0, 0, 42]), Buffer.from([1, 0, 0, 0, 42, ...LINE_BODY])]) {
      await expect(d.decode(value, 'partner.lines')).rejects.toBeInstanceOf(DecodeError);
    }
    expect(quiet.calls).toHaveLength(0);
  });

  it('a writer schema that is not Avro is a DecodeError', async () => {
    const proto = fakeRegistry({}, (id) => (id === 7 ? Promise.resolve(Response.json({ schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' })) : undefined));
    const error = await decodeError(createDecoder({ registryUrl: REGISTRY, fetch: proto.fetch }).decode(frame(7, LINE_BODY), 'partner.lines'));
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as Error).message).toContain('PROTOBUF');
  });
});

describe('writer schema cache', () => {
  it('1000 concurrent records with a new id make one registry request, later records none', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const registry = fakeRegistry({ 42: PLAIN_SCHEMA, 43: PLAIN_SCHEMA }, (id) => (id === 42 ? gate.then(() => Response.json({ schema: JSON.stringify(PLAIN_SCHEMA) })) : undefined));
    const decoder = createDecoder({ registryUrl: REGISTRY, fetch: registry.fetch });

    const pending = Array.from({ length: 1000 }, () => decoder.decode(frame(42, LINE_BODY), 'partner.lines'));
    release();
    const decoded = await Promise.all(pending);
    expect(decoded.every((d) => d.schemaId === 42 && (d.value as { qty: number }).qty === 3)).toBe(true);
    expect(registry.calls).toHaveLength(1);

    await decoder.decode(frame(42, LINE_BODY), 'partner.lines');
    expect(registry.calls).toHaveLength(1);
    await decoder.decode(frame(43, LINE_BODY), 'partner.lines');
    expect(registry.calls.map((c) => c.url)).toEqual([`${REGISTRY}/schemas/ids/42`, `${REGISTRY}/schemas/ids/43`]);
  });

  it('a failed lookup is not cached: the registry is asked again on the next record', async () => {
    let down = true;
    const registry = fakeRegistry({ 42: PLAIN_SCHEMA }, () => (down ? Promise.reject(new TypeError('fetch failed')) : undefined));
    const decoder = createDecoder({ registryUrl: REGISTRY, fetch: registry.fetch });
    await expect(decoder.decode(frame(42, LINE_BODY), 'partner.lines')).rejects.toBeInstanceOf(RegistryError);
    down = false;
    await expect(decoder.decode(frame(42, LINE_BODY), 'partner.lines')).resolves.toEqual({ schemaId: 42, value: { name: 'ab', qty: 3 } });
    expect(registry.calls).toHaveLength(2);
  });
});

describe('registry answers, sorted', () => {
  it('404 with 40403 is an UnknownSchemaError, not retriable', async () => {
    const registry = fakeRegistry({});
    const error = await decodeError(createDecoder({ registryUrl: REGISTRY, fetch: registry.fetch }).decode(frame(987654, LINE_BODY), 'partner.lines'));
    expect(error).toBeInstanceOf(UnknownSchemaError);
    expect((error as UnknownSchemaError).schemaId).toBe(987654);
    expect((error as UnknownSchemaError).retriable).toBe(false);
  });

  it.each([
    ['unreachable', () => Promise.reject(new TypeError('fetch failed'))],
    ['503', () => Promise.resolve(Response.json({ error_code: 50003, message: 'store down' }, { status: 503 }))],
    ['500 with an HTML page', () => Promise.resolve(new Response('<html>oops</html>', { status: 500 }))],
  ])('%s is a retriable RegistryError', async (_, answer) => {
    const registry = fakeRegistry({ 42: PLAIN_SCHEMA }, answer);
    const error = await decodeError(createDecoder({ registryUrl: REGISTRY, fetch: registry.fetch }).decode(frame(42, LINE_BODY), 'partner.lines'));
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).retriable).toBe(true);
    expect((error as RegistryError).code).toBe('TRB_REGISTRY_UNAVAILABLE');
  });

  it('no answer within the timeout is a retriable RegistryError', async () => {
    const hanging = ((_: unknown, init?: RequestInit) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)))) as typeof fetch;
    const error = await decodeError(createDecoder({ registryUrl: REGISTRY, fetch: hanging, timeoutMs: 50 }).decode(frame(42, LINE_BODY), 'partner.lines'));
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).retriable).toBe(true);
    expect((error as Error).message).toContain('50 ms');
  });

  it('404 without 40403 (a wrong base path) is a RegistryError, not an unknown schema', async () => {
    const registry = fakeRegistry({}, () => Promise.resolve(new Response('Not Found', { status: 404 })));
    const error = await decodeError(createDecoder({ registryUrl: REGISTRY, fetch: registry.fetch }).decode(frame(42, LINE_BODY), 'partner.lines'));
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).not.toBeInstanceOf(UnknownSchemaError);
    expect((error as RegistryError).code).toBe('TRB_REGISTRY');
  });

  it('credentials in the URL become Basic auth and never appear in messages', async () => {
    const registry = fakeRegistry({ 42: PLAIN_SCHEMA }, (id) => (id === 43 ? Promise.resolve(new Response('', { status: 503 })) : undefined));
    const decoder = createDecoder({ registryUrl: 'https://svc-user:s3cr%40t@registry.example:8081/', fetch: registry.fetch });
    await decoder.decode(frame(42, LINE_BODY), 'partner.lines');
    expect(registry.calls[0]!.url).toBe('https://registry.example:8081/schemas/ids/42');
    expect(registry.calls[0]!.headers.authorization).toBe(`Basic ${Buffer.from('svc-user:s3cr@t').toString('base64')}`);

    const error = await decodeError(decoder.decode(frame(43, LINE_BODY), 'partner.lines'));
    expect((error as Error).message).toContain('https://svc-user:***@registry.example:8081');
    expect((error as Error).message).not.toContain('s3cr');
  });
});

describe('reading through the catalogue schema', () => {
  const current = loadCatalogue().require('stock.adjusted');
  // stock.adjusted as an older writer would have registered it: meta without the two optional ids.
  const olderSchema = structuredClone(current.schema) as { fields: { name: string; type: { fields: { name: string }[] } }[] };
  const meta = olderSchema.fields.find((f) => f.name === 'meta')!.type;
  meta.fields = meta.fields.filter((f) => f.name !== 'correlationId' && f.name !== 'causationId');
  const olderType = avro.Type.forSchema(olderSchema as never, avroOptions());
  const event = {
    meta: { eventId: 'WMS-ADJ-1', occurredAt: 1763630400000, source: 'WMS' },
    sku: 'SKU-10042',
    warehouse: 'DC-EAST',
    delta: -4,
    reason: 'DAMAGE',
  };
  const older = frame(11, [...olderType.toBuffer(event)]);
  const expected = { ...event, meta: { ...event.meta, correlationId: null, causationId: null } };

  it('an older writer is read with the current schema defaults; timestamps stay epoch millis', async () => {
    const registry = fakeRegistry({ 11: olderSchema });
    const decoded = await createDecoder({ registryUrl: REGISTRY, fetch: registry.fetch }).decode(older, 'stock.adjusted');
    expect(decoded).toEqual({ schemaId: 11, value: expected });
  });

  it('a prefixed test topic is read through the catalogue topic it maps to', async () => {
    const registry = fakeRegistry({ 11: olderSchema });
    const decoder = createDecoder({
      registryUrl: REGISTRY,
      fetch: registry.fetch,
      catalogueTopic: (topic) => topic.replace(/^t-[a-z0-9]+\./, ''),
    });
    await expect(decoder.decode(older, 't-abc123.stock.adjusted')).resolves.toEqual({ schemaId: 11, value: expected });
    // Without the mapping the same record is read with its writer schema: no defaults appear.
    const plain = await createDecoder({ registryUrl: REGISTRY, fetch: registry.fetch }).decode(older, 't-abc123.stock.adjusted');
    expect(plain.value).toEqual(event);
  });

  it('a writer the catalogue schema cannot read is a DecodeError', async () => {
    const incompatible = { type: 'record', name: 'StockAdjusted', namespace: 'tributary', fields: [{ name: 'delta', type: 'string' }] };
    const registry = fakeRegistry({ 12: incompatible });
    const error = await decodeError(createDecoder({ registryUrl: REGISTRY, fetch: registry.fetch }).decode(frame(12, [0x02, 0x31]), 'stock.adjusted'));
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as Error).message).toContain('stock.adjusted');
  });
});
