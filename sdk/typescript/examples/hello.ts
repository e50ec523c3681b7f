// The smallest useful agent, used by docs/agent-authors.md#writing-an-agent-with-the-sdk. Run it without a cluster:
//   node sdk/typescript/src/local-runner.ts sdk/typescript/examples/hello.ts --inputs sdk/examples/hello-inputs.json
import { AgentFailure, defineAgent, runAgent } from '../src/index.ts';

interface Inputs {
  name: string;
  shout?: boolean;
  apiToken?: string;
}

interface Outputs {
  greeting: string;
  length: number;
}

const hello = defineAgent<Inputs, Outputs>({
  name: 'hello',
  inputsSchema: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
      shout: { type: 'boolean', default: false },
      apiToken: { type: 'string', 'x-paddock-sensitive': true },
    },
  },
  outputsSchema: {
    type: 'object',
    required: ['greeting', 'length'],
    properties: { greeting: { type: 'string', maxLength: 200 }, length: { type: 'integer', minimum: 0 } },
  },
  run(inputs, ctx) {
    // Logged as "[REDACTED]": apiToken is marked sensitive.
    ctx.log.info('greeting', { name: inputs.name, apiToken: inputs.apiToken });
    if (inputs.name === 'nobody') throw new AgentFailure('there is nobody to greet');
    const greeting = `Hello, ${inputs.name}!`;
    const text = (inputs.shout ?? false) ? greeting.toUpperCase() : greeting; // schema defaults are applied in code
    return Promise.resolve({ greeting: text, length: text.length });
  },
});

await runAgent(hello);
