import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../operator/src/kube/clock.ts';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
  type RateLimiter,
} from '../../../operator/src/kube/ratelimiter.ts';

const whenN = <T>(limiter: RateLimiter<T>, item: T, n: number): number[] =>
  Array.from({ length: n }, () => limiter.when(item));

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles from the base delay per failure', () => {
    const limiter = new ItemExponentialFailureRateLimiter<string>(5, 1_000_000);
    expect(whenN(limiter, 'a', 6)).toEqual([5, 10, 20, 40, 80, 160]);
    expect(limiter.numRequeues('a')).toBe(6);
  });

  it('caps at the maximum delay', () => {
    const limiter = new ItemExponentialFailureRateLimiter<string>(5, 30);
    expect(whenN(limiter, 'a', 5)).toEqual([5, 10, 20, 30, 30]);
  });

  it('tracks items independently', () => {
    const limiter = new ItemExponentialFailureRateLimiter<string>(1, 1_000);
    whenN(limiter, 'a', 3);
    expect(limiter.when('b')).toBe(1);
    expect(limiter.numRequeues('a')).toBe(3);
    expect(limiter.numRequeues('b')).toBe(1);
    expect(limiter.numRequeues('never')).toBe(0);
  });

  it('forget resets the backoff of that item only', () => {
    const limiter = new ItemExponentialFailureRateLimiter<string>(5, 1_000);
    whenN(limiter, 'a', 4);
    whenN(limiter, 'b', 2);
    limiter.forget('a');
    expect(limiter.numRequeues('a')).toBe(0);
    expect(limiter.when('a')).toBe(5);
    expect(limiter.when('b')).toBe(20);
  });

  it('stays at the cap (never NaN or Infinity) after thousands of failures', () => {
    const limiter = new ItemExponentialFailureRateLimiter<string>(5, 1_000_000);
    const delays = whenN(limiter, 'a', 3_000);
    expect(delays.at(-1)).toBe(1_000_000);
    expect(delays.every((d) => Number.isFinite(d) && d <= 1_000_000)).toBe(true);
  });

  it('a zero base means no delay, even after overflow', () => {
    const limiter = new ItemExponentialFailureRateLimiter<string>(0, 1_000);
    const delays = whenN(limiter, 'a', 1_100);
    expect(new Set(delays)).toEqual(new Set([0]));
  });

  it('rejects nonsense parameters', () => {
    expect(() => new ItemExponentialFailureRateLimiter(-1, 10)).toThrow(RangeError);
    expect(() => new ItemExponentialFailureRateLimiter(1, Number.NaN)).toThrow(RangeError);
    expect(() => new ItemExponentialFailureRateLimiter(1, Infinity)).toThrow(RangeError);
  });
});

describe('BucketRateLimiter', () => {
  it('lets a burst through, then spaces requests 1/qps apart', () => {
    const clock = new FakeClock();
    const limiter = new BucketRateLimiter<string>(10, 3, clock);
    expect(whenN(limiter, 'x', 6)).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it('is shared by all items', () => {
    const clock = new FakeClock();
    const limiter = new BucketRateLimiter<string>(10, 2, clock);
    expect([limiter.when('a'), limiter.when('b'), limiter.when('c'), limiter.when('d')]).toEqual([
      0, 0, 100, 200,
    ]);
  });

  it('refills at qps up to the burst size, paying off debt first', () => {
    const clock = new FakeClock();
    const limiter = new BucketRateLimiter<string>(10, 3, clock);
    whenN(limiter, 'x', 5); // 3 free, then 2 tokens of debt
    clock.advance(150); // +1.5 tokens: debt 0.5
    expect(limiter.when('x')).toBe(150); // debt 1.5 tokens
    clock.advance(10_000); // refills, but never beyond the burst
    expect(whenN(limiter, 'x', 4)).toEqual([0, 0, 0, 100]);
  });

  it('rounds partial-token waits up so nothing is released early', () => {
    const clock = new FakeClock();
    const limiter = new BucketRateLimiter<string>(3, 1, clock);
    expect(whenN(limiter, 'x', 3)).toEqual([0, 334, 667]);
  });

  it('forget and numRequeues are no-ops', () => {
    const limiter = new BucketRateLimiter<string>(1, 1, new FakeClock());
    whenN(limiter, 'a', 3);
    limiter.forget('a');
    expect(limiter.numRequeues('a')).toBe(0);
    expect(limiter.when('a')).toBe(3_000); // forget did not refund the bucket
  });

  it('an infinite rate never delays', () => {
    const limiter = new BucketRateLimiter<string>(Infinity, 1, new FakeClock());
    expect(whenN(limiter, 'a', 5)).toEqual([0, 0, 0, 0, 0]);
  });

  it('rejects nonsense parameters', () => {
    const clock = new FakeClock();
    expect(() => new BucketRateLimiter(0, 1, clock)).toThrow(RangeError);
    expect(() => new BucketRateLimiter(10, 0, clock)).toThrow(RangeError);
    expect(() => new BucketRateLimiter(Number.NaN, 1, clock)).toThrow(RangeError);
  });
});

describe('MaxOfRateLimiter', () => {
  it('returns the largest delay and charges every limiter', () => {
    const clock = new FakeClock();
    const exp = new ItemExponentialFailureRateLimiter<string>(50, 10_000);
    const bucket = new BucketRateLimiter<string>(10, 1, clock);
    const max = new MaxOfRateLimiter(exp, bucket);
    expect(max.when('a')).toBe(50); // exp 50, bucket 0
    expect(max.when('a')).toBe(100); // exp 100, bucket 100
    expect(max.when('b')).toBe(200); // exp 50, bucket 200: the bucket token was spent each time
    expect(exp.numRequeues('a')).toBe(2);
  });

  it('forgets in every limiter and reports the largest requeue count', () => {
    const a = new ItemExponentialFailureRateLimiter<string>(1, 100);
    const b = new ItemExponentialFailureRateLimiter<string>(1, 100);
    const max = new MaxOfRateLimiter(a, b);
    whenN(max, 'x', 2);
    b.when('x');
    expect(max.numRequeues('x')).toBe(3);
    max.forget('x');
    expect(a.numRequeues('x')).toBe(0);
    expect(b.numRequeues('x')).toBe(0);
  });

  it('needs at least one limiter', () => {
    expect(() => new MaxOfRateLimiter()).toThrow(RangeError);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('backs off per item from 5 ms, doubling, capped at 1000 s', () => {
    const limiter = defaultControllerRateLimiter<string>(new FakeClock());
    expect(whenN(limiter, 'a', 4)).toEqual([5, 10, 20, 40]);
    const many = whenN(limiter, 'a', 40);
    expect(many.at(-1)).toBe(1_000_000);
  });

  it('allows a burst of 100 retries overall, then 10 per second', () => {
    const limiter = defaultControllerRateLimiter<string>(new FakeClock());
    const first = Array.from({ length: 100 }, (_, i) => limiter.when(`item-${i}`));
    expect(new Set(first)).toEqual(new Set([5]));
    expect(limiter.when('item-100')).toBe(100);
    expect(limiter.when('item-101')).toBe(200);
  });

  it('takes its parameters as options', () => {
    const backoff = defaultControllerRateLimiter<string>(new FakeClock(), { baseDelayMs: 1, maxDelayMs: 4 });
    expect(whenN(backoff, 'a', 5)).toEqual([1, 2, 4, 4, 4]);
    const bucket = defaultControllerRateLimiter<string>(new FakeClock(), { qps: 1, burst: 2 });
    expect(['a', 'b', 'c', 'd'].map((item) => bucket.when(item))).toEqual([5, 5, 1_000, 2_000]);
  });
});
