// The Paddock agent SDK for TypeScript (docs/agent-authors.md#writing-an-agent-with-the-sdk).
//
//   import { defineAgent, runAgent, AgentFailure } from '../../sdk/typescript/src/index.ts';
//   const agent = defineAgent({ name: 'hello', inputsSchema, outputsSchema, async run(inputs, ctx) { ... } });
//   await runAgent(agent);
//
// runAgent reads and checks the inputs, calls run(), checks the outputs and writes them as the pod's
// termination message, then exits with one of EXIT_CODES. ESM, Node 24, no dynamic imports: agents
// are bundled into one file with esbuild.
import { executeAgent } from './run.ts';
import type { AgentDefinition } from './types.ts';

export { AgentFailure } from './failure.ts';
export { EXIT_CODES, MAX_OUTPUTS_BYTES, type ExitCode } from './contract.ts';
export { REDACTED } from './sensitive.ts';
export { executeAgent, SIGNAL_EXIT_CODES, type RunResult } from './run.ts';
export type { AgentContext, AgentDefinition, JsonSchema, LogFields, Logger } from './types.ts';

/** Returns `def` unchanged; it exists so TypeScript infers I and O from run() in one place. */
export function defineAgent<I, O>(def: AgentDefinition<I, O>): AgentDefinition<I, O> {
  return def;
}

/**
 * Runs the agent in this process with the pod's environment (default: process.env) and exits with
 * its exit code. Never returns.
 */
export async function runAgent<I, O>(
  def: AgentDefinition<I, O>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<never> {
  const result = await executeAgent(def, env, { exitOnSignal: (code) => process.exit(code) });
  // Log lines and the outputs file are written synchronously, so nothing is lost by exiting now; exiting
  // (rather than waiting for the event loop to drain) also stops timers or sockets run() left open.
  process.exit(result.exitCode);
}
