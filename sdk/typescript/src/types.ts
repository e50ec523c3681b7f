// The public types of the SDK (docs/agent-authors.md#writing-an-agent-with-the-sdk).

/** A JSON Schema as written in an Agent's inputsSchema / outputsSchema (2020-12, or draft-07 by `$schema`). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** Extra structured fields of one log line. */
export type LogFields = { readonly [name: string]: unknown };

/**
 * Structured logs: one JSON object per line on stderr (`kubectl logs`), never read as outputs.
 * Values at sensitive paths of the inputs and outputs, and the values of secret environment
 * variables, are replaced by "[REDACTED]" wherever they appear in a line.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface AgentContext {
  /** $PADDOCK_WORKFLOW: the Workflow's name ('local' in the local runner). */
  readonly workflow: string;
  /** $PADDOCK_STEP: the step's name. */
  readonly step: string;
  /** $PADDOCK_ATTEMPT: 1 for the first attempt. */
  readonly attempt: number;
  readonly log: Logger;
  /** '/tmp' in the pod (the only writable place); a fresh temporary folder in the local runner. */
  readonly tmpDir: string;
}

export interface AgentDefinition<I, O> {
  /** Shown in every log line. */
  readonly name: string;
  /** Checked before run(); a mismatch exits 2. `x-paddock-sensitive: true` properties are redacted. */
  readonly inputsSchema?: JsonSchema;
  /** Checked after run(), before writing; a mismatch exits 3. `x-paddock-sensitive` is honoured. */
  readonly outputsSchema?: JsonSchema;
  /**
   * Names of environment variables that hold secrets (the Agent's spec.secrets[].env): their values
   * are scrubbed from logs and failure messages. Variables whose names look secret (TOKEN, SECRET,
   * PASSWORD, KEY, CREDENTIAL, AUTH...) are scrubbed without being listed.
   */
  readonly secretEnv?: readonly string[];
  run(inputs: I, ctx: AgentContext): Promise<O>;
}
