// The agent contract as the container sees it (docs/agent-authors.md#the-contract-in-one-table):
// where inputs come from, where outputs go, how big they may be, and what each exit code means.
// The operator sets these variables in every agent pod (operator/src/controllers/sandbox/pod.ts);
// the SDK reads them and nothing else from the operator, so it can be bundled on its own.

export const ENV_INPUTS = 'PADDOCK_INPUTS';
export const ENV_INPUTS_FILE = 'PADDOCK_INPUTS_FILE';
export const ENV_OUTPUTS_FILE = 'PADDOCK_OUTPUTS_FILE';
export const ENV_WORKFLOW = 'PADDOCK_WORKFLOW';
export const ENV_STEP = 'PADDOCK_STEP';
export const ENV_ATTEMPT = 'PADDOCK_ATTEMPT';
/** Log threshold: debug, info (default), warn or error. Set it in the Agent's spec.env. */
export const ENV_LOG_LEVEL = 'LOG_LEVEL';

/** Where the pod's termination message lives; used when PADDOCK_OUTPUTS_FILE is not set. */
export const DEFAULT_OUTPUTS_FILE = '/dev/termination-log';
/** The only writable place in an agent pod (an emptyDir of 256Mi; the root filesystem is read-only). */
export const DEFAULT_TMP_DIR = '/tmp';

/**
 * The largest termination message the kubelet keeps whole: it keeps only the last 4096 bytes of a
 * larger file, which then no longer parses (the attempt fails with OutputTooLarge).
 */
export const MAX_OUTPUTS_BYTES = 4096;

/** The operator shows the first 512 characters of a failure message (docs/agent-authors.md#exit-codes-and-failures). */
export const MAX_REASON_CHARS = 512;

/** What the SDK's exit codes mean. The operator treats every non-zero code alike (a failed attempt, retried). */
export const EXIT_CODES = {
  /** The agent returned outputs that were valid and written. */
  ok: 0,
  /** The agent threw (AgentFailure or any other error). */
  failed: 1,
  /** The inputs are missing, not JSON, or do not match inputsSchema; the agent did not run. */
  invalidInputs: 2,
  /** The outputs are not a JSON object or do not match outputsSchema; nothing was written as outputs. */
  invalidOutputs: 3,
  /** The outputs are larger than MAX_OUTPUTS_BYTES; nothing was written as outputs. */
  outputsTooLarge: 4,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];
