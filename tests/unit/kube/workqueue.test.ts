import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FakeClock, realClock, type Clock, type TimerHandle } from '../../../operator/src/kube/clock.ts';
import {
  ItemExponentialFailureRateLimiter,
  type RateLimiter,
} from '../../../operator/src/kube/ratelimiter.ts';
import type { WorkqueueMetrics } from '../../../operator/src/kube/workqueue-metrics.ts';
import { WorkQueue, type GetResult, type WorkQueueOptions } from '../../../operator/src/kube/workqueue.ts';

/** Lets every pending promise callback run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function newQueue(overrides: Partial<WorkQueueOptions<string>> = {}): {
  q: WorkQueue<string>;
  clock: FakeClock;
} {
  const clock = new FakeClock();
  const q = new WorkQueue<string>({
    name: 'test',
    clock,
    rateLimiter: new ItemExponentialFailureRateLimiter<string>(5, 1_000),
    ...overrides,
  });
  return { q, clock };
}

async function take(q: WorkQueue<string>): Promise<string> {
  const r = await q.get();
  if (r.shutdown) throw new Error('unexpected shutdown');
  return r.item;
}

/** Takes every immediately available item, marking each done. */
async function drainNow(q: WorkQueue<string>): Promise<string[]> {
  const out: string[] = [];
  while (q.len() > 0) {
    const item = await take(q);
    out.push(item);
    q.done(item);
  }
  return out;
}

/** Tracks a get() promise so tests can see whether it has resolved yet. */
function pending<T>(p: Promise<T>): {
  settled: () => boolean;
  value: () => T | undefined;
  promise: Promise<T>;
} {
  let settled = false;
  let value: T | undefined;
  void p.then((v) => {
    settled = true;
    value = v;
  });
  return { settled: () => settled, value: () => value, promise: p };
}

class RecordingMetrics implements WorkqueueMetrics {
  depth: number[] = [];
  adds = 0;
  retries = 0;
  queueDurations: number[] = [];
  workDurations: number[] = [];
  unfinished: [number, number][] = [];
  setDepth(depth: number): void {
    this.depth.push(depth);
  }
  incAdds(): void {
    this.adds++;
  }
  incRetries(): void {
    this.retries++;
  }
  observeQueueDuration(seconds: number): void {
    this.queueDurations.push(seconds);
  }
  observeWorkDuration(seconds: number): void {
    this.workDurations.push(seconds);
  }
  setUnfinishedWork(total: number, longest: number): void {
    this.unfinished.push([total, longest]);
  }
  lastDepth(): number | undefined {
    return this.depth.at(-1);
  }
}

describe('WorkQueue: basic semantics', () => {
  it('hands items out in FIFO order', async () => {
    const { q } = newQueue();
    for (const item of ['c', 'a', 'b', 'd']) q.add(item);
    expect(await drainNow(q)).toEqual(['c', 'a', 'b', 'd']);
  });

  it('collapses adds of an item that is already queued, keeping its place', async () => {
    const { q } = newQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await drainNow(q)).toEqual(['a', 'b']);
  });

  it('a get() with nothing queued waits for the next add', async () => {
    const { q } = newQueue();
    const got = pending(q.get());
    await flush();
    expect(got.settled()).toBe(false);
    q.add('x');
    await flush();
    expect(got.value()).toEqual({ item: 'x', shutdown: false });
  });

  it('serves blocked workers first come, first served', async () => {
    const { q } = newQueue();
    const workers = [pending(q.get()), pending(q.get()), pending(q.get())];
    q.add('x');
    q.add('y');
    await flush();
    expect(workers.map((w) => w.value())).toEqual([
      { item: 'x', shutdown: false },
      { item: 'y', shutdown: false },
      undefined,
    ]);
    q.add('z');
    await flush();
    expect(workers[2]!.value()).toEqual({ item: 'z', shutdown: false });
  });

  it('never hands an item to a second worker while the first still holds it', async () => {
    const { q } = newQueue();
    q.add('a');
    const first = await take(q);
    const second = pending(q.get());
    q.add('a'); // re-added while being processed
    q.add('a');
    await flush();
    expect(second.settled()).toBe(false);
    expect(q.len()).toBe(0);
    q.done(first);
    await flush();
    expect(second.value()).toEqual({ item: 'a', shutdown: false });
    q.done('a');
    expect(q.len()).toBe(0); // the two re-adds collapsed into one more processing
  });

  it('an item re-added while processing goes to the back of the line on done()', async () => {
    const { q } = newQueue();
    q.add('a');
    expect(await take(q)).toBe('a');
    q.add('a');
    q.add('b');
    q.done('a');
    expect(await drainNow(q)).toEqual(['b', 'a']);
  });

  it('an item done() without a re-add is not processed again', async () => {
    const { q } = newQueue();
    q.add('a');
    q.done(await take(q));
    expect(q.len()).toBe(0);
    const next = pending(q.get());
    await flush();
    expect(next.settled()).toBe(false);
  });

  it('done() of an item nobody holds changes nothing', async () => {
    const metrics = new RecordingMetrics();
    const { q } = newQueue({ metrics, unfinishedWorkUpdatePeriodMs: 0 });
    q.add('a');
    q.done('a'); // queued, not processing
    q.done('zzz');
    expect(q.len()).toBe(1);
    expect(metrics.workDurations).toEqual([]);
    q.done(await take(q));
    q.done('a'); // second done
    expect(q.len()).toBe(0);
    expect(metrics.workDurations).toHaveLength(1);
  });

  it('accepts number keys too', async () => {
    const q = new WorkQueue<number>({ name: 'n', clock: new FakeClock() });
    q.add(1);
    q.add(2);
    q.add(1);
    expect(q.len()).toBe(2);
    const r: GetResult<number> = await q.get();
    expect(r).toEqual({ item: 1, shutdown: false });
  });
});

describe('WorkQueue: delayed adds', () => {
  it('releases items when their delay passes, in ready-time order', async () => {
    const { q, clock } = newQueue();
    q.addAfter('c', 300);
    q.addAfter('a', 100);
    q.addAfter('b', 200);
    expect(q.len()).toBe(0);
    clock.advance(99);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(await drainNow(q)).toEqual(['a']);
    clock.advance(150);
    expect(await drainNow(q)).toEqual(['b']);
    clock.advance(49);
    expect(q.len()).toBe(0);
    clock.advance(1);
    expect(await drainNow(q)).toEqual(['c']);
  });

  it('releases items with the same ready time in the order they were added', async () => {
    const { q, clock } = newQueue();
    for (const item of ['x', 'y', 'z']) q.addAfter(item, 50);
    clock.advance(50);
    expect(await drainNow(q)).toEqual(['x', 'y', 'z']);
  });

  it('keeps the earliest ready time when an item is delayed twice', async () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 500);
    q.addAfter('a', 100); // earlier: wins
    clock.advance(100);
    expect(await drainNow(q)).toEqual(['a']);
    clock.advance(1_000);
    expect(q.len()).toBe(0); // the 500 ms entry was replaced, not kept as well

    q.addAfter('b', 100);
    q.addAfter('b', 500); // later: ignored
    clock.advance(100);
    expect(await drainNow(q)).toEqual(['b']);
    clock.advance(1_000);
    expect(q.len()).toBe(0);
  });

  it('an earlier re-delay of one item reorders it before others', async () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 300);
    q.addAfter('b', 200);
    q.addAfter('c', 400);
    q.addAfter('c', 100);
    clock.advance(300);
    expect(await drainNow(q)).toEqual(['c', 'b', 'a']);
  });

  it('adds at once when the delay is zero or negative', () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    expect(q.len()).toBe(2);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('a delayed item that is already queued collapses when it becomes ready', async () => {
    const { q, clock } = newQueue();
    q.add('a');
    q.addAfter('a', 10);
    clock.advance(10);
    expect(await drainNow(q)).toEqual(['a']);
  });

  it('a delayed item becoming ready while processed waits for done()', async () => {
    const { q, clock } = newQueue();
    q.add('a');
    const item = await take(q);
    q.addAfter('a', 10);
    clock.advance(10);
    expect(q.len()).toBe(0);
    q.done(item);
    expect(await drainNow(q)).toEqual(['a']);
  });

  it('wakes a blocked worker when a delayed item becomes ready', async () => {
    const { q, clock } = newQueue();
    const got = pending(q.get());
    q.addAfter('a', 1_000);
    clock.advance(999);
    await flush();
    expect(got.settled()).toBe(false);
    clock.advance(1);
    await flush();
    expect(got.value()).toEqual({ item: 'a', shutdown: false });
  });

  it('uses a single clock timer for the earliest delayed item (no polling)', () => {
    const { q, clock } = newQueue();
    q.addAfter('a', 500);
    for (let i = 0; i < 20; i++) q.addAfter(`later-${i}`, 1_000 + i);
    expect(clock.pendingTimers()).toBe(1);
    expect(clock.nextTimerAt()).toBe(500);
    q.addAfter('b', 200);
    expect(clock.pendingTimers()).toBe(1);
    expect(clock.nextTimerAt()).toBe(200);
    clock.advance(200);
    expect(clock.nextTimerAt()).toBe(500);
    clock.advance(2_000);
    expect(clock.pendingTimers()).toBe(0);
    expect(q.len()).toBe(22);
  });

  it('never releases an item early even if the timer fires early', async () => {
    // A clock whose timers fire up to 3 ms early relative to now(), as Node's may (libuv measures
    // from a loop time cached before the call), but like Node never sooner than 1 ms.
    const fake = new FakeClock();
    const early: Clock = {
      now: () => fake.now(),
      setTimeout: (fn, ms): TimerHandle => fake.setTimeout(fn, Math.max(1, ms - 3)),
      clearTimeout: (h) => fake.clearTimeout(h),
    };
    const q = new WorkQueue<string>({ name: 'early', clock: early });
    q.addAfter('a', 100);
    fake.advance(97); // timer fires here
    expect(q.len()).toBe(0);
    expect(fake.hasWaiters()).toBe(true); // re-armed for the rest
    fake.advance(2); // and fires early again
    expect(q.len()).toBe(0);
    fake.advance(1);
    expect(await drainNow(q)).toEqual(['a']);
  });
});

describe('WorkQueue: rate-limited retries', () => {
  it('retries with exponential backoff 5, 10, 20 ms and forget resets it', async () => {
    const { q, clock } = newQueue();
    for (const expected of [5, 10, 20]) {
      q.addRateLimited('a');
      clock.advance(expected - 1);
      expect(q.len()).toBe(0);
      clock.advance(1);
      expect(await drainNow(q)).toEqual(['a']);
    }
    expect(q.numRequeues('a')).toBe(3);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    q.addRateLimited('a');
    clock.advance(5);
    expect(q.len()).toBe(1);
  });

  it('uses the default controller rate limiter when none is given', () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ name: 'default', clock });
    q.addRateLimited('a');
    expect(clock.nextTimerAt()).toBe(5);
    q.addRateLimited('a');
    expect(q.numRequeues('a')).toBe(2);
  });

  it('counts retries but not plain delayed adds', () => {
    const metrics = new RecordingMetrics();
    const { q } = newQueue({ metrics, unfinishedWorkUpdatePeriodMs: 0 });
    q.addRateLimited('a');
    q.addRateLimited('b');
    q.addAfter('c', 10);
    expect(metrics.retries).toBe(2);
  });
});

describe('WorkQueue: shutdown', () => {
  it('shutDown wakes every blocked worker with shutdown', async () => {
    const { q } = newQueue();
    const workers = [q.get(), q.get(), q.get()];
    q.shutDown();
    expect(await Promise.all(workers)).toEqual([{ shutdown: true }, { shutdown: true }, { shutdown: true }]);
    expect(q.shuttingDown()).toBe(true);
    expect(await q.get()).toEqual({ shutdown: true });
  });

  it('after shutDown, adds are ignored, queued and delayed items are dropped, retries are not charged', async () => {
    const limiterCalls: string[] = [];
    const limiter: RateLimiter<string> = {
      when: (item) => (limiterCalls.push(item), 10),
      forget: () => {},
      numRequeues: () => 0,
    };
    const { q, clock } = newQueue({ rateLimiter: limiter });
    q.add('queued');
    q.addAfter('delayed', 100);
    q.shutDown();
    expect(clock.pendingTimers()).toBe(0);
    q.add('new');
    q.addAfter('new-delayed', 0);
    q.addRateLimited('retry');
    clock.advance(1_000);
    expect(q.len()).toBe(0);
    expect(limiterCalls).toEqual([]);
    expect(await q.get()).toEqual({ shutdown: true });
  });

  it('in-progress items still finish after shutDown and are not re-queued', async () => {
    const metrics = new RecordingMetrics();
    const { q, clock } = newQueue({ metrics, unfinishedWorkUpdatePeriodMs: 0 });
    q.add('a');
    const item = await take(q);
    q.add('a'); // dirty
    q.shutDown();
    clock.advance(40);
    q.done(item);
    expect(metrics.workDurations).toEqual([0.04]);
    expect(await q.get()).toEqual({ shutdown: true });
    expect(metrics.lastDepth()).toBe(0);
  });

  it('shutDownWithDrain hands out queued and re-added items and resolves after the last done()', async () => {
    const { q } = newQueue();
    q.add('a');
    q.add('b');
    const a = await take(q);
    q.add('a'); // dirty while in progress
    const drained = pending(q.shutDownWithDrain());
    expect(q.shuttingDown()).toBe(true);
    q.add('c'); // rejected
    expect(await take(q)).toBe('b');
    // Nothing is queued now, but 'a' will come back: a worker asking must wait, not be told to stop.
    const waiting = pending(q.get());
    await flush();
    expect(waiting.settled()).toBe(false);
    q.done('b');
    q.done(a);
    await flush();
    expect(waiting.value()).toEqual({ item: 'a', shutdown: false });
    expect(drained.settled()).toBe(false);
    // With the last dirty item handed out, other workers are told to stop.
    expect(await q.get()).toEqual({ shutdown: true });
    expect(drained.settled()).toBe(false);
    q.done('a');
    await flush();
    expect(drained.settled()).toBe(true);
    expect(await q.get()).toEqual({ shutdown: true });
  });

  it('shutDownWithDrain releases blocked workers at once when nothing is left', async () => {
    const { q } = newQueue();
    const blocked = q.get();
    await q.shutDownWithDrain();
    expect(await blocked).toEqual({ shutdown: true });
  });

  it('shutDownWithDrain drops delayed items', async () => {
    const { q, clock } = newQueue();
    q.addAfter('later', 100);
    await q.shutDownWithDrain();
    clock.advance(200);
    expect(q.len()).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('shutDown during a drain abandons the queue; the drain resolves when in-progress work is done', async () => {
    const { q } = newQueue();
    q.add('a');
    q.add('b');
    const a = await take(q);
    const drained = pending(q.shutDownWithDrain());
    q.shutDown();
    expect(await q.get()).toEqual({ shutdown: true }); // 'b' abandoned
    await flush();
    expect(drained.settled()).toBe(false);
    q.done(a);
    await flush();
    expect(drained.settled()).toBe(true);
  });

  it('every shutDownWithDrain caller is resolved', async () => {
    const { q } = newQueue();
    q.add('a');
    const a = await take(q);
    const first = pending(q.shutDownWithDrain());
    const second = pending(q.shutDownWithDrain());
    q.done(a);
    await flush();
    expect([first.settled(), second.settled()]).toEqual([true, true]);
  });
});

describe('WorkQueue: metrics', () => {
  it('counts adds and reports depth including items waiting for their in-flight copy', async () => {
    const metrics = new RecordingMetrics();
    const { q } = newQueue({ metrics, unfinishedWorkUpdatePeriodMs: 0 });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(metrics.adds).toBe(3);
    expect(metrics.lastDepth()).toBe(2);
    expect(q.len()).toBe(2);
    const a = await take(q);
    expect(metrics.lastDepth()).toBe(1);
    q.add('a'); // waits for done(); counted in depth, not in len()
    expect(metrics.lastDepth()).toBe(2);
    expect(q.len()).toBe(1);
    q.done(a);
    expect(q.len()).toBe(2);
    await drainNow(q);
    expect(metrics.lastDepth()).toBe(0);
    expect(metrics.adds).toBe(4);
  });

  it('does not count delayed items in depth until they are ready', () => {
    const metrics = new RecordingMetrics();
    const { q, clock } = newQueue({ metrics, unfinishedWorkUpdatePeriodMs: 0 });
    q.addAfter('a', 10);
    expect(metrics.depth).toEqual([]);
    clock.advance(10);
    expect(metrics.lastDepth()).toBe(1);
  });

  it('measures queue time (add to get) and work time (get to done) on the clock', async () => {
    const metrics = new RecordingMetrics();
    const { q, clock } = newQueue({ metrics, unfinishedWorkUpdatePeriodMs: 0 });
    q.add('a');
    clock.advance(250);
    q.add('a'); // a collapsed add does not restart the queue timer
    clock.advance(250);
    const a = await take(q);
    expect(metrics.queueDurations).toEqual([0.5]);
    clock.advance(1_500);
    q.done(a);
    expect(metrics.workDurations).toEqual([1.5]);
  });

  it('measures queue time of a delayed item from when it became ready', async () => {
    const metrics = new RecordingMetrics();
    const { q, clock } = newQueue({ metrics, unfinishedWorkUpdatePeriodMs: 0 });
    q.addAfter('a', 1_000);
    clock.advance(1_100);
    await take(q);
    expect(metrics.queueDurations).toEqual([0.1]);
  });

  it('reports unfinished work on demand', async () => {
    const metrics = new RecordingMetrics();
    const { q, clock } = newQueue({ metrics, unfinishedWorkUpdatePeriodMs: 0 });
    q.updateUnfinishedWork();
    q.add('a');
    q.add('b');
    await take(q);
    clock.advance(1_000);
    const b = await take(q);
    clock.advance(2_000);
    q.updateUnfinishedWork();
    q.done(b);
    q.updateUnfinishedWork();
    expect(metrics.unfinished).toEqual([
      [0, 0],
      [5, 3],
      [3, 3],
    ]);
  });

  it('reports unfinished work periodically on the clock when metrics are wired, until shutdown', async () => {
    const metrics = new RecordingMetrics();
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ name: 'periodic', clock, metrics });
    q.add('a');
    await take(q);
    clock.advance(500);
    expect(metrics.unfinished).toEqual([[0.5, 0.5]]);
    clock.advance(500);
    expect(metrics.unfinished).toEqual([
      [0.5, 0.5],
      [1, 1],
    ]);
    q.shutDown();
    expect(clock.pendingTimers()).toBe(0);
    clock.advance(5_000);
    expect(metrics.unfinished).toHaveLength(2);
  });

  it('sets no periodic timer without metrics', () => {
    const { clock } = newQueue();
    expect(clock.pendingTimers()).toBe(0);
  });
});

describe('WorkQueue: real clock', () => {
  it('releases a delayed item after its delay', async () => {
    const q = new WorkQueue<string>({ name: 'real', clock: realClock });
    const start = realClock.now();
    q.addAfter('a', 30);
    expect(await q.get()).toEqual({ item: 'a', shutdown: false });
    expect(realClock.now() - start).toBeGreaterThanOrEqual(29);
    q.shutDown();
  });

  it('does not keep the process alive with delayed items or the metrics timer', async () => {
    const url = new URL('../../../operator/src/kube/workqueue.ts', import.meta.url).href;
    const script = `
      const { WorkQueue } = await import(${JSON.stringify(url)});
      const m = { setDepth() {}, incAdds() {}, incRetries() {}, observeQueueDuration() {},
                  observeWorkDuration() {}, setUnfinishedWork() {} };
      const q = new WorkQueue({ name: 'exit', metrics: m });
      q.addAfter('a', 60_000);
      q.addRateLimited('b');
      q.get().then((r) => { if (r.item === 'a') console.log('still running at 60s'); });
    `;
    const node = fileURLToPath(new URL('../../../node_modules/.bin/node', import.meta.url));
    const started = Date.now();
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(node, ['--input-type=module', '-e', script], { timeout: 20_000 }, (err, out) =>
        err ? reject(new Error(`child failed: ${err.message}`)) : resolve(out),
      ),
    );
    expect(stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

/** A small seeded PRNG (mulberry32) so a failing stress run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('WorkQueue: randomized stress', () => {
  for (const seed of [1, 2, 3, 42, 1234]) {
    it(`keeps its invariants under concurrent workers and random adds (seed ${seed})`, async () => {
      const rand = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
      const clock = new FakeClock();
      const metrics = new RecordingMetrics();
      const q = new WorkQueue<string>({
        name: 'stress',
        clock,
        metrics,
        rateLimiter: new ItemExponentialFailureRateLimiter<string>(1, 50),
        unfinishedWorkUpdatePeriodMs: 0,
      });
      const keys = Array.from({ length: 12 }, (_, i) => `ns/k${i}`);

      // A logical event counter orders adds and processing starts across async workers.
      let seq = 0;
      const lastAdd = new Map<string, number>();
      const lastStart = new Map<string, number>();
      const inFlight = new Set<string>();
      const violations: string[] = [];
      let processed = 0;

      const recordAdd = (key: string): void => void lastAdd.set(key, seq++);

      const worker = async (id: number): Promise<void> => {
        for (;;) {
          const r = await q.get();
          if (r.shutdown) return;
          const key = r.item;
          if (inFlight.has(key)) violations.push(`worker ${id} got ${key} while another holds it`);
          inFlight.add(key);
          lastStart.set(key, seq++);
          processed++;
          // Hold the key across a random number of turns so workers overlap.
          const turns = Math.floor(rand() * 4);
          for (let i = 0; i < turns; i++) await flush();
          // Workers themselves re-add and fail sometimes, as reconcilers do.
          const roll = rand();
          if (roll < 0.1) {
            recordAdd(key);
            q.add(key);
          } else if (roll < 0.2) {
            recordAdd(key);
            q.addRateLimited(key);
          } else q.forget(key);
          inFlight.delete(key);
          q.done(key);
        }
      };
      const workers = Array.from({ length: 6 }, (_, id) => worker(id));

      for (let step = 0; step < 400; step++) {
        const roll = rand();
        const key = pick(keys);
        if (roll < 0.5) {
          recordAdd(key);
          q.add(key);
        } else if (roll < 0.8) {
          recordAdd(key);
          q.addAfter(key, Math.floor(rand() * 40) - 5);
        } else if (roll < 0.9) {
          await clock.advanceAsync(Math.floor(rand() * 20));
        } else {
          await flush();
        }
        if (q.len() < 0 || metrics.lastDepth()! < q.len()) violations.push(`bad len/depth at step ${step}`);
      }

      // Let every delay expire and every retry run; re-adds by workers die out with the backoff.
      for (let i = 0; i < 200 && (clock.hasWaiters() || q.len() > 0 || inFlight.size > 0); i++) {
        await clock.advanceAsync(100);
      }
      expect(clock.hasWaiters()).toBe(false);

      const drained = q.shutDownWithDrain();
      await drained;
      await Promise.all(workers);

      expect(violations).toEqual([]);
      expect(inFlight.size).toBe(0);
      for (const [key, added] of lastAdd) {
        const started = lastStart.get(key);
        expect(started, `${key} last added at ${added} but never processed after`).toBeGreaterThan(added);
      }
      expect(processed).toBeGreaterThan(50);
      expect(metrics.workDurations).toHaveLength(processed);
      expect(metrics.queueDurations).toHaveLength(processed);
      expect(metrics.lastDepth()).toBe(0);
    });
  }
});
