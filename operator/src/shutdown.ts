// The order in which the operator stops, apart from the things it stops (manager.ts wires them in).
//
// SIGTERM (docs/operations.md, "Process lifecycle"), within --shutdown-timeout-seconds:
//   1. controllers stop taking work and finish what is in flight (each bounded by the budget);
//   2. then, side by side: the Event recorder writes what it still holds (the last transitions
//      before a rollout, pending series counts), bounded by what is left of the budget; and the
//      informers stop and the Lease is released, so a standby takes over without waiting for
//      Events;
//   3. the probe server closes.
// Lost leadership: no new reconciles from that moment, recorded Events get a short bounded flush
// (they describe work already done), then the process exits.
import type { Clock } from './kube/clock.ts';

/** Resolves "done" when `work` settles, or "timeout" after `ms` on `clock`, whichever is first. */
export function within(work: Promise<unknown>, ms: number, clock: Clock): Promise<'done' | 'timeout'> {
  if (ms <= 0) return Promise.resolve('timeout');
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve('timeout'), ms);
    work.then(
      () => {
        clock.clearTimeout(timer);
        resolve('done');
      },
      () => {
        clock.clearTimeout(timer);
        resolve('done');
      },
    );
  });
}

export interface ShutdownSteps {
  /** Stop the controllers: no new work, in-flight reconciles get up to `timeoutMs`. */
  stopControllers(timeoutMs: number): Promise<void>;
  /** Write every Event the recorder still holds. Must never reject. */
  flushEvents(): Promise<void>;
  /** Stop the informers and hand the Lease back. */
  releaseLeadership(): Promise<void>;
  closeServer(): Promise<void>;
}

export interface ShutdownOutcome {
  /** False when the Event flush was cut off at the end of the budget. */
  readonly eventsFlushed: boolean;
  /** What was left of the budget when the flush started (ms). */
  readonly flushBudgetMs: number;
}

/** Runs a graceful stop within `budgetMs` (controllers and Events; see the top of the file). */
export async function gracefulShutdown(
  steps: ShutdownSteps,
  budgetMs: number,
  clock: Clock,
): Promise<ShutdownOutcome> {
  const deadline = clock.now() + budgetMs;
  await steps.stopControllers(budgetMs);
  const flushBudgetMs = Math.max(0, deadline - clock.now());
  const [flushed] = await Promise.all([
    within(steps.flushEvents(), flushBudgetMs, clock),
    steps.releaseLeadership(),
  ]);
  await steps.closeServer();
  return { eventsFlushed: flushed === 'done', flushBudgetMs };
}

export interface LostLeadershipSteps {
  /** Stop handing out work at once (in-flight reconciles finish, nothing new starts). */
  stopNewWork(): void;
  flushEvents(): Promise<void>;
  exit(): void;
}

/**
 * How long a deposed leader may spend writing Events before it exits: the gap client-go leaves
 * between giving up (renew deadline) and anyone else taking over (lease duration), and never more
 * than the shutdown timeout.
 */
export function lostLeadershipFlushMs(config: {
  readonly leaseDurationSeconds: number;
  readonly renewDeadlineSeconds: number;
  readonly shutdownTimeoutSeconds: number;
}): number {
  const gap = config.leaseDurationSeconds - config.renewDeadlineSeconds;
  return Math.max(0, Math.min(gap, config.shutdownTimeoutSeconds)) * 1000;
}

/** After leadership is lost: no new work, a bounded Event flush, then exit. */
export async function afterLostLeadership(
  steps: LostLeadershipSteps,
  flushMs: number,
  clock: Clock,
): Promise<'done' | 'timeout'> {
  steps.stopNewWork();
  const flushed = await within(steps.flushEvents(), flushMs, clock);
  steps.exit();
  return flushed;
}
