/**
 * Request validation, by hand: every problem of a body is reported at once as
 * `{ path, code, message }` with the codes the publisher uses (producers/README.md: REQUIRED,
 * TYPE, NOT_INTEGER, PATTERN, EMPTY, MIN, plus MAX), and it costs less per request than a schema
 * validator whose errors would need translating anyway.
 *
 * Codes (sku, warehouse, orderId) match `[A-Za-z0-9._-]{1,64}` like every code in the catalogue;
 * the check also keeps them safe to put into Redis key names.
 */
import type { FieldProblem } from '../errors';
import type { CheckLine } from './answers';

export const CODE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const MAX_CHECK_LINES = 1000;
/** A body with thousands of bad lines gets the first problems, not a response bigger than it. */
export const MAX_PROBLEMS = 100;

export function isCode(value: string): boolean {
  return CODE_PATTERN.test(value);
}

export function codeProblem(path: string, value: string): FieldProblem | null {
  return isCode(value) ? null : { path, code: 'PATTERN', message: `must match [A-Za-z0-9._-]{1,64}, got ${JSON.stringify(value.slice(0, 80))}` };
}

function code(path: string, value: unknown, required: boolean, problems: FieldProblem[]): void {
  if (value === undefined || value === null) {
    if (required) problems.push({ path, code: 'REQUIRED', message: 'is required' });
  } else if (typeof value !== 'string') {
    problems.push({ path, code: 'TYPE', message: `must be a string, got ${typeof value}` });
  } else {
    const problem = codeProblem(path, value);
    if (problem) problems.push(problem);
  }
}

function quantity(path: string, value: unknown, problems: FieldProblem[]): void {
  if (value === undefined || value === null) problems.push({ path, code: 'REQUIRED', message: 'is required' });
  else if (typeof value !== 'number') problems.push({ path, code: 'TYPE', message: `must be a number, got ${typeof value}` });
  else if (!Number.isSafeInteger(value)) problems.push({ path, code: 'NOT_INTEGER', message: `must be a whole number, got ${value}` });
  else if (value <= 0) problems.push({ path, code: 'MIN', message: `must be greater than 0, got ${value}` });
}

export type CheckBodyResult = { lines: CheckLine[]; problems?: undefined } | { lines?: undefined; problems: FieldProblem[] };

/** POST /atp/check body `{ lines: [{ sku, warehouse?, quantity }] }`, 1..1000 lines. */
export function validateCheckBody(body: unknown): CheckBodyResult {
  if (body === undefined || body === null) return { problems: [{ path: '', code: 'REQUIRED', message: 'a JSON body { "lines": [...] } is required' }] };
  if (typeof body !== 'object' || Array.isArray(body)) return { problems: [{ path: '', code: 'TYPE', message: 'the body must be a JSON object { "lines": [...] }' }] };
  const raw = (body as { lines?: unknown }).lines;
  if (raw === undefined || raw === null) return { problems: [{ path: 'lines', code: 'REQUIRED', message: 'is required' }] };
  if (!Array.isArray(raw)) return { problems: [{ path: 'lines', code: 'TYPE', message: 'must be an array' }] };
  if (raw.length === 0) return { problems: [{ path: 'lines', code: 'EMPTY', message: 'must hold at least one line' }] };
  if (raw.length > MAX_CHECK_LINES) return { problems: [{ path: 'lines', code: 'MAX', message: `must hold at most ${MAX_CHECK_LINES} lines, got ${raw.length}` }] };

  const problems: FieldProblem[] = [];
  const lines: CheckLine[] = new Array(raw.length);
  for (let i = 0; i < raw.length && problems.length < MAX_PROBLEMS; i++) {
    const line: unknown = raw[i];
    const at = `lines[${i}]`;
    if (line === null || typeof line !== 'object' || Array.isArray(line)) {
      problems.push({ path: at, code: 'TYPE', message: 'must be an object { sku, warehouse, quantity }' });
      continue;
    }
    const { sku, warehouse, quantity: qty } = line as { sku?: unknown; warehouse?: unknown; quantity?: unknown };
    const before = problems.length;
    code(`${at}.sku`, sku, true, problems);
    code(`${at}.warehouse`, warehouse, false, problems);
    quantity(`${at}.quantity`, qty, problems);
    if (problems.length === before) lines[i] = { sku: sku as string, warehouse: (warehouse as string | null | undefined) ?? null, quantity: qty as number };
  }
  return problems.length > 0 ? { problems: problems.slice(0, MAX_PROBLEMS) } : { lines };
}

/** One line naming the first problem, as ValidationError does. */
export function problemsMessage(problems: readonly FieldProblem[]): string {
  const first = problems[0];
  if (!first) return 'invalid request';
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return `${first.path === '' ? 'body' : first.path}: ${first.message}${more}`;
}
