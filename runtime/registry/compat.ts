/**
 * Schema compatibility, decided by Avro schema resolution as avsc implements it: a reader can read
 * a writer's data ⇔ `reader.createResolver(writer)` does not throw. Names are compared without
 * their namespace (as Avro Java's SchemaCompatibility does), aliases count.
 *
 * BACKWARD: the new schema reads data written with the old one. FORWARD: the old one reads the
 * new one's data. FULL: both. Non-transitive levels check against the latest live version only,
 * transitive ones against every live version. NONE checks nothing.
 */
import type avro from 'avsc';

export const COMPATIBILITY_LEVELS = [
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
  'NONE',
] as const;

export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';

/** Case-insensitive, as Confluent accepts `backward`; undefined when not a level. */
export function parseCompatibilityLevel(value: unknown): CompatibilityLevel | undefined {
  if (typeof value !== 'string') return undefined;
  const upper = value.toUpperCase();
  return (COMPATIBILITY_LEVELS as readonly string[]).includes(upper) ? (upper as CompatibilityLevel) : undefined;
}

/** Why `reader` cannot read data written with `writer`, or undefined when it can. */
export function readProblem(reader: avro.Type, writer: avro.Type): string | undefined {
  try {
    reader.createResolver(writer, { ignoreNamespaces: true } as never);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export interface PreviousVersion {
  version: number;
  type: avro.Type;
}

/**
 * Problems found checking `candidate` against `previous` (oldest first) at `level`; empty means
 * compatible.
 */
export function compatibilityProblems(
  level: CompatibilityLevel,
  candidate: avro.Type,
  previous: readonly PreviousVersion[],
): string[] {
  if (level === 'NONE' || previous.length === 0) return [];
  const transitive = level.endsWith('_TRANSITIVE');
  const targets = transitive ? previous : previous.slice(-1);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const problems: string[] = [];
  for (const old of targets) {
    if (backward) {
      const problem = readProblem(candidate, old.type);
      if (problem) problems.push(`${level}: the new schema cannot read data written with version ${old.version}: ${problem}`);
    }
    if (forward) {
      const problem = readProblem(old.type, candidate);
      if (problem) problems.push(`${level}: version ${old.version} cannot read data written with the new schema: ${problem}`);
    }
  }
  return problems;
}
