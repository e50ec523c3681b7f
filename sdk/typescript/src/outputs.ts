// Writes the termination message (docs/agent-authors.md#outputs): the outputs as compact JSON, or a
// short reason on failure. Sizes are checked in UTF-8 bytes before anything is written, because the
// kubelet keeps only the last 4096 bytes of a larger file and the cut JSON no longer parses.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { MAX_OUTPUTS_BYTES, MAX_REASON_CHARS } from './contract.ts';

export type SerializedOutputs =
  | {
      readonly ok: true;
      readonly text: string;
      readonly value: Record<string, unknown>;
      readonly bytes: number;
    }
  | { readonly ok: false; readonly message: string };

/**
 * The outputs as the operator will read them: compact JSON of an object (its size is checked apart).
 * `value` is the JSON round trip (what the schema must be checked against: undefined fields dropped,
 * Dates as strings). `undefined` (an agent that returns nothing) is `{}`.
 */
export function serializeOutputs(outputs: unknown): SerializedOutputs {
  let text: string | undefined;
  try {
    text = outputs === undefined ? '{}' : JSON.stringify(outputs);
  } catch (err) {
    return {
      ok: false,
      message: `outputs cannot be turned into JSON: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  if (text === undefined) return { ok: false, message: 'outputs must be a JSON object' };
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      message: `outputs must be a JSON object, not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`,
    };
  }
  return { ok: true, text, value: value as Record<string, unknown>, bytes: Buffer.byteLength(text, 'utf8') };
}

/** Why outputs of `bytes` UTF-8 bytes cannot be written, or undefined when they fit (exactly the limit fits). */
export function outputsSizeProblem(bytes: number): string | undefined {
  if (bytes <= MAX_OUTPUTS_BYTES) return undefined;
  return `outputs are ${bytes} bytes of JSON, over the ${MAX_OUTPUTS_BYTES}-byte limit of the termination message (Kubernetes would cut them); return less, or a URL to the full result`;
}

/** One line, at most MAX_REASON_CHARS characters: what the operator shows of a failure message. */
export function shortReason(message: string): string {
  const line = message.replace(/\s+/g, ' ').trim() || 'the agent failed without a message';
  return line.length <= MAX_REASON_CHARS ? line : `${line.slice(0, MAX_REASON_CHARS - 1)}…`;
}

/**
 * Writes `text` as the whole content of `path`, synchronously, before the process exits. In a pod the
 * path is /dev/termination-log, a file the kubelet bind-mounts and reads only after the container has
 * exited; it cannot be replaced by a rename, so the content goes in with one truncating open and
 * complete writes (at most 4096 bytes: one write call in practice), then fsync.
 */
export function writeWholeFile(path: string, text: string): void {
  const data = Buffer.from(text, 'utf8');
  const fd = openSync(path, 'w');
  try {
    let offset = 0;
    while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
    try {
      fsyncSync(fd);
    } catch {
      // Some special files (a pipe, /dev/stdout) cannot be synced; the data is already written.
    }
  } finally {
    closeSync(fd);
  }
}
