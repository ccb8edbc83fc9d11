/**
 * The simulator's options, checked and given defaults in one place. A bad option is a UsageError
 * naming the option and its allowed range, so `tributary simulate` can print it as one line.
 */
import { UsageError } from '../../runtime/errors';
import type { Seed } from './random';
import { MAX_CUSTOMERS, MAX_SKUS, WAREHOUSE_CODES } from './world';

export interface SimulateOptions {
  /** Same seed, same options → the same events, byte for byte. Default 1. */
  seed?: Seed;
  /** Stop after this many events (duplicates included). */
  events?: number;
  /** Stop once simulated time passes `startAt` + this many seconds. */
  duration?: number;
  /** Simulated clock start: ISO-8601 string, epoch millis or Date. Default 2026-11-20T08:00:00Z. */
  startAt?: string | number | Date;
  /** How many DCs (1–8, named DC-EAST, DC-WEST, …) or the codes themselves. Default 3. */
  warehouses?: number | readonly string[];
  /** Catalogue size. Default 200 (fewer for a short run: see `scaledToEvents`). */
  skus?: number;
  /** Customer count. Default 300 (fewer for a short run). */
  customers?: number;
  /** Order intake in simulated time; sets the pace of everything else. Default 1200 (lower for a short run). */
  ordersPerHour?: number;
  /** Share of order versions that break a business rule (unknown sku or unit, quantity 0, duplicate lineNo). Default 0.005. */
  invalidRate?: number;
  /** Chance, after each event, that a retrying publisher re-sends an already sent one. Default 0. */
  duplicateRate?: number;
}

export interface ResolvedOptions {
  seed: Seed;
  events: number;
  durationMs: number;
  startAt: number;
  warehouses: string[];
  skus: number;
  customers: number;
  ordersPerHour: number;
  invalidRate: number;
  duplicateRate: number;
}

export const DEFAULT_START_AT = '2026-11-20T08:00:00Z';
const CODE = /^[A-Za-z0-9._-]{1,64}$/;

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function rate(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new UsageError(`${name} must be a number from 0 to 1, got ${value}`);
  return value;
}

function startAtMillis(value: SimulateOptions['startAt']): number {
  const millis = value === undefined ? Date.parse(DEFAULT_START_AT) : value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isSafeInteger(millis) || millis < 0) {
    throw new UsageError(`startAt must be an ISO-8601 time or epoch millis, got ${String(value)}`);
  }
  return millis;
}

function warehouseCodes(value: SimulateOptions['warehouses']): string[] {
  if (value === undefined || typeof value === 'number') {
    const count = integer('warehouses', value, 3, 1, WAREHOUSE_CODES.length);
    return WAREHOUSE_CODES.slice(0, count);
  }
  if (value.length === 0) throw new UsageError('warehouses must name at least one warehouse');
  for (const code of value) {
    if (!CODE.test(code) || code.includes('@')) throw new UsageError(`warehouse code ${JSON.stringify(code)} must match [A-Za-z0-9._-]{1,64}`);
  }
  if (new Set(value).size !== value.length) throw new UsageError('warehouses must not repeat a code');
  return [...value];
}

/**
 * The world of a short run (`events` below ~12,000), scaled to it: the item master, the customers
 * and the opening receipts come before the first order, and 500 of them at full size would leave a
 * 500-event run without a single order. A short run gets a catalogue and a customer base of its
 * size (about 1 SKU per 40 events, 1 customer per 30, at least 5) and a slower order intake in
 * simulated time, so its orders are also picked, shipped and some returned within it. Options
 * given explicitly win; long and endless runs keep the full-size world.
 */
export function scaledToEvents(events: number): { skus: number; customers: number; ordersPerHour: number } {
  const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, Math.round(value)));
  return {
    skus: clamp(events / 40, 5, DEFAULT_SKUS),
    customers: clamp(events / 30, 5, DEFAULT_CUSTOMERS),
    ordersPerHour: clamp(events / 10, 30, DEFAULT_ORDERS_PER_HOUR),
  };
}

const DEFAULT_SKUS = 200;
const DEFAULT_CUSTOMERS = 300;
const DEFAULT_ORDERS_PER_HOUR = 1200;

export function resolveOptions(options: SimulateOptions = {}): ResolvedOptions {
  const events = options.events === undefined ? Infinity : integer('events', options.events, 0, 0, Number.MAX_SAFE_INTEGER);
  let durationMs = Infinity;
  if (options.duration !== undefined) {
    if (!Number.isFinite(options.duration) || options.duration < 0) {
      throw new UsageError(`duration must be a number of simulated seconds ≥ 0, got ${options.duration}`);
    }
    durationMs = Math.round(options.duration * 1000);
  }
  const scaled = Number.isFinite(events) ? scaledToEvents(events) : { skus: DEFAULT_SKUS, customers: DEFAULT_CUSTOMERS, ordersPerHour: DEFAULT_ORDERS_PER_HOUR };
  const ordersPerHour = options.ordersPerHour ?? scaled.ordersPerHour;
  if (!Number.isFinite(ordersPerHour) || ordersPerHour <= 0 || ordersPerHour > 3_600_000) {
    throw new UsageError(`ordersPerHour must be a number above 0 and at most 3600000, got ${ordersPerHour}`);
  }
  return {
    seed: options.seed ?? 1,
    events,
    durationMs,
    startAt: startAtMillis(options.startAt),
    warehouses: warehouseCodes(options.warehouses),
    skus: integer('skus', options.skus, scaled.skus, 1, MAX_SKUS),
    customers: integer('customers', options.customers, scaled.customers, 1, MAX_CUSTOMERS),
    ordersPerHour,
    invalidRate: rate('invalidRate', options.invalidRate, 0.005),
    duplicateRate: rate('duplicateRate', options.duplicateRate, 0),
  };
}
