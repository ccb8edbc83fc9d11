/**
 * The human side of a run: one table of figures against the issue's floors and targets for a
 * 2-core box, with the ratio to the ceiling where it applies, then the machine and the checks.
 * Floors and targets are the issue's; the rebuild's are per million events, so they are scaled to
 * the events replayed (a quick run's sizes are too small for any of them to mean much).
 */
import Table from 'cli-table3';
import type { BenchResult } from './bench';
import type { FoldCheck } from './lib/fold-check';
import type { ProcessorStats } from './lib/processor-stats';

interface Bound {
  floor: number;
  target: number;
  /** Lower values are better (latencies, seconds). */
  lower: boolean;
}

export const BOUNDS = {
  pipelineEventsPerSec: { floor: 10_000, target: 25_000, lower: false },
  freshnessP99Ms: { floor: 50, target: 20, lower: true },
  /** Per 1,000,000 events. */
  rebuildSeconds: { floor: 30, target: 15, lower: true },
  apiP99Ms: { floor: 5, target: 2, lower: true },
} satisfies Record<string, Bound>;

type Row = [figure: string, value: string, floor: string, target: string, verdict: string, ceiling: string];

export function renderTable(result: BenchResult): string {
  const s = result.scenarios;
  const table = new Table({ head: ['figure', 'value', 'floor', 'target', 'verdict', 'vs ceiling'], style: { head: [], border: [] } });
  const rows: Row[] = [];
  const ratio = (value: number | null) => (value !== null && result.ceilingEventsPerSec ? `${((100 * value) / result.ceilingEventsPerSec).toFixed(0)} %` : '');
  const add = (figure: string, value: number | null, format: (v: number) => string, bound?: Bound, vsCeiling = '') => {
    if (value === null) return;
    rows.push([figure, format(value), bound ? format(bound.floor) : '', bound ? format(bound.target) : '', bound ? verdict(value, bound) : '', vsCeiling]);
  };
  const note = (figure: string, text: string) => rows.push([figure, text, '', '', '', '']);
  const chunks = (all: Record<string, ProcessorStats>) => {
    for (const [name, p] of Object.entries(all)) {
      note(`  ${name}: chunks (mean time × records), out (+ coalesced)`, `${p.chunks} × ${p.meanChunkMs.toFixed(1)} ms × ${p.recordsPerChunk} rec, ${p.recordsOut.toLocaleString('en-US')} out (+ ${p.coalesced.toLocaleString('en-US')})`);
    }
  };
  const perSec = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`;
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  const sec = (v: number) => `${v.toFixed(2)} s`;

  add('ceiling: kafkajs read, events', result.ceilingEventsPerSec, perSec, undefined, '100 %');
  add('ceiling: read + Avro decode, events', result.ceilingDecodeEventsPerSec, perSec, undefined, ratio(result.ceilingDecodeEventsPerSec));
  add('publish (SDK, setup only), events', result.publishEventsPerSec, perSec);
  add('pipeline orders+atp, events', result.pipelineEventsPerSec, perSec, BOUNDS.pipelineEventsPerSec, ratio(result.pipelineEventsPerSec));
  if (s.pipeline) {
    add('  pipeline start-up (not counted)', s.pipeline.startupSeconds, sec);
    add('  applied → served (not counted)', s.pipeline.servedAfterSeconds, sec);
    add('  run orders atp: cores busy', s.pipeline.processCoresBusy, (v) => v.toFixed(2));
    chunks(s.pipeline.processors);
  }
  if (s.freshness) {
    const f = s.freshness;
    add(`freshness p50 @ ${Math.round(f.achievedRate)} ev/s`, f.p50, ms);
    add('freshness p99', f.p99, ms, BOUNDS.freshnessP99Ms);
    add('freshness p99.9', f.p999, ms);
    add('  stock probe (atp) p99', f.stock.p99, ms);
    add('  order probe (orders→atp) p99', f.order.p99, ms);
    add('  run orders atp: cores busy', f.processCoresBusy, (v) => v.toFixed(2));
    chunks(f.processors);
  }
  if (s.rebuild) {
    const scale = s.rebuild.events / 1_000_000;
    const bound = { ...BOUNDS.rebuildSeconds, floor: BOUNDS.rebuildSeconds.floor * scale, target: BOUNDS.rebuildSeconds.target * scale };
    add(`rebuild all, ${s.rebuild.events.toLocaleString('en-US')} events`, s.rebuild.seconds, sec, bound);
    add('  rebuild, events', s.rebuild.eventsPerSec, perSec, undefined, ratio(s.rebuild.eventsPerSec));
  }
  if (s.api) {
    for (const route of [s.api.get, s.api.check]) {
      add(`${route.route} p50 @ ${Math.round(route.requestsPerSec)} req/s`, route.p50, ms);
      add(`  p99`, route.p99, ms, BOUNDS.apiP99Ms);
      add(`  p99.9`, route.p999, ms);
    }
    add('API errors (non-2xx, failed, timed out)', result.apiErrors, (v) => String(v));
  }
  if (s.sinks) add(`sink erp → receiver (concurrency ${s.sinks.concurrency}), commands`, s.sinks.commandsPerSec, perSec);
  table.push(...rows);

  const m = result.machine;
  const check = (name: string, fold: FoldCheck, extra = '') =>
    `${name} ${fold.equal ? '=' : '≠'} fold${extra}${fold.equal && fold.settledAfterMs > 0 ? ` (${(fold.settledAfterMs / 1000).toFixed(1)} s after caught up)` : ''}`;
  const checks = [
    s.pipeline && check('pipeline', s.pipeline.fold, ` (${s.pipeline.fold.rows} rows, ${s.pipeline.fold.orders} orders)`),
    s.rebuild && check('rebuild', s.rebuild.fold),
    s.freshness && check('freshness', s.freshness.fold, ` (${s.freshness.count} probes)`),
  ].filter(Boolean);
  return [
    table.toString(),
    `machine: ${m.cores} cores, ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}, load ${m.loadAtStart} at start, stack ${m.stack}`,
    `run: ${result.size}, ${result.events.toLocaleString('en-US')} events, commit ${result.commit.slice(0, 12)}${result.dirty ? ' (+ uncommitted changes)' : ''}, ${result.date}`,
    `checks: ${checks.join(', ') || 'none'}${result.passed ? '' : ` — FAILED: ${result.failures.join('; ')}`}`,
    ...(result.size === 'quick' ? ['(quick sizes: a smoke run; the floors and targets are for the full run)'] : []),
  ].join('\n');
}

function verdict(value: number, bound: Bound): string {
  const meets = (limit: number) => (bound.lower ? value <= limit : value >= limit);
  if (meets(bound.target)) return 'target met';
  if (meets(bound.floor)) return 'floor met';
  return 'BELOW FLOOR';
}
