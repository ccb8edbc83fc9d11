/**
 * Retention as people write it in topology.yaml — `7d`, `12h`, `90m`, `30s`, `500ms`, `2w`, a
 * number of milliseconds, or `-1` / `forever` — to Kafka's `retention.ms`, and back for display.
 */
import { FOREVER } from './model';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(\d+)\s*(ms|s|m|h|d|w)$/;

/** retention.ms for a written retention, or undefined when it is not one. */
export function parseRetention(value: unknown): number | undefined {
  if (value === 'forever' || value === -1 || value === '-1') return FOREVER;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return parseRetention(Number(trimmed));
  const match = DURATION.exec(trimmed);
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/** `forever`, `7d`, `12h`, ... or `1500ms`: the largest unit that divides exactly. */
export function formatRetention(ms: number): string {
  if (ms < 0) return 'forever';
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
