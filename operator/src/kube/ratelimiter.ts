// Rate limiters for the workqueue, after client-go's k8s.io/client-go/util/workqueue: they decide how
// long a failed item waits before it is retried. Per-item exponential backoff stops a broken object
// from hot-looping; an overall token bucket stops a mass failure (API server down, quota exhausted
// everywhere) from turning into a retry storm.

import { realClock, type Clock } from './clock.ts';

export interface RateLimiter<T> {
  /** Records a failure of item and returns how long (ms) it should wait before its retry. */
  when(item: T): number;
  /** Clears item's failure history (call it after a successful reconcile). */
  forget(item: T): void;
  /** How many failures are on record for item. */
  numRequeues(item: T): number;
}

function requireNonNegative(what: string, value: number): void {
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new RangeError(`${what} must be a finite number >= 0, got ${value}`);
  }
}

/** Per-item delay of baseMs * 2^failures, capped at maxMs. */
export class ItemExponentialFailureRateLimiter<T> implements RateLimiter<T> {
  readonly #baseMs: number;
  readonly #maxMs: number;
  readonly #failures = new Map<T, number>();

  constructor(baseMs: number, maxMs: number) {
    requireNonNegative('baseMs', baseMs);
    requireNonNegative('maxMs', maxMs);
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(item: T): number {
    const failures = this.#failures.get(item) ?? 0;
    this.#failures.set(item, failures + 1);
    // 2 ** n is exact up to 2^1023 and Infinity beyond; Infinity fails the `<` below, so any
    // overflow lands on the cap. A zero base would give 0 * Infinity = NaN, hence the guard.
    if (this.#baseMs === 0) return 0;
    const delay = this.#baseMs * 2 ** failures;
    return delay < this.#maxMs ? delay : this.#maxMs;
  }

  forget(item: T): void {
    this.#failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.#failures.get(item) ?? 0;
  }
}

/**
 * One token bucket shared by all items, like golang.org/x/time/rate's Limiter.Reserve: the bucket
 * holds up to `burst` tokens and refills at `qps` per second; each when() takes a token, going into
 * debt if none is left, and returns how long until that token exists. Debt is what spaces a flood
 * of retries exactly 1/qps apart instead of letting them all through when the bucket refills.
 */
export class BucketRateLimiter<T> implements RateLimiter<T> {
  readonly #qps: number;
  readonly #burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #last: number;

  constructor(qps: number, burst: number, clock: Clock = realClock) {
    if (!(qps > 0)) throw new RangeError(`qps must be > 0, got ${qps}`);
    // x/time/rate refuses every reservation when burst is 0; failing here is kinder.
    if (!(burst >= 1) || !Number.isFinite(burst)) throw new RangeError(`burst must be >= 1, got ${burst}`);
    this.#qps = qps;
    this.#burst = burst;
    this.#clock = clock;
    this.#tokens = burst;
    this.#last = clock.now();
  }

  when(_item: T): number {
    if (this.#qps === Infinity) return 0;
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#last);
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#qps) / 1000);
    this.#last = Math.max(this.#last, now);
    this.#tokens -= 1;
    if (this.#tokens >= 0) return 0;
    // Round up so an item is never released before its token exists; the epsilon absorbs
    // floating-point noise (a debt of 0.9999999999 tokens at 10 qps is 100 ms, not 101).
    return Math.max(0, Math.ceil((-this.#tokens * 1000) / this.#qps - 1e-6));
  }

  forget(_item: T): void {}

  numRequeues(_item: T): number {
    return 0;
  }
}

/** Combines limiters: an item waits as long as the strictest one says. */
export class MaxOfRateLimiter<T> implements RateLimiter<T> {
  readonly #limiters: readonly RateLimiter<T>[];

  constructor(...limiters: RateLimiter<T>[]) {
    if (limiters.length === 0) throw new RangeError('MaxOfRateLimiter needs at least one limiter');
    this.#limiters = limiters;
  }

  when(item: T): number {
    // Every limiter must see every failure (a bucket must spend its token, a backoff must count),
    // so no short-circuiting here.
    let delay = 0;
    for (const limiter of this.#limiters) delay = Math.max(delay, limiter.when(item));
    return delay;
  }

  forget(item: T): void {
    for (const limiter of this.#limiters) limiter.forget(item);
  }

  numRequeues(item: T): number {
    let n = 0;
    for (const limiter of this.#limiters) n = Math.max(n, limiter.numRequeues(item));
    return n;
  }
}

export interface ControllerRateLimiterOptions {
  /** First per-item retry delay; default 5 ms. */
  baseDelayMs?: number;
  /** Cap on the per-item delay; default 1000 s. */
  maxDelayMs?: number;
  /** Overall retry rate; default 10 per second. */
  qps?: number;
  /** Overall retry burst; default 100. */
  burst?: number;
}

/** client-go's DefaultTypedControllerRateLimiter, with its parameters as overridable defaults. */
export function defaultControllerRateLimiter<T>(
  clock: Clock = realClock,
  options: ControllerRateLimiterOptions = {},
): RateLimiter<T> {
  const { baseDelayMs = 5, maxDelayMs = 1_000_000, qps = 10, burst = 100 } = options;
  return new MaxOfRateLimiter<T>(
    new ItemExponentialFailureRateLimiter<T>(baseDelayMs, maxDelayMs),
    new BucketRateLimiter<T>(qps, burst, clock),
  );
}
