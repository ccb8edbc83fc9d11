/**
 * Sink metrics (SPEC §11), registered once on the process's shared registry (runtime/metrics.ts
 * `metrics.registry`) however many sinks run in it. Labels: the sink name and a bounded outcome.
 *
 *   tributary_sink_deliveries_total{sink,outcome}   how each command ended, one final outcome per
 *       command: delivered (2xx), duplicate (409: the receiver had it), rejected (400/422,
 *       dead-lettered with the body), dead_lettered (retried for maxRetryMs, or a record that is
 *       not a readable command), coalesced (superseded by a newer command of its key before it was
 *       sent); plus retried: one per failed attempt that is tried again
 *   tributary_sink_request_seconds{sink}            time of each HTTP attempt, answer body included
 *   tributary_sink_circuit_state{sink}              0 closed, 1 half-open, 2 open
 *   tributary_sink_backlog{sink}                    commands read and not finished, plus records
 *                                                   not yet read up to the partitions' ends
 *
 * Dead letters also count in the shared tributary_dlq_total{processor=<sink>,topic,code}.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type SinkOutcome = 'delivered' | 'duplicate' | 'rejected' | 'dead_lettered' | 'coalesced' | 'retried';

export interface SinkMetrics {
  deliveries: Counter<'sink' | 'outcome'>;
  requestSeconds: Histogram<'sink'>;
  circuitState: Gauge<'sink'>;
  backlog: Gauge<'sink'>;
  /** Registers how to read a sink's backlog at scrape time; returns the way to stop. */
  trackBacklog(sink: string, read: () => number): () => void;
}

const bySink = new WeakMap<Registry, SinkMetrics>();

export function sinkMetrics(registry: Registry): SinkMetrics {
  const existing = bySink.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const backlogReaders = new Map<string, () => number>();
  const created: SinkMetrics = {
    deliveries: new Counter({ name: 'tributary_sink_deliveries_total', help: 'Commands by how their delivery ended (delivered, duplicate, rejected, dead_lettered, coalesced) and failed attempts retried', labelNames: ['sink', 'outcome'], registers }),
    requestSeconds: new Histogram({
      name: 'tributary_sink_request_seconds',
      help: 'Time of one HTTP request to the receiver, answer included',
      labelNames: ['sink'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    circuitState: new Gauge({ name: 'tributary_sink_circuit_state', help: 'Circuit breaker of the sink: 0 closed, 1 half-open, 2 open (receiver down, consumption paused)', labelNames: ['sink'], registers }),
    backlog: new Gauge({
      name: 'tributary_sink_backlog',
      help: 'Commands waiting for delivery: read and not finished, plus not yet read up to the end of the partitions',
      labelNames: ['sink'],
      registers,
      collect() {
        for (const [sink, read] of backlogReaders) this.set({ sink }, read());
      },
    }),
    trackBacklog(sink, read) {
      backlogReaders.set(sink, read);
      return () => {
        if (backlogReaders.get(sink) === read) backlogReaders.delete(sink);
      };
    },
  };
  bySink.set(registry, created);
  return created;
}
