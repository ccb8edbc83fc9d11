/**
 * A stand-in ERP / CRM HTTP receiver (SPEC §3, §7): it honours `Idempotency-Key` as a real one
 * would, remembers what took effect, and can be told to fail, so the sinks can be demonstrated and
 * tested against something that behaves like the systems the user owns. Plain node:http.
 *
 * Command route — `POST /<CommandType>`, JSON object body, headers `Idempotency-Key: <commandId>`,
 * `X-Correlation-Id`, `Authorization: Bearer <token>`. Checks in this order, first match answers:
 *
 *   path is not one segment (or starts with `_`)      404
 *   method is not POST                                405
 *   token configured, bearer missing or wrong         401  WWW-Authenticate: Bearer
 *   no Idempotency-Key                                400
 *   body over 1 MiB                                   413
 *   -- fate drawn from the failure plan (two PRNG draws per request that gets here) --
 *   drawn slow                                        wait slowMs, then go on below
 *   drawn 500 / 429                                   500 / 429 Retry-After: retryAfterSeconds — not applied
 *   body is not a JSON object                         400
 *   key already applied, same type and body           200 { commandId, type, applied: false, duplicate: true }
 *   key already applied, other type or body           409 and a recorded conflict
 *   type listed in plan.reject                        400 / 422 { error, message, commandId, type }
 *   otherwise: takes effect                           201 { commandId, type, applied: true }
 *
 * Injected failures come before the idempotency check, so a 500 or 429 never took effect; a slow
 * answer does take effect after its wait even if the client gave up (a sink timing out then
 * redelivers a duplicate, which is the case exactly-once-in-effect must survive). Every request on
 * the command route is an attempt; one left unanswered because the receiver closed or went down
 * during its wait is recorded with status 0 and does not take effect.
 *
 * Demo API on the same server (no token, no injected failures; not counted as attempts):
 *   GET /_receiver            { name, url, applied, attempts, conflicts, slowPending, byType, last, failure }
 *                             counts; slowPending = requests now waiting out a slow answer; byType
 *                             counts applied commands per type; last = up to 20 latest applied,
 *                             oldest first (the order of applied())
 *   GET /_receiver/applied    every applied Delivery, in the order they took effect
 *   GET /_receiver/attempts   every attempt;  GET /_receiver/conflicts  every conflict
 *   GET /_receiver/failure    the plan;  PUT /_receiver/failure  replaces it (400 if invalid)
 */
import { setMaxListeners } from 'node:events';
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { checkFailurePlan, DEFAULT_RETRY_AFTER_SECONDS, drawFate, InvalidFailurePlanError, type FailurePlan } from './failure-plan';
import { Ledger, type Attempt, type Conflict, type Delivery, type EntityOf } from './ledger';
import { randomSeed, seededRandom } from './prng';

export type { FailurePlan } from './failure-plan';
export type { Attempt, Conflict, Delivery, EntityOf } from './ledger';
export { entityOfPayload } from './ledger';

export interface Receiver {
  readonly name: string;
  /** Base URL, e.g. http://127.0.0.1:PORT. */
  readonly url: string;
  /** Commands that took effect, in the order they took effect: one per Idempotency-Key (the first accepted). */
  applied(): Delivery[];
  /** Every request that reached the handler (including failed, duplicate and rejected ones). */
  attempts(): Attempt[];
  /** Idempotency-Keys seen with two different bodies (must stay empty: "never two bodies under one key"). */
  conflicts(): Conflict[];
  /** Applied commands per entity (orderId, sku@warehouse or customerId, see ledger.ts), each in the order they took effect. */
  appliedByEntity(): Map<string, Delivery[]>;
  /** Replaces the plan (not merged). A plan with a seed restarts the PRNG from it; without one the current sequence goes on. */
  setFailure(plan: FailurePlan): void;
  /** down=true closes the listener (connection refused) keeping the port; false listens again on the same port. */
  setDown(down: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  name: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, command requests need `Authorization: Bearer <token>`. */
  token?: string;
  failure?: FailurePlan;
  /** How an applied command is filed per entity; default entityOfPayload. */
  entityOf?: EntityOf;
}

const MAX_BODY_BYTES = 1 << 20;
const SUMMARY_LAST = 20;
const DEMO_PREFIX = '/_receiver';

type Json = Record<string, unknown>;

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

function failure(error: string, message: string, extra: Json = {}): Json {
  return { error, message, ...extra };
}

function isJsonObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function headerValue(request: IncomingMessage, name: string): string | null {
  const raw = request.headers[name];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  return value === undefined || value === '' ? null : value;
}

function bearerMatches(header: string | null, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1]);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/** `/CreateSalesOrder` -> `CreateSalesOrder`; null for anything that is not one plain segment. */
function commandTypeOf(path: string): string | null {
  const match = /^\/([^/]+)$/.exec(path);
  if (!match?.[1]) return null;
  try {
    const type = decodeURIComponent(match[1]);
    return type.startsWith('_') ? null : type;
  } catch {
    return null;
  }
}

/** The body, or null when it exceeds `limit` (read to the end anyway so the connection stays usable). */
async function readBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? null : Buffer.concat(chunks);
}

function parseJson(raw: Buffer): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(raw.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

/** Waits at least `ms` by the monotonic clock (a timer may fire a little early against it). */
async function waitAtLeast(ms: number, signal: AbortSignal): Promise<void> {
  const start = performance.now();
  for (let left = ms; left > 0; left = ms - (performance.now() - start)) {
    await delay(Math.ceil(left), undefined, { signal });
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const { name, token } = options;
  const host = options.host ?? '127.0.0.1';
  let plan = checkFailurePlan(options.failure ?? {});
  let random = seededRandom(plan.seed ?? randomSeed());
  const ledger = new Ledger(options.entityOf);
  // Aborted when the receiver goes down or closes: pending slow answers end unanswered.
  // Every slow answer waits on this one signal: many may at once, so no listener limit.
  const newInFlight = () => {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  };
  let inFlight = newInFlight();
  let down = false;
  let closed = false;
  let slowPending = 0;
  let transitions: Promise<void> = Promise.resolve();

  function setFailure(next: FailurePlan): void {
    const checked = checkFailurePlan(next);
    if (checked.seed !== undefined) random = seededRandom(checked.seed);
    plan = checked;
  }

  async function handleCommand(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const commandId = headerValue(request, 'idempotency-key');
    const type = commandTypeOf(path);
    const answer = (status: number, body: unknown, headers?: Record<string, string>) => {
      ledger.recordAttempt({ commandId, type: type ?? path, status, at: Date.now() });
      send(response, status, body, headers);
    };
    if (type === null) return answer(404, failure('not_found', `no route ${path}: commands are POST /<CommandType>`));
    if (request.method !== 'POST') return answer(405, failure('method_not_allowed', 'commands are POSTed'), { allow: 'POST' });
    if (token !== undefined && !bearerMatches(headerValue(request, 'authorization'), token)) {
      return answer(401, failure('unauthorized', 'a valid Authorization: Bearer token is required'), { 'www-authenticate': 'Bearer' });
    }
    if (commandId === null) return answer(400, failure('missing_idempotency_key', 'the Idempotency-Key header is required', { type }));
    const raw = await readBody(request);
    if (raw === null) return answer(413, failure('too_large', `bodies are limited to ${MAX_BODY_BYTES} bytes`, { commandId, type }));

    const fate = drawFate(plan, random);
    if (fate.delayMs > 0) {
      slowPending += 1;
      try {
        await waitAtLeast(fate.delayMs, inFlight.signal);
      } catch {
        ledger.recordAttempt({ commandId, type, status: 0, at: Date.now() });
        response.destroy();
        return;
      } finally {
        slowPending -= 1;
      }
    }
    if (fate.status === 500) return answer(500, failure('injected_failure', `${name} failed this request (failure plan)`, { commandId, type }));
    if (fate.status === 429) {
      const seconds = plan.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
      return answer(429, failure('too_many_requests', `${name} is throttling (failure plan)`, { commandId, type }), { 'retry-after': String(seconds) });
    }

    const parsed = parseJson(raw);
    if (!parsed.ok || !isJsonObject(parsed.value)) {
      return answer(400, failure('invalid_body', 'the body must be a JSON object', { commandId, type }));
    }
    const body = parsed.value;
    const check = ledger.check(commandId, type, body);
    if (check.kind === 'duplicate') return answer(200, { commandId, type, applied: false, duplicate: true });
    if (check.kind === 'conflict') {
      const message = `Idempotency-Key ${commandId} was first used for another ${check.first.type === type ? 'body' : `type (${check.first.type})`}`;
      return answer(409, failure('idempotency_key_reused', message, { commandId, type }));
    }
    const rejectStatus = plan.reject?.[type];
    if (rejectStatus !== undefined) {
      const error = rejectStatus === 422 ? 'unprocessable_command' : 'bad_command';
      return answer(rejectStatus, failure(error, `${name} refuses ${type} (failure plan)`, { commandId, type }));
    }
    ledger.apply({ commandId, type, body, correlationId: headerValue(request, 'x-correlation-id'), at: Date.now() });
    return answer(201, { commandId, type, applied: true });
  }

  function summary(): Json {
    const applied = ledger.applied();
    const byType: Record<string, number> = {};
    for (const delivery of applied) byType[delivery.type] = (byType[delivery.type] ?? 0) + 1;
    return {
      name,
      url: receiver.url,
      applied: applied.length,
      attempts: ledger.attemptCount(),
      conflicts: ledger.conflicts().length,
      slowPending,
      byType,
      last: applied.slice(-SUMMARY_LAST),
      failure: plan,
    };
  }

  async function handleDemo(request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
    const route = path.slice(DEMO_PREFIX.length) || '/';
    const reads: Record<string, () => unknown> = {
      '/': summary,
      '/applied': () => ledger.applied(),
      '/attempts': () => ledger.attempts(),
      '/conflicts': () => ledger.conflicts(),
      '/failure': () => plan,
    };
    const read = reads[route];
    if (read === undefined) return send(response, 404, failure('not_found', `no route ${path}`));
    if (request.method === 'GET') return send(response, 200, read());
    if (request.method !== 'PUT' || route !== '/failure') {
      return send(response, 405, failure('method_not_allowed', `${path} answers GET${route === '/failure' ? ' and PUT' : ''}`), {
        allow: route === '/failure' ? 'GET, PUT' : 'GET',
      });
    }
    const raw = await readBody(request);
    const parsed = raw === null ? { ok: false as const } : parseJson(raw);
    if (!parsed.ok) return send(response, 400, failure('invalid_body', 'the body must be a FailurePlan JSON object'));
    try {
      setFailure(parsed.value as FailurePlan);
    } catch (error) {
      if (error instanceof InvalidFailurePlanError) return send(response, 400, failure('invalid_failure_plan', error.message, { field: error.field }));
      throw error;
    }
    return send(response, 200, plan);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    try {
      if (path === DEMO_PREFIX || path.startsWith(`${DEMO_PREFIX}/`)) await handleDemo(request, response, path);
      else await handleCommand(request, response, path);
    } catch (error) {
      // A request cut off mid-body, or a bug: never leave the client hanging.
      if (response.headersSent) response.destroy();
      else send(response, 500, failure('internal', error instanceof Error ? error.message : String(error)));
    }
  }

  const server = createServer((request, response) => void handle(request, response));
  await listen(server, options.port ?? 0, host);
  const port = (server.address() as AddressInfo).port;

  async function stopListening(): Promise<void> {
    inFlight.abort();
    inFlight = newInFlight();
    await new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      // close() already drops idle keep-alive connections; this also cuts requests still arriving,
      // so nothing is served while "down".
      server.closeAllConnections();
    });
  }

  /** Runs lifecycle changes one after another; a failed one does not block the next. */
  function serially(step: () => Promise<void>): Promise<void> {
    const next = transitions.then(step);
    transitions = next.catch(() => undefined);
    return next;
  }

  const receiver: Receiver = {
    name,
    url: `http://${urlHost(host)}:${port}`,
    applied: () => ledger.applied(),
    attempts: () => ledger.attempts(),
    conflicts: () => ledger.conflicts(),
    appliedByEntity: () => ledger.appliedByEntity(),
    setFailure,
    setDown: (wanted) =>
      serially(async () => {
        if (closed || wanted === down) return;
        if (wanted) {
          down = true;
          await stopListening();
        } else {
          await listen(server, port, host);
          down = false;
        }
      }),
    close: () =>
      serially(async () => {
        if (closed) return;
        closed = true;
        if (!down) await stopListening();
      }),
  };
  return receiver;
}
