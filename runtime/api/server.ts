/**
 * The HTTP API (SPEC §10), a Fastify app built apart from `listen()` so tests inject requests.
 *
 *   GET  /atp/:sku               every warehouse of a sku + network totals; 404 never seen
 *   GET  /atp/:sku/:warehouse    one row; 404 unknown
 *   POST /atp/check              { lines: [{ sku, warehouse?, quantity }] } → available, promisable
 *   GET  /orders/:orderId        the order.status record; 404 unknown
 *   GET  /livez, /healthz        200 while the process works (no dependencies, no token)
 *   GET  /readyz                 Redis answers, every store partition servable, caller's checks
 *   GET  /metrics                Prometheus text of the process registry
 *
 * Answers come from the processors' read model in Redis through ./view-reader.ts (one atomic Lua
 * request). Errors are `{ error: { code, message, problems? } }` (./errors.ts); a store that is
 * not servable or a Redis that does not answer is a 503 with Retry-After: 1, never a 404 or a
 * stale number. With `token` set every route but /livez and /healthz needs
 * `Authorization: Bearer <token>`. Request logging is off (the hot path is a p99 of
 * milliseconds); only failures are logged, and never request headers, so the token stays out.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { TributaryError, type FieldProblem } from '../errors';
import { log as defaultLog, type Logger } from '../log';
import { evaluateCheck, orderAnswer, planCheck, rowAnswer, skuAnswer } from './answers';
import { bearerChecker } from './auth';
import { ApiError, RETRY_AFTER, type ApiErrorCode } from './errors';
import { httpMetrics } from './http-metrics';
import { atpRowSchema, atpSkuSchema, checkSchema, orderSchema, readySchema, statusSchema } from './schemas';
import { codeProblem, problemsMessage, validateCheckBody } from './validate';
import { createViewReader, type StoreRef, type ViewRead } from './view-reader';

export const DEFAULT_API_PORT = 8080;

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ApiOptions {
  /** The caller's client; the API never closes it. Give it `maxRetriesPerRequest` (the API bounds each request anyway). */
  redis: Redis;
  port?: number;
  host?: string;
  /** API_TOKEN: when set, every route but /livez and /healthz needs `Authorization: Bearer <token>`. */
  token?: string;
  atp: StoreRef;
  orders: StoreRef;
  metrics: { registry: Registry };
  /** Extra readiness checks (processors: group joined, tables caught up, lag). */
  readiness?: () => ReadinessCheck[] | Promise<ReadinessCheck[]>;
  log?: Logger;
  /** Longest wait for Redis per request; default 1000 ms. */
  redisTimeoutMs?: number;
}

export interface RunningApi {
  url: string;
  close(): Promise<void>;
}

// 1,000 check lines of ~80 bytes each fit many times over.
const BODY_LIMIT = 1024 * 1024;
const READINESS_TIMEOUT_MS = 2000;
// Redis outages fail every request; one log line per interval says so without flooding.
const REPEAT_LOG_INTERVAL_MS = 10_000;
const PUBLIC_ROUTES = new Set(['/livez', '/healthz']);

type Params = { sku: string; warehouse: string; orderId: string };

function sendError(reply: FastifyReply, status: number, code: ApiErrorCode, message: string, headers?: Readonly<Record<string, string>>): FastifyReply {
  if (headers) reply.headers(headers);
  return reply.code(status).send({ error: { code, message } });
}

function sendProblems(reply: FastifyReply, problems: FieldProblem[]): FastifyReply {
  return reply.code(400).send({ error: { code: 'TRB_VALIDATION', message: problemsMessage(problems), problems } });
}

function badCode(reply: FastifyReply, path: string, value: string): FastifyReply | undefined {
  const problem = codeProblem(path, value);
  return problem ? sendProblems(reply, [problem]) : undefined;
}

function unavailable(reply: FastifyReply, read: Extract<ViewRead<unknown>, { ok: false }>): FastifyReply {
  const more = read.reasons.length > 1 ? `; and ${read.reasons.length - 1} more` : '';
  return sendError(reply, 503, 'TRB_STATE_UNAVAILABLE', `the ${read.store} state is being rebuilt, retry shortly (${read.reasons[0] ?? 'not servable'}${more})`, RETRY_AFTER);
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} gave no answer within ${ms} ms`)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Builds the app without listening (tests use `app.inject`). */
export function createApi(options: ApiOptions): FastifyInstance {
  const logger = options.log ?? defaultLog.child({ component: 'api' });
  const reader = createViewReader({ redis: options.redis, atp: options.atp, orders: options.orders, timeoutMs: options.redisTimeoutMs });
  const record = httpMetrics(options.metrics.registry);
  const registry = options.metrics.registry;
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT });
  // The only body is JSON, whatever a client calls it: fetch() labels a string body text/plain,
  // curl -d a form. Parsed as JSON (a bad one is a 400 like any), not refused with a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  // A Redis outage or a broken row fails every request that meets it: log each kind once per interval.
  const lastLogged = new Map<string, number>();
  function logThrottled(level: 'warn' | 'error', error: TributaryError, request: FastifyRequest): void {
    const now = Date.now();
    if (now - (lastLogged.get(error.code) ?? Number.NEGATIVE_INFINITY) < REPEAT_LOG_INTERVAL_MS) return;
    lastLogged.set(error.code, now);
    logger[level]({ code: error.code, route: request.routeOptions.url }, error.message);
  }

  function toApiError(error: unknown, request: FastifyRequest): ApiError {
    if (error instanceof ApiError) return error;
    if (error instanceof TributaryError) {
      if (error.code === 'TRB_REDIS_UNAVAILABLE') {
        logThrottled('warn', error, request);
        return new ApiError(503, 'TRB_REDIS_UNAVAILABLE', 'Redis is unavailable; retry shortly', { headers: RETRY_AFTER });
      }
      if (error.code === 'TRB_STATE_INVALID') {
        logThrottled('error', error, request);
        return new ApiError(500, 'TRB_STATE_INVALID', 'the stored state cannot be read; the view needs a rebuild (see the API log)');
      }
    }
    const status = error !== null && typeof error === 'object' ? (error as { statusCode?: unknown }).statusCode : undefined;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Fastify's own refusals: body not JSON, too large, wrong content type.
      const fastifyCode = String((error as { code?: unknown }).code ?? '');
      const problemCode = fastifyCode.startsWith('FST_ERR_CTP_') && fastifyCode.includes('JSON') ? 'JSON' : 'BODY';
      const message = (error as Error).message;
      return new ApiError(status, 'TRB_VALIDATION', message, { problems: [{ path: '', code: problemCode, message }] });
    }
    logger.error({ err: error, route: request.routeOptions.url }, 'API request failed');
    return new ApiError(500, 'TRB_INTERNAL', 'internal error (see the API log)');
  }

  app.setErrorHandler((error, request, reply) => {
    const failure = toApiError(error, request);
    if (failure.headers) reply.headers(failure.headers);
    return reply.code(failure.status).send(failure.body());
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'TRB_NOT_FOUND', `no route ${request.method} ${request.url.split('?', 1)[0]?.slice(0, 200)}`));

  if (options.token !== undefined && options.token !== '') {
    const check = bearerChecker(options.token);
    app.addHook('onRequest', (request, reply, done) => {
      const url = request.routeOptions.url;
      if (url !== undefined && PUBLIC_ROUTES.has(url)) return done();
      const verdict = check(request.headers.authorization);
      if (verdict === 'ok') return done();
      // Responding here ends the request; `done` is not called.
      sendError(reply, 401, 'TRB_UNAUTHORIZED', verdict === 'missing' ? 'this API needs Authorization: Bearer <API_TOKEN>' : 'the bearer token is not valid', {
        'www-authenticate': verdict === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"',
      });
    });
  }

  app.addHook('onResponse', (request, reply, done) => {
    record(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.get<{ Params: Pick<Params, 'sku'> }>('/atp/:sku', { schema: { response: { 200: atpSkuSchema } } }, async (request, reply) => {
    const { sku } = request.params;
    const bad = badCode(reply, 'sku', sku);
    if (bad) return bad;
    const read = await reader.atpOfSku(sku);
    if (!read.ok) return unavailable(reply, read);
    const answer = skuAnswer(sku, read.value);
    return answer ?? sendError(reply, 404, 'TRB_NOT_FOUND', `SKU ${sku} is not in the ATP view`);
  });

  app.get<{ Params: Pick<Params, 'sku' | 'warehouse'> }>('/atp/:sku/:warehouse', { schema: { response: { 200: atpRowSchema } } }, async (request, reply) => {
    const { sku, warehouse } = request.params;
    const bad = badCode(reply, 'sku', sku) ?? badCode(reply, 'warehouse', warehouse);
    if (bad) return bad;
    const read = await reader.atpRow(sku, warehouse);
    if (!read.ok) return unavailable(reply, read);
    return read.value ? rowAnswer(read.value) : sendError(reply, 404, 'TRB_NOT_FOUND', `${sku}@${warehouse} is not in the ATP view`);
  });

  app.post('/atp/check', { schema: { response: { 200: checkSchema } } }, async (request, reply) => {
    const body = validateCheckBody(request.body);
    if (body.problems) return sendProblems(reply, body.problems);
    const read = await reader.atpForCheck(planCheck(body.lines));
    if (!read.ok) return unavailable(reply, read);
    return { lines: evaluateCheck(body.lines, read.value) };
  });

  app.get<{ Params: Pick<Params, 'orderId'> }>('/orders/:orderId', { schema: { response: { 200: orderSchema } } }, async (request, reply) => {
    const { orderId } = request.params;
    const bad = badCode(reply, 'orderId', orderId);
    if (bad) return bad;
    const read = await reader.order(orderId);
    if (!read.ok) return unavailable(reply, read);
    return read.value ? orderAnswer(read.value) : sendError(reply, 404, 'TRB_NOT_FOUND', `order ${orderId} is not known`);
  });

  const live = { schema: { response: { 200: statusSchema } } };
  app.get('/livez', live, async () => ({ status: 'ok' }));
  app.get('/healthz', live, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { response: { 200: readySchema, 503: readySchema } } }, async (_request, reply) => {
    const checks = (await Promise.all([redisCheck(), storeCheck('atp'), storeCheck('orders'), extraChecks()])).flat();
    const ready = checks.every((c) => c.ok);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));

  async function redisCheck(): Promise<ReadinessCheck> {
    try {
      return { name: 'redis', ok: true, detail: `answers ${await reader.ping()}` };
    } catch (error) {
      return { name: 'redis', ok: false, detail: causeOf(error) };
    }
  }

  async function storeCheck(which: 'atp' | 'orders'): Promise<ReadinessCheck> {
    const name = `state:${which === 'atp' ? options.atp.store : options.orders.store}`;
    try {
      const status = await reader.storeStatus(which);
      if (status.reasons === null) return { name, ok: true, detail: `${status.partitions} of ${status.partitions} partitions servable` };
      return { name, ok: false, detail: status.reasons.join('; ') };
    } catch (error) {
      return { name, ok: false, detail: causeOf(error) };
    }
  }

  async function extraChecks(): Promise<ReadinessCheck[]> {
    if (!options.readiness) return [];
    try {
      return await withTimeout(Promise.resolve().then(() => (options.readiness as NonNullable<ApiOptions['readiness']>)()), READINESS_TIMEOUT_MS, 'the readiness checks');
    } catch (error) {
      return [{ name: 'readiness', ok: false, detail: (error as Error).message ?? String(error) }];
    }
  }

  return app;
}

/** The Redis error behind a TributaryError, for readiness details (no addresses are added). */
function causeOf(error: unknown): string {
  if (error instanceof TributaryError) {
    const cause = error.cause instanceof Error ? error.cause.message : undefined;
    return `${error.code}${cause ? `: ${cause}` : ''}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Builds the app and listens (default 127.0.0.1:8080; port 0 picks a free port). */
export async function startApi(options: ApiOptions): Promise<RunningApi> {
  const app = createApi(options);
  try {
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? DEFAULT_API_PORT });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  // A wildcard address is not one to connect to: name the loopback of the same family instead.
  const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '[::1]' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    close: () => {
      closing ??= app.close();
      return closing;
    },
  };
}
