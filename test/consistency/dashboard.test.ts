/**
 * The shipped Grafana dashboard and Prometheus config against the code (STYLE.md: consistency
 * between code, docs and config is tested, not trusted; there is no Grafana or promtool here):
 * - every metric a panel or variable queries is one the code registers (prom-client's registry
 *   after the modules that register metrics ran: runtime/metrics.ts, sinks/http/metrics.ts,
 *   runtime/api/http-metrics.ts), histogram series only with _bucket/_sum/_count, and every label
 *   a query groups or filters by is a label of the metrics it queries;
 * - every Tributary metric is on some panel;
 * - panels name the provisioned datasource uid, and use only variables the dashboard defines;
 * - the circuit-state value mappings are the gauge's values;
 * - Prometheus scrapes the port docker-compose.yml gives the tributary service, and Grafana mounts
 *   the dashboards where its provider looks.
 */
import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { httpMetrics } from '../../runtime/api/http-metrics';
import { createMetrics } from '../../runtime/metrics';
import { CIRCUIT_GAUGE } from '../../sinks/http/circuit';
import { sinkMetrics } from '../../sinks/http/metrics';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

interface Target {
  expr?: string;
  datasource?: { uid?: string };
}
interface Panel {
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
  panels?: Panel[];
  fieldConfig?: { defaults?: { mappings?: { type: string; options: Record<string, { text: string }> }[] } };
}
interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  datasource?: { uid?: string };
}
interface Dashboard {
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(read('deploy/grafana/dashboards/tributary.json')) as Dashboard;
const datasources = parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid?: string; type: string; url: string }[] };
const providers = parse(read('deploy/grafana/provisioning/dashboards/tributary.yml')) as { providers: { options: { path: string } }[] };
const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
const compose = parse(read('docker-compose.yml')) as {
  services: Record<string, { command?: string[]; ports?: string[]; environment?: Record<string, string>; volumes?: string[] }>;
};

/** Every metric the code registers, with its type and label names. */
function registered(): Map<string, { type: string; labels: string[] }> {
  const metrics = createMetrics();
  sinkMetrics(metrics.registry);
  httpMetrics(metrics.registry);
  const registry: Registry = metrics.registry;
  const out = new Map<string, { type: string; labels: string[] }>();
  for (const metric of registry.getMetricsAsArray()) {
    // labelNames is on every prom-client metric, not in its typings.
    const labels = ((metric as unknown as { labelNames?: string[] }).labelNames ?? []).slice();
    out.set(metric.name, { type: String(metric.type), labels });
  }
  return out;
}

const METRICS = registered();

/** Every series name a scrape shows, to the metric it belongs to. */
function seriesNames(): Map<string, string> {
  const series = new Map<string, string>();
  for (const [metric, { type }] of METRICS) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) series.set(`${metric}${suffix}`, metric);
    else series.set(metric, metric);
  }
  return series;
}
const SERIES = seriesNames();

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['instance', 'job'];

/**
 * The metric names and label names a PromQL expression (with Grafana variables) uses. Enough
 * PromQL for dashboards: selectors with matchers, ranges, functions, aggregations with by/without,
 * binary operators with on/ignoring, label_values() of variable queries.
 */
function promqlNames(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  let rest = expr
    .replace(/\$\{?__\w+\}?/g, '5m') // $__rate_interval, $__interval, ...
    .replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, 'VAR'); // $processor, ${sink:regex}
  rest = rest.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  rest = rest.replace(/\[[^\]]*\]/g, ' ');
  rest = rest.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_m, _kw: string, list: string) => {
    labels.push(...list.split(',').map((l) => l.trim()).filter(Boolean));
    return ' ';
  });
  rest = rest.replace(/\{([^}]*)\}/g, (_m, matchers: string) => {
    for (const m of matchers.matchAll(/([A-Za-z_]\w*)\s*(=~|!~|!=|=)/g)) labels.push(m[1]!);
    return ' ';
  });
  const valuesOf = /^\s*label_values\(\s*(?:([A-Za-z_:][\w:]*)\s*,)?\s*([A-Za-z_]\w*)\s*\)\s*$/.exec(rest);
  if (valuesOf) return { metrics: valuesOf[1] ? [valuesOf[1]] : [], labels: [...labels, valuesOf[2]!] };
  const metrics: string[] = [];
  for (const m of rest.matchAll(/(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    if (m[2] || KEYWORDS.has(m[1]!.toLowerCase()) || m[1] === 'VAR') continue; // a function or aggregation
    metrics.push(m[1]!);
  }
  return { metrics, labels };
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const panels = allPanels(dashboard.panels);
const queried = panels.filter((p) => (p.targets ?? []).length > 0);
const variables = dashboard.templating.list;
const variableQuery = (v: Variable) => (typeof v.query === 'string' ? v.query : v.query?.query ?? '');
const expressions: { where: string; expr: string }[] = [
  ...queried.flatMap((p) => p.targets!.map((t) => ({ where: `panel "${p.title}"`, expr: t.expr ?? '' }))),
  ...variables.filter((v) => v.type === 'query').map((v) => ({ where: `variable $${v.name}`, expr: variableQuery(v) })),
];

describe('promqlNames (the parser the checks below rely on)', () => {
  it('finds metrics and labels, not functions, keywords, label values, ranges or variables', () => {
    expect(
      promqlNames('histogram_quantile(0.99, sum by (le, processor) (rate(tributary_processing_seconds_bucket{processor=~"$processor", topic!="a.b"}[$__rate_interval])))'),
    ).toEqual({ metrics: ['tributary_processing_seconds_bucket'], labels: ['le', 'processor', 'processor', 'topic'] });
    expect(promqlNames('count(tributary_sink_circuit_state{sink=~"${sink:regex}"} == 2) or vector(0)')).toEqual({ metrics: ['tributary_sink_circuit_state'], labels: ['sink'] });
    expect(promqlNames('sum(rate(a_total[5m])) / on (instance) group_left sum(b)')).toEqual({ metrics: ['a_total', 'b'], labels: ['instance'] });
    expect(promqlNames('label_values(kafka_consumergroup_lag, consumergroup)')).toEqual({ metrics: ['kafka_consumergroup_lag'], labels: ['consumergroup'] });
  });
});

describe('deploy/grafana/dashboards/tributary.json', () => {
  it('is a Grafana 11 dashboard with panels that query', () => {
    expect(dashboard.uid).toBe('tributary');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(queried.length).toBeGreaterThan(20);
    expect(expressions.every((e) => e.expr.trim() !== '')).toBe(true);
  });

  it('queries only metrics the code registers (histograms through _bucket/_sum/_count)', () => {
    const unknown: string[] = [];
    for (const { where, expr } of expressions) {
      for (const metric of promqlNames(expr).metrics) if (!SERIES.has(metric)) unknown.push(`${where}: ${metric}`);
    }
    expect(unknown).toEqual([]);
  });

  it('groups and filters only by labels the queried metrics have', () => {
    const wrong: string[] = [];
    for (const { where, expr } of expressions) {
      const { metrics, labels } = promqlNames(expr);
      const known = new Set(TARGET_LABELS);
      for (const series of metrics) {
        const metric = SERIES.get(series);
        if (!metric) continue;
        for (const label of METRICS.get(metric)!.labels) known.add(label);
        if (series.endsWith('_bucket')) known.add('le');
      }
      for (const label of labels) if (!known.has(label)) wrong.push(`${where}: ${label} in ${expr}`);
    }
    expect(wrong).toEqual([]);
  });

  it("shows every Tributary metric (the Node process ones are optional)", () => {
    const used = new Set(expressions.flatMap(({ expr }) => promqlNames(expr).metrics.map((s) => SERIES.get(s))));
    const ours = [...METRICS.keys()].filter((name) => !/^tributary_(process|nodejs)_/.test(name));
    expect(ours.filter((name) => !used.has(name))).toEqual([]);
  });

  it('names the provisioned datasource in every panel, target and variable', () => {
    const [provisioned] = datasources.datasources;
    expect(datasources.datasources).toHaveLength(1);
    expect(provisioned!.type).toBe('prometheus');
    expect(provisioned!.uid).toBeTruthy();
    const uids = [
      ...queried.flatMap((p) => [p.datasource?.uid, ...p.targets!.map((t) => t.datasource?.uid)]),
      ...variables.filter((v) => v.type === 'query').map((v) => v.datasource?.uid),
    ];
    expect(new Set(uids)).toEqual(new Set([provisioned!.uid]));
  });

  it('uses only the variables it defines', () => {
    const defined = new Set(variables.map((v) => v.name));
    const used = expressions.flatMap(({ expr }) => [...expr.matchAll(/\$\{?(\w+)/g)].map((m) => m[1]!)).filter((name) => !name.startsWith('__'));
    expect(used.filter((name) => !defined.has(name))).toEqual([]);
    expect(defined).toEqual(new Set(['processor', 'sink', 'group', 'instance']));
  });

  it('maps the circuit-state gauge values to the circuit states the sinks report', () => {
    const circuit = queried.filter((p) => p.targets!.some((t) => /^max by \(sink\) \(tributary_sink_circuit_state\{/.test(t.expr ?? '')));
    expect(circuit).toHaveLength(1);
    const mapping = circuit[0]!.fieldConfig?.defaults?.mappings?.find((m) => m.type === 'value');
    const texts = Object.fromEntries(Object.entries(mapping?.options ?? {}).map(([value, { text }]) => [text, Number(value)]));
    expect(texts).toEqual(CIRCUIT_GAUGE);
  });
});

describe('Prometheus and Grafana provisioning vs docker-compose.yml', () => {
  it("scrapes the tributary service on its API port, which serves every component's /metrics under `up`", () => {
    const targets = prometheus.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    expect(targets).toEqual(['tributary:8080']);
    const service = compose.services.tributary!;
    // `up` runs the API in the same process as the processors and sinks (runtime/app/components.ts).
    expect(service.command).toEqual(['up']);
    expect(service.environment?.PORT).toBe('8080');
  });

  it('points Grafana at the prometheus service, and mounts the dashboards where the provider reads them', () => {
    const prometheusPort = compose.services.prometheus!.ports!.map((p) => p.split(':').at(-1))[0];
    expect(datasources.datasources[0]!.url).toBe(`http://prometheus:${prometheusPort}`);
    const mount = compose.services.grafana!.volumes!.find((v) => v.startsWith('./deploy/grafana/dashboards:'));
    expect(mount?.split(':')[1]).toBe(providers.providers[0]!.options.path);
  });
});
