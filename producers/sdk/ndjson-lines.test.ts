/** NDJSON input of `tributary publish`: line numbering, JSON errors, the one-line problem form. */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatLineProblem, numberedLines, parseLine, partitionRanges } from './ndjson-lines';

describe('numberedLines', () => {
  it('numbers lines from 1 as an editor does, skipping blank ones, with CRLF too', async () => {
    const input = Readable.from(['{"a":1}\r\n\n', '  \n{"b"', ':2}\n{"c":3}']);
    const lines = [];
    for await (const line of numberedLines(input)) lines.push(line);
    expect(lines).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 4, text: '{"b":2}' },
      { line: 5, text: '{"c":3}' },
    ]);
  });
});

describe('parseLine', () => {
  it('parses a JSON value', () => {
    expect(parseLine({ line: 3, text: '{"orderId":"SO-1"}' })).toEqual({ line: 3, ok: true, value: { orderId: 'SO-1' } });
  });

  it('reports malformed JSON as one JSON problem with the parser reason', () => {
    const parsed = parseLine({ line: 9, text: '{"orderId": SO-1}' });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toHaveLength(1);
    expect(parsed.problems[0]).toMatchObject({ path: '(line)', code: 'JSON' });
    expect(parsed.problems[0]!.message).toBe("not valid JSON: Unexpected token 'S'");
  });
});

describe('formatLineProblem', () => {
  it('names the line, the field path and the reason', () => {
    expect(formatLineProblem({ line: 7, path: 'lines[0].quantity', code: 'NOT_INTEGER', message: 'expected an integer, got 2.5' })).toBe(
      'line 7: lines[0].quantity: expected an integer, got 2.5',
    );
    expect(formatLineProblem({ line: 2, path: '(line)', code: 'JSON', message: 'not valid JSON: Unexpected end of JSON input' })).toBe(
      'line 2: not valid JSON: Unexpected end of JSON input',
    );
  });
});

describe('partitionRanges', () => {
  it('compacts runs of three or more into ranges', () => {
    expect(partitionRanges([0, 1, 2, 3, 4, 5])).toBe('0-5');
    expect(partitionRanges([4, 0, 2])).toBe('0,2,4');
    expect(partitionRanges([0, 1, 2, 5, 6])).toBe('0-2,5,6');
    expect(partitionRanges([3])).toBe('3');
    expect(partitionRanges([])).toBe('');
  });
});
