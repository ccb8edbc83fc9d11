/**
 * The distributor simulator (SPEC §9 `simulate`): reproducible, realistic traffic from the CRM,
 * ecommerce, EDI, ERP and WMS as natural-JSON event values with their keys.
 *
 *   simulate(options)            lazy Iterable<SimEvent>; each iteration replays the same run
 *   simulateToDir(options, dir)  <dir>/<topic>.ndjson, one value per line; same seed → same bytes
 *   simulateToFile(options, f)   one NDJSON file of {topic, key, value} lines, in run order
 *   paced(events, rate)          wall-clock pacing for `--rate`; simulated timestamps untouched
 *
 * Nothing here reads the wall clock or Math.random: time is simulated from `startAt` and every
 * draw, ids included, comes from the seed. It does not publish; the publisher SDK does that.
 */
import { SimulationRun } from './scenario';
import type { SimEvent } from './events';
import { resolveOptions, type SimulateOptions } from './options';

export { SimulationRun, type SimulationState } from './scenario';
export { resolveOptions, scaledToEvents, DEFAULT_START_AT, type SimulateOptions, type ResolvedOptions } from './options';
export { SOURCE_TOPICS, keyOf, stockKey, type SimEvent, type SourceTopic, type EventValue, type EventValues } from './events';
export { simulateToDir, simulateToFile, type SimulationSummary } from './ndjson-out';
export { paced } from './pace';

export function simulate(options: SimulateOptions = {}): Iterable<SimEvent> {
  // Options are checked now, so a bad option fails at the call, not at the first iteration.
  resolveOptions(options);
  return {
    [Symbol.iterator]: () => new SimulationRun(options).events(),
  };
}
