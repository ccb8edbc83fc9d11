/**
 * The Confluent Schema Registry REST API (the part clients use), AVRO only, as a Fastify app built
 * apart from `listen()` so tests can inject requests. Every answer is JSON with content type
 * `application/vnd.schemaregistry.v1+json`; every error is `{error_code, message}` with
 * Confluent's codes; `schema` in answers is a JSON string; unknown query parameters are ignored;
 * an unknown path is 404 `{error_code: 404, message: "HTTP 404 Not Found"}`.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { RegistryError } from '../errors';
import { ERROR, type SchemaRegistryService, type SchemaRequest } from './service';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** Request content types clients send; all carry JSON (octet-stream too, from some clients). */
const JSON_TYPES = [
  'application/json',
  'application/vnd.schemaregistry.v1+json',
  'application/vnd.schemaregistry+json',
  'application/octet-stream',
  'text/plain',
];

type Params = { subject: string; version: string; id: string };
type Query = Record<string, string | undefined>;

const flag = (query: Query, name: string) => query[name] === 'true';

function schemaId(raw: string): number {
  const id = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id)) throw new RegistryError(`Schema ${raw} not found`, 404, ERROR.SCHEMA_NOT_FOUND);
  return id;
}

function body(request: { body: unknown }): SchemaRequest {
  return request.body && typeof request.body === 'object' ? (request.body as SchemaRequest) : {};
}

export function buildRegistryApp(registry: SchemaRegistryService): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser([...JSON_TYPES, '*'], { parseAs: 'string' }, (_request, text, done) => {
    const raw = String(text);
    if (raw.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(raw));
    } catch (error) {
      const problem = new RegistryError(`Unrecognized JSON in request body: ${(error as Error).message}`, 400, 400);
      done(problem, undefined);
    }
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-type', CONTENT_TYPE);
    return payload;
  });

  app.setErrorHandler((error, _request, reply: FastifyReply) => {
    if (error instanceof RegistryError) {
      return reply.status(error.status).send({ error_code: error.errorCode ?? error.status, message: error.message });
    }
    const status = typeof (error as { statusCode?: number }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
    const code = status >= 500 ? ERROR.STORE : status;
    return reply.status(status).send({ error_code: code, message: (error as Error).message });
  });

  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ error_code: 404, message: 'HTTP 404 Not Found' }));

  // Raw schema text, as Confluent's `/schema` endpoints answer it (the body is the schema itself).
  const raw = (reply: FastifyReply, schema: string) => reply.type(CONTENT_TYPE).send(schema);

  app.get('/', async () => ({}));
  app.get('/schemas/types', async () => ['AVRO']);
  app.get('/mode', async () => ({ mode: 'READWRITE' }));
  app.get<{ Params: Params; Querystring: Query }>('/mode/:subject', async (request) => {
    if (flag(request.query, 'defaultToGlobal')) return { mode: 'READWRITE' };
    throw new RegistryError(`Subject '${request.params.subject}' does not have subject-level mode configured`, 404, 40409);
  });

  app.get<{ Querystring: Query }>('/schemas', async (request) => {
    const prefix = request.query.subjectPrefix ?? '';
    const deleted = flag(request.query, 'deleted');
    const latestOnly = flag(request.query, 'latestOnly');
    return registry.state
      .subjectNames(deleted)
      .filter((s) => s.startsWith(prefix))
      .flatMap((s) => {
        const versions = registry.state.versions(s, deleted);
        return latestOnly ? versions.slice(-1) : versions;
      })
      .map(({ subject, version, id, schema }) => ({ subject, version, id, schema }));
  });

  app.get<{ Querystring: Query }>('/subjects', async (request) => {
    const prefix = request.query.subjectPrefix ?? '';
    return registry.state.subjectNames(flag(request.query, 'deleted')).filter((s) => s.startsWith(prefix));
  });

  app.get<{ Params: Params; Querystring: Query }>('/subjects/:subject/versions', async (request) =>
    registry.versionNumbers(request.params.subject, flag(request.query, 'deleted')),
  );

  app.get<{ Params: Params; Querystring: Query }>('/subjects/:subject/versions/:version', async (request) => {
    const { subject, version, id, schema } = registry.version(request.params.subject, request.params.version, flag(request.query, 'deleted'));
    return { subject, version, id, schema };
  });

  app.get<{ Params: Params; Querystring: Query }>('/subjects/:subject/versions/:version/schema', async (request, reply) =>
    raw(reply, registry.version(request.params.subject, request.params.version, flag(request.query, 'deleted')).schema),
  );

  app.get<{ Params: Params }>('/subjects/:subject/versions/:version/referencedby', async (request) => {
    registry.version(request.params.subject, request.params.version, true);
    return [];
  });

  app.post<{ Params: Params }>('/subjects/:subject/versions', async (request) =>
    registry.register(request.params.subject, body(request)),
  );

  app.post<{ Params: Params; Querystring: Query }>('/subjects/:subject', async (request) => {
    const { subject, version, id, schema } = registry.lookup(request.params.subject, body(request), flag(request.query, 'deleted'));
    return { subject, version, id, schema };
  });

  app.delete<{ Params: Params; Querystring: Query }>('/subjects/:subject', async (request) =>
    registry.deleteSubject(request.params.subject, flag(request.query, 'permanent')),
  );

  app.delete<{ Params: Params; Querystring: Query }>('/subjects/:subject/versions/:version', async (request) =>
    registry.deleteVersion(request.params.subject, request.params.version, flag(request.query, 'permanent')),
  );

  app.get<{ Params: Params }>('/schemas/ids/:id', async (request) => ({ schema: registry.schemaById(schemaId(request.params.id)) }));

  app.get<{ Params: Params }>('/schemas/ids/:id/schema', async (request, reply) =>
    raw(reply, registry.schemaById(schemaId(request.params.id))),
  );

  app.get<{ Params: Params; Querystring: Query }>('/schemas/ids/:id/versions', async (request) => {
    const id = schemaId(request.params.id);
    registry.schemaById(id);
    return registry.state.versionsOfId(id, flag(request.query, 'deleted')).map(({ subject, version }) => ({ subject, version }));
  });

  app.get<{ Params: Params; Querystring: Query }>('/schemas/ids/:id/subjects', async (request) => {
    const id = schemaId(request.params.id);
    registry.schemaById(id);
    return [...new Set(registry.state.versionsOfId(id, flag(request.query, 'deleted')).map((v) => v.subject))];
  });

  app.get('/config', async () => ({ compatibilityLevel: registry.state.globalCompatibility() }));

  app.put('/config', async (request) => ({ compatibility: await registry.setConfig(null, request.body) }));

  app.get<{ Params: Params; Querystring: Query }>('/config/:subject', async (request) => ({
    compatibilityLevel: registry.subjectConfig(request.params.subject, flag(request.query, 'defaultToGlobal')),
  }));

  app.put<{ Params: Params }>('/config/:subject', async (request) => ({
    compatibility: await registry.setConfig(request.params.subject, request.body),
  }));

  app.delete<{ Params: Params }>('/config/:subject', async (request) => ({
    compatibilityLevel: await registry.deleteSubjectConfig(request.params.subject),
  }));

  app.post<{ Params: Params; Querystring: Query }>('/compatibility/subjects/:subject/versions/:version', async (request) =>
    registry.checkCompatibility(request.params.subject, request.params.version, body(request), flag(request.query, 'verbose')),
  );

  app.post<{ Params: Params; Querystring: Query }>('/compatibility/subjects/:subject/versions', async (request) =>
    registry.checkCompatibility(request.params.subject, undefined, body(request), flag(request.query, 'verbose')),
  );

  return app;
}
