/**
 * What a `tributary run` child says about its own work on /metrics: records in and out (and the
 * outputs a newer one of their batch replaced), and the
 * chunks it processed (tributary_processing_seconds: decode, dedupe, fold, the Redis apply and
 * the produce of one chunk of one partition). Read after a scenario, it tells whether the time
 * went into chunks (and how many records each carried) or elsewhere (fetching, waiting).
 */
import { counterSum } from '../../test/e2e/child-process';

export interface ProcessorStats {
  recordsIn: number;
  recordsOut: number;
  /** Outputs not produced because a newer one of the same batch replaced them (runtime/processor/coalesce.ts). */
  coalesced: number;
  chunks: number;
  /** Sum of chunk times; more than the wall time when partitions are processed side by side. */
  chunkSeconds: number;
  meanChunkMs: number;
  recordsPerChunk: number;
}

export async function processorStats(url: string, processor: string): Promise<ProcessorStats> {
  const labels = { processor };
  const [recordsIn, recordsOut, coalesced, chunks, chunkSeconds] = await Promise.all([
    counterSum(url, 'tributary_records_in_total', labels),
    counterSum(url, 'tributary_records_out_total', labels),
    counterSum(url, 'tributary_outputs_coalesced_total', labels),
    counterSum(url, 'tributary_processing_seconds_count', labels),
    counterSum(url, 'tributary_processing_seconds_sum', labels),
  ]);
  return {
    recordsIn,
    recordsOut,
    coalesced,
    chunks,
    chunkSeconds: Math.round(chunkSeconds * 100) / 100,
    meanChunkMs: chunks === 0 ? 0 : Math.round((chunkSeconds / chunks) * 100_000) / 100,
    recordsPerChunk: chunks === 0 ? 0 : Math.round(recordsIn / chunks),
  };
}
