// The compliance checker's run: clone, read, check (pure), shape the outputs (pure).
import type { AgentContext } from '../../sdk/typescript/src/index.ts';
import { locate, openRepository } from '../common/run-support.ts';
import { complianceOutputs, type ComplianceOutputs } from './outputs.ts';
import { checkCompliance, RULES, type RuleName } from './rules.ts';

export interface ComplianceInputs {
  readonly repositoryPath: string;
  readonly rules?: readonly RuleName[];
}

export async function runComplianceChecker(
  inputs: ComplianceInputs,
  ctx: AgentContext,
): Promise<ComplianceOutputs> {
  const location = locate(inputs.repositoryPath);
  const rules = inputs.rules ?? RULES;
  const workspace = await openRepository(location, ctx);
  try {
    const violations = checkCompliance(workspace.files, rules);
    ctx.log.info('checked', { rules: [...rules], violations: violations.length });
    const ref = location.ref === undefined ? '' : `#${location.ref}`;
    return complianceOutputs(violations, rules, `${location.display}${ref}`);
  } finally {
    await workspace.dispose();
  }
}
