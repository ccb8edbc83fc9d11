import { describe, expect, it } from 'vitest';
import { formatRetention, parseRetention } from './retention';
import { closest } from './suggest';

describe('retention', () => {
  it.each([
    ['7d', 604_800_000],
    ['12h', 43_200_000],
    ['30m', 1_800_000],
    ['45s', 45_000],
    ['500ms', 500],
    ['2w', 1_209_600_000],
    ['forever', -1],
    ['-1', -1],
    [-1, -1],
    [86_400_000, 86_400_000],
    ['3600000', 3_600_000],
  ] as const)('%s is %i ms', (written, ms) => {
    expect(parseRetention(written)).toBe(ms);
  });

  it.each(['0d', 0, -5, '7 days', '1.5h', '', true, null])('%s is not a retention', (written) => {
    expect(parseRetention(written)).toBeUndefined();
  });

  it('formats with the largest exact unit', () => {
    expect(formatRetention(-1)).toBe('forever');
    expect(formatRetention(604_800_000)).toBe('1w');
    expect(formatRetention(2_592_000_000)).toBe('30d');
    expect(formatRetention(90_000)).toBe('90s');
    expect(formatRetention(1_500)).toBe('1500ms');
  });
});

describe('did you mean', () => {
  it('suggests a close candidate and nothing for a distant one', () => {
    expect(closest('partitons', ['partitions', 'retention'])).toBe('partitions');
    expect(closest('Retension', ['partitions', 'retention'])).toBe('retention');
    expect(closest('colour', ['partitions', 'retention'])).toBeUndefined();
  });
});
