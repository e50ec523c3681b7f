// The compliance-checker agent (examples/agents/compliance-checker.yaml): SDK wiring only; see run.ts and rules.ts.
import { defineAgent, runAgent } from '../../sdk/typescript/src/index.ts';
import type { ComplianceOutputs } from './outputs.ts';
import { runComplianceChecker, type ComplianceInputs } from './run.ts';
import { inputsSchema, outputsSchema } from './schemas.ts';

await runAgent(
  defineAgent<ComplianceInputs, ComplianceOutputs>({
    name: 'compliance-checker',
    inputsSchema,
    outputsSchema,
    run: runComplianceChecker,
  }),
);
