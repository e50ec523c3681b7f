// Deep freezing, so shared values (the informer cache, the parsed CRDs, the configuration) fail
// loudly when a caller mutates them instead of changing them for everyone.

/**
 * Freezes `value` and everything reachable from it, and returns it. An object that is already
 * frozen is taken as frozen all the way down and not walked again: informer objects share frozen
 * subtrees, and walking them on every event would cost time for nothing.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
