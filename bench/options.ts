/**
 * What one benchmark run does (issue 7): the sizes of each scenario, full (the
 * issue's defaults, for a quiet machine) or `--quick` (the CI smoke run, under 3 minutes with the
 * stack start), each overridable by its flag. Checked once: a bad value is a UsageError naming
 * the flag, printed as one line by the CLI.
 */
import { UsageError } from '../runtime/errors';

export const SCENARIOS = ['ceiling', 'pipeline', 'rebuild', 'api', 'sinks', 'freshness'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchOptions {
  size: 'full' | 'quick';
  /** Source events published for the pipeline (and read by the ceiling, replayed by the rebuild). */
  events: number;
  seed: number;
  /** Chance after each simulated event that a retrying publisher re-sends a recent one. */
  duplicateRate: number;
  freshnessRate: number;
  freshnessSeconds: number;
  /** Seconds at the same rate before freshness samples count (JIT, first fetches, group settling). */
  freshnessWarmupSeconds: number;
  /** Probe events per second among the freshness traffic (their latency is what is measured). */
  probeRate: number;
  apiRate: number;
  /** Seconds of load per route (GET row, POST check). */
  apiSeconds: number;
  apiConnections: number;
  sinkCommands: number;
  scenarios: ScenarioName[];
  /** Child processes write V8 CPU profiles (`--cpu-prof`) into `profileDir`. */
  cpuProfile: boolean;
  profileDir: string;
  /** Where the JSON goes. */
  out: string;
}

type Sizes = Omit<BenchOptions, 'size' | 'seed' | 'scenarios' | 'cpuProfile' | 'profileDir' | 'out'>;

export const FULL: Sizes = {
  events: 1_000_000,
  duplicateRate: 0.01,
  freshnessRate: 2_000,
  freshnessSeconds: 60,
  freshnessWarmupSeconds: 5,
  probeRate: 100,
  apiRate: 3_000,
  apiSeconds: 30,
  apiConnections: 20,
  sinkCommands: 20_000,
};

export const QUICK: Sizes = {
  events: 20_000,
  duplicateRate: 0.01,
  freshnessRate: 1_000,
  freshnessSeconds: 10,
  freshnessWarmupSeconds: 2,
  probeRate: 50,
  apiRate: 3_000,
  apiSeconds: 3,
  apiConnections: 20,
  sinkCommands: 2_000,
};

export const DEFAULT_OUT = 'bench/results/latest.json';
export const DEFAULT_PROFILE_DIR = 'bench/results/profiles';

/** The flags as commander hands them over (strings, or undefined when not given). */
export interface BenchFlags {
  quick?: boolean;
  events?: string;
  seed?: string;
  freshnessRate?: string;
  freshnessSeconds?: string;
  apiRate?: string;
  apiSeconds?: string;
  sinkCommands?: string;
  only?: string;
  profile?: boolean;
  out?: string;
}

function count(flag: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < min) throw new UsageError(`${flag} must be a whole number of at least ${min}, got "${raw}"`);
  return value;
}

export function benchOptions(flags: BenchFlags): BenchOptions {
  const sizes = flags.quick ? QUICK : FULL;
  let scenarios: ScenarioName[] = [...SCENARIOS];
  if (flags.only !== undefined) {
    const named = flags.only.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = named.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
    if (named.length === 0 || unknown.length > 0) throw new UsageError(`--only takes a comma-separated list of ${SCENARIOS.join(', ')}; got "${flags.only}"`);
    scenarios = SCENARIOS.filter((s) => named.includes(s));
  }
  const freshnessRate = count('--freshness-rate', flags.freshnessRate, sizes.freshnessRate, 20);
  return {
    ...sizes,
    size: flags.quick ? 'quick' : 'full',
    events: count('--events', flags.events, sizes.events, 1_000),
    seed: count('--seed', flags.seed, 7, 0),
    freshnessRate,
    freshnessSeconds: count('--freshness-seconds', flags.freshnessSeconds, sizes.freshnessSeconds, 1),
    // At most a twentieth of the traffic: the probes must not change its shape.
    probeRate: Math.min(sizes.probeRate, Math.floor(freshnessRate / 20)),
    apiRate: count('--api-rate', flags.apiRate, sizes.apiRate, 1),
    apiSeconds: count('--api-seconds', flags.apiSeconds, sizes.apiSeconds, 1),
    sinkCommands: count('--sink-commands', flags.sinkCommands, sizes.sinkCommands, 1),
    scenarios,
    cpuProfile: flags.profile ?? false,
    profileDir: DEFAULT_PROFILE_DIR,
    out: flags.out ?? DEFAULT_OUT,
  };
}
