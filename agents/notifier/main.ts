// The notifier agent (examples/agents/notifier.yaml): SDK wiring only; see run.ts and notification.ts.
import { defineAgent, runAgent } from '../../sdk/typescript/src/index.ts';
import type { NotifierInputs } from './notification.ts';
import { runNotifier, type NotifierOutputs } from './run.ts';
import { inputsSchema, outputsSchema } from './schemas.ts';

await runAgent(
  defineAgent<NotifierInputs, NotifierOutputs>({
    name: 'notifier',
    inputsSchema,
    outputsSchema,
    // A webhook URL from a Secret often carries a token: keep it out of logs and failure messages.
    secretEnv: ['WEBHOOK_URL'],
    run: (inputs, ctx) => runNotifier(inputs, ctx),
  }),
);
