/**
 * Latency percentiles by nearest rank over every sample (no histogram buckets, so no resolution
 * lost): p50, p99, p99.9 and the maximum, in milliseconds rounded to 0.01.
 */
export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function percentiles(samples: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => {
    if (sorted.length === 0) return Number.NaN;
    const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
    return round(sorted[rank - 1] as number);
  };
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: at(1) };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
