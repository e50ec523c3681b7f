// The code-reviewer agent (examples/agents/code-reviewer.yaml): SDK wiring only; see run.ts, review.ts and
// heuristics.ts.
import { defineAgent, runAgent } from '../../sdk/typescript/src/index.ts';
import type { ReviewerOutputs } from './review.ts';
import { runReviewer, type ReviewerInputs } from './run.ts';
import { inputsSchema, outputsSchema } from './schemas.ts';

await runAgent(
  defineAgent<ReviewerInputs, ReviewerOutputs>({
    name: 'code-reviewer',
    inputsSchema,
    outputsSchema,
    run: runReviewer,
  }),
);
