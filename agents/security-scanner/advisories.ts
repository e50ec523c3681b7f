// The advisory database (advisories.json, committed data) and the matching of pinned dependencies against it.
import database from './advisories.json' with { type: 'json' };
import type { Dependency, Ecosystem } from './manifests.ts';
import { compareVersions, inRange, parseVersion } from './versions.ts';

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

export interface Advisory {
  readonly id: string;
  readonly ecosystem: Ecosystem;
  readonly package: string;
  readonly affected: string;
  readonly fixed: readonly string[];
  readonly severity: Severity;
  readonly title: string;
}

export const ADVISORIES: readonly Advisory[] = database.advisories as readonly Advisory[];

export interface Vulnerability {
  readonly advisory: Advisory;
  readonly dependency: Dependency;
  /** The smallest release above the installed one that no advisory affects, when the database knows one. */
  readonly fixedIn: string | undefined;
}

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

function affectedBy(advisories: readonly Advisory[], version: string): Advisory[] {
  const v = parseVersion(version);
  if (!v) return [];
  return advisories.filter((a) => inRange(v, a.affected));
}

/** The smallest fixed release above `version` that none of the package's advisories affects. */
export function safeUpgrade(advisories: readonly Advisory[], version: string): string | undefined {
  const current = parseVersion(version);
  if (!current) return undefined;
  const candidates = [...new Set(advisories.flatMap((a) => a.fixed))]
    .map((text) => ({ text, v: parseVersion(text) }))
    .filter((c) => c.v !== undefined && compareVersions(c.v, current) > 0)
    .sort((x, y) => compareVersions(x.v!, y.v!));
  const safe = candidates.find((c) => affectedBy(advisories, c.text).length === 0);
  if (!safe) return undefined;
  // Go versions carry their `v`.
  return version.startsWith('v') && !safe.text.startsWith('v') ? `v${safe.text}` : safe.text;
}

export function findVulnerabilities(
  dependencies: readonly Dependency[],
  advisories: readonly Advisory[] = ADVISORIES,
): Vulnerability[] {
  const out: Vulnerability[] = [];
  for (const dependency of dependencies) {
    const forPackage = advisories.filter(
      (a) =>
        a.ecosystem === dependency.ecosystem && a.package.toLowerCase() === dependency.name.toLowerCase(),
    );
    if (forPackage.length === 0) continue;
    const fixedIn = safeUpgrade(forPackage, dependency.version);
    for (const advisory of affectedBy(forPackage, dependency.version))
      out.push({ advisory, dependency, fixedIn });
  }
  return out;
}
