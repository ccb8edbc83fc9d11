import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConnection, resolveRegistryUrl } from './connection';
import { writeStackRecord, type StackRecord } from './home';

function homeWith(kafkaPid: number): string {
  const home = mkdtempSync(join(tmpdir(), 'tributary-connection-'));
  const record: StackRecord = {
    home,
    startedAt: '2026-01-01T00:00:00.000Z',
    kafka: { brokers: ['127.0.0.1:4000'], controllerPort: 4001, pid: kafkaPid, version: '3.9.1' },
    registry: { url: 'http://127.0.0.1:4002', pid: 11 },
    redis: { url: 'redis://127.0.0.1:4003', pid: 12 },
  };
  writeStackRecord(record);
  return home;
}

describe('resolveConnection security', () => {
  const sasl = { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' };

  it("is none for the local stack's own broker, even when the user's SASL settings are set", () => {
    const connection = resolveConnection({ ...sasl, TRIBUTARY_HOME: homeWith(10) });
    expect(connection.brokers).toEqual(['127.0.0.1:4000']);
    expect(connection.security).toBe('none');
  });

  it('is env for brokers from KAFKA_BROKERS, and for a record naming brokers it was given (pid 0)', () => {
    expect(resolveConnection({ ...sasl, TRIBUTARY_HOME: homeWith(10), KAFKA_BROKERS: 'prod:9093' }).security).toBe('env');
    expect(resolveConnection({ ...sasl, TRIBUTARY_HOME: homeWith(0) }).security).toBe('env');
  });
});

describe('resolveRegistryUrl', () => {
  it('needs only SCHEMA_REGISTRY_URL: no Kafka, Redis or local stack', () => {
    const home = mkdtempSync(join(tmpdir(), 'tributary-connection-empty-'));
    expect(resolveRegistryUrl({ SCHEMA_REGISTRY_URL: 'http://registry:8081/', TRIBUTARY_HOME: home })).toBe('http://registry:8081');
    expect(() => resolveConnection({ SCHEMA_REGISTRY_URL: 'http://registry:8081/', TRIBUTARY_HOME: home })).toThrow(/no local stack/);
  });

  it("falls back to the local stack's registry, and refuses a URL that is not http(s)", () => {
    expect(resolveRegistryUrl({ TRIBUTARY_HOME: homeWith(10) })).toBe('http://127.0.0.1:4002');
    expect(() => resolveRegistryUrl({ SCHEMA_REGISTRY_URL: 'ftp://registry' })).toThrow(/must use http: or https:/);
  });
});

describe('a command that does not use Redis', () => {
  it('needs only KAFKA_BROKERS and SCHEMA_REGISTRY_URL, no REDIS_URL or local stack', () => {
    const home = mkdtempSync(join(tmpdir(), 'tributary-connection-noredis-'));
    const env = { KAFKA_BROKERS: 'kafka:9092', SCHEMA_REGISTRY_URL: 'http://registry:8081', TRIBUTARY_HOME: home };
    expect(resolveConnection(env, { redis: false })).toMatchObject({ brokers: ['kafka:9092'], registryUrl: 'http://registry:8081', redisUrl: '' });
    // A command that does use Redis still asks for it.
    expect(() => resolveConnection(env)).toThrow(/REDIS_URL not set/);
    // Without Kafka's address it still needs the stack, and names only what it lacks.
    expect(() => resolveConnection({ SCHEMA_REGISTRY_URL: 'http://registry:8081', TRIBUTARY_HOME: home }, { redis: false })).toThrow(/and KAFKA_BROKERS not set/);
  });
});
