// Retry policy arithmetic. Pure.
import type { RetryPolicy } from '../../api/generated/index.ts';

export interface EffectiveRetry {
  readonly limit: number;
  readonly seconds: number;
  readonly factor: number;
  readonly maxSeconds: number;
}

export const DEFAULT_RETRY: EffectiveRetry = { limit: 0, seconds: 10, factor: 2, maxSeconds: 300 };

/** The step's policy wins over the Agent's, field by field; defaults fill the rest. */
export function effectiveRetry(
  step: RetryPolicy | undefined,
  agent: RetryPolicy | undefined,
): EffectiveRetry {
  return {
    limit: step?.limit ?? agent?.limit ?? DEFAULT_RETRY.limit,
    seconds: step?.backoff?.seconds ?? agent?.backoff?.seconds ?? DEFAULT_RETRY.seconds,
    factor: step?.backoff?.factor ?? agent?.backoff?.factor ?? DEFAULT_RETRY.factor,
    maxSeconds: step?.backoff?.maxSeconds ?? agent?.backoff?.maxSeconds ?? DEFAULT_RETRY.maxSeconds,
  };
}

/** Attempts allowed in total: the first plus `limit` retries. */
export function maxAttempts(r: EffectiveRetry): number {
  return 1 + r.limit;
}

/** Delay before attempt `next` (2, 3, ...): seconds * factor^(next-2), capped at maxSeconds. */
export function backoffMs(r: EffectiveRetry, next: number): number {
  const exp = Math.max(0, next - 2);
  const raw = r.seconds * Math.pow(r.factor, Math.min(exp, 64));
  return Math.round(Math.min(raw, r.maxSeconds) * 1000);
}
