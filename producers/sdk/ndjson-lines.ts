/**
 * NDJSON input for `tributary publish`: one natural-JSON value per line, numbered from 1 as an
 * editor shows them; blank lines are skipped (and still counted). A line that is not JSON is one
 * problem with code JSON and the parser's reason; otherwise the value's problems come from
 * validate.ts. `formatLineProblem` gives the one-line form users see:
 *
 *   line 7: lines[0].quantity: expected an integer, got 2.5
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { FieldProblem } from '../../runtime/errors';

export interface NumberedLine {
  line: number;
  text: string;
}

export type ParsedLine = { line: number; ok: true; value: unknown } | { line: number; ok: false; problems: FieldProblem[] };

export interface LineProblem extends FieldProblem {
  line: number;
}

/** Non-blank lines of a stream, with their 1-based line numbers; reads lazily, one line at a time. */
export async function* numberedLines(input: Readable): AsyncGenerator<NumberedLine> {
  const reader = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const text of reader) {
    line++;
    if (text.trim() !== '') yield { line, text };
  }
}

export function parseLine({ line, text }: NumberedLine): ParsedLine {
  try {
    return { line, ok: true, value: JSON.parse(text) };
  } catch (error) {
    // V8 may quote the whole line back ("..." is not valid JSON): the line number already says where.
    const reason = (error as Error).message.replace(/, ".*" is not valid JSON$/s, '').slice(0, 160);
    return { line, ok: false, problems: [{ path: '(line)', code: 'JSON', message: `not valid JSON: ${reason}` }] };
  }
}

export function formatLineProblem(problem: LineProblem): string {
  return problem.path === '(line)' ? `line ${problem.line}: ${problem.message}` : `line ${problem.line}: ${problem.path}: ${problem.message}`;
}

/** `0-5`, `0,2,4`, `0-2,5`: the partitions written, compact for one line of output. */
export function partitionRanges(partitions: readonly number[]): string {
  const sorted = [...new Set(partitions)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j - i >= 2 ? `${sorted[i]}-${sorted[j]}` : sorted.slice(i, j + 1).join(','));
    i = j + 1;
  }
  return parts.join(',');
}
