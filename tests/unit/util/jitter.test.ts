import { describe, expect, it } from 'vitest';
import { jitter } from '../../../operator/src/util/jitter.ts';

describe('jitter (client-go wait.Jitter)', () => {
  it('spreads a wait over [duration, duration * (1 + maxFactor)]', () => {
    expect(jitter(1_000, 1.2, 0)).toBe(1_000);
    expect(jitter(1_000, 1.2, 0.5)).toBe(1_600);
    expect(jitter(1_000, 1.2, 0.999)).toBeLessThan(2_200);
    expect(jitter(400, 1, 0.25)).toBe(500);
  });

  it('clamps a random draw outside [0, 1]', () => {
    expect(jitter(1_000, 1.2, 7)).toBe(2_200);
    expect(jitter(1_000, 1.2, -3)).toBe(1_000);
  });
});
