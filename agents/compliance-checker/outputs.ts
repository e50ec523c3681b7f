// The compliance checker's outputs: a verdict over every violation, and as many violations as fit in the
// 4096-byte termination message (most severe first), with the number left out.
import { clip, fitOutputs } from '../common/fit-outputs.ts';
import type { RuleName, Violation } from './rules.ts';

export interface ComplianceOutputs {
  passed: boolean;
  counts: { critical: number; warning: number; info: number };
  summary: string;
  violations: Violation[];
}

/** At most this many violations are listed, whatever their size. */
export const MAX_LISTED = 30;

/** Passed = no critical and no warning violation; info violations are notes. */
export function complianceOutputs(
  violations: readonly Violation[],
  rules: readonly RuleName[],
  repo: string,
): ComplianceOutputs {
  const counts = {
    critical: violations.filter((v) => v.severity === 'critical').length,
    warning: violations.filter((v) => v.severity === 'warning').length,
    info: violations.filter((v) => v.severity === 'info').length,
  };
  const passed = counts.critical === 0 && counts.warning === 0;
  const listed = violations.slice(0, MAX_LISTED).map((v) => ({ ...v, message: clip(v.message, 200) }));
  const { outputs } = fitOutputs(
    { passed, counts, summary: '', violations: listed },
    ['violations'],
    (o, dropped) => {
      const omitted = violations.length - listed.length + dropped.violations;
      const summary =
        `${passed ? 'passed' : 'failed'}: ${counts.critical} critical, ${counts.warning} warning, ${counts.info} info ` +
        `violation(s) of ${rules.join(', ')} in ${repo}` +
        (omitted > 0 ? `; ${omitted} not listed (outputs are limited to 4096 bytes)` : '');
      return { ...o, summary: clip(summary, 400) };
    },
  );
  return outputs;
}
