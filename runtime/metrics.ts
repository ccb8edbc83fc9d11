/**
 * Prometheus metrics (SPEC §11), one registry per process: every component of `tributary up` or
 * `run` records into it and the API (or the health server of a process without the API) serves
 * it at /metrics. Names are `tributary_*`; consumer lag is also published under the names the
 * usual Kafka dashboards query (kafka-exporter's `kafka_consumergroup_lag*`).
 *
 * Labels are bounded: processor, topic, partition, DLQ code. Never an eventId, key or sku.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  registry: Registry;
  recordsIn: Counter<'processor' | 'topic'>;
  recordsOut: Counter<'processor' | 'topic'>;
  /** Outputs not produced because a newer one of the same batch replaced them (runtime/processor/coalesce.ts). */
  outputsCoalesced: Counter<'processor' | 'topic'>;
  duplicates: Counter<'processor' | 'topic'>;
  deadLetters: Counter<'processor' | 'topic' | 'code'>;
  rejections: Counter<'processor'>;
  lateEvents: Counter<'processor'>;
  fenced: Counter<'processor'>;
  rebuilds: Counter<'processor' | 'reason'>;
  retries: Counter<'processor' | 'code'>;
  batchSeconds: Histogram<'processor'>;
  endToEndSeconds: Histogram<'processor' | 'topic'>;
  consumerLag: Gauge<'processor' | 'topic' | 'partition'>;
  groupLag: Gauge<'consumergroup' | 'topic' | 'partition'>;
  groupLagSum: Gauge<'consumergroup' | 'topic'>;
  groupLagSeconds: Gauge<'consumergroup' | 'topic' | 'partition'>;
  /** Seconds since the newest event (by occurredAt) a processor applied: ATP freshness for `atp`. */
  freshness: Gauge<'processor'>;
  /** 1 while a partition serves, 0 while it catches up or is being rebuilt. */
  partitionReady: Gauge<'processor' | 'partition'>;
  /** Records the occurredAt of an applied event, for the freshness gauge. */
  noteApplied(processor: string, occurredAt: number): void;
  /** A partition's lag in records, under both names, and in the group's per-topic sum. */
  noteLag(at: { processor: string; group: string; topic: string; partition: number }, lag: number): void;
  /** After a rebalance: forgets the lag of partitions this instance no longer owns (their new owner reports it). */
  keepLagOf(at: { processor: string; group: string }, assignment: Readonly<Record<string, readonly number[]>>): void;
}

// Processing is milliseconds per batch normally; rebuild batches and stalls reach seconds.
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'tributary_' });
  const registers = [registry];
  const newestApplied = new Map<string, number>();
  // group → topic → partition → lag: kafka_consumergroup_lag_sum is their sum when scraped.
  const lagByPartition = new Map<string, Map<string, Map<number, number>>>();
  const metrics: Metrics = {
    registry,
    recordsIn: new Counter({ name: 'tributary_records_in_total', help: 'Input records consumed, by processor and topic', labelNames: ['processor', 'topic'], registers }),
    recordsOut: new Counter({ name: 'tributary_records_out_total', help: 'Records produced, by processor and output topic', labelNames: ['processor', 'topic'], registers }),
    outputsCoalesced: new Counter({ name: 'tributary_outputs_coalesced_total', help: 'Outputs not produced because a newer one for the same key in the same batch replaced them', labelNames: ['processor', 'topic'], registers }),
    duplicates: new Counter({ name: 'tributary_duplicates_total', help: 'Input records skipped as a repeated meta.eventId', labelNames: ['processor', 'topic'], registers }),
    deadLetters: new Counter({ name: 'tributary_dlq_total', help: 'Records sent to <topic>.dlq, by error code', labelNames: ['processor', 'topic', 'code'], registers }),
    rejections: new Counter({ name: 'tributary_rejections_total', help: 'Order versions rejected (order.rejected records)', labelNames: ['processor'], registers }),
    lateEvents: new Counter({ name: 'tributary_late_events_total', help: 'Events later than the grace period, applied as of their arrival (SPEC §5)', labelNames: ['processor'], registers }),
    fenced: new Counter({ name: 'tributary_fenced_batches_total', help: 'Batches not applied because another instance or a rebuild moved the partition on', labelNames: ['processor'], registers }),
    rebuilds: new Counter({ name: 'tributary_state_rebuilds_total', help: 'Partitions whose derived state was rebuilt from the topics', labelNames: ['processor', 'reason'], registers }),
    retries: new Counter({ name: 'tributary_retries_total', help: 'Batches paused and retried because a dependency was unavailable', labelNames: ['processor', 'code'], registers }),
    batchSeconds: new Histogram({ name: 'tributary_processing_seconds', help: 'Time to process one partition batch (decode, fold, produce, apply)', labelNames: ['processor'], buckets: SECONDS_BUCKETS, registers }),
    endToEndSeconds: new Histogram({
      name: 'tributary_end_to_end_latency_seconds',
      help: 'now − meta.occurredAt when a record is applied',
      labelNames: ['processor', 'topic'],
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    consumerLag: new Gauge({ name: 'tributary_consumer_lag', help: 'Records behind the end of the partition', labelNames: ['processor', 'topic', 'partition'], registers }),
    groupLag: new Gauge({ name: 'kafka_consumergroup_lag', help: 'Consumer group lag in records (kafka-exporter name)', labelNames: ['consumergroup', 'topic', 'partition'], registers }),
    groupLagSum: new Gauge({
      name: 'kafka_consumergroup_lag_sum',
      help: 'Consumer group lag summed over partitions (kafka-exporter name)',
      labelNames: ['consumergroup', 'topic'],
      registers,
      collect() {
        for (const [consumergroup, topics] of lagByPartition) {
          for (const [topic, partitions] of topics) {
            let sum = 0;
            for (const lag of partitions.values()) sum += lag;
            this.set({ consumergroup, topic }, sum);
          }
        }
      },
    }),
    groupLagSeconds: new Gauge({ name: 'kafka_consumergroup_lag_seconds', help: 'Age of the last consumed record while behind, 0 when caught up', labelNames: ['consumergroup', 'topic', 'partition'], registers }),
    freshness: new Gauge({
      name: 'tributary_view_freshness_seconds',
      help: 'Seconds since the occurredAt of the newest event the processor applied (ATP freshness for atp)',
      labelNames: ['processor'],
      registers,
      collect() {
        const now = Date.now();
        for (const [processor, at] of newestApplied) this.set({ processor }, Math.max(0, (now - at) / 1000));
      },
    }),
    partitionReady: new Gauge({ name: 'tributary_partition_ready', help: '1 while a partition serves its state, 0 while it catches up or rebuilds', labelNames: ['processor', 'partition'], registers }),
    noteApplied(processor, occurredAt) {
      if (occurredAt > (newestApplied.get(processor) ?? 0)) newestApplied.set(processor, occurredAt);
    },
    noteLag({ processor, group, topic, partition }, records) {
      const lag = Math.max(0, records);
      metrics.consumerLag.set({ processor, topic, partition: String(partition) }, lag);
      metrics.groupLag.set({ consumergroup: group, topic, partition: String(partition) }, lag);
      let topics = lagByPartition.get(group);
      if (!topics) lagByPartition.set(group, (topics = new Map()));
      let partitions = topics.get(topic);
      if (!partitions) topics.set(topic, (partitions = new Map()));
      partitions.set(partition, lag);
    },
    keepLagOf({ processor, group }, assignment) {
      const topics = lagByPartition.get(group);
      if (!topics) return;
      for (const [topic, partitions] of topics) {
        const owned = new Set(assignment[topic] ?? []);
        for (const partition of [...partitions.keys()]) {
          if (owned.has(partition)) continue;
          partitions.delete(partition);
          metrics.consumerLag.remove({ processor, topic, partition: String(partition) });
          metrics.groupLag.remove({ consumergroup: group, topic, partition: String(partition) });
          metrics.groupLagSeconds.remove({ consumergroup: group, topic, partition: String(partition) });
        }
        if (partitions.size === 0) {
          topics.delete(topic);
          metrics.groupLagSum.remove({ consumergroup: group, topic });
        }
      }
    },
  };
  return metrics;
}
