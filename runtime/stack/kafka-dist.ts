/**
 * The Apache Kafka 3.9.1 jars the local broker runs from: `$KAFKA_HOME/libs` when KAFKA_HOME is
 * set (it must be a 3.9.x distribution), else a cache outside the repository,
 * `${TRIBUTARY_CACHE:-${XDG_CACHE_HOME:-~/.cache}/tributary}/kafka-3.9.1/libs`, filled once from
 * Maven Central by Maven (a throwaway pom whose runtime dependencies are the broker and a log4j
 * binding). The download goes to `libs.partial` and is renamed with a marker inside only when
 * complete, so an interrupted fetch is redone; a lock file keeps two processes from fetching at once.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { StackError } from '../errors';
import { withLock } from './lock';
import { requireMaven } from './prerequisites';

export const KAFKA_VERSION = '3.9.1';
/** The release line a KAFKA_HOME must be from. */
const KAFKA_LINE = KAFKA_VERSION.split('.').slice(0, 2).join('.');
/** Pinned, so a fresh machine resolves the same plugin (Maven would otherwise pick its default or the newest). */
export const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const SCALA_VERSION = '2.13';
const COMPLETE_MARKER = '.tributary-complete';
const FETCH_TIMEOUT_MS = 15 * 60_000;

export interface KafkaDist {
  libs: string;
  version: string;
  source: 'KAFKA_HOME' | 'cache' | 'maven';
}

export function tributaryCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRIBUTARY_CACHE) return resolve(env.TRIBUTARY_CACHE);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'tributary');
}

export function cachedLibsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(tributaryCache(env), `kafka-${KAFKA_VERSION}`, 'libs');
}

export function kafkaPom(version = KAFKA_VERSION): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.tributary.local</groupId>
  <artifactId>kafka-broker-runtime</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_${SCALA_VERSION}</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;
}

/** The Kafka version a libs folder holds, read from its `kafka_<scala>-<version>.jar`. */
export function kafkaVersionIn(libs: string): string | undefined {
  try {
    for (const name of readdirSync(libs)) {
      const match = /^kafka_\d+\.\d+-(\d+\.\d+\.\d+[^/]*?)\.jar$/.exec(name);
      if (match && !/-(sources|javadoc|test)$/.test(match[1]!)) return match[1];
    }
  } catch {
    // A missing folder holds no version.
  }
  return undefined;
}

function isComplete(libs: string): boolean {
  return existsSync(join(libs, COMPLETE_MARKER)) && kafkaVersionIn(libs) !== undefined;
}

/** Whether the jars can be had without Maven (KAFKA_HOME set, or already cached). */
export function kafkaDistAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KAFKA_HOME) || isComplete(cachedLibsDir(env));
}

function runMaven(mvn: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(mvn, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-16 * 1024);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), FETCH_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

async function fetchWithMaven(target: string, env: NodeJS.ProcessEnv, onProgress: (message: string) => void): Promise<void> {
  const mvn = requireMaven(KAFKA_VERSION, env);
  const partial = `${target}.partial`;
  rmSync(partial, { recursive: true, force: true });
  const project = mkdtempSync(join(tmpdir(), 'tributary-kafka-pom-'));
  try {
    writeFileSync(join(project, 'pom.xml'), kafkaPom());
    onProgress(`fetching Apache Kafka ${KAFKA_VERSION} jars from Maven Central into ${target} (once; about 50 MB)`);
    const started = Date.now();
    const { code, output } = await runMaven(
      mvn,
      ['-q', '-B', `${DEPENDENCY_PLUGIN}:copy-dependencies`, '-DincludeScope=runtime', `-DoutputDirectory=${partial}`],
      project,
      env,
    );
    if (code !== 0 || kafkaVersionIn(partial) !== KAFKA_VERSION) {
      const reason = output
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.startsWith('[ERROR]'))
        .slice(0, 1)
        .join(' ');
      throw new StackError(
        'TRB_STACK_START_FAILED',
        `Maven could not fetch the Apache Kafka ${KAFKA_VERSION} jars (exit ${code})${reason ? `: ${reason.slice(0, 300)}` : ''}: check network access to Maven Central, or set KAFKA_HOME`,
      );
    }
    writeFileSync(join(partial, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
    rmSync(target, { recursive: true, force: true });
    renameSync(partial, target);
    const jars = readdirSync(target).filter((name) => name.endsWith('.jar')).length;
    onProgress(`fetched ${jars} jars in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(project, { recursive: true, force: true });
    rmSync(partial, { recursive: true, force: true });
  }
}

export async function resolveKafkaDist(
  options: { env?: NodeJS.ProcessEnv; onProgress?: (message: string) => void } = {},
): Promise<KafkaDist> {
  const env = options.env ?? process.env;
  const onProgress = options.onProgress ?? (() => {});
  if (env.KAFKA_HOME) {
    const libs = join(resolve(env.KAFKA_HOME), 'libs');
    const version = kafkaVersionIn(libs);
    if (!version) {
      throw new StackError('TRB_STACK_START_FAILED', `KAFKA_HOME=${env.KAFKA_HOME} has no libs/kafka_*.jar: point it at an unpacked Apache Kafka 3.9 download or unset it`);
    }
    // The broker config and the KRaft storage format are written for 3.9; other lines differ in both.
    if (!version.startsWith(`${KAFKA_LINE}.`)) {
      throw new StackError(
        'TRB_STACK_START_FAILED',
        `KAFKA_HOME=${env.KAFKA_HOME} holds Apache Kafka ${version}, the local stack needs ${KAFKA_LINE}.x: point it at a Kafka ${KAFKA_LINE} download or unset it`,
      );
    }
    return { libs, version, source: 'KAFKA_HOME' };
  }
  const libs = cachedLibsDir(env);
  if (isComplete(libs)) return { libs, version: KAFKA_VERSION, source: 'cache' };
  return withLock(
    `${libs}.lock`,
    'fetching the Kafka jars',
    { timeoutMs: FETCH_TIMEOUT_MS, onWait: (pid) => onProgress(`waiting for pid ${pid}, which is fetching the Kafka jars`) },
    async () => {
      // The other process may have finished the fetch while we waited for the lock.
      if (!isComplete(libs)) await fetchWithMaven(libs, env, onProgress);
      return { libs, version: KAFKA_VERSION, source: 'maven' as const };
    },
  );
}
