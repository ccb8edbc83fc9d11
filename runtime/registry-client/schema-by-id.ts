/**
 * Reading one writer schema by id from a Confluent-compatible registry: `GET /schemas/ids/{id}`,
 * the one call a record decoder needs. Outcomes are sorted for the caller (SPEC §8):
 *
 * - 200 → `{ schema, schemaType }` (`schemaType` defaults to AVRO, as Confluent omits it for Avro);
 * - 404 with error_code 40403 → UnknownSchemaError: the record names an id the registry does not
 *   have, which is the record's fault (dead letter);
 * - unreachable, timeout or 5xx → RegistryError with `retriable` (TRB_REGISTRY_UNAVAILABLE):
 *   the registry is down, processing pauses and retries;
 * - any other answer (401/403, a 404 without 40403 from a wrong base path) → RegistryError
 *   (TRB_REGISTRY): a configuration problem, not the record's.
 *
 * Credentials in the URL (`https://user:password@host`) go as HTTP Basic auth (fetch refuses URLs
 * that carry them) and the URL in messages is redacted.
 */
import { splitCredentials } from '../config/url-credentials';
import { redactUrl } from '../config/redact';
import { RegistryError, UnknownSchemaError } from '../errors';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const SCHEMA_NOT_FOUND = 40403;

export interface WriterSchema {
  schema: string;
  schemaType: string;
}

export interface SchemaByIdOptions {
  registryUrl: string;
  /** The HTTP layer; global fetch unless a test or a caller with its own agent passes one. */
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export type SchemaById = (id: number) => Promise<WriterSchema>;

export function schemaByIdClient({ registryUrl, fetch: fetchImpl = fetch, timeoutMs = 10_000 }: SchemaByIdOptions): SchemaById {
  const trimmed = registryUrl.replace(/\/+$/, '');
  const { base, authorization } = splitCredentials(trimmed);
  const shown = redactUrl(trimmed);

  return async (id) => {
    const path = `/schemas/ids/${id}`;
    let response: Response;
    let text: string;
    try {
      response = await fetchImpl(`${base}${path}`, {
        headers: { accept: CONTENT_TYPE, ...(authorization === undefined ? {} : { authorization }) },
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (cause) {
      const reason = (cause as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (cause as Error).message;
      throw new RegistryError(
        `schema registry at ${shown} cannot be reached (${reason}): start it or fix SCHEMA_REGISTRY_URL; records wait until it answers`,
        0,
        undefined,
        cause,
      );
    }
    const answer = parseAnswer(text);
    if (response.status === 200 && typeof answer.schema === 'string') {
      return { schema: answer.schema, schemaType: typeof answer.schemaType === 'string' ? answer.schemaType : 'AVRO' };
    }
    if (response.status === 404 && answer.error_code === SCHEMA_NOT_FOUND) throw new UnknownSchemaError(id);
    if (response.status >= 500) {
      throw new RegistryError(
        `schema registry at ${shown} failed GET ${path} with ${response.status} (${oneLine(answer.message ?? text)}): records wait until it recovers`,
        response.status,
        answer.error_code,
      );
    }
    const status = response.status === 200 ? 502 : response.status; // 200 without a schema: a proxy, not a registry
    throw new RegistryError(
      `schema registry at ${shown} answered GET ${path} with ${response.status} (${oneLine(answer.message ?? text)}): check SCHEMA_REGISTRY_URL and its credentials`,
      status,
      answer.error_code,
    );
  };
}

interface RegistryAnswer {
  schema?: unknown;
  schemaType?: unknown;
  error_code?: number;
  message?: string;
}

function parseAnswer(text: string): RegistryAnswer {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as RegistryAnswer) : {};
  } catch {
    return {};
  }
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

