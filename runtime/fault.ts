/**
 * Test-only fault points for the reliability suite (issue 8, test/faults/): a process started
 * with `TRIBUTARY_FAULT` stops or kills ITSELF at an exact point of its work, which no signal sent
 * from outside can hit reliably. Never set it in production.
 *
 *   TRIBUTARY_FAULT = <point>:<n>[:<signal>] [, <point>:<n>[:<signal>] ...]
 *     point   a name passed to faultPoint() in the code:
 *               before-apply    runtime/processor/runner.ts, a batch decoded and folded, about to be
 *                               written to Redis (a process stopped here holds a batch in flight)
 *               after-apply     runtime/processor/runner.ts, right after a batch's state, seen ids,
 *                               watermarks and outbox were written to Redis, before the outbox is
 *                               produced and the offsets committed
 *               after-delivery  sinks/http/runner.ts, right after a receiver answered a command
 *                               with success, before its offset is finished and committed
 *     n       the n-th time the process passes that point (1 = the first)
 *     signal  SIGKILL (default) or SIGSTOP (a paused process, resumed by SIGCONT from outside)
 *
 * Unset, faultPoint is a function that returns at once: nothing is parsed per call. A malformed
 * value ends the process with a TRB_CONFIG line when the module loads, so a test cannot run with a
 * fault that never fires.
 */
import { ConfigError } from './errors';

const SIGNALS = ['SIGKILL', 'SIGSTOP'] as const;
type FaultSignal = (typeof SIGNALS)[number];

export interface FaultPlan {
  point: string;
  nth: number;
  signal: FaultSignal;
}

/** The plans of a TRIBUTARY_FAULT value (empty when unset or blank). */
export function parseFaultPlans(raw: string | undefined): FaultPlan[] {
  if (raw === undefined || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const match = /^\s*([a-z][a-z-]*):(\d+)(?::(SIG[A-Z]+))?\s*$/.exec(entry);
    const nth = Number(match?.[2]);
    const signal = (match?.[3] ?? 'SIGKILL') as FaultSignal;
    if (!match || nth < 1 || !SIGNALS.includes(signal)) {
      throw new ConfigError(`TRIBUTARY_FAULT has "${entry}": write <point>:<n>[:SIGKILL|SIGSTOP], e.g. after-apply:3 (test-only)`);
    }
    return { point: match[1] as string, nth, signal };
  });
}

/** A counter per point; the signal goes to this process when a plan's count is reached. */
export function faultPoints(plans: readonly FaultPlan[], raise: (signal: FaultSignal) => void): (point: string) => void {
  if (plans.length === 0) return () => undefined;
  const passed = new Map<string, number>();
  return (point) => {
    const count = (passed.get(point) ?? 0) + 1;
    passed.set(point, count);
    for (const plan of plans) if (plan.point === point && plan.nth === count) raise(plan.signal);
  };
}

function plansFromEnv(): FaultPlan[] {
  try {
    return parseFaultPlans(process.env.TRIBUTARY_FAULT);
  } catch (error) {
    // Loaded before the CLI's error handling exists: one line and the usage exit code, no stack.
    process.stderr.write(`tributary: TRB_CONFIG: ${(error as Error).message}\n`);
    process.exit(2);
  }
}

/** Marks a point of the work where the reliability suite may stop or kill this process (see the header). */
export const faultPoint = faultPoints(plansFromEnv(), (signal) => {
  // Said on stderr first, so the test can tell a planned death from a crash.
  process.stderr.write(`tributary: fault point reached: ${signal} to self (TRIBUTARY_FAULT=${process.env.TRIBUTARY_FAULT})\n`);
  process.kill(process.pid, signal);
});
