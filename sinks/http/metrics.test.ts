import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { sinkMetrics } from './metrics';

describe('sinkMetrics', () => {
  it('registers the SPEC §11 sink metrics once per registry, however many sinks use it', async () => {
    const registry = new Registry();
    const first = sinkMetrics(registry);
    expect(sinkMetrics(registry)).toBe(first);
    first.deliveries.inc({ sink: 'erp', outcome: 'delivered' });
    first.circuitState.set({ sink: 'erp' }, 2);
    first.trackBacklog('erp', () => 42);
    const text = await registry.metrics();
    expect(text).toContain('tributary_sink_deliveries_total{sink="erp",outcome="delivered"} 1');
    expect(text).toContain('tributary_sink_circuit_state{sink="erp"} 2');
    expect(text).toContain('tributary_sink_backlog{sink="erp"} 42');
    expect(text).toContain('# TYPE tributary_sink_request_seconds histogram');
  });
});
