// Reads the step's inputs (docs/agent-authors.md#inputs): the JSON in $PADDOCK_INPUTS, else the file
// named by $PADDOCK_INPUTS_FILE. Both hold the same bytes in a pod; the variable needs no file system.
// Error messages never quote the text: inputs may hold sensitive values, and JSON.parse's own message
// quotes the text around the mistake.
import { readFileSync } from 'node:fs';
import { ENV_INPUTS, ENV_INPUTS_FILE } from './contract.ts';

export type InputsResult =
  | { readonly ok: true; readonly value: unknown; readonly source: string }
  | { readonly ok: false; readonly message: string };

function parse(text: string, source: string): InputsResult {
  try {
    return { ok: true, value: JSON.parse(text) as unknown, source };
  } catch {
    return {
      ok: false,
      message: `${source} is not valid JSON (${Buffer.byteLength(text, 'utf8')} bytes; its content is not shown, it may hold sensitive values)`,
    };
  }
}

export function readInputs(env: NodeJS.ProcessEnv): InputsResult {
  const inline = env[ENV_INPUTS];
  if (inline !== undefined && inline.trim() !== '') return parse(inline, `$${ENV_INPUTS}`);
  const file = env[ENV_INPUTS_FILE];
  if (file === undefined || file === '') {
    return {
      ok: false,
      message: `no inputs: neither $${ENV_INPUTS} nor $${ENV_INPUTS_FILE} is set (Paddock sets both in the pod; locally, use the local runner)`,
    };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    return {
      ok: false,
      message: `no inputs: $${ENV_INPUTS} is not set and $${ENV_INPUTS_FILE} (${file}) cannot be read (${code})`,
    };
  }
  return parse(text, `$${ENV_INPUTS_FILE} (${file})`);
}
