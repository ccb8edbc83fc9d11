import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics';

describe('consumer lag metrics', () => {
  it('publishes each partition under both names and the per-topic sum kafka-exporter dashboards query', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.noteLag({ processor: 'atp', group: 'tributary.atp', topic: 'stock.adjusted', partition: 0 }, 7);
    metrics.noteLag({ processor: 'atp', group: 'tributary.atp', topic: 'stock.adjusted', partition: 1 }, 5);
    metrics.noteLag({ processor: 'atp', group: 'tributary.atp', topic: 'stock.adjusted', partition: 0 }, 2); // newer figure replaces
    metrics.noteLag({ processor: 'atp', group: 'tributary.atp', topic: 'orders.movements', partition: 3 }, -4); // a stale high watermark

    const text = await metrics.registry.metrics();
    expect(text).toContain('tributary_consumer_lag{processor="atp",topic="stock.adjusted",partition="0"} 2');
    expect(text).toContain('kafka_consumergroup_lag{consumergroup="tributary.atp",topic="stock.adjusted",partition="1"} 5');
    expect(text).toContain('kafka_consumergroup_lag_sum{consumergroup="tributary.atp",topic="stock.adjusted"} 7');
    expect(text).toContain('kafka_consumergroup_lag_sum{consumergroup="tributary.atp",topic="orders.movements"} 0');

    // A rebalance took partition 0 of stock.adjusted and all of orders.movements elsewhere.
    metrics.keepLagOf({ processor: 'atp', group: 'tributary.atp' }, { 'stock.adjusted': [1, 2] });
    const after = await metrics.registry.metrics();
    expect(after).toContain('kafka_consumergroup_lag_sum{consumergroup="tributary.atp",topic="stock.adjusted"} 5');
    expect(after).not.toContain('partition="0"');
    expect(after).not.toContain('orders.movements');
  });
});
