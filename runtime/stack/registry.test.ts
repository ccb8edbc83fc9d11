import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { registryAnswers, registryEnv } from './registry';

describe('registryEnv', () => {
  const user = {
    PATH: '/usr/bin',
    KAFKA_BROKERS: 'prod:9093',
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'svc',
    KAFKA_SASL_PASSWORD: 'secret',
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA: '/etc/ca.pem',
    SCHEMA_REGISTRY_URL: 'https://u:p@sr.example',
    REDIS_URL: 'redis://:p@cache',
    TRIBUTARY_HOME: '/elsewhere',
  };

  it("points the registry at the stack's own Kafka in plaintext: the user's SASL/TLS settings stay out", () => {
    expect(registryEnv(['127.0.0.1:4000'], '/h', user)).toEqual({ PATH: '/usr/bin', KAFKA_BROKERS: '127.0.0.1:4000', TRIBUTARY_HOME: '/h' });
  });

  it('keeps the SASL/TLS settings for brokers given by KAFKA_BROKERS', () => {
    const env = registryEnv(['prod:9093'], '/h', user, false);
    expect(env).toEqual({
      PATH: '/usr/bin',
      KAFKA_BROKERS: 'prod:9093',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: 'secret',
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA: '/etc/ca.pem',
      TRIBUTARY_HOME: '/h',
    });
  });
});

describe('registryAnswers', () => {
  it('answers for a registry given with credentials in its URL, sending them as Basic auth', async () => {
    const server = createServer((request, response) => {
      const ok = request.url === '/subjects' && request.headers.authorization === `Basic ${Buffer.from('alice:p@ss').toString('base64')}`;
      response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end('[]');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await registryAnswers(`http://alice:p%40ss@127.0.0.1:${port}`)).toBe(true);
      expect(await registryAnswers(`http://alice:wrong@127.0.0.1:${port}`)).toBe(false);
      expect(await registryAnswers(`http://127.0.0.1:${port}`)).toBe(false);
    } finally {
      server.close();
    }
  });
});
