/**
 * The README's "Error codes" table and runtime/errors.ts must list the same TRB_* codes
 * (STYLE.md: consistency between code and docs is tested, not trusted).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../runtime/errors';

function readmeCodes(): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## Error codes$/m)[1]?.split(/^## /m)[0] ?? '';
  return [...section.matchAll(/^\|\s*`(TRB_[A-Z_]+)`\s*\|/gm)].map((m) => m[1]!);
}

describe('error codes', () => {
  it('README lists exactly the codes runtime/errors.ts defines', () => {
    expect(readmeCodes().sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
});
