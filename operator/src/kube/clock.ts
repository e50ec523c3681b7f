// A clock abstraction so that everything time-driven in the operator (workqueue delays, rate limiters,
// informer watchdogs, leader election) can be tested deterministically with FakeClock instead of
// sleeping in tests. Mirrors k8s.io/utils/clock: code takes a Clock, production passes realClock.

declare const timerHandleBrand: unique symbol;

/** Opaque handle returned by Clock.setTimeout; only the clock that made it can clear it. */
export type TimerHandle = { readonly [timerHandleBrand]: true };

export interface Clock {
  /**
   * Milliseconds since the Unix epoch. For realClock this is monotonic (it never jumps backwards when
   * the wall clock is adjusted), so it is right for measuring and scheduling; timestamps written to the
   * API should still come from `new Date()`.
   */
  now(): number;
  /** Runs fn once, no earlier than ms from now. Real timers never keep the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a no-op for timers that already fired or were already cleared. */
  clearTimeout(handle: TimerHandle): void;
}

// Node clamps delays above 2^31-1 ms to 1 ms (it warns and fires almost at once), so long delays
// are split into a chain of maximal timers.
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

class RealTimer {
  current: NodeJS.Timeout | undefined;
}

function armReal(timer: RealTimer, fn: () => void, ms: number): void {
  const slice = Math.min(Math.max(0, ms), MAX_TIMEOUT_MS);
  const rest = ms - slice;
  timer.current = setTimeout(() => {
    if (rest > 0) armReal(timer, fn, rest);
    else {
      timer.current = undefined;
      fn();
    }
  }, slice);
  // The operator stays alive because of its servers and watches, never because of a pending
  // backoff or watchdog timer; a ref'd timer would delay exit after shutdown.
  timer.current.unref();
}

export const realClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout(fn, ms) {
    const timer = new RealTimer();
    armReal(timer, fn, Number.isNaN(ms) ? 0 : ms);
    return timer as unknown as TimerHandle;
  },
  clearTimeout(handle) {
    const timer: unknown = handle;
    if (timer instanceof RealTimer && timer.current !== undefined) {
      clearTimeout(timer.current);
      timer.current = undefined;
    }
  },
};

/** Resolves after ms on the given clock; rejects with signal.reason if the signal aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason as Error);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

class FakeTimer {
  readonly fn: () => void;
  readonly at: number;
  /** Creation order, so timers due at the same instant fire in the order they were set. */
  readonly seq: number;
  constructor(fn: () => void, at: number, seq: number) {
    this.fn = fn;
    this.at = at;
    this.seq = seq;
  }
}

// A timer that keeps rescheduling itself with a zero delay would make advance() spin forever;
// this many firings without time moving is treated as that bug.
const MAX_FIRINGS_AT_ONE_INSTANT = 100_000;

/**
 * A manually driven clock for tests. Time moves only through advance/setTime/step; timers fire
 * synchronously inside those calls, in due-time order (ties in creation order), each with now()
 * equal to its due time. A timer scheduled by a firing timer fires in the same call if it is due
 * by the target time. If a timer callback throws, the exception propagates out of the call and
 * the clock stays at that timer's due time.
 */
export class FakeClock implements Clock {
  #now: number;
  #timers = new Set<FakeTimer>();
  #seq = 0;

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = Number.isNaN(ms) ? 0 : Math.max(0, ms);
    const timer = new FakeTimer(fn, this.#now + delay, this.#seq++);
    this.#timers.add(timer);
    return timer as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer: unknown = handle;
    if (timer instanceof FakeTimer) this.#timers.delete(timer);
  }

  /** Moves time forward by ms, firing every timer due by then. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advance: ms must be >= 0, got ${ms}`);
    this.setTime(this.#now + ms);
  }

  /** Moves time forward to an absolute instant, firing every timer due by then. */
  setTime(target: number): void {
    if (!(target >= this.#now)) throw new RangeError(`FakeClock.setTime: cannot go back to ${target}`);
    const guard = spinGuard();
    for (let timer = this.#earliest(); timer && timer.at <= target; timer = this.#earliest()) {
      guard(timer.at);
      this.#fire(timer);
    }
    this.#now = target;
  }

  /**
   * Jumps to the next pending timer's due time and fires every timer due then.
   * Returns the new time, or undefined (time unchanged) when no timer is pending.
   */
  step(): number | undefined {
    const next = this.#earliest();
    if (!next) return undefined;
    this.setTime(next.at);
    return this.#now;
  }

  /**
   * Like advance, but lets pending promise callbacks run before and after each timer fires, so
   * async code that awaits and then schedules its next timer behaves as it would in real time.
   */
  async advanceAsync(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`FakeClock.advanceAsync: ms must be >= 0, got ${ms}`);
    const target = this.#now + ms;
    const guard = spinGuard();
    await settle();
    for (let timer = this.#earliest(); timer && timer.at <= target; timer = this.#earliest()) {
      guard(timer.at);
      this.#fire(timer);
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /** True when at least one timer is pending (k8s FakeClock.HasWaiters). */
  hasWaiters(): boolean {
    return this.#timers.size > 0;
  }

  /** Number of pending timers. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /** Due time of the earliest pending timer, if any. */
  nextTimerAt(): number | undefined {
    return this.#earliest()?.at;
  }

  #fire(timer: FakeTimer): void {
    this.#timers.delete(timer);
    this.#now = timer.at;
    timer.fn();
  }

  // A linear scan is plenty for tests (tens of timers) and keeps the fake obviously correct.
  #earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.#timers) {
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

function spinGuard(): (at: number) => void {
  let last = NaN;
  let firings = 0;
  return (at) => {
    firings = at === last ? firings + 1 : 0;
    last = at;
    if (firings > MAX_FIRINGS_AT_ONE_INSTANT) {
      throw new Error('FakeClock: timers keep rescheduling themselves without time advancing');
    }
  };
}

/** Lets every queued promise callback run (one macrotask turn drains the whole microtask queue). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
