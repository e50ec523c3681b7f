// The compliance checker's rules, pure: each takes the repository's text files and returns violations.
//
// - licenses: a LICENSE (or LICENSE.md, LICENSE.txt, COPYING) at the root, naming a license we recognise; the
//   license in package.json agrees with it; every source file carries an `SPDX-License-Identifier` or a
//   `Copyright` line in its first 10 lines.
// - security-headers: when the repository starts an HTTP server (Node's http/https.createServer, express,
//   fastify, Flask, Go's net/http), its code sets Content-Security-Policy, Strict-Transport-Security,
//   X-Content-Type-Options and X-Frame-Options (or uses helmet, which sets them all).
// - secrets: no committed secrets (the rules in agents/common/secrets.ts); the violation never quotes the value.
import { findSecrets } from '../common/secrets.ts';
import type { SourceFile } from '../common/tree.ts';

export const RULES = ['licenses', 'security-headers', 'secrets'] as const;
export type RuleName = (typeof RULES)[number];
export type ViolationSeverity = 'critical' | 'warning' | 'info';

export interface Violation {
  readonly rule: RuleName;
  readonly severity: ViolationSeverity;
  readonly file: string;
  /** 1-based; 0 when the violation is about a file that is missing. */
  readonly line: number;
  readonly message: string;
}

const SOURCE = /\.(js|mjs|cjs|ts|tsx|jsx|py|go|java|rb|rs|c|h|cc|cpp|sh)$/;
const LICENSE_FILES = ['LICENSE', 'LICENSE.md', 'LICENSE.txt', 'COPYING'];
const LICENSE_HEADER = /SPDX-License-Identifier:|Copyright/i;

/** Recognised license texts, by a phrase each one contains, with their SPDX identifiers. */
const KNOWN_LICENSES: readonly { spdx: string; phrase: RegExp }[] = [
  { spdx: 'MIT', phrase: /Permission is hereby granted, free of charge/ },
  { spdx: 'Apache-2.0', phrase: /Apache License\s+Version 2\.0/ },
  { spdx: 'BSD-3-Clause', phrase: /Neither the name of the copyright holder/ },
  { spdx: 'BSD-2-Clause', phrase: /Redistributions in binary form must reproduce/ },
  { spdx: 'GPL-3.0', phrase: /GNU GENERAL PUBLIC LICENSE\s+Version 3/ },
  { spdx: 'MPL-2.0', phrase: /Mozilla Public License,? (?:Version|v\.) 2\.0/ },
];

export function isSourceFile(path: string): boolean {
  return SOURCE.test(path) && !path.split('/').some((p) => p === 'node_modules' || p === 'vendor');
}

export function checkLicenses(files: readonly SourceFile[]): Violation[] {
  const out: Violation[] = [];
  const license = files.find((f) => LICENSE_FILES.includes(f.path));
  let spdx: string | undefined;
  if (!license) {
    out.push({
      rule: 'licenses',
      severity: 'critical',
      file: 'LICENSE',
      line: 0,
      message: 'no LICENSE file at the repository root',
    });
  } else {
    spdx = KNOWN_LICENSES.find((l) => l.phrase.test(license.text))?.spdx;
    if (!spdx) {
      out.push({
        rule: 'licenses',
        severity: 'warning',
        file: license.path,
        line: 1,
        message: 'the LICENSE text is not one of MIT, Apache-2.0, BSD-2/3-Clause, GPL-3.0, MPL-2.0',
      });
    }
  }
  const pkg = files.find((f) => f.path === 'package.json');
  if (pkg && spdx) {
    const declared = /"license"\s*:\s*"([^"]*)"/.exec(pkg.text)?.[1];
    const line = pkg.text.split('\n').findIndex((l) => l.includes('"license"')) + 1;
    if (declared === undefined) {
      out.push({
        rule: 'licenses',
        severity: 'warning',
        file: pkg.path,
        line: 1,
        message: `package.json declares no license (LICENSE is ${spdx})`,
      });
    } else if (declared !== spdx) {
      out.push({
        rule: 'licenses',
        severity: 'warning',
        file: pkg.path,
        line,
        message: `package.json declares ${declared} but LICENSE is ${spdx}`,
      });
    }
  }
  for (const f of files) {
    if (!isSourceFile(f.path)) continue;
    const head = f.text.split('\n').slice(0, 10).join('\n');
    if (!LICENSE_HEADER.test(head)) {
      out.push({
        rule: 'licenses',
        severity: 'warning',
        file: f.path,
        line: 1,
        message: 'no license header (SPDX-License-Identifier or Copyright) in the first 10 lines',
      });
    }
  }
  return out;
}

const SERVER =
  /\b(?:https?\.createServer|express\(\)|fastify\(|Flask\(__name__\)|http\.ListenAndServe|http\.Server\{)/;
const HEADERS: readonly { name: string; seen: RegExp }[] = [
  { name: 'Content-Security-Policy', seen: /Content-Security-Policy/i },
  { name: 'Strict-Transport-Security', seen: /Strict-Transport-Security/i },
  { name: 'X-Content-Type-Options', seen: /X-Content-Type-Options/i },
  { name: 'X-Frame-Options', seen: /X-Frame-Options|frame-ancestors/i },
];

export function checkSecurityHeaders(files: readonly SourceFile[]): Violation[] {
  const sources = files.filter((f) => isSourceFile(f.path));
  const servers = sources
    .map((f) => ({ f, line: f.text.split('\n').findIndex((l) => SERVER.test(l)) + 1 }))
    .filter((s) => s.line > 0);
  if (servers.length === 0) {
    return [
      {
        rule: 'security-headers',
        severity: 'info',
        file: '',
        line: 0,
        message: 'no HTTP server found in the repository: no headers to check',
      },
    ];
  }
  const all = sources.map((f) => f.text).join('\n');
  if (/\bhelmet\b/.test(all)) return [];
  const out: Violation[] = [];
  for (const header of HEADERS) {
    if (header.seen.test(all)) continue;
    for (const { f, line } of servers) {
      out.push({
        rule: 'security-headers',
        severity: 'warning',
        file: f.path,
        line,
        message: `the HTTP server never sets ${header.name}`,
      });
    }
  }
  return out;
}

const LOCKFILES = /(^|\/)(package-lock\.json|go\.sum|yarn\.lock|pnpm-lock\.yaml|poetry\.lock)$/;

export function checkSecrets(files: readonly SourceFile[]): Violation[] {
  return files
    .filter((f) => !LOCKFILES.test(f.path))
    .flatMap((f) => findSecrets(f.path, f.text))
    .map((s) => ({
      rule: 'secrets' as const,
      severity: 'critical' as const,
      file: s.file,
      line: s.line,
      message: `committed ${s.description} (${s.rule})`,
    }));
}

const CHECKS: Readonly<Record<RuleName, (files: readonly SourceFile[]) => Violation[]>> = {
  licenses: checkLicenses,
  'security-headers': checkSecurityHeaders,
  secrets: checkSecrets,
};

const ORDER: Readonly<Record<ViolationSeverity, number>> = { critical: 0, warning: 1, info: 2 };

/** Every violation of the selected rules, most severe first (then by rule, file and line). */
export function checkCompliance(files: readonly SourceFile[], rules: readonly RuleName[]): Violation[] {
  return [...new Set(rules)]
    .flatMap((rule) => CHECKS[rule](files))
    .sort(
      (a, b) =>
        ORDER[a.severity] - ORDER[b.severity] ||
        RULES.indexOf(a.rule) - RULES.indexOf(b.rule) ||
        a.file.localeCompare(b.file) ||
        a.line - b.line,
    );
}
