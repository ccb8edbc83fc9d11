/**
 * The settings of one HTTP sink: its topology entry (runtime/topology/model.ts SinkSpec: input,
 * url, rateLimit, maxRetryMs, timeoutMs, concurrency, group), the coalescing windows per command
 * type (topology `coalesce:`, default { UpdateAvailability: 1000 }), and tuning that tests and
 * operators rarely touch. Checked once at start: a bad value is a ConfigError naming the sink.
 */
import { ConfigError } from '../../runtime/errors';
import type { SinkSpec } from '../../runtime/topology/model';
import { DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
import { DEFAULT_CIRCUIT, type CircuitPolicy } from './circuit';
import { DEFAULT_COALESCE } from './coalescer';
import { defaultBurst } from './token-bucket';

/** A topology sink entry; `coalesce` may be left out where a spec is built by hand (tests). */
export type HttpSinkSpec = Omit<SinkSpec, 'coalesce'> & { coalesce?: Record<string, number> };

export interface SinkTuning {
  /** Token bucket size (requests sent at once after an idle spell); default a tenth of the rate, >= 1. */
  burst?: number;
  circuit?: Partial<CircuitPolicy>;
  backoff?: Partial<BackoffPolicy>;
  /** On stop, how long requests in flight may still finish (then they are cut and re-delivered later). */
  stopGraceMs?: number;
  /** How often finished offsets are committed. */
  commitIntervalMs?: number;
  /** A partition with this many commands read and not finished stops being fetched until half are done. */
  maxPendingPerPartition?: number;
}

export interface SinkSettings {
  name: string;
  input: string;
  url: string;
  group: string;
  rateLimit: number;
  burst: number;
  maxRetryMs: number;
  timeoutMs: number;
  concurrency: number;
  coalesce: Record<string, number>;
  circuit: CircuitPolicy;
  backoff: BackoffPolicy;
  stopGraceMs: number;
  commitIntervalMs: number;
  maxPendingPerPartition: number;
}

// SPEC §12: SIGTERM finishes in-flight work and commits within 10 s — with room left for the
// commit, leaving the group and the other components of the process.
const DEFAULT_STOP_GRACE_MS = 5_000;

export function sinkSettings(spec: HttpSinkSpec, tuning: SinkTuning = {}): SinkSettings {
  const where = `sink "${spec.name}"`;
  if (!spec.url) throw new ConfigError(`${where} has no url: set its URL variable (e.g. ${spec.name.toUpperCase()}_URL)`);
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw new ConfigError(`${where}: url "${spec.url}" is not a URL: give the receiver's base URL, e.g. https://erp.example.com/api`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${where}: url must be http(s), not ${url.protocol}`);
  if (url.username || url.password) throw new ConfigError(`${where}: url must not hold credentials: use ${spec.name.toUpperCase()}_TOKEN or OAuth2 client credentials`);
  const positive = (name: string, value: number) => {
    if (!(Number.isFinite(value) && value > 0)) throw new ConfigError(`${where}: ${name} must be > 0, not ${value}`);
    return value;
  };
  const coalesce = { ...(spec.coalesce ?? DEFAULT_COALESCE) };
  for (const [type, ms] of Object.entries(coalesce)) {
    if (!Number.isInteger(ms) || ms < 0) throw new ConfigError(`${where}: coalesce.${type} must be a whole number of ms >= 0, not ${ms}`);
  }
  if (!(Number.isInteger(spec.maxRetryMs) && spec.maxRetryMs >= 0)) throw new ConfigError(`${where}: maxRetryMs must be >= 0`);
  const rateLimit = positive('rateLimit', spec.rateLimit);
  return {
    name: spec.name,
    input: spec.input,
    url: url.href.replace(/\/+$/, ''),
    group: spec.group,
    rateLimit,
    burst: positive('burst', tuning.burst ?? defaultBurst(rateLimit)),
    maxRetryMs: spec.maxRetryMs,
    timeoutMs: positive('timeoutMs', spec.timeoutMs),
    concurrency: Math.floor(positive('concurrency', spec.concurrency)),
    coalesce,
    circuit: { ...DEFAULT_CIRCUIT, ...tuning.circuit },
    backoff: { ...DEFAULT_BACKOFF, ...tuning.backoff },
    stopGraceMs: tuning.stopGraceMs ?? Math.min(DEFAULT_STOP_GRACE_MS, spec.timeoutMs),
    commitIntervalMs: tuning.commitIntervalMs ?? 500,
    maxPendingPerPartition: tuning.maxPendingPerPartition ?? 2_000,
  };
}
