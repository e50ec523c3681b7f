import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  DEFAULT_RETRY,
  effectiveRetry,
  maxAttempts,
  type EffectiveRetry,
} from '../../../../operator/src/controllers/workflow/retry.ts';

describe('effectiveRetry', () => {
  it('uses the defaults when neither the step nor the Agent says anything', () => {
    expect(effectiveRetry(undefined, undefined)).toEqual({
      limit: 0,
      seconds: 10,
      factor: 2,
      maxSeconds: 300,
    });
    expect(effectiveRetry({}, { backoff: {} })).toEqual(DEFAULT_RETRY);
  });

  it("takes the Agent's policy over the defaults", () => {
    expect(
      effectiveRetry(undefined, { limit: 3, backoff: { seconds: 1, factor: 3, maxSeconds: 20 } }),
    ).toEqual({ limit: 3, seconds: 1, factor: 3, maxSeconds: 20 });
  });

  it("takes the step's policy over the Agent's", () => {
    expect(
      effectiveRetry(
        { limit: 1, backoff: { seconds: 5, factor: 1, maxSeconds: 7 } },
        { limit: 3, backoff: { seconds: 1, factor: 3, maxSeconds: 20 } },
      ),
    ).toEqual({ limit: 1, seconds: 5, factor: 1, maxSeconds: 7 });
  });

  it('merges field by field: step > Agent > defaults', () => {
    expect(effectiveRetry({ backoff: { seconds: 4 } }, { limit: 2, backoff: { factor: 5 } })).toEqual({
      limit: 2,
      seconds: 4,
      factor: 5,
      maxSeconds: 300,
    });
    expect(effectiveRetry({ limit: 0 }, { limit: 4 }).limit).toBe(0);
    expect(
      effectiveRetry({ backoff: { maxSeconds: 9 } }, { backoff: { maxSeconds: 99, seconds: 2 } }),
    ).toEqual({
      limit: 0,
      seconds: 2,
      factor: 2,
      maxSeconds: 9,
    });
  });
});

describe('maxAttempts', () => {
  it('is the first attempt plus the retries', () => {
    expect(maxAttempts({ ...DEFAULT_RETRY, limit: 0 })).toBe(1);
    expect(maxAttempts({ ...DEFAULT_RETRY, limit: 3 })).toBe(4);
  });
});

describe('backoffMs', () => {
  const r: EffectiveRetry = { limit: 10, seconds: 1, factor: 2, maxSeconds: 60 };

  it('waits `seconds` before the second attempt, then grows by `factor`', () => {
    expect(backoffMs(r, 2)).toBe(1_000);
    expect(backoffMs(r, 3)).toBe(2_000);
    expect(backoffMs(r, 4)).toBe(4_000);
    expect(backoffMs(r, 7)).toBe(32_000);
  });

  it('caps the delay at maxSeconds', () => {
    expect(backoffMs(r, 8)).toBe(60_000);
    expect(backoffMs(r, 50)).toBe(60_000);
    expect(backoffMs(r, 1_000)).toBe(60_000);
    expect(backoffMs({ ...r, seconds: 90 }, 2)).toBe(60_000);
  });

  it('keeps a constant delay with factor 1 and handles fractions with ms precision', () => {
    expect(backoffMs({ ...r, factor: 1, seconds: 3 }, 9)).toBe(3_000);
    expect(backoffMs({ ...r, seconds: 0.5, factor: 1.5 }, 3)).toBe(750);
    expect(backoffMs({ ...r, seconds: 0 }, 5)).toBe(0);
  });

  it('never goes below the first delay for attempt numbers below 2', () => {
    expect(backoffMs(r, 1)).toBe(1_000);
    expect(backoffMs(r, 0)).toBe(1_000);
  });

  it('uses the defaults: 10 s, doubling, at most 300 s', () => {
    expect([2, 3, 4, 5, 6, 7].map((n) => backoffMs(DEFAULT_RETRY, n))).toEqual([
      10_000, 20_000, 40_000, 80_000, 160_000, 300_000,
    ]);
  });
});
