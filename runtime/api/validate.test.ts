/** Request validation (./validate.ts): every problem at once, with path and code. */
import { describe, expect, it } from 'vitest';
import { problemsMessage, validateCheckBody } from './validate';

const codes = (body: unknown) => validateCheckBody(body).problems?.map((p) => `${p.path} ${p.code}`);

describe('validateCheckBody', () => {
  it('accepts lines with and without a warehouse; a missing warehouse becomes null', () => {
    expect(
      validateCheckBody({
        lines: [
          { sku: 'SKU-1', warehouse: 'DC-EAST', quantity: 3 },
          { sku: 'a.b_c-9', quantity: 1 },
          { sku: 'SKU-1', warehouse: null, quantity: 2 },
        ],
      }),
    ).toEqual({
      lines: [
        { sku: 'SKU-1', warehouse: 'DC-EAST', quantity: 3 },
        { sku: 'a.b_c-9', warehouse: null, quantity: 1 },
        { sku: 'SKU-1', warehouse: null, quantity: 2 },
      ],
    });
  });

  it('refuses a body that is not { lines: [1..1000] }', () => {
    expect(codes(undefined)).toEqual([' REQUIRED']);
    expect(codes([1])).toEqual([' TYPE']);
    expect(codes('lines')).toEqual([' TYPE']);
    expect(codes({})).toEqual(['lines REQUIRED']);
    expect(codes({ lines: {} })).toEqual(['lines TYPE']);
    expect(codes({ lines: [] })).toEqual(['lines EMPTY']);
    const line = { sku: 'S', warehouse: 'W', quantity: 1 };
    expect(codes({ lines: new Array(1000).fill(line) })).toBeUndefined();
    expect(codes({ lines: new Array(1001).fill(line) })).toEqual(['lines MAX']);
  });

  it('reports every bad field of every line with its path', () => {
    expect(
      codes({
        lines: [
          { sku: 'SKU-1', warehouse: 'DC-EAST', quantity: 1 },
          { warehouse: 'DC EAST', quantity: 0 },
          { sku: 42, warehouse: 7, quantity: 2.5 },
          { sku: 'x'.repeat(65), quantity: '3' },
          'line',
          { sku: 'SKU/1', quantity: -4 },
          { sku: '', warehouse: '', quantity: 2 ** 53 },
          { sku: 'S' },
        ],
      }),
    ).toEqual([
      'lines[1].sku REQUIRED',
      'lines[1].warehouse PATTERN',
      'lines[1].quantity MIN',
      'lines[2].sku TYPE',
      'lines[2].warehouse TYPE',
      'lines[2].quantity NOT_INTEGER',
      'lines[3].sku PATTERN',
      'lines[3].quantity TYPE',
      'lines[4] TYPE',
      'lines[5].sku PATTERN',
      'lines[5].quantity MIN',
      'lines[6].sku PATTERN',
      'lines[6].warehouse PATTERN',
      'lines[6].quantity NOT_INTEGER',
      'lines[7].quantity REQUIRED',
    ]);
  });

  it('caps the problems of a body full of bad lines at 100', () => {
    expect(validateCheckBody({ lines: new Array(500).fill({ sku: '!', quantity: 0 }) }).problems).toHaveLength(100);
  });

  it('names the first problem in the message', () => {
    const { problems } = validateCheckBody({ lines: [{ sku: 'S', quantity: 0 }, { quantity: 1 }] });
    expect(problemsMessage(problems ?? [])).toBe('lines[0].quantity: must be greater than 0, got 0 (and 1 more)');
  });
});
