/**
 * What a stand-in receiver is told to get wrong, and the draw that decides one request's fate.
 *
 *   checkFailurePlan(value)  validates a plan from code or from `PUT /_receiver/failure`; unknown
 *                            fields are refused so a typo ("errorrate") does not silently test nothing
 *   drawFate(plan, random)   exactly two draws per request, whatever the plan: one for 500/429, one
 *                            for "slow". A fixed number of draws keeps a seeded sequence aligned with
 *                            the sequence of requests when the plan changes between runs.
 *
 * Rejections (`reject`) are not drawn: they are a business answer for a command type, always the same.
 */
import type { Random } from './prng';

export interface FailurePlan {
  /** Share of requests answered 500 (0-1). */
  errorRate?: number;
  /** Share answered 429 with `Retry-After: retryAfterSeconds`. */
  rate429?: number;
  /** Default 1. */
  retryAfterSeconds?: number;
  /** Share answered only after slowMs (then normally). */
  slowRate?: number;
  /** Default 3000. */
  slowMs?: number;
  /** Command type -> answer this status with a JSON error body. */
  reject?: Record<string, 400 | 422>;
  /** Failures drawn from a seeded PRNG so tests reproduce. */
  seed?: number;
}

export const DEFAULT_RETRY_AFTER_SECONDS = 1;
export const DEFAULT_SLOW_MS = 3000;

export interface Fate {
  /** Injected answer, or null to answer normally. */
  status: 500 | 429 | null;
  /** Delay before answering; 0 when this request is not slow. */
  delayMs: number;
}

export class InvalidFailurePlanError extends Error {
  override readonly name = 'InvalidFailurePlanError';
  constructor(readonly field: string, message: string) {
    super(`failure plan: ${field}: ${message}`);
  }
}

const FIELDS = new Set(['errorRate', 'rate429', 'retryAfterSeconds', 'slowRate', 'slowMs', 'reject', 'seed']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function share(plan: Record<string, unknown>, field: string): number | undefined {
  const value = plan[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidFailurePlanError(field, `must be a number from 0 to 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

function wholeNumber(plan: Record<string, unknown>, field: string): number | undefined {
  const value = plan[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidFailurePlanError(field, `must be a whole number >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Validates `value` as a FailurePlan and returns a copy; throws InvalidFailurePlanError naming the field. */
export function checkFailurePlan(value: unknown): FailurePlan {
  if (!isRecord(value)) throw new InvalidFailurePlanError('(plan)', 'must be a JSON object');
  for (const field of Object.keys(value)) {
    if (!FIELDS.has(field)) throw new InvalidFailurePlanError(field, `unknown field (known: ${[...FIELDS].join(', ')})`);
  }
  const plan: FailurePlan = {};
  const errorRate = share(value, 'errorRate');
  const rate429 = share(value, 'rate429');
  const slowRate = share(value, 'slowRate');
  const retryAfterSeconds = wholeNumber(value, 'retryAfterSeconds');
  const slowMs = wholeNumber(value, 'slowMs');
  if (errorRate !== undefined) plan.errorRate = errorRate;
  if (rate429 !== undefined) plan.rate429 = rate429;
  if ((errorRate ?? 0) + (rate429 ?? 0) > 1) {
    throw new InvalidFailurePlanError('rate429', 'errorRate + rate429 must not exceed 1');
  }
  // Retry-After is delta-seconds, a whole number (RFC 9110 §10.2.3).
  if (retryAfterSeconds !== undefined) plan.retryAfterSeconds = retryAfterSeconds;
  if (slowRate !== undefined) plan.slowRate = slowRate;
  if (slowMs !== undefined) plan.slowMs = slowMs;
  if (value.seed !== undefined) {
    if (typeof value.seed !== 'number' || !Number.isSafeInteger(value.seed)) {
      throw new InvalidFailurePlanError('seed', `must be an integer, got ${JSON.stringify(value.seed)}`);
    }
    plan.seed = value.seed;
  }
  if (value.reject !== undefined) {
    if (!isRecord(value.reject)) throw new InvalidFailurePlanError('reject', 'must be an object { commandType: 400 | 422 }');
    const reject: Record<string, 400 | 422> = {};
    for (const [type, status] of Object.entries(value.reject)) {
      if (status !== 400 && status !== 422) {
        throw new InvalidFailurePlanError(`reject.${type}`, `must be 400 or 422, got ${JSON.stringify(status)}`);
      }
      reject[type] = status;
    }
    plan.reject = reject;
  }
  return plan;
}

export function drawFate(plan: FailurePlan, random: Random): Fate {
  const failure = random();
  const slowness = random();
  const errorRate = plan.errorRate ?? 0;
  const rate429 = plan.rate429 ?? 0;
  const status = failure < errorRate ? 500 : failure < errorRate + rate429 ? 429 : null;
  const delayMs = slowness < (plan.slowRate ?? 0) ? (plan.slowMs ?? DEFAULT_SLOW_MS) : 0;
  return { status, delayMs };
}
