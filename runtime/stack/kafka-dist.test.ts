import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StackError } from '../errors';
import { cachedLibsDir, kafkaDistAvailable, kafkaPom, kafkaVersionIn, resolveKafkaDist, tributaryCache } from './kafka-dist';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'tributary-dist-'));
}

function libsWith(dir: string, names: string[]): string {
  mkdirSync(dir, { recursive: true });
  for (const name of names) writeFileSync(join(dir, name), '');
  return dir;
}

describe('the jar cache location', () => {
  it('prefers TRIBUTARY_CACHE, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(tributaryCache({ TRIBUTARY_CACHE: '/c/t', XDG_CACHE_HOME: '/x' })).toBe('/c/t');
    expect(tributaryCache({ XDG_CACHE_HOME: '/x' })).toBe('/x/tributary');
    expect(tributaryCache({})).toBe(join(homedir(), '.cache', 'tributary'));
    expect(cachedLibsDir({ TRIBUTARY_CACHE: '/c/t' })).toBe('/c/t/kafka-3.9.1/libs');
  });
});

describe('kafkaPom', () => {
  it('is a pom-packaged project depending on the Kafka 3.9.1 broker and a log4j binding', () => {
    const pom = kafkaPom();
    expect(pom).toContain('<packaging>pom</packaging>');
    const dependencies = [...pom.matchAll(/<dependency><groupId>([^<]+)<\/groupId><artifactId>([^<]+)<\/artifactId><version>([^<]+)<\/version><\/dependency>/g)].map(
      (m) => `${m[1]}:${m[2]}:${m[3]}`,
    );
    expect(dependencies).toEqual(['org.apache.kafka:kafka_2.13:3.9.1', 'org.slf4j:slf4j-reload4j:1.7.36']);
  });
});

describe('kafkaVersionIn', () => {
  it('reads the version from the broker jar, not from kafka-clients or sources jars', () => {
    const libs = libsWith(join(tempDir(), 'libs'), ['kafka-clients-3.8.0.jar', 'kafka_2.13-3.8.0-sources.jar', 'kafka_2.13-3.8.0.jar']);
    expect(kafkaVersionIn(libs)).toBe('3.8.0');
  });

  it('is undefined for a folder without the broker jar, or no folder', () => {
    expect(kafkaVersionIn(libsWith(join(tempDir(), 'libs'), ['kafka-clients-3.9.1.jar']))).toBeUndefined();
    expect(kafkaVersionIn(join(tempDir(), 'missing'))).toBeUndefined();
  });
});

describe('resolveKafkaDist without fetching', () => {
  const noMaven = () => ({ PATH: tempDir() });

  it('uses $KAFKA_HOME/libs when KAFKA_HOME is set', async () => {
    const kafkaHome = tempDir();
    libsWith(join(kafkaHome, 'libs'), ['kafka_2.13-3.9.0.jar']);
    await expect(resolveKafkaDist({ env: { ...noMaven(), KAFKA_HOME: kafkaHome } })).resolves.toEqual({
      libs: join(kafkaHome, 'libs'),
      version: '3.9.0',
      source: 'KAFKA_HOME',
    });
  });

  it('refuses a KAFKA_HOME without Kafka jars, in one line', async () => {
    const error = await resolveKafkaDist({ env: { ...noMaven(), KAFKA_HOME: tempDir() } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackError);
    expect((error as StackError).message).toMatch(/^KAFKA_HOME=.* has no libs\/kafka_\*\.jar: /);
  });

  it('refuses a KAFKA_HOME of another Kafka line, in one line naming both versions', async () => {
    const kafkaHome = tempDir();
    libsWith(join(kafkaHome, 'libs'), ['kafka_2.13-3.8.1.jar', 'kafka-clients-3.8.1.jar']);
    const error = await resolveKafkaDist({ env: { ...noMaven(), KAFKA_HOME: kafkaHome } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StackError);
    expect((error as StackError).message).toBe(
      `KAFKA_HOME=${kafkaHome} holds Apache Kafka 3.8.1, the local stack needs 3.9.x: point it at a Kafka 3.9 download or unset it`,
    );
    const newer = tempDir();
    libsWith(join(newer, 'libs'), ['kafka_2.13-4.0.0.jar']);
    await expect(resolveKafkaDist({ env: { ...noMaven(), KAFKA_HOME: newer } })).rejects.toThrow(/holds Apache Kafka 4\.0\.0, the local stack needs 3\.9\.x/);
  });

  it('uses a complete cache without Maven', async () => {
    const cache = tempDir();
    const libs = libsWith(cachedLibsDir({ TRIBUTARY_CACHE: cache }), ['kafka_2.13-3.9.1.jar', '.tributary-complete']);
    const env = { ...noMaven(), TRIBUTARY_CACHE: cache };
    expect(kafkaDistAvailable(env)).toBe(true);
    await expect(resolveKafkaDist({ env })).resolves.toEqual({ libs, version: '3.9.1', source: 'cache' });
  });

  it('treats a cache without the completion marker as absent, and needs Maven to redo it', async () => {
    const cache = tempDir();
    libsWith(cachedLibsDir({ TRIBUTARY_CACHE: cache }), ['kafka_2.13-3.9.1.jar']);
    const env = { ...noMaven(), TRIBUTARY_CACHE: cache };
    expect(kafkaDistAvailable(env)).toBe(false);
    const error = await resolveKafkaDist({ env }).catch((e: unknown) => e);
    expect((error as StackError).code).toBe('TRB_MAVEN_MISSING');
    expect(existsSync(`${cachedLibsDir(env)}.lock`), 'the fetch lock is released').toBe(false);
  });
});
