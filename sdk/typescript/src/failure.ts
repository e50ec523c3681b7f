// The error an agent throws to fail on purpose with a message meant for people.

/**
 * Fails the attempt: the message becomes the step's reason (docs/agent-authors.md#exit-codes-and-failures),
 * shown in status and Events, so keep it short and never put a secret in it (known secret values are
 * scrubbed anyway). The exit code defaults to 1; any code from 1 to 125 may be given.
 */
export class AgentFailure extends Error {
  readonly exitCode: number;

  constructor(message: string, opts?: { exitCode?: number }) {
    super(message);
    this.name = 'AgentFailure';
    const code = opts?.exitCode;
    // 0 would claim success; above 125 collides with the shell's "killed by signal" codes.
    this.exitCode = code !== undefined && Number.isInteger(code) && code >= 1 && code <= 125 ? code : 1;
  }
}
