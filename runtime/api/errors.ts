/**
 * The HTTP API's error answers: `{ error: { code, message, problems? } }` with a stable `TRB_*`
 * code (runtime/errors.ts), and the status each code maps to.
 *
 *   TRB_VALIDATION         400 (413/415 for an oversize or non-JSON body)  request is malformed
 *   TRB_UNAUTHORIZED       401  missing or wrong bearer token (with WWW-Authenticate: Bearer)
 *   TRB_NOT_FOUND          404  unknown route, sku, sku@warehouse or order
 *   TRB_STATE_UNAVAILABLE  503  the store is being rebuilt or was lost (Retry-After: 1)
 *   TRB_REDIS_UNAVAILABLE  503  Redis does not answer (Retry-After: 1)
 *   TRB_STATE_INVALID      500  Redis holds something that cannot be read (wrong type, bad JSON)
 *   TRB_INTERNAL           500  anything else (logged)
 */
import type { ErrorCode, FieldProblem } from '../errors';

export type ApiErrorCode = ErrorCode;

export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; problems?: FieldProblem[] };
}

/** An error the API answers with as it is (status, code, message, optional headers). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode;
  readonly problems: FieldProblem[] | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(status: number, code: ApiErrorCode, message: string, options: { problems?: FieldProblem[]; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.problems = options.problems;
    this.headers = options.headers;
  }

  body(): ApiErrorBody {
    return { error: this.problems ? { code: this.code, message: this.message, problems: this.problems } : { code: this.code, message: this.message } };
  }
}

/** A 503 tells clients when to come back: rebuilds and Redis restarts take seconds. */
export const RETRY_AFTER = { 'retry-after': '1' } as const;
