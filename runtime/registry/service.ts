/**
 * The registry's operations with Confluent's semantics and error codes, over a RegistryState and
 * a SchemaLog that appends records and resolves once they are applied to that state (so a write
 * is visible to the next read). Writes are serialized in this process, and each one first waits
 * until the state has applied everything already in the log (`catchUp`), as Confluent's leader
 * does: ids and versions are allocated from the state, so it must include writes made by other
 * instances and writes of ours whose apply timed out. Writers taking turns are safe; two writing
 * at the same instant are not (see kafka-log.ts).
 *
 * Errors are RegistryError(message, httpStatus, confluentErrorCode).
 */
import type avro from 'avsc';
import { RegistryError } from '../errors';
import { InvalidSchemaError, parseAvroSchema, type ParsedSchema } from './avro-schema';
import { compatibilityProblems, parseCompatibilityLevel, type CompatibilityLevel } from './compat';
import { configRecord, schemaRecord, type LogRecord, type RegistryState, type VersionEntry } from './state';

export interface SchemaLog {
  /** Resolves once every record already in the log has been applied to the state. */
  catchUp(): Promise<void>;
  append(records: LogRecord[]): Promise<void>;
}

export interface SchemaRequest {
  schema?: unknown;
  schemaType?: unknown;
  references?: unknown;
}

export const ERROR = {
  SUBJECT_NOT_FOUND: 40401,
  VERSION_NOT_FOUND: 40402,
  SCHEMA_NOT_FOUND: 40403,
  SUBJECT_SOFT_DELETED: 40404,
  SUBJECT_NOT_SOFT_DELETED: 40405,
  VERSION_SOFT_DELETED: 40406,
  VERSION_NOT_SOFT_DELETED: 40407,
  SUBJECT_LEVEL_NOT_CONFIGURED: 40408,
  INCOMPATIBLE: 409,
  INVALID_SCHEMA: 42201,
  INVALID_VERSION: 42202,
  INVALID_COMPATIBILITY: 42203,
  STORE: 50001,
  TIMEOUT: 50002,
} as const;

const MAX_VERSION = 2 ** 31 - 1;

export const subjectNotFound = (subject: string) =>
  new RegistryError(`Subject '${subject}' not found.`, 404, ERROR.SUBJECT_NOT_FOUND);
const versionNotFound = (version: number | string) =>
  new RegistryError(`Version ${version} not found.`, 404, ERROR.VERSION_NOT_FOUND);
const schemaNotFound = (id?: number) =>
  new RegistryError(id === undefined ? 'Schema not found' : `Schema ${id} not found`, 404, ERROR.SCHEMA_NOT_FOUND);
const invalidSchema = (message: string) => new RegistryError(message, 422, ERROR.INVALID_SCHEMA);
const invalidCompatibility = () =>
  new RegistryError(
    'Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive',
    422,
    ERROR.INVALID_COMPATIBILITY,
  );

/** A version path segment: a number in [1, 2^31-1], or `latest` / `-1` (undefined here). */
export function parseVersion(raw: string): number | 'latest' {
  if (raw === 'latest' || raw === '-1') return 'latest';
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_VERSION) {
    throw new RegistryError(
      `The specified version '${raw}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
      422,
      ERROR.INVALID_VERSION,
    );
  }
  return n;
}

export class SchemaRegistryService {
  private writes: Promise<unknown> = Promise.resolve();
  private readonly types = new Map<string, avro.Type>();

  constructor(
    readonly state: RegistryState,
    private readonly log: SchemaLog,
  ) {}

  /**
   * Runs write operations one at a time, each after the state has caught up with the log, so
   * allocation sees the effect of every earlier write, ours or another instance's.
   */
  private serialize<T>(operation: () => Promise<T>): Promise<T> {
    const caughtUp = async () => {
      await this.store(() => this.log.catchUp());
      return operation();
    };
    const run = this.writes.then(caughtUp, caughtUp);
    this.writes = run.catch(() => undefined);
    return run;
  }

  private append(records: LogRecord[]): Promise<void> {
    return this.store(() => this.log.append(records));
  }

  private async store(operation: () => Promise<void>): Promise<void> {
    try {
      await operation();
    } catch (error) {
      if (error instanceof RegistryError) throw error;
      throw new RegistryError(`Error while writing to the Kafka store: ${(error as Error).message}`, 500, ERROR.STORE, error);
    }
  }

  private typeOf(schema: string): avro.Type {
    let type = this.types.get(schema);
    if (!type) {
      type = parseAvroSchema(schema).type;
      this.types.set(schema, type);
    }
    return type;
  }

  parse(request: SchemaRequest): ParsedSchema {
    if (request.schemaType !== undefined && request.schemaType !== null && request.schemaType !== 'AVRO') {
      throw invalidSchema(`Invalid schema type ${String(request.schemaType)}: this registry supports AVRO only`);
    }
    if (Array.isArray(request.references) && request.references.length > 0) {
      throw invalidSchema('Schema references are not supported by the embedded registry: inline the referenced types');
    }
    try {
      const parsed = parseAvroSchema(request.schema);
      this.types.set(parsed.canonical, parsed.type);
      return parsed;
    } catch (error) {
      if (error instanceof InvalidSchemaError) throw invalidSchema(error.message);
      throw error;
    }
  }

  /** A version of a subject; `latest` is the newest one visible with `includeDeleted`. */
  version(subject: string, raw: string, includeDeleted = false): VersionEntry {
    const wanted = parseVersion(raw);
    const versions = this.state.versions(subject, includeDeleted);
    if (versions.length === 0) throw subjectNotFound(subject);
    const entry = wanted === 'latest' ? versions.at(-1) : versions.find((v) => v.version === wanted);
    if (!entry) throw versionNotFound(wanted);
    return entry;
  }

  versionNumbers(subject: string, includeDeleted = false): number[] {
    const versions = this.state.versions(subject, includeDeleted);
    if (versions.length === 0) throw subjectNotFound(subject);
    return versions.map((v) => v.version);
  }

  schemaById(id: number): string {
    const schema = this.state.schemaById(id);
    if (schema === undefined) throw schemaNotFound(id);
    return schema;
  }

  register(subject: string, request: SchemaRequest): Promise<{ id: number }> {
    const parsed = this.parse(request);
    return this.serialize(async () => {
      const all = this.state.versions(subject, true);
      const live = all.filter((v) => !v.deleted);
      const same = live.find((v) => v.schema === parsed.canonical);
      if (same) return { id: same.id };
      const level = this.state.effectiveCompatibility(subject);
      const problems = this.problems(level, parsed.type, live);
      if (problems.length > 0) {
        throw new RegistryError(
          `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: ${problems.join('; ')}`,
          409,
          ERROR.INCOMPATIBLE,
        );
      }
      const id = this.state.idOf(parsed.canonical) ?? this.state.nextId();
      const version = (all.at(-1)?.version ?? 0) + 1;
      await this.append([schemaRecord({ subject, version, id, schema: parsed.canonical, deleted: false })]);
      return { id };
    });
  }

  lookup(subject: string, request: SchemaRequest, includeDeleted = false): VersionEntry {
    const versions = this.state.versions(subject, includeDeleted);
    if (versions.length === 0) throw subjectNotFound(subject);
    const parsed = this.parse(request);
    const match = [...versions].reverse().find((v) => v.schema === parsed.canonical);
    if (!match) throw schemaNotFound();
    return match;
  }

  private problems(level: CompatibilityLevel, candidate: avro.Type, against: VersionEntry[]): string[] {
    return compatibilityProblems(
      level,
      candidate,
      against.map((v) => ({ version: v.version, type: this.typeOf(v.schema) })),
    );
  }

  /** `version` undefined: against the subject's live versions as registration would check. */
  checkCompatibility(subject: string, version: string | undefined, request: SchemaRequest, verbose: boolean): { is_compatible: boolean; messages?: string[] } {
    let against: VersionEntry[];
    if (version === undefined) {
      against = this.state.versions(subject);
    } else {
      const wanted = parseVersion(version);
      const live = this.state.versions(subject);
      if (wanted === 'latest') {
        against = live.slice(-1);
      } else {
        if (live.length === 0) throw subjectNotFound(subject);
        const entry = live.find((v) => v.version === wanted);
        if (!entry) throw versionNotFound(wanted);
        against = [entry];
      }
    }
    let problems: string[];
    try {
      problems = this.problems(this.state.effectiveCompatibility(subject), this.parse(request).type, against);
    } catch (error) {
      if (verbose && error instanceof RegistryError && error.errorCode === ERROR.INVALID_SCHEMA) problems = [error.message];
      else throw error;
    }
    return verbose ? { is_compatible: problems.length === 0, messages: problems } : { is_compatible: problems.length === 0 };
  }

  deleteVersion(subject: string, raw: string, permanent: boolean): Promise<number> {
    const wanted = parseVersion(raw);
    return this.serialize(async () => {
      const all = this.state.versions(subject, true);
      if (all.length === 0) throw subjectNotFound(subject);
      const entry =
        wanted === 'latest' ? (permanent ? all : all.filter((v) => !v.deleted)).at(-1) : all.find((v) => v.version === wanted);
      if (!entry) throw versionNotFound(wanted);
      if (!permanent && entry.deleted) {
        throw new RegistryError(
          `Subject '${subject}' Version ${entry.version} was soft deleted. Set permanent=true to delete permanently`,
          404,
          ERROR.VERSION_SOFT_DELETED,
        );
      }
      if (permanent && !entry.deleted) {
        throw new RegistryError(
          `Subject '${subject}' Version ${entry.version} was not deleted first before being permanently deleted`,
          404,
          ERROR.VERSION_NOT_SOFT_DELETED,
        );
      }
      await this.append([
        permanent ? { key: schemaRecord(entry).key, value: null } : schemaRecord({ ...entry, deleted: true }),
      ]);
      return entry.version;
    });
  }

  deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.serialize(async () => {
      const all = this.state.versions(subject, true);
      if (all.length === 0) throw subjectNotFound(subject);
      const live = all.filter((v) => !v.deleted);
      if (!permanent) {
        if (live.length === 0) {
          throw new RegistryError(
            `Subject '${subject}' was soft deleted.Set permanent=true to delete permanently`,
            404,
            ERROR.SUBJECT_SOFT_DELETED,
          );
        }
        await this.append(live.map((v) => schemaRecord({ ...v, deleted: true })));
        return live.map((v) => v.version);
      }
      if (live.length > 0) {
        throw new RegistryError(
          `Subject '${subject}' was not deleted first before being permanently deleted`,
          404,
          ERROR.SUBJECT_NOT_SOFT_DELETED,
        );
      }
      const records: LogRecord[] = all.map((v) => ({ key: schemaRecord(v).key, value: null }));
      // A permanently deleted subject leaves no configuration behind, as in Confluent.
      if (this.state.subjectCompatibility(subject)) records.push(configRecord(subject, null));
      await this.append(records);
      return all.map((v) => v.version);
    });
  }

  subjectConfig(subject: string, defaultToGlobal: boolean): CompatibilityLevel {
    const level = this.state.subjectCompatibility(subject);
    if (level) return level;
    if (defaultToGlobal) return this.state.globalCompatibility();
    throw new RegistryError(
      `Subject '${subject}' does not have subject-level compatibility configured`,
      404,
      ERROR.SUBJECT_LEVEL_NOT_CONFIGURED,
    );
  }

  setConfig(subject: string | null, body: unknown): Promise<CompatibilityLevel> {
    const raw = body && typeof body === 'object' ? (body as { compatibility?: unknown }).compatibility : undefined;
    const level = parseCompatibilityLevel(raw);
    if (!level) throw invalidCompatibility();
    return this.serialize(async () => {
      await this.append([configRecord(subject, level)]);
      return level;
    });
  }

  deleteSubjectConfig(subject: string): Promise<CompatibilityLevel> {
    return this.serialize(async () => {
      const level = this.state.subjectCompatibility(subject);
      if (!level) throw subjectNotFound(subject);
      await this.append([configRecord(subject, null)]);
      return level;
    });
  }
}
