// Checks inputs and outputs against the Agent's JSON Schemas with ajv, the way the operator reads
// them (docs/agent-authors.md#writing-inputsschema-and-outputsschema): draft 2020-12 unless `$schema`
// names draft-07, formats checked. Differences: `pattern` runs on JavaScript's RegExp here (the
// operator uses RE2, so a pattern RE2 refuses is only caught by the operator), and the check is the
// agent's own early one; the operator checks again and its answer is the one that counts.
// Messages name the field by JSON pointer and never quote the data.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { safePointer, SENSITIVE_KEYWORD } from './sensitive.ts';
import type { JsonSchema } from './types.ts';

const DRAFT_2020 = 'https://json-schema.org/draft/2020-12/schema';
const DRAFT_07 = 'http://json-schema.org/draft-07/schema';

/** One problem: where (a JSON pointer into the checked value, '' for the whole value) and what. */
export interface SchemaProblem {
  readonly pointer: string;
  readonly message: string;
}

export type SchemaCheck = (value: unknown) => readonly SchemaProblem[];

const addFormats = addFormatsModule.default;
const OPTIONS = { strict: false, allErrors: true } as const;

function withPaddockKeywords<T extends Ajv | Ajv2020>(ajv: T): T {
  ajv.addKeyword({ keyword: SENSITIVE_KEYWORD, schemaType: 'boolean' });
  addFormats(ajv);
  return ajv;
}

let ajv2020: Ajv2020 | undefined;
let ajv07: Ajv | undefined;

function ajvFor(schema: JsonSchema): Ajv | Ajv2020 {
  const declared = schema['$schema'];
  const normalized =
    typeof declared === 'string' ? declared.replace(/#$/, '').replace(/^https:/, 'http:') : undefined;
  if (normalized === DRAFT_07) return (ajv07 ??= withPaddockKeywords(new Ajv(OPTIONS)));
  if (declared === undefined || normalized === DRAFT_2020.replace(/^https:/, 'http:')) {
    return (ajv2020 ??= withPaddockKeywords(new Ajv2020(OPTIONS)));
  }
  throw new Error(`unsupported $schema ${JSON.stringify(declared)}: use ${DRAFT_2020} or ${DRAFT_07}#`);
}

function escapeSegment(s: string): string {
  return s.replaceAll('~', '~0').replaceAll('/', '~1');
}

function toProblem(e: ErrorObject, schema: JsonSchema): SchemaProblem {
  const params: Record<string, unknown> = e.params;
  let pointer = e.instancePath;
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'required' && typeof params['missingProperty'] === 'string') {
    pointer += `/${escapeSegment(params['missingProperty'])}`;
    message = 'is required';
  } else if (e.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') {
    pointer += `/${escapeSegment(params['additionalProperty'])}`;
    message = 'is not a known field';
  } else if (e.keyword === 'enum' && Array.isArray(params['allowedValues'])) {
    // The allowed values come from the schema, not from the data.
    message = `must be one of: ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return { pointer: safePointer(pointer, schema), message };
}

/** Compiles a schema into a check. Throws with a clear message when the schema itself is not valid. */
export function compileSchema(schema: JsonSchema, what: string): SchemaCheck {
  const ajv = ajvFor(schema);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    throw new Error(
      `${what} is not a valid JSON Schema: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return (value) => {
    if (validate(value)) return [];
    const seen = new Set<string>();
    const out: SchemaProblem[] = [];
    for (const e of validate.errors ?? []) {
      const p = toProblem(e, schema);
      const key = `${p.pointer}\u0000${p.message}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(p);
      }
    }
    return out;
  };
}

/** "at /a/b: is required; at /c: must be integer" (at most `max` problems, then "and N more"). */
export function describeProblems(problems: readonly SchemaProblem[], max = 3): string {
  const shown = problems.slice(0, max).map((p) => `at ${p.pointer || '/'}: ${p.message}`);
  const more = problems.length > max ? `; and ${problems.length - max} more` : '';
  return shown.join('; ') + more;
}
