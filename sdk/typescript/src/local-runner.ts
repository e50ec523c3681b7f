// Runs an agent without a cluster (docs/agent-authors.md#the-local-runner):
//
//   node sdk/typescript/src/local-runner.ts <agent main.ts> --inputs <file> [--outputs <file>] [--env K=V]...
//        [--workflow NAME] [--step NAME] [--attempt N]
//
// The agent runs as a child process of the same Node with the environment a pod gives it: the
// PADDOCK_* variables, HOME and TMPDIR in a fresh temporary folder, PATH, and the --env values; nothing
// else of the caller's environment. Afterwards it prints the outputs (stdout) or the failure reason
// (stderr), and exits with the agent's exit code.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ENV_ATTEMPT,
  ENV_INPUTS,
  ENV_INPUTS_FILE,
  ENV_OUTPUTS_FILE,
  ENV_STEP,
  ENV_WORKFLOW,
  MAX_OUTPUTS_BYTES,
} from './contract.ts';

const USAGE =
  'usage: node sdk/typescript/src/local-runner.ts <agent main.ts> --inputs <file> [--outputs <file>] [--env K=V]... [--workflow NAME] [--step NAME] [--attempt N]';

/** Exit code of the runner itself when it cannot start the agent (bad command line, unreadable inputs). */
const RUNNER_USAGE_ERROR = 64;

class UsageError extends Error {}

export interface RunnerOptions {
  readonly agent: string;
  readonly inputsFile: string;
  readonly outputsFile: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly workflow: string;
  readonly step: string;
  readonly attempt: number;
}

/** The runner's command line, or a UsageError that says what is wrong. Pure. */
export function parseRunnerArgs(argv: readonly string[]): RunnerOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        inputs: { type: 'string' },
        outputs: { type: 'string' },
        env: { type: 'string', multiple: true },
        workflow: { type: 'string' },
        step: { type: 'string' },
        attempt: { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`, { cause: err });
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError(`expected one agent entry file\n${USAGE}`);
  if (values.inputs === undefined) throw new UsageError(`--inputs <file> is required\n${USAGE}`);
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env ${JSON.stringify(pair)}: expected NAME=value`);
    const name = pair.slice(0, eq);
    if (name.startsWith('PADDOCK_')) {
      throw new UsageError(
        `--env ${name}: names starting with PADDOCK_ are set by Paddock (and refused in an Agent)`,
      );
    }
    env[name] = pair.slice(eq + 1);
  }
  const attempt = values.attempt === undefined ? 1 : Number(values.attempt);
  if (!Number.isInteger(attempt) || attempt < 1)
    throw new UsageError('--attempt: expected a whole number >= 1');
  return {
    agent: positionals[0]!,
    inputsFile: values.inputs,
    outputsFile: values.outputs,
    env,
    workflow: values.workflow ?? 'local',
    step: values.step ?? 'local',
    attempt,
  };
}

/** Exit code of a child that ended by a signal, as a shell reports it (128 + signal number). */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

async function main(argv: readonly string[]): Promise<number> {
  const opts = parseRunnerArgs(argv);
  const agent = resolve(opts.agent);
  if (!existsSync(agent)) throw new UsageError(`agent entry file ${opts.agent} does not exist`);
  let inputsText: string;
  try {
    inputsText = readFileSync(opts.inputsFile, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--inputs ${opts.inputsFile}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      { cause: err },
    );
  }
  let inputs: unknown;
  try {
    inputs = JSON.parse(inputsText);
  } catch {
    throw new UsageError(`--inputs ${opts.inputsFile}: not valid JSON`);
  }

  const work = mkdtempSync(join(tmpdir(), 'paddock-agent-'));
  try {
    // As in a pod: the same compact JSON in the variable and the file (operator/src/controllers/sandbox/pod.ts).
    const inputsJson = JSON.stringify(inputs);
    const inputsPath = join(work, 'inputs.json');
    writeFileSync(inputsPath, inputsJson);
    const outputsPath =
      opts.outputsFile === undefined ? join(work, 'termination-log') : resolve(opts.outputsFile);
    writeFileSync(outputsPath, '');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: work,
      TMPDIR: work,
      ...opts.env,
      [ENV_INPUTS]: inputsJson,
      [ENV_INPUTS_FILE]: inputsPath,
      [ENV_OUTPUTS_FILE]: outputsPath,
      [ENV_WORKFLOW]: opts.workflow,
      [ENV_STEP]: opts.step,
      [ENV_ATTEMPT]: String(opts.attempt),
    };
    const child = spawn(process.execPath, [agent], { env, stdio: 'inherit', cwd: process.cwd() });
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const exitCode = await new Promise<number>((done, failed) => {
      child.once('error', failed);
      child.once('exit', (code, signal) => done(code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 0) : 0)));
    });
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);

    const written = readFileSync(outputsPath, 'utf8');
    const bytes = Buffer.byteLength(written, 'utf8');
    if (exitCode === 0) {
      process.stdout.write(`${written.trim() === '' ? '{}' : written}\n`);
      process.stderr.write(
        `agent exited 0; outputs: ${bytes} bytes${opts.outputsFile ? ` in ${opts.outputsFile}` : ''}\n`,
      );
    } else {
      process.stderr.write(`agent exited ${exitCode}: ${written.trim() || '(no reason written)'}\n`);
    }
    if (bytes > MAX_OUTPUTS_BYTES) {
      // For agents that do not use the SDK: in a pod the kubelet would keep only the last 4096 bytes.
      process.stderr.write(
        `warning: the outputs file has ${bytes} bytes; a pod keeps only the last ${MAX_OUTPUTS_BYTES}\n`,
      );
    }
    return exitCode;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`local-runner: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(err instanceof UsageError ? RUNNER_USAGE_ERROR : 1);
    },
  );
}
