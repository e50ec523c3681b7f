// The security scanner's decisions, pure: which pinned dependencies are vulnerable, which committed secrets leak,
// what patch upgrades what can be upgraded, and the outputs that fit the 4096-byte termination message.
import { findVulnerabilities, severityRank, type Severity, type Vulnerability } from './advisories.ts';
import { applyUpgrades, upgradePatch } from './fixes.ts';
import { readDependencies } from './manifests.ts';
import { clip, fitOutputs, jsonBytes } from '../common/fit-outputs.ts';
import { findSecrets, type SecretFinding } from '../common/secrets.ts';
import type { SourceFile } from '../common/tree.ts';

export interface ScanOptions {
  /** Only this advisory (e.g. CVE-2021-44906); secrets are still reported. */
  readonly cve?: string | undefined;
  /** Findings below this severity are not counted or listed (secrets are critical or high). */
  readonly severityThreshold: Severity;
}

export interface ScanResult {
  readonly vulnerabilities: readonly Vulnerability[];
  readonly secrets: readonly SecretFinding[];
  /** One unified diff per manifest the upgrades change, in path order. */
  readonly patches: readonly string[];
}

/** Files whose secrets are not reported: lockfiles hold hashes, not credentials. */
const NOT_SCANNED_FOR_SECRETS = /(^|\/)(package-lock\.json|go\.sum|yarn\.lock|pnpm-lock\.yaml|poetry\.lock)$/;

export function scanRepository(files: readonly SourceFile[], options: ScanOptions): ScanResult {
  const threshold = severityRank(options.severityThreshold);
  const vulnerabilities = findVulnerabilities(readDependencies(files))
    .filter((v) => severityRank(v.advisory.severity) >= threshold)
    .filter((v) => options.cve === undefined || v.advisory.id === options.cve)
    .sort(
      (a, b) =>
        severityRank(b.advisory.severity) - severityRank(a.advisory.severity) ||
        a.dependency.file.localeCompare(b.dependency.file) ||
        a.dependency.line - b.dependency.line,
    );
  const secrets = files
    .filter((f) => !NOT_SCANNED_FOR_SECRETS.test(f.path))
    .flatMap((f) => findSecrets(f.path, f.text))
    .filter((s) => severityRank(s.severity) >= threshold);
  const patches = upgradePatch(files, applyUpgrades(files, vulnerabilities));
  return { vulnerabilities, secrets, patches };
}

export interface ScannerOutputs {
  findings: number;
  critical: number;
  summary: string;
  vulnerabilities: {
    id: string;
    package: string;
    version: string;
    fixedIn?: string;
    severity: Severity;
    file: string;
    line: number;
  }[];
  leakedSecrets: { rule: string; file: string; line: number; match: string }[];
  patch?: string;
}

/** Bytes of the outputs the patch may take; the rest is left for counts, summary and lists. */
export const PATCH_BUDGET = 2400;

/**
 * The outputs: counts over everything found; the lists and the patch bounded so the whole object stays within
 * 4096 bytes. The patch keeps whole files only (a file's diff is never cut), so what it carries always applies.
 */
export function scannerOutputs(result: ScanResult, repository: string): ScannerOutputs {
  const findings = result.vulnerabilities.length + result.secrets.length;
  const critical =
    result.vulnerabilities.filter((v) => v.advisory.severity === 'critical').length +
    result.secrets.filter((s) => s.severity === 'critical').length;
  const patchParts: string[] = [];
  for (const part of result.patches) {
    if (jsonBytes([...patchParts, part].join('')) > PATCH_BUDGET) break;
    patchParts.push(part);
  }
  const upgradable = result.vulnerabilities.filter((v) => v.fixedIn !== undefined).length;
  const base: ScannerOutputs = {
    findings,
    critical,
    summary: '',
    vulnerabilities: result.vulnerabilities.map((v) => ({
      id: v.advisory.id,
      package: v.dependency.name,
      version: v.dependency.version,
      ...(v.fixedIn === undefined ? {} : { fixedIn: v.fixedIn }),
      severity: v.advisory.severity,
      file: v.dependency.file,
      line: v.dependency.line,
    })),
    leakedSecrets: result.secrets.map((s) => ({
      rule: s.rule,
      file: s.file,
      line: s.line,
      match: clip(s.match, 200),
    })),
    ...(patchParts.length > 0 ? { patch: patchParts.join('') } : {}),
  };
  const { outputs } = fitOutputs(base, ['vulnerabilities', 'leakedSecrets'], (o, dropped) => {
    const omitted = dropped.vulnerabilities + dropped.leakedSecrets;
    const patchNote =
      patchParts.length === 0
        ? 'no patch'
        : `a patch upgrading ${upgradable} of them in ${patchParts.length} file(s)` +
          (patchParts.length < result.patches.length
            ? ` (${result.patches.length - patchParts.length} more file(s) did not fit)`
            : '');
    const summary =
      findings === 0
        ? `no findings in ${repository}`
        : `${result.vulnerabilities.length} vulnerable dependenc${result.vulnerabilities.length === 1 ? 'y' : 'ies'} and ` +
          `${result.secrets.length} committed secret(s) in ${repository} (${critical} critical); ${patchNote}` +
          (omitted > 0 ? `; ${omitted} finding(s) not listed (outputs are limited to 4096 bytes)` : '');
    return { ...o, summary: clip(summary, 500) };
  });
  return outputs;
}
