/**
 * The SDK's schema id lookup (producers/sdk/schema-ids.ts) against the real registry, through a
 * proxy this test controls: a registry that answers 503 (or too slowly) is asked again and the id
 * is the registry's; one that keeps failing, or refuses the connection, is a retriable
 * TRB_REGISTRY_UNAVAILABLE at once.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schemaIds } from '../../producers/sdk/schema-ids';
import { RegistryError } from '../../runtime/errors';
import { loadCatalogue } from '../../runtime/schemas/catalogue';
import { uniqueName } from '../harness/names';
import { testStack } from '../harness/stack';

const schema = loadCatalogue().require('stock.adjusted').schema as Record<string, unknown>;
let proxy: Server;
let proxyUrl: string;
/** Requests still to be answered 503 by the proxy instead of being forwarded. */
let failNext = 0;
let forwarded = 0;
let refused = 0;

beforeAll(async () => {
  const registry = testStack().registryUrl.replace(/\/+$/, '');
  proxy = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      if (failNext > 0) {
        failNext--;
        refused++;
        response.writeHead(503, { 'content-type': 'application/json' }).end('{"error_code":50301,"message":"busy"}');
        return;
      }
      forwarded++;
      const answer = await fetch(`${registry}${request.url}`, { method: request.method, headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined });
      response.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
});

describe('schema ids from a registry that answers 5xx', () => {
  it('asks again after two 503s and gets the id the registry gives', async () => {
    const subject = `${uniqueName('ids')}.stock.adjusted-value`;
    const direct = await schemaIds(testStack().registryUrl).idFor(subject, schema);
    failNext = 2;
    refused = 0;
    forwarded = 0;
    const id = await schemaIds(proxyUrl).idFor(subject, schema);
    expect(id).toBe(direct);
    expect(refused).toBe(2);
    expect(forwarded).toBe(1);
  });

  it('gives up after three 503s in a row with a retriable TRB_REGISTRY_UNAVAILABLE', async () => {
    failNext = 3;
    refused = 0;
    const error = await schemaIds(proxyUrl).idFor(`${uniqueName('ids')}.stock.adjusted-value`, schema).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'TRB_REGISTRY_UNAVAILABLE', retriable: true, status: 503 });
    expect(refused).toBe(3);
  });

  it('fails at once when the connection is cut (a registry that is down is not asked again)', async () => {
    let connections = 0;
    const cutting = createNetServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => cutting.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = cutting.address() as AddressInfo;
      const error = await schemaIds(`http://127.0.0.1:${port}`).idFor('x-value', schema).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'TRB_REGISTRY_UNAVAILABLE', status: 0 });
      expect((error as Error).message).toMatch(/cannot be reached.*start it or fix SCHEMA_REGISTRY_URL/);
      expect(connections).toBe(1);
    } finally {
      await new Promise((resolve) => cutting.close(resolve));
    }
  });
});
