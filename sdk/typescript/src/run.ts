// One run of an agent, from the environment to an exit code (docs/agent-authors.md#writing-an-agent-with-the-sdk):
// read and check the inputs, call run(), check the outputs, write the termination message. It returns
// instead of exiting, so tests and the local runner can call it; runAgent() in index.ts exits.
import {
  DEFAULT_OUTPUTS_FILE,
  DEFAULT_TMP_DIR,
  ENV_ATTEMPT,
  ENV_OUTPUTS_FILE,
  ENV_STEP,
  ENV_WORKFLOW,
  EXIT_CODES,
} from './contract.ts';
import { AgentFailure } from './failure.ts';
import { readInputs } from './inputs.ts';
import { createLogger, logLevelFrom } from './logger.ts';
import { outputsSizeProblem, serializeOutputs, shortReason, writeWholeFile } from './outputs.ts';
import { compileSchema, describeProblems } from './schema.ts';
import { Scrubber, secretEnvValues, sensitiveStrings } from './sensitive.ts';
import type { AgentContext, AgentDefinition } from './types.ts';

export interface RunResult {
  readonly exitCode: number;
  /** What was written to the outputs file: the outputs' JSON (exit 0) or the short reason. */
  readonly written: string;
  /** The outputs file, or undefined if it could not be written (the reason is then in the logs). */
  readonly outputsFile: string | undefined;
}

export interface RunIo {
  /** Where log lines go (default: process.stderr). */
  readonly writeLog?: (line: string) => void;
  /**
   * Stop on SIGTERM and SIGINT with a reason in the outputs file and exit 128 + the signal's number
   * (runAgent sets it). An agent is its container's PID 1, and the kernel delivers no signal to PID 1 that
   * it does not handle: without this, deleting, cancelling or timing out its pod would wait out the whole
   * termination grace period and then kill it with nothing said.
   */
  readonly exitOnSignal?: (exitCode: number) => void;
}

/** Exit codes of an agent stopped by a signal, as a shell reports them (docs/agent-authors.md#exit-codes-and-failures). */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

function describeError(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return typeof err === 'string' ? err : 'a non-Error value was thrown';
}

export async function executeAgent<I, O>(
  def: AgentDefinition<I, O>,
  env: NodeJS.ProcessEnv,
  io: RunIo = {},
): Promise<RunResult> {
  const scrubber = new Scrubber();
  scrubber.add(secretEnvValues(env, def.secretEnv));
  const workflow = env[ENV_WORKFLOW] || 'local';
  const step = env[ENV_STEP] || 'local';
  const attemptNumber = Number(env[ENV_ATTEMPT]);
  const attempt = Number.isInteger(attemptNumber) && attemptNumber >= 1 ? attemptNumber : 1;
  const writeLog = io.writeLog ?? ((line: string) => void process.stderr.write(line));
  const log = createLogger(
    writeLog,
    scrubber,
    { agent: def.name, workflow, step, attempt },
    logLevelFrom(env),
  );
  const outputsFile = env[ENV_OUTPUTS_FILE] || DEFAULT_OUTPUTS_FILE;

  const finish = (exitCode: number, content: string): RunResult => {
    try {
      writeWholeFile(outputsFile, content);
      return { exitCode, written: content, outputsFile };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? describeError(err);
      log.error(`cannot write the outputs file ${outputsFile} (${code})`);
      // Outputs that were not written are a failure, whatever run() returned.
      return {
        exitCode: exitCode === EXIT_CODES.ok ? EXIT_CODES.failed : exitCode,
        written: '',
        outputsFile: undefined,
      };
    }
  };
  const fail = (exitCode: number, message: string): RunResult => {
    // Scrubbed before cutting, so that a cut cannot leave part of a secret behind.
    const reason = shortReason(scrubber.text(message));
    log.error(reason, { exitCode });
    return finish(exitCode, reason);
  };

  const exitOnSignal = io.exitOnSignal;
  if (exitOnSignal) {
    let stopping = false;
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      // `on`, not `once`: a second signal while the first is handled must not kill with nothing written.
      process.on(signal, () => {
        if (stopping) return;
        stopping = true;
        const result = fail(
          SIGNAL_EXIT_CODES[signal],
          `stopped by ${signal} before it finished (the pod was deleted, cancelled or timed out)`,
        );
        exitOnSignal(result.exitCode);
      });
    }
  }

  let checkInputs, checkOutputs;
  try {
    checkInputs = def.inputsSchema ? compileSchema(def.inputsSchema, 'inputsSchema') : undefined;
    checkOutputs = def.outputsSchema ? compileSchema(def.outputsSchema, 'outputsSchema') : undefined;
  } catch (err) {
    return fail(EXIT_CODES.failed, `agent ${def.name}: ${describeError(err)}`);
  }

  const inputs = readInputs(env);
  if (!inputs.ok) return fail(EXIT_CODES.invalidInputs, inputs.message);
  if (def.inputsSchema) scrubber.add(sensitiveStrings(inputs.value, def.inputsSchema));
  const inputProblems = checkInputs?.(inputs.value) ?? [];
  if (inputProblems.length > 0) {
    return fail(
      EXIT_CODES.invalidInputs,
      `inputs do not match inputsSchema ${describeProblems(inputProblems)}`,
    );
  }

  const ctx: AgentContext = { workflow, step, attempt, log, tmpDir: env['TMPDIR'] || DEFAULT_TMP_DIR };
  log.debug('inputs read', { source: inputs.source });
  let outputs: O;
  // In a process of its own (runAgent): if the event loop empties while run() has not settled, nothing can
  // settle it any more (a callback that is never called). Node would exit 13 saying nothing; say why instead.
  const onDrained = (): void => {
    exitOnSignal?.(
      fail(
        EXIT_CODES.failed,
        'run() never finished: its promise was still pending when nothing was left to wait for (a callback that is never called?)',
      ).exitCode,
    );
  };
  if (exitOnSignal) process.once('beforeExit', onDrained);
  try {
    outputs = await def.run(inputs.value as I, ctx);
  } catch (err) {
    if (err instanceof AgentFailure) return fail(err.exitCode, err.message);
    return fail(
      EXIT_CODES.failed,
      `uncaught ${err instanceof Error ? err.name : 'error'}: ${describeError(err)}`,
    );
  } finally {
    process.off('beforeExit', onDrained);
  }

  // Checked in this order: a JSON object, the schema, then the size (the whole text as it would be written).
  const serialized = serializeOutputs(outputs);
  if (!serialized.ok) return fail(EXIT_CODES.invalidOutputs, serialized.message);
  if (def.outputsSchema) scrubber.add(sensitiveStrings(serialized.value, def.outputsSchema));
  const outputProblems = checkOutputs?.(serialized.value) ?? [];
  if (outputProblems.length > 0) {
    return fail(
      EXIT_CODES.invalidOutputs,
      `outputs do not match outputsSchema ${describeProblems(outputProblems)}`,
    );
  }
  const tooLarge = outputsSizeProblem(serialized.bytes);
  if (tooLarge) return fail(EXIT_CODES.outputsTooLarge, tooLarge);
  const result = finish(EXIT_CODES.ok, serialized.text);
  if (result.exitCode === EXIT_CODES.ok) log.info('outputs written', { bytes: serialized.bytes });
  return result;
}
