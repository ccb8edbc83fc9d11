import { describe, expect, it } from 'vitest';
import { registryEnv } from './registry';

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
