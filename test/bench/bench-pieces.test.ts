/** The benchmark's pure pieces (issue 7): options, percentiles, and the table's verdicts. */
import { describe, expect, it } from 'vitest';
import { benchOptions, FULL, QUICK, SCENARIOS } from '../../bench/options';
import { percentiles } from '../../bench/lib/percentiles';
import { renderTable } from '../../bench/report';
import type { BenchResult } from '../../bench/bench';

describe('bench options', () => {
  it('takes the issue\'s sizes by default and the smoke sizes with --quick', () => {
    const full = benchOptions({});
    expect(full).toMatchObject({ size: 'full', events: 1_000_000, freshnessRate: 2_000, freshnessSeconds: 60, apiRate: 3_000, scenarios: [...SCENARIOS] });
    const quick = benchOptions({ quick: true });
    expect(quick).toMatchObject({ size: 'quick', events: QUICK.events, freshnessRate: QUICK.freshnessRate, freshnessSeconds: QUICK.freshnessSeconds, sinkCommands: QUICK.sinkCommands });
    expect(quick.events).toBeLessThan(FULL.events);
  });

  it('lets each size be overridden, with underscores as in the docs', () => {
    expect(benchOptions({ quick: true, events: '50_000', apiSeconds: '2' })).toMatchObject({ events: 50_000, apiSeconds: 2 });
  });

  it('keeps the probes to a twentieth of the freshness traffic', () => {
    expect(benchOptions({ freshnessRate: '200' }).probeRate).toBe(10);
    expect(benchOptions({}).probeRate).toBe(FULL.probeRate);
  });

  it('runs the named scenarios only, in the suite\'s order', () => {
    expect(benchOptions({ only: 'freshness, ceiling' }).scenarios).toEqual(['ceiling', 'freshness']);
  });

  it('refuses a bad number or an unknown scenario, naming the flag', () => {
    expect(() => benchOptions({ events: 'many' })).toThrow(/--events must be a whole number/);
    expect(() => benchOptions({ events: '10' })).toThrow(/at least 1000/);
    expect(() => benchOptions({ only: 'pipeline,latency' })).toThrow(/--only takes .*ceiling/);
  });
});

describe('percentiles', () => {
  it('takes the nearest rank over every sample', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => 1000 - i); // 1..1000, in reverse
    expect(percentiles(samples)).toEqual({ count: 1000, p50: 500, p99: 990, p999: 999, max: 1000 });
  });

  it('keeps fractions of a millisecond (to 0.01)', () => {
    expect(percentiles([0.123, 0.456, 1.789])).toMatchObject({ p50: 0.46, max: 1.79 });
  });

  it('is NaN without samples rather than a made-up zero', () => {
    expect(percentiles([]).p99).toBeNaN();
  });
});

describe('the table', () => {
  const result = {
    pipelineEventsPerSec: 12_000,
    ceilingEventsPerSec: 48_000,
    ceilingDecodeEventsPerSec: 30_000,
    publishEventsPerSec: null,
    apiErrors: null,
    passed: true,
    failures: [],
    size: 'full',
    events: 1_000_000,
    commit: 'a'.repeat(40),
    dirty: false,
    date: '2026-11-23T00:00:00.000Z',
    machine: { cores: 2, cpuModel: 'Test CPU', node: 'v20.0.0', platform: 'linux x64', memoryGiB: 24, loadAtStart: 0.1, stack: 'local' },
    scenarios: {
      rebuild: { method: 'rebuild-command', events: 1_000_000, seconds: 20, eventsPerSec: 50_000, recordsReplayed: 2_000_000, wallSeconds: 22, fold: { equal: true, settledAfterMs: 0, rows: 1, orders: 1, differing: [], examples: [] } },
    },
  } as unknown as BenchResult;
  const lines = renderTable(result).split('\n');
  const row = (figure: string) => lines.find((l) => l.includes(figure)) ?? '';

  it('judges each figure against its floor and target, per million events for the rebuild', () => {
    expect(row('pipeline orders+atp')).toMatch(/12,000\/s.*10,000\/s.*25,000\/s.*floor met.*25 %/);
    expect(row('rebuild all, 1,000,000 events')).toMatch(/20\.00 s.*30\.00 s.*15\.00 s.*floor met/);
  });

  it('names the machine and the commit', () => {
    expect(lines.join('\n')).toContain('machine: 2 cores, Test CPU, 24 GiB, linux x64, Node v20.0.0');
    expect(lines.join('\n')).toContain(`commit ${'a'.repeat(12)}`);
  });
});
