// The order of a graceful stop and its bounds (operator/src/shutdown.ts), on a fake clock: Events
// are written after the controllers stopped, within what is left of the shutdown budget, without
// holding up the Lease release; a deposed leader stops new work, flushes briefly, then exits.
import { describe, expect, it } from 'vitest';
import { EVENT, type ResourceRef } from '../../operator/src/api/constants.ts';
import { FakeClock } from '../../operator/src/kube/clock.ts';
import { EventRecorder, type KubeEvent } from '../../operator/src/kube/events.ts';
import type { KubeObject } from '../../operator/src/kube/types.ts';
import {
  afterLostLeadership,
  gracefulShutdown,
  lostLeadershipFlushMs,
  within,
  type ShutdownSteps,
} from '../../operator/src/shutdown.ts';

/** Lets every pending promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Gate {
  readonly promise: Promise<void>;
  open(): void;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Steps that log when they start and finish, each finishing when its gate opens. */
function scriptedSteps(log: string[], gates: Record<keyof ShutdownSteps, Gate>): ShutdownSteps {
  const step =
    (name: keyof ShutdownSteps) =>
    async (arg?: number): Promise<void> => {
      log.push(arg === undefined ? `${name} start` : `${name} start ${arg}`);
      await gates[name].promise;
      log.push(`${name} done`);
    };
  return {
    stopControllers: step('stopControllers'),
    flushEvents: step('flushEvents'),
    releaseLeadership: step('releaseLeadership'),
    closeServer: step('closeServer'),
  };
}

function gates(): Record<keyof ShutdownSteps, Gate> {
  return { stopControllers: gate(), flushEvents: gate(), releaseLeadership: gate(), closeServer: gate() };
}

describe('gracefulShutdown', () => {
  it('flushes Events only after the controllers stopped, beside the Lease release, before the server closes', async () => {
    const clock = new FakeClock(0);
    const log: string[] = [];
    const g = gates();
    const done = gracefulShutdown(scriptedSteps(log, g), 30_000, clock);
    await settle();
    expect(log).toEqual(['stopControllers start 30000']);

    g.stopControllers.open();
    await settle();
    // Both start together: a slow flush must not delay the standby's takeover.
    expect(log).toEqual([
      'stopControllers start 30000',
      'stopControllers done',
      'flushEvents start',
      'releaseLeadership start',
    ]);
    g.releaseLeadership.open();
    await settle();
    expect(log).not.toContain('closeServer start');

    g.flushEvents.open();
    await settle();
    expect(log.at(-1)).toBe('closeServer start');
    g.closeServer.open();
    await expect(done).resolves.toEqual({ eventsFlushed: true, flushBudgetMs: 30_000 });
    // Nothing of the bound is left behind.
    expect(clock.pendingTimers()).toBe(0);
  });

  it('gives the flush only what the controllers left of the budget, and abandons it at the deadline', async () => {
    const clock = new FakeClock(0);
    const log: string[] = [];
    const g = gates();
    const steps: ShutdownSteps = {
      ...scriptedSteps(log, g),
      // In-flight reconciles took 25 of the 30 seconds.
      stopControllers: () => {
        clock.advance(25_000);
        return Promise.resolve();
      },
    };
    g.releaseLeadership.open();
    g.closeServer.open();
    let outcome: unknown;
    const done = gracefulShutdown(steps, 30_000, clock).then((o) => (outcome = o));
    await settle();
    expect(log).toContain('flushEvents start');

    await clock.advanceAsync(4_999);
    expect(outcome).toBeUndefined();
    expect(log).not.toContain('closeServer start');
    await clock.advanceAsync(1);
    await done;
    expect(outcome).toEqual({ eventsFlushed: false, flushBudgetMs: 5_000 });
    expect(log).toContain('closeServer done');
    expect(log).not.toContain('flushEvents done');
  });

  it('has no time left for the flush when the controllers used the whole budget', async () => {
    const clock = new FakeClock(0);
    const log: string[] = [];
    const g = gates();
    g.releaseLeadership.open();
    g.closeServer.open();
    const steps: ShutdownSteps = {
      ...scriptedSteps(log, g),
      stopControllers: (ms) => {
        clock.advance(ms);
        return Promise.resolve();
      },
    };
    await expect(gracefulShutdown(steps, 30_000, clock)).resolves.toEqual({
      eventsFlushed: false,
      flushBudgetMs: 0,
    });
  });

  it('writes the last count of an Event series that was still waiting for its patch timer', async () => {
    const clock = new FakeClock(1_000_000);
    const writes: string[] = [];
    const client = {
      create: <T extends KubeObject>(ref: ResourceRef, obj: T): Promise<T> => {
        expect(ref).toBe(EVENT);
        writes.push(`create ${(obj as unknown as KubeEvent).reason}`);
        return Promise.resolve(obj);
      },
      patch: <T extends KubeObject>(
        _ref: ResourceRef,
        _ns: string | undefined,
        _name: string,
        patch: unknown,
      ): Promise<T> => {
        writes.push(`patch ${JSON.stringify((patch as { series: { count: number } }).series.count)}`);
        return Promise.resolve({} as T);
      },
    };
    const recorder = new EventRecorder({ client, reportingInstance: 'op-0', clock });
    const wf: KubeObject = {
      apiVersion: 'paddock.dev/v1alpha1',
      kind: 'Workflow',
      metadata: { name: 'w', namespace: 'a' },
    };
    const event = { type: 'Normal' as const, reason: 'StepSucceeded', action: 'Reconcile', note: 'step one' };
    recorder.record(wf, event);
    await settle();
    recorder.record(wf, event); // the last transition before SIGTERM: a series count of 2
    await settle();
    expect(writes).toEqual(['create StepSucceeded']);
    expect(clock.pendingTimers()).toBe(1); // the series patch, due in 5 s: after the process is gone

    const log: string[] = [];
    const g = gates();
    g.stopControllers.open();
    g.releaseLeadership.open();
    g.closeServer.open();
    const outcome = await gracefulShutdown(
      { ...scriptedSteps(log, g), flushEvents: () => recorder.flush() },
      30_000,
      clock,
    );
    expect(outcome.eventsFlushed).toBe(true);
    expect(writes).toEqual(['create StepSucceeded', 'patch 2']);
    // No aggregation timer is left to fire (or to keep anything waiting) after the flush.
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('after lost leadership', () => {
  it('stops new work first, then flushes, then exits', async () => {
    const clock = new FakeClock(0);
    const log: string[] = [];
    const flush = gate();
    const done = afterLostLeadership(
      {
        stopNewWork: () => log.push('stop new work'),
        flushEvents: async () => {
          log.push('flush start');
          await flush.promise;
          log.push('flush done');
        },
        exit: () => log.push('exit'),
      },
      5_000,
      clock,
    );
    await settle();
    expect(log).toEqual(['stop new work', 'flush start']);
    flush.open();
    await expect(done).resolves.toBe('done');
    expect(log).toEqual(['stop new work', 'flush start', 'flush done', 'exit']);
  });

  it('exits when the bound is over even if Events are still being written', async () => {
    const clock = new FakeClock(0);
    const log: string[] = [];
    const done = afterLostLeadership(
      {
        stopNewWork: () => log.push('stop new work'),
        flushEvents: () => new Promise<void>(() => undefined),
        exit: () => log.push('exit'),
      },
      5_000,
      clock,
    );
    await clock.advanceAsync(4_999);
    expect(log).toEqual(['stop new work']);
    await clock.advanceAsync(1);
    await expect(done).resolves.toBe('timeout');
    expect(log).toEqual(['stop new work', 'exit']);
  });

  it('bounds the flush by the gap between giving up and anyone else leading, and by the shutdown timeout', () => {
    expect(
      lostLeadershipFlushMs({
        leaseDurationSeconds: 15,
        renewDeadlineSeconds: 10,
        shutdownTimeoutSeconds: 30,
      }),
    ).toBe(5_000);
    expect(
      lostLeadershipFlushMs({
        leaseDurationSeconds: 60,
        renewDeadlineSeconds: 10,
        shutdownTimeoutSeconds: 2,
      }),
    ).toBe(2_000);
  });
});

describe('within', () => {
  it('is "done" when the work settles first (even by rejecting), "timeout" otherwise', async () => {
    const clock = new FakeClock(0);
    await expect(within(Promise.resolve(), 10, clock)).resolves.toBe('done');
    await expect(within(Promise.reject(new Error('x')), 10, clock)).resolves.toBe('done');
    await expect(within(Promise.resolve(), 0, clock)).resolves.toBe('timeout');
    const never = within(new Promise(() => undefined), 10, clock);
    await clock.advanceAsync(10);
    await expect(never).resolves.toBe('timeout');
    expect(clock.pendingTimers()).toBe(0);
  });
});
