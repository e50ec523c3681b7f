// The patcher agent (examples/agents/patcher.yaml, ApprovalRequired): SDK wiring only; see run.ts, plan.ts and
// diff.ts.
import { defineAgent, runAgent } from '../../sdk/typescript/src/index.ts';
import { runPatcher, type PatcherInputs, type PatcherOutputs } from './run.ts';
import { inputsSchema, outputsSchema } from './schemas.ts';

await runAgent(
  defineAgent<PatcherInputs, PatcherOutputs>({
    name: 'patcher',
    inputsSchema,
    outputsSchema,
    run: runPatcher,
  }),
);
