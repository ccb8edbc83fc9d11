/**
 * The HTTP request of one command (SPEC §7) and what came back, reduced to an AttemptResult:
 *
 *   POST <baseUrl>/<type>
 *   Content-Type: application/json          body: the payload as JSON
 *   Idempotency-Key: <commandId>            the same on every attempt and every replay
 *   X-Correlation-Id: <correlationId>       when the command has one (percent-encoded if not ASCII)
 *   Authorization: Bearer <token>           when the sink has credentials
 *
 * Redirects are not followed (a POST must not become a GET); the answer's body is read up to a
 * few KB within the same timeout — kept for a 400/422 dead letter, dropped otherwise.
 */
import type { AttemptResult } from './outcome';
import { retryAfterMs } from './backoff';

export interface Command {
  commandId: string;
  type: string;
  correlationId: string | null;
  occurredAt: number;
  payload: unknown;
}

export interface CommandRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** How much of an answer's body is read (and kept in a dead letter). */
export const MAX_BODY_BYTES = 4096;

const COMMAND_ID = /^[A-Za-z0-9._-]{1,64}$/;
// What a header may carry as it is: visible ASCII and spaces (no line breaks to smuggle a header in).
const HEADER_SAFE = /^[\x20-\x7e]*$/;

/** Why a decoded value cannot be sent as a command (a dead letter, TRB_VALIDATION), or undefined. */
export function commandProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'the value is not a command record';
  const { commandId, type, correlationId } = value as Partial<Command>;
  if (typeof commandId !== 'string' || !COMMAND_ID.test(commandId)) return 'commandId must match [A-Za-z0-9._-]{1,64} (it is sent as the Idempotency-Key header)';
  if (typeof type !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(type)) return 'type must be a command type name (it is the last segment of the URL)';
  if (correlationId !== null && correlationId !== undefined && typeof correlationId !== 'string') return 'correlationId must be a string or null';
  return undefined;
}

export function commandRequest(baseUrl: string, command: Command, authorization?: string): CommandRequest {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json',
    'idempotency-key': command.commandId,
  };
  // A correlation id is free text from the source system: one a header cannot carry as it is
  // (non-ASCII, control characters) is sent percent-encoded rather than dropped.
  if (command.correlationId) headers['x-correlation-id'] = HEADER_SAFE.test(command.correlationId) ? command.correlationId : encodeURIComponent(command.correlationId);
  if (authorization) headers.authorization = authorization;
  return { url: `${baseUrl}/${encodeURIComponent(command.type)}`, headers, body: JSON.stringify(command.payload) };
}

export interface PostOptions {
  timeoutMs: number;
  /** Aborts the request (stop deadline): the result is 'aborted', not a verdict. */
  signal?: AbortSignal;
  fetch?: typeof fetch;
  now?: () => number;
}

export async function post(request: CommandRequest, options: PostOptions): Promise<AttemptResult | 'aborted'> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    const response = await (options.fetch ?? fetch)(request.url, { method: 'POST', headers: request.headers, body: request.body, redirect: 'manual', signal });
    const body = await readLimited(response, MAX_BODY_BYTES);
    const after = retryAfterMs(response.headers.get('retry-after'), (options.now ?? Date.now)());
    return { kind: 'response', status: response.status, body, ...(after === undefined ? {} : { retryAfterMs: after }) };
  } catch (error) {
    if (options.signal?.aborted) return 'aborted';
    if (timeout.aborted) return { kind: 'timeout' };
    return { kind: 'network', message: networkMessage(error) };
  }
}

/** The first `limit` bytes of the body as text (the rest is not read), cut at a character boundary. */
export async function readLimited(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let more = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > limit) {
      more = true;
      break;
    }
  }
  if (more) await reader.cancel().catch(() => undefined);
  const bytes = Buffer.concat(chunks);
  return more ? `${utf8Prefix(bytes, limit - 3)}…` : bytes.toString('utf8');
}

/** The longest prefix of at most `max` bytes that does not cut a UTF-8 character. */
export function utf8Prefix(bytes: Buffer, max: number): string {
  if (bytes.length <= max) return bytes.toString('utf8');
  let end = Math.max(0, max);
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8');
}

/** "connect ECONNREFUSED 127.0.0.1:1234" rather than fetch's bare "fetch failed". */
function networkMessage(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.message) return cause.code && !cause.message.includes(cause.code) ? `${cause.code}: ${cause.message}` : cause.message;
  return error instanceof Error ? error.message : String(error);
}
