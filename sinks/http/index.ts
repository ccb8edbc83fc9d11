/**
 * HTTP sinks (SPEC §7): `startSink` runs one topology sink entry; `startConfiguredSink` is what a
 * process running the named sink calls — a sink whose url is empty (ERP_URL / CRM_URL unset) is
 * not started, with a warning, and the process goes on with its other components.
 */
import type { Logger } from '../../runtime/log';
import { envPrefix } from './auth';
import { startSink, type HttpSinkOptions, type RunningSink } from './runner';

export { startSink, type HttpSinkOptions, type RunningSink } from './runner';
export { authFromEnv, envPrefix, type AuthConfig } from './auth';
export type { HttpSinkSpec, SinkTuning } from './config';
export { SINK_HEADERS } from './dead-letter';
export { sinkMetrics, type SinkMetrics, type SinkOutcome } from './metrics';

/** Starts the sink, or returns undefined (after a warning) when its url is not configured. */
export async function startConfiguredSink(options: HttpSinkOptions): Promise<RunningSink | undefined> {
  if (!options.spec.url) {
    warnNotStarted(options.log, options.spec.name);
    return undefined;
  }
  return startSink(options);
}

export function warnNotStarted(log: Logger, sink: string): void {
  log.warn({ sink }, `sink ${sink} not started: ${envPrefix(sink)}_URL is not set (its commands wait in Kafka until it is)`);
}
