import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StackError } from '../errors';
import { findOnPath, parseJavaMajor, requireJava, requireMaven, requireRedisServer } from './prerequisites';

/** A JAVA_HOME whose bin/java prints `versionLine` on stderr, as `java -version` does. */
function fakeJavaHome(versionLine: string): string {
  const home = mkdtempSync(join(tmpdir(), 'tributary-fake-jdk-'));
  mkdirSync(join(home, 'bin'));
  const java = join(home, 'bin', 'java');
  writeFileSync(java, `#!/bin/sh\necho '${versionLine}' >&2\necho 'Runtime Environment (build x)' >&2\n`);
  chmodSync(java, 0o755);
  return home;
}

function caught(run: () => unknown): StackError {
  try {
    run();
  } catch (error) {
    if (error instanceof StackError) return error;
    throw error;
  }
  throw new Error('expected a StackError');
}

describe('parseJavaMajor', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['java version "1.8.0_392"', 8],
    ['openjdk version "11.0.22" 2024-01-16 LTS', 11],
    ['openjdk version "21" 2023-09-19', 21],
    ['openjdk version "22-ea" 2024-03-19', 22],
    ['Picked up JAVA_TOOL_OPTIONS: -Xss1m\nopenjdk version "25.0.1" 2025-10-21', 25],
    ['openjdk 21.0.2 2024-01-16', 21],
  ])('reads %j as Java %i', (output, major) => {
    expect(parseJavaMajor(output)).toBe(major);
  });

  it.each(['', 'bash: java: command not found', 'Error: could not find libjava.so'])('finds no version in %j', (output) => {
    expect(parseJavaMajor(output)).toBeUndefined();
  });
});

describe('requireJava', () => {
  it('accepts Java 17 from JAVA_HOME before PATH', () => {
    const home = fakeJavaHome('openjdk version "17.0.2" 2022-01-18');
    expect(requireJava({ JAVA_HOME: home, PATH: '' })).toEqual({ path: join(home, 'bin', 'java'), major: 17 });
  });

  it('refuses Java 11, naming the version found and what to install', () => {
    const home = fakeJavaHome('openjdk version "11.0.22" 2024-01-16');
    const error = caught(() => requireJava({ JAVA_HOME: home, PATH: '' }));
    expect(error.code).toBe('TRB_JAVA_MISSING');
    expect(error.message).toContain('found Java 11');
    expect(error.message).toContain('openjdk-17-jre-headless');
    expect(error.message).not.toContain('\n');
  });

  it('says what to install when java is on neither JAVA_HOME nor PATH', () => {
    const error = caught(() => requireJava({ PATH: mkdtempSync(join(tmpdir(), 'tributary-empty-path-')) }));
    expect(error.code).toBe('TRB_JAVA_MISSING');
    expect(error.message).toBe('Java 17+ is needed to run Kafka: install openjdk-17-jre-headless (apt) or set JAVA_HOME');
  });

  it('names a JAVA_HOME that has no bin/java', () => {
    const empty = mkdtempSync(join(tmpdir(), 'tributary-no-jdk-'));
    const error = caught(() => requireJava({ JAVA_HOME: empty, PATH: '/usr/bin' }));
    expect(error.code).toBe('TRB_JAVA_MISSING');
    expect(error.message).toContain(`JAVA_HOME=${empty} has no bin/java`);
  });
});

describe('requireMaven and requireRedisServer', () => {
  const emptyPath = () => mkdtempSync(join(tmpdir(), 'tributary-empty-path-'));

  it('says to install maven or set KAFKA_HOME', () => {
    const error = caught(() => requireMaven('3.9.1', { PATH: emptyPath() }));
    expect(error.code).toBe('TRB_MAVEN_MISSING');
    expect(error.message).toMatch(/install maven \(apt\).*KAFKA_HOME/);
  });

  it('says to install redis-server or set REDIS_URL', () => {
    const error = caught(() => requireRedisServer({ PATH: emptyPath() }));
    expect(error.message).toBe('redis-server is needed for the local stack: install redis-server (apt) or set REDIS_URL');
  });

  it('finds an executable on PATH and skips non-executable files', () => {
    const dir = emptyPath();
    writeFileSync(join(dir, 'mvn'), '#!/bin/sh\n');
    expect(findOnPath('mvn', { PATH: dir })).toBeUndefined();
    chmodSync(join(dir, 'mvn'), 0o755);
    expect(findOnPath('mvn', { PATH: `/nonexistent:${dir}` })).toBe(join(dir, 'mvn'));
  });
});
