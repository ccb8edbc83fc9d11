/**
 * The programs the local stack needs from the machine: Java 17+ (SPEC §3; Kafka 4 brokers require
 * it and 3.9 already deprecates 11), Maven (only to fetch the Kafka jars when
 * they are not cached and KAFKA_HOME is unset) and redis-server (only when REDIS_URL is unset).
 * Each missing program is a StackError whose one line says what to install.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { StackError } from '../errors';

export const MIN_JAVA = 17;

const JAVA_HINT = 'install openjdk-17-jre-headless (apt) or set JAVA_HOME';

/**
 * The major version in `java -version` output: "1.8.0_392" is 8, "17.0.15" is 17, "21" is 21,
 * "22-ea" is 22. Undefined when the output carries no version.
 */
export function parseJavaMajor(output: string): number | undefined {
  const quoted = /version "([^"]+)"/.exec(output)?.[1];
  // Some builds print `openjdk 21.0.2 2024-01-16` (the -version vs --version shape).
  const version = quoted ?? /^(?:openjdk|java)\s+(\d[^\s]*)/m.exec(output)?.[1];
  if (!version) return undefined;
  const parts = /^(\d+)(?:\.(\d+))?/.exec(version);
  if (!parts) return undefined;
  const first = Number(parts[1]);
  return first === 1 && parts[2] !== undefined ? Number(parts[2]) : first;
}

function isExecutable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export interface Java {
  path: string;
  major: number;
}

export function requireJava(env: NodeJS.ProcessEnv = process.env): Java {
  let path: string | undefined;
  if (env.JAVA_HOME) {
    path = join(env.JAVA_HOME, 'bin', 'java');
    if (!isExecutable(path)) {
      throw new StackError('TRB_JAVA_MISSING', `Java ${MIN_JAVA}+ is needed to run Kafka, but JAVA_HOME=${env.JAVA_HOME} has no bin/java: point JAVA_HOME at a Java ${MIN_JAVA}+ installation or unset it`);
    }
  } else {
    path = findOnPath('java', env);
    if (!path) throw new StackError('TRB_JAVA_MISSING', `Java ${MIN_JAVA}+ is needed to run Kafka: ${JAVA_HINT}`);
  }
  const run = spawnSync(path, ['-version'], { encoding: 'utf8', timeout: 20_000, env });
  const major = parseJavaMajor(`${run.stderr ?? ''}\n${run.stdout ?? ''}`);
  if (run.error || major === undefined) {
    throw new StackError('TRB_JAVA_MISSING', `Java ${MIN_JAVA}+ is needed to run Kafka, but \`${path} -version\` gave no version: ${JAVA_HINT}`);
  }
  if (major < MIN_JAVA) {
    throw new StackError('TRB_JAVA_MISSING', `Java ${MIN_JAVA}+ is needed to run Kafka, found Java ${major} at ${path}: ${JAVA_HINT}`);
  }
  return { path, major };
}

export function requireMaven(kafkaVersion: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.MAVEN_HOME ?? env.M2_HOME;
  const path = (home && isExecutable(join(home, 'bin', 'mvn')) ? join(home, 'bin', 'mvn') : undefined) ?? findOnPath('mvn', env);
  if (!path) {
    throw new StackError(
      'TRB_MAVEN_MISSING',
      `Maven is needed to fetch the Apache Kafka ${kafkaVersion} jars: install maven (apt), or set KAFKA_HOME to an unpacked Kafka ${kafkaVersion} download, or set KAFKA_BROKERS`,
    );
  }
  return path;
}

export function requireRedisServer(env: NodeJS.ProcessEnv = process.env): string {
  const path = findOnPath('redis-server', env);
  if (!path) throw new StackError('TRB_STACK_START_FAILED', 'redis-server is needed for the local stack: install redis-server (apt) or set REDIS_URL');
  return path;
}
