import { describe, expect, it } from 'vitest';
import { interpolate } from './interpolate';

describe('interpolate', () => {
  const env = { PARTS: '12', EMPTY: '', HOST: 'erp.example' };

  it.each([
    ['plain text', 'plain text'],
    ['${PARTS}', '12'],
    ['${PARTS:-6}', '12'],
    ['${MISSING:-6}', '6'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${EMPTY-fallback}', ''],
    ['${MISSING-fallback}', 'fallback'],
    ['${EMPTY}', ''],
    ['${MISSING:-}', ''],
    ['https://${HOST}:${PORT:-8443}/api', 'https://erp.example:8443/api'],
    ['$${PARTS} stays', '${PARTS} stays'],
    ['${MISSING:-a-b:c}', 'a-b:c'],
  ])('%s -> %s', (input, expected) => {
    const result = interpolate(input, env);
    expect(result.problems).toEqual([]);
    expect(result.value).toBe(expected);
  });

  it('marks a string as substituted only when a reference was replaced', () => {
    expect(interpolate('no refs', env).substituted).toBe(false);
    expect(interpolate('$${literal}', env).substituted).toBe(false);
    expect(interpolate('${PARTS}', env).substituted).toBe(true);
  });

  it('an unset variable without a default is a problem naming it, at its offset', () => {
    const result = interpolate('x ${PARTS} ${NOPE} ${ALSO_NOPE:-ok}', env);
    expect(result.problems).toEqual([{ offset: 11, message: expect.stringContaining('NOPE is not set') }]);
  });

  it('reports malformed references and an unterminated ${', () => {
    expect(interpolate('${1BAD}', env).problems).toEqual([{ offset: 0, message: expect.stringContaining('not a variable reference') }]);
    expect(interpolate('ab ${PARTS', env).problems).toEqual([{ offset: 3, message: expect.stringContaining('unterminated') }]);
  });
});
