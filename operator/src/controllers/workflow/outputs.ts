// A step's outputs: the JSON object the agent wrote to its termination message,
// validated against the Agent's outputsSchema. Messages never quote the outputs: they
// may carry sensitive values (docs/security.md). Pure.
import type { JsonSchemaObject } from '../../api/generated/index.ts';
import { compileUserSchema, safeErrorPath } from '../../api/schemas.ts';
// The most a kubelet keeps of a termination message: it cuts a larger file to this.
import { MAX_OUTPUTS_BYTES } from './cel-estimate.ts';
import type { Agent } from '../../api/generated/index.ts';
import { redact, sensitivePaths } from '../../api/schemas.ts';

export type OutputsResult =
  | { ok: true; outputs: Record<string, unknown> }
  | { ok: false; reason: 'OutputNotJSON' | 'OutputTooLarge' | 'OutputSchemaInvalid'; message: string };

export function parseOutputs(
  message: string | undefined,
  schema: JsonSchemaObject | undefined,
): OutputsResult {
  const text = (message ?? '').trim();
  let value: unknown = {};
  if (text !== '') {
    try {
      value = JSON.parse(text);
    } catch {
      const bytes = Buffer.byteLength(message ?? '', 'utf8');
      if (bytes >= MAX_OUTPUTS_BYTES)
        return {
          ok: false,
          reason: 'OutputTooLarge',
          message: `the termination message is ${bytes} bytes, the kubelet's limit, and not JSON: the agent wrote more than ${MAX_OUTPUTS_BYTES} bytes of outputs and the kubelet cut them`,
        };
      return {
        ok: false,
        reason: 'OutputNotJSON',
        // Never quote it: it may hold sensitive values, or be a JSON object cut short at the
        // kubelet's 4096-byte limit.
        message: `the termination message is not JSON (${Buffer.byteLength(text, 'utf8')} bytes; messages are cut at 4096 bytes)`,
      };
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, reason: 'OutputNotJSON', message: 'the termination message must be a JSON object' };
  }
  if (schema) {
    const compiled = compileUserSchema(schema);
    if (!compiled.ok)
      return { ok: false, reason: 'OutputSchemaInvalid', message: `outputsSchema: ${compiled.error}` };
    const res = compiled.validate(value);
    if (!res.ok) {
      const first = res.errors[0]!;
      return {
        ok: false,
        reason: 'OutputSchemaInvalid',
        message: `outputs do not match the Agent's outputsSchema at ${safeErrorPath(first.path, schema) || '/'}: ${first.message}`,
      };
    }
  }
  return { ok: true, outputs: value as Record<string, unknown> };
}

/** A failed attempt's termination message, shown in status and Events: sensitive outputs redacted. */
export function redactMessage(message: string, agent: Agent | undefined): string {
  const schema = agent?.spec.outputsSchema;
  if (!schema || sensitivePaths(schema).length === 0) return message;
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    // Not JSON (perhaps cut at the 4096-byte limit): nothing tells which part is sensitive.
    return `(termination message withheld: not JSON, and Agent "${agent?.metadata.name ?? ''}" marks outputs sensitive)`;
  }
  return parsed !== null && typeof parsed === 'object'
    ? JSON.stringify(redact(parsed, schema))
    : `(termination message withheld: not a JSON object, and Agent "${agent?.metadata.name ?? ''}" marks outputs sensitive)`;
}
