// Equality of two JSON values as they would serialize: object key order does not
// matter, keys whose value is undefined count as absent (JSON.stringify drops
// them), `omitKeys` are ignored at every depth. Allocation-free: statuses are
// compared on every reconcile, and building canonical JSON strings for that was
// the operator's largest source of garbage.
export function jsonEqual(a: unknown, b: unknown, omitKeys?: ReadonlySet<string>): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const aArr = Array.isArray(a);
  if (aArr !== Array.isArray(b)) return false;
  if (aArr) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i] === undefined ? null : x[i];
      const yi = y[i] === undefined ? null : y[i];
      if (!jsonEqual(xi, yi, omitKeys)) return false;
    }
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let nx = 0;
  for (const k in x) {
    if (!Object.hasOwn(x, k) || x[k] === undefined || omitKeys?.has(k)) continue;
    nx++;
    if (!Object.hasOwn(y, k) || !jsonEqual(x[k], y[k], omitKeys)) return false;
  }
  let ny = 0;
  for (const k in y) {
    if (!Object.hasOwn(y, k) || y[k] === undefined || omitKeys?.has(k)) continue;
    ny++;
  }
  return nx === ny;
}
