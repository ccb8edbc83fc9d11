/**
 * The registry id of each topic's value schema, found once per subject and cached. Lookup first
 * (`POST /subjects/<subject>`: a registry where writers may not register still works once
 * `topology apply` registered the schema), register only when the subject lacks it. Plain fetch,
 * so nothing but the subject's schema is ever written (no subject config, no other subjects).
 * An unreachable registry or a 5xx is a retriable RegistryError. Credentials in the URL go as
 * Basic auth (runtime/config/url-credentials).
 */
import { splitCredentials } from '../../runtime/config/url-credentials';
import { RegistryError } from '../../runtime/errors';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const SUBJECT_NOT_FOUND = 40401;
const SCHEMA_NOT_FOUND = 40403;
const POST_ATTEMPTS = 3;

export interface SchemaIds {
  /** The id of `schema` under `subject`, registering it there if the subject does not have it. */
  idFor(subject: string, schema: Record<string, unknown>): Promise<number>;
}

export function schemaIds(registryUrl: string, timeoutMs = 10_000): SchemaIds {
  const { base, authorization } = splitCredentials(registryUrl.replace(/\/+$/, ''));
  const auth: Record<string, string> = authorization ? { authorization } : {};
  const cache = new Map<string, Promise<number>>();

  /**
   * A registry that answers slowly (a timeout) or with a 5xx is asked again, twice, before the
   * error goes up: one slow answer on a loaded machine failed a million-event publish. A registry
   * that refuses the connection fails at once: it is down, and the caller says so.
   */
  async function post(path: string, schema: Record<string, unknown>): Promise<{ status: number; body: { id?: number; error_code?: number; message?: string } }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await postOnce(path, schema);
      } catch (error) {
        const slow = error instanceof RegistryError && (error.status >= 500 || ((error as { cause?: Error }).cause?.name === 'TimeoutError'));
        if (!slow || attempt >= POST_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }

  async function postOnce(path: string, schema: Record<string, unknown>): Promise<{ status: number; body: { id?: number; error_code?: number; message?: string } }> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { accept: CONTENT_TYPE, 'content-type': CONTENT_TYPE, ...auth },
        body: JSON.stringify({ schemaType: 'AVRO', schema: JSON.stringify(schema) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new RegistryError(`schema registry at ${base} cannot be reached (${(cause as Error).message}): start it or fix SCHEMA_REGISTRY_URL`, 0, undefined, cause);
    }
    const text = await response.text();
    let body: { id?: number; error_code?: number; message?: string };
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      body = { message: text.slice(0, 200) };
    }
    if (response.status >= 500) {
      throw new RegistryError(`schema registry POST ${path} failed with ${response.status}: ${body.message ?? text}`, response.status, body.error_code);
    }
    return { status: response.status, body };
  }

  async function resolve(subject: string, schema: Record<string, unknown>): Promise<number> {
    const at = `/subjects/${encodeURIComponent(subject)}`;
    const found = await post(at, schema);
    if (found.status === 200 && typeof found.body.id === 'number') return found.body.id;
    const missing = found.status === 404 && (found.body.error_code === SUBJECT_NOT_FOUND || found.body.error_code === SCHEMA_NOT_FOUND);
    if (!missing) {
      throw new RegistryError(`schema registry POST ${at} answered ${found.status}: ${found.body.message ?? ''}`.trim(), found.status, found.body.error_code);
    }
    const registered = await post(`${at}/versions`, schema);
    if (registered.status === 200 && typeof registered.body.id === 'number') return registered.body.id;
    const reason = registered.status === 409 ? 'the schema is incompatible with the subject\'s latest version' : (registered.body.message ?? '');
    throw new RegistryError(
      `schema registry refused to register the schema under ${subject} (${registered.status}): ${reason}; run \`tributary topology apply\` or \`tributary schemas check\``,
      registered.status,
      registered.body.error_code,
    );
  }

  return {
    idFor(subject, schema) {
      let id = cache.get(subject);
      if (!id) {
        id = resolve(subject, schema);
        // A failed lookup is not cached: the next publish asks again (the registry may be back).
        id.catch(() => cache.delete(subject));
        cache.set(subject, id);
      }
      return id;
    },
  };
}
