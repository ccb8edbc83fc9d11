/**
 * The registry's state as a fold of its log, in Confluent's `_schemas` record format:
 *
 *   key {"keytype":"SCHEMA","subject":S,"version":V,"magic":1}
 *     value {"subject":S,"version":V,"id":N,"schema":TEXT,"deleted":BOOL} | tombstone (permanent delete)
 *   key {"keytype":"CONFIG","subject":S|null,"magic":0}
 *     value {"compatibilityLevel":LEVEL} | tombstone (subject level removed)
 *   key {"keytype":"DELETE_SUBJECT","subject":S,"magic":0}
 *     value {"subject":S,"version":V}: every version ≤ V is soft-deleted (read, never written here)
 *   key {"keytype":"NOOP"...}: ignored
 *
 * Keys are serialized with a fixed field order so that compaction keeps the last value per key.
 * Pure: no I/O. Ids are never reused while their records are in the log; the next id is one more
 * than the greatest id ever seen.
 */
import { DEFAULT_COMPATIBILITY, parseCompatibilityLevel, type CompatibilityLevel } from './compat';

export interface LogRecord {
  key: string;
  value: string | null;
}

export interface VersionEntry {
  subject: string;
  version: number;
  id: number;
  schema: string;
  deleted: boolean;
}

export function schemaKey(subject: string, version: number): string {
  return JSON.stringify({ keytype: 'SCHEMA', subject, version, magic: 1 });
}

export function configKey(subject: string | null): string {
  return JSON.stringify({ keytype: 'CONFIG', subject, magic: 0 });
}

export function schemaRecord(entry: VersionEntry): LogRecord {
  const { subject, version, id, schema, deleted } = entry;
  return { key: schemaKey(subject, version), value: JSON.stringify({ subject, version, id, schema, deleted }) };
}

export function configRecord(subject: string | null, level: CompatibilityLevel | null): LogRecord {
  return { key: configKey(subject), value: level === null ? null : JSON.stringify({ compatibilityLevel: level }) };
}

export class RegistryState {
  private readonly subjects = new Map<string, Map<number, VersionEntry>>();
  private readonly subjectLevels = new Map<string, CompatibilityLevel>();
  private globalLevel: CompatibilityLevel | undefined;
  /** id → schema text and how many versions (live or soft-deleted) hold it. */
  private readonly ids = new Map<number, { schema: string; holders: number }>();
  private readonly idBySchema = new Map<string, number>();
  private maxId = 0;

  /** Applies one log record; malformed records are skipped (the log may hold other writers' keys). */
  apply(key: string | null, value: string | null): void {
    if (!key) return;
    let parsedKey: { keytype?: string; subject?: string | null; version?: number };
    try {
      parsedKey = JSON.parse(key);
    } catch {
      return;
    }
    switch (parsedKey.keytype) {
      case 'SCHEMA':
        if (typeof parsedKey.subject === 'string' && typeof parsedKey.version === 'number') {
          this.applySchema(parsedKey.subject, parsedKey.version, value);
        }
        return;
      case 'CONFIG':
        this.applyConfig(parsedKey.subject ?? null, value);
        return;
      case 'DELETE_SUBJECT':
        if (typeof parsedKey.subject === 'string' && value) {
          const upTo = (JSON.parse(value) as { version?: number }).version ?? Number.MAX_SAFE_INTEGER;
          for (const entry of this.subjects.get(parsedKey.subject)?.values() ?? []) {
            if (entry.version <= upTo) entry.deleted = true;
          }
        }
        return;
      default:
        return;
    }
  }

  private applySchema(subject: string, version: number, value: string | null): void {
    const versions = this.subjects.get(subject) ?? new Map<number, VersionEntry>();
    const previous = versions.get(version);
    if (previous) this.release(previous);
    if (value === null) {
      versions.delete(version);
      if (versions.size === 0) this.subjects.delete(subject);
      else this.subjects.set(subject, versions);
      return;
    }
    const parsed = JSON.parse(value) as Partial<VersionEntry>;
    if (typeof parsed.id !== 'number' || typeof parsed.schema !== 'string') return;
    const entry: VersionEntry = { subject, version, id: parsed.id, schema: parsed.schema, deleted: parsed.deleted === true };
    versions.set(version, entry);
    this.subjects.set(subject, versions);
    const held = this.ids.get(entry.id);
    this.ids.set(entry.id, { schema: entry.schema, holders: (held?.holders ?? 0) + 1 });
    this.idBySchema.set(entry.schema, entry.id);
    this.maxId = Math.max(this.maxId, entry.id);
  }

  private release(entry: VersionEntry): void {
    const held = this.ids.get(entry.id);
    if (!held) return;
    if (held.holders > 1) {
      held.holders -= 1;
      return;
    }
    this.ids.delete(entry.id);
    if (this.idBySchema.get(held.schema) === entry.id) this.idBySchema.delete(held.schema);
  }

  private applyConfig(subject: string | null, value: string | null): void {
    const level = value === null ? undefined : parseCompatibilityLevel((JSON.parse(value) as { compatibilityLevel?: unknown }).compatibilityLevel);
    if (subject === null) this.globalLevel = level;
    else if (level) this.subjectLevels.set(subject, level);
    else this.subjectLevels.delete(subject);
  }

  /** Versions of a subject, oldest first; soft-deleted ones only when asked. */
  versions(subject: string, includeDeleted = false): VersionEntry[] {
    const versions = [...(this.subjects.get(subject)?.values() ?? [])].sort((a, b) => a.version - b.version);
    return includeDeleted ? versions : versions.filter((v) => !v.deleted);
  }

  subjectNames(includeDeleted = false): string[] {
    return [...this.subjects.keys()].filter((s) => this.versions(s, includeDeleted).length > 0).sort();
  }

  schemaById(id: number): string | undefined {
    return this.ids.get(id)?.schema;
  }

  idOf(schema: string): number | undefined {
    return this.idBySchema.get(schema);
  }

  nextId(): number {
    return this.maxId + 1;
  }

  /** Every version holding `id`, across subjects. */
  versionsOfId(id: number, includeDeleted = false): VersionEntry[] {
    const out: VersionEntry[] = [];
    for (const subject of [...this.subjects.keys()].sort()) {
      for (const entry of this.versions(subject, includeDeleted)) if (entry.id === id) out.push(entry);
    }
    return out;
  }

  globalCompatibility(): CompatibilityLevel {
    return this.globalLevel ?? DEFAULT_COMPATIBILITY;
  }

  subjectCompatibility(subject: string): CompatibilityLevel | undefined {
    return this.subjectLevels.get(subject);
  }

  effectiveCompatibility(subject: string): CompatibilityLevel {
    return this.subjectLevels.get(subject) ?? this.globalCompatibility();
  }
}
