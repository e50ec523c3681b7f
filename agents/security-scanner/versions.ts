// Version comparison and range matching for the advisory database, across the three ecosystems it covers:
// npm (semver), PyPI (PEP 440 release segments) and Go modules (semver with a `v`). Only release numbers and
// semver pre-release tags are compared; that is all the database's ranges need.
//
// A range is a list of alternatives separated by `||`; each alternative is a space-separated list of comparators
// (`<1.2.6`, `>=2.3.0`, `=1.0.0`, `<=0.9`), all of which must hold. `*` matches every version.

export interface Version {
  readonly release: readonly number[];
  /** Semver pre-release identifiers (`1.0.0-rc.1` -> ['rc', 1]); empty for a release. */
  readonly pre: readonly (string | number)[];
}

const VERSION =
  /^v?(\d+(?:\.\d+)*)(?:[-.]?((?:a|b|rc|alpha|beta|pre|dev)?[0-9A-Za-z.-]*))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseVersion(text: string): Version | undefined {
  const m = VERSION.exec(text.trim());
  if (!m?.[1]) return undefined;
  const release = m[1].split('.').map(Number);
  if (release.some((n) => !Number.isSafeInteger(n))) return undefined;
  const pre = (m[2] ?? '')
    .split('.')
    .filter((p) => p !== '')
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  return { release, pre };
}

export function compareVersions(a: Version, b: Version): number {
  const n = Math.max(a.release.length, b.release.length);
  for (let i = 0; i < n; i++) {
    const d = (a.release[i] ?? 0) - (b.release[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  // A pre-release sorts before its release (1.0.0-rc.1 < 1.0.0).
  if (a.pre.length === 0 || b.pre.length === 0) return Math.sign(b.pre.length - a.pre.length);
  const m = Math.max(a.pre.length, b.pre.length);
  for (let i = 0; i < m; i++) {
    const [x, y] = [a.pre[i], b.pre[i]];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return Math.sign(x - y);
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

const COMPARATOR = /^(<=|>=|<|>|=|==)?\s*(\S+)$/;

function satisfiesComparator(version: Version, comparator: string): boolean {
  if (comparator === '*') return true;
  const m = COMPARATOR.exec(comparator);
  const bound = m?.[2] === undefined ? undefined : parseVersion(m[2]);
  if (!m || !bound) throw new Error(`invalid version comparator "${comparator}"`);
  const c = compareVersions(version, bound);
  switch (m[1]) {
    case '<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '>':
      return c > 0;
    case '>=':
      return c >= 0;
    default:
      return c === 0;
  }
}

/** True when `version` lies in `range` (see the header for the syntax). Throws on a malformed range. */
export function inRange(version: Version, range: string): boolean {
  return range.split('||').some((alternative) => {
    // Glue an operator separated from its version by spaces (`< 1.2`) back together.
    const comparators = alternative
      .trim()
      .replace(/(<=|>=|==|<|>|=)\s+/g, '$1')
      .split(/\s+/)
      .filter((c) => c !== '');
    return comparators.length > 0 && comparators.every((c) => satisfiesComparator(version, c));
  });
}
