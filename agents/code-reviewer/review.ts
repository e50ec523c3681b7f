// The code reviewer's verdict, pure: which files to review, the score and the metrics, and outputs that fit in
// the 4096-byte termination message.
//
// score = round(0.6 × issueScore + 0.2 × complexityScore + 0.2 × testCoverage), where
//   issueScore      = max(0, 100 − 15 per critical − 5 per warning − 1 per info issue);
//   complexityScore = the mean over the reviewed code files of 100 − 10 per nesting level past 3 − 2 per decision
//                     point past 10 (clamped to 0–100); 100 when no code file was reviewed;
//   testCoverage    = the share (0–100) of reviewed non-test code files that have a test file in the repository
//                     (name.test.js, test_name.py, name_test.go, ...): a proxy, since nothing is run.
import { clip, fitOutputs } from '../common/fit-outputs.ts';
import {
  complexityScore,
  hasTestFor,
  isTestPath,
  languageOf,
  reviewFile,
  type Issue,
  type IssueSeverity,
} from './heuristics.ts';
import type { SourceFile } from '../common/tree.ts';

export interface Review {
  readonly reviewed: readonly string[];
  /** Changed files that are not in the checkout (deleted) or not text: not reviewed. */
  readonly skipped: readonly string[];
  readonly issues: readonly Issue[];
  readonly score: number;
  readonly metrics: { complexityScore: number; testCoverage: number; securityIssues: number };
}

const ORDER: Readonly<Record<IssueSeverity, number>> = { critical: 0, warning: 1, info: 2 };
const PENALTY: Readonly<Record<IssueSeverity, number>> = { critical: 15, warning: 5, info: 1 };

export function reviewChanges(files: readonly SourceFile[], changed: readonly string[]): Review {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const allPaths = files.map((f) => f.path);
  const reviewed = [...new Set(changed)].filter((p) => byPath.has(p)).sort();
  const skipped = [...new Set(changed)].filter((p) => !byPath.has(p)).sort();
  const issues: Issue[] = [];
  const complexities: number[] = [];
  let needTests = 0;
  let withTests = 0;
  for (const path of reviewed) {
    const isCode = languageOf(path) !== 'other';
    const hasTest = hasTestFor(path, allPaths);
    const r = reviewFile(path, byPath.get(path)?.text ?? '', hasTest);
    issues.push(...r.issues);
    if (isCode) complexities.push(complexityScore(r.metrics));
    if (isCode && !isTestPath(path)) {
      needTests++;
      if (hasTest) withTests++;
    }
  }
  issues.sort(
    (a, b) => ORDER[a.severity] - ORDER[b.severity] || a.file.localeCompare(b.file) || a.line - b.line,
  );
  const issueScore = Math.max(0, 100 - issues.reduce((sum, i) => sum + PENALTY[i.severity], 0));
  const complexity =
    complexities.length === 0
      ? 100
      : Math.round(complexities.reduce((a, b) => a + b, 0) / complexities.length);
  const testCoverage = needTests === 0 ? 100 : Math.round((100 * withTests) / needTests);
  const score = Math.round(0.6 * issueScore + 0.2 * complexity + 0.2 * testCoverage);
  return {
    reviewed,
    skipped,
    issues,
    score,
    metrics: {
      complexityScore: complexity,
      testCoverage,
      securityIssues: issues.filter((i) => i.category === 'security').length,
    },
  };
}

export interface ReviewerOutputs {
  score: number;
  summary: string;
  metrics: Review['metrics'];
  issues: Issue[];
}

export const MAX_LISTED = 25;

export function reviewerOutputs(review: Review, against: string): ReviewerOutputs {
  const count = (s: IssueSeverity) => review.issues.filter((i) => i.severity === s).length;
  const listed = review.issues
    .slice(0, MAX_LISTED)
    .map((i) => ({ ...i, message: clip(i.message, 160), suggestion: clip(i.suggestion, 160) }));
  const { outputs } = fitOutputs(
    { score: review.score, summary: '', metrics: review.metrics, issues: listed },
    ['issues'],
    (o, dropped) => {
      const omitted = review.issues.length - listed.length + dropped.issues;
      const summary =
        `score ${review.score}/100 for ${review.reviewed.length} changed file(s) ${against}: ` +
        `${count('critical')} critical, ${count('warning')} warning, ${count('info')} info issue(s); ` +
        `complexity ${review.metrics.complexityScore}, test coverage ${review.metrics.testCoverage}%` +
        (review.skipped.length > 0
          ? `; ${review.skipped.length} deleted or binary file(s) not reviewed`
          : '') +
        (omitted > 0 ? `; ${omitted} issue(s) not listed (outputs are limited to 4096 bytes)` : '');
      return { ...o, summary: clip(summary, 500) };
    },
  );
  return outputs;
}
