/**
 * The few Confluent Schema Registry REST calls `topology apply` and `schemas` need, over plain
 * fetch so the subject is always exactly `<topic>-value` (TopicNameStrategy) and nothing else is
 * written: versions, one version's schema and id, lookup, effective compatibility, compatibility
 * check, register, set compatibility.
 * Works with Confluent, Karapace, Apicurio ccompat, Redpanda and the embedded registry.
 * An unreachable registry or a 5xx is a retriable RegistryError (TRB_REGISTRY_UNAVAILABLE).
 * Credentials in the URL (`https://user:password@host`) are sent as HTTP Basic auth, as Confluent
 * clients do, and never appear in a message.
 */
import { splitCredentials } from '../config/url-credentials';
import { redactUrl } from '../config/redact';
import { RegistryError } from '../errors';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const SUBJECT_NOT_FOUND = 40401;
const SCHEMA_NOT_FOUND = 40403;

export interface SubjectsClient {
  versions(subject: string): Promise<number[]>;
  /** The schema text and type registered as `version` of `subject`. */
  schema(subject: string, version: number): Promise<{ schema: string; schemaType: string }>;
  /** One version of `subject` (or its latest) with its global schema id. */
  version(subject: string, version: number | 'latest'): Promise<SubjectVersion>;
  /** The version under `subject` holding exactly this schema, or undefined. */
  lookup(subject: string, schema: Record<string, unknown>): Promise<number | undefined>;
  compatibilityLevel(subject: string): Promise<string | undefined>;
  /**
   * The registry's verdict at the subject's CURRENT level, against every version that level
   * requires (the latest only, or all of them for a _TRANSITIVE level).
   */
  checkCompatibility(subject: string, schema: Record<string, unknown>): Promise<{ ok: boolean; messages: string[] }>;
  register(subject: string, schema: Record<string, unknown>): Promise<number>;
  setCompatibility(subject: string, level: string): Promise<void>;
}

export interface SubjectVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
  schemaType: string;
}

export function subjectsClient(baseUrl: string, timeoutMs = 10_000): SubjectsClient {
  const { base, authorization } = splitCredentials(baseUrl.replace(/\/+$/, ''));
  const shown = redactUrl(baseUrl.replace(/\/+$/, ''));

  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T | RegistryAnswer }> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          accept: CONTENT_TYPE,
          ...(authorization === undefined ? {} : { authorization }),
          ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new RegistryError(`schema registry at ${shown} cannot be reached (${(cause as Error).message}): start it or fix SCHEMA_REGISTRY_URL`, 0, undefined, cause);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      parsed = { message: text.slice(0, 200) };
    }
    if (response.status >= 500) {
      const answer = parsed as RegistryAnswer;
      throw new RegistryError(`schema registry ${method} ${path} failed with ${response.status}: ${answer.message ?? text}`, response.status, answer.error_code);
    }
    return { status: response.status, body: parsed as T | RegistryAnswer };
  }

  function fail(method: string, path: string, status: number, body: unknown): never {
    const answer = body as RegistryAnswer;
    throw new RegistryError(`schema registry ${method} ${path} answered ${status}: ${answer.message ?? JSON.stringify(body)}`, status, answer.error_code);
  }

  const at = (subject: string) => `/subjects/${encodeURIComponent(subject)}`;
  const schemaBody = (schema: Record<string, unknown>) => ({ schemaType: 'AVRO', schema: JSON.stringify(schema) });

  async function readVersion(subject: string, version: number | 'latest'): Promise<SubjectVersion> {
    const path = `${at(subject)}/versions/${version}`;
    const { status, body } = await call<{ version: number; id: number; schema: string; schemaType?: string }>('GET', path);
    if (status === 200 && typeof (body as { schema?: unknown }).schema === 'string') {
      const answer = body as { version: number; id: number; schema: string; schemaType?: string };
      // Confluent leaves schemaType out for Avro.
      return { subject, version: answer.version, id: answer.id, schema: answer.schema, schemaType: answer.schemaType ?? 'AVRO' };
    }
    return fail('GET', path, status, body);
  }

  return {
    async versions(subject) {
      const path = `${at(subject)}/versions`;
      const { status, body } = await call<number[]>('GET', path);
      if (status === 200 && Array.isArray(body)) return body;
      if (status === 404 && (body as RegistryAnswer).error_code === SUBJECT_NOT_FOUND) return [];
      return fail('GET', path, status, body);
    },
    async schema(subject, version) {
      const { schema, schemaType } = await readVersion(subject, version);
      return { schema, schemaType };
    },
    version: readVersion,
    async lookup(subject, schema) {
      const path = at(subject);
      const { status, body } = await call<{ version: number }>('POST', path, schemaBody(schema));
      if (status === 200) return (body as { version: number }).version;
      const code = (body as RegistryAnswer).error_code;
      if (status === 404 && (code === SUBJECT_NOT_FOUND || code === SCHEMA_NOT_FOUND)) return undefined;
      return fail('POST', path, status, body);
    },
    async compatibilityLevel(subject) {
      const path = `/config/${encodeURIComponent(subject)}?defaultToGlobal=true`;
      const { status, body } = await call<{ compatibilityLevel?: string; compatibility?: string }>('GET', path);
      if (status === 200) {
        const answer = body as { compatibilityLevel?: string; compatibility?: string };
        return answer.compatibilityLevel ?? answer.compatibility;
      }
      if (status === 404) return undefined;
      return fail('GET', path, status, body);
    },
    async checkCompatibility(subject, schema) {
      // Without a version, Confluent checks against all the versions the level requires, exactly
      // as registration will; `versions/latest` would miss the older ones of a transitive level.
      const path = `/compatibility${at(subject)}/versions?verbose=true`;
      const { status, body } = await call<{ is_compatible: boolean; messages?: string[] }>('POST', path, schemaBody(schema));
      if (status === 200) {
        const answer = body as { is_compatible: boolean; messages?: string[] };
        return { ok: answer.is_compatible === true, messages: answer.messages ?? [] };
      }
      // A registry that rejects the schema outright (42201) gives its reason as the message.
      if (status === 422) return { ok: false, messages: [(body as RegistryAnswer).message ?? 'invalid schema'] };
      return fail('POST', path, status, body);
    },
    async register(subject, schema) {
      const path = `${at(subject)}/versions`;
      const { status, body } = await call<{ id: number }>('POST', path, schemaBody(schema));
      if (status === 200) return (body as { id: number }).id;
      if (status === 409) {
        throw new RegistryError(
          `schema registry refused the schema for subject ${subject} as incompatible: ${(body as RegistryAnswer).message ?? ''}`.trim(),
          409,
          409,
        );
      }
      return fail('POST', path, status, body);
    },
    async setCompatibility(subject, level) {
      const path = `/config/${encodeURIComponent(subject)}`;
      const { status, body } = await call('PUT', path, { compatibility: level });
      if (status !== 200) fail('PUT', path, status, body);
    },
  };
}


interface RegistryAnswer {
  error_code?: number;
  message?: string;
}
