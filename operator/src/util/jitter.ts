// Randomized waits, so many clients retrying after the same failure (every informer after an API
// server restart, every replica after a lost lease) do not all come back at the same moment.

/**
 * client-go's wait.Jitter: a wait between `durationMs` and `durationMs * (1 + maxFactor)`.
 * `random` is the random draw in [0, 1) (Math.random(), or a fixed value in tests); values
 * outside are clamped, so the result always stays in that range.
 */
export function jitter(durationMs: number, maxFactor: number, random: number): number {
  return durationMs * (1 + maxFactor * Math.min(Math.max(random, 0), 1));
}
