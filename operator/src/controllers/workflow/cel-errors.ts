// Error messages of Workflow expressions that never quote a value. @bufbuild/cel's
// own messages may carry one ("field not found: <a key computed at run time>",
// "Cannot convert <the string> to a BigInt", "map key conflict: <key>"...), and
// these messages go to status, Events and logs, where sensitive values must never
// appear (docs/design.md). Known message shapes are rewritten to a fixed text that
// keeps only what the expression's own text says (field and function names written
// in the spec, type names); anything else becomes "evaluation error". Pure.

/** Why an expression failed, for the engine to use as a step failure reason. */
export type ExpressionFailureReason =
  | 'ParseError'
  | 'MissingReference'
  | 'TypeError'
  | 'EvaluationError'
  | 'CostLimitExceeded'
  | 'ResultTooLarge';

export interface ExpressionFailure {
  readonly reason: ExpressionFailureReason;
  /** Value-free: names from the expression's text, type names, the kind of problem. */
  readonly message: string;
}

// A CEL type name as @bufbuild/cel prints it: int, string, list, map, google.protobuf.Timestamp...
const TYPE_NAME = /^[A-Za-z_][A-Za-z0-9_.]{0,80}$/;

function typeList(s: string): boolean {
  // "(string, int)" inside the overload message; at most 8 arguments.
  const inner = s.trim();
  if (inner === '') return true;
  const parts = inner.split(',');
  return parts.length <= 8 && parts.every((p) => TYPE_NAME.test(p.trim()));
}

function afterPrefix(message: string, prefix: string): string | undefined {
  return message.startsWith(prefix) ? message.slice(prefix.length) : undefined;
}

/**
 * A value-free message for an error @bufbuild/cel returned while evaluating an
 * expression. `specNames` are the names written in the expression itself (field
 * names, identifiers, function names, string literals): only those may be quoted.
 */
export function describeEvaluationError(message: string, specNames: ReadonlySet<string>): ExpressionFailure {
  const fieldName = afterPrefix(message, 'field not found: ');
  if (fieldName !== undefined) {
    return {
      reason: 'MissingReference',
      message: specNames.has(fieldName)
        ? `field not found: ${fieldName}`
        : 'field not found (a key computed from a value)',
    };
  }
  if (message === 'unresolved attribute') {
    return { reason: 'MissingReference', message: 'unknown variable (the variables are inputs and steps)' };
  }
  if (/^index -?\d+ out of bounds/.test(message.slice(0, 64))) {
    return { reason: 'MissingReference', message: 'list index out of range' };
  }
  const undeclared = /^undeclared reference to '([^']{1,256})'/.exec(message.slice(0, 300));
  if (undeclared) {
    return {
      reason: 'MissingReference',
      message: specNames.has(undeclared[1]!)
        ? `undeclared reference to '${undeclared[1]!}'`
        : 'undeclared reference',
    };
  }
  const unbound = afterPrefix(message, 'unbound function: ');
  if (unbound !== undefined) {
    return {
      reason: 'TypeError',
      message: specNames.has(unbound) ? `unknown function ${unbound}` : 'unknown function',
    };
  }
  const mismatch = afterPrefix(message, 'type mismatch: ');
  if (mismatch !== undefined) {
    const m = /^(expected bool, got|iterable vs) (.*)$/.exec(mismatch.slice(0, 120));
    return {
      reason: 'TypeError',
      message: m && TYPE_NAME.test(m[2]!) ? `type mismatch: ${m[1]!} ${m[2]!}` : 'type mismatch',
    };
  }
  const overload = /^found no matching overload for '?([^' ]{1,64})'? applied to '(.{0,200})'$/.exec(
    message.slice(0, 300),
  );
  if (overload) {
    const [, fn, types] = overload;
    const typesOnly = /^(?:[A-Za-z_][A-Za-z0-9_.]*\.)?\((.*)\)$/.exec(types!);
    const fnOk = specNames.has(fn!) || /^[_@!?:<>=+\-*/%[\]&|]+$/.test(fn!);
    if (typesOnly && typeList(typesOnly[1]!) && fnOk) {
      return { reason: 'TypeError', message: `no overload of ${fn!} for argument types ${types!}` };
    }
    return { reason: 'TypeError', message: 'no function overload for these argument types' };
  }
  if (message.startsWith('found no matching overload')) {
    return { reason: 'TypeError', message: 'no function overload for these argument types' };
  }
  const arithmetic = /^(int|uint|double) (divide|modulus) by zero$/.exec(message);
  if (arithmetic)
    return { reason: 'EvaluationError', message: `${arithmetic[1]!} ${arithmetic[2]!} by zero` };
  const overflow = /^(int|uint) overflow during ([_+\-*/%]{1,5})$/.exec(message);
  if (overflow)
    return { reason: 'EvaluationError', message: `${overflow[1]!} overflow during ${overflow[2]!}` };
  if (message.startsWith('map key conflict'))
    return { reason: 'EvaluationError', message: 'map key conflict' };
  if (message === 'unsupported key type') return { reason: 'TypeError', message: 'unsupported map key type' };
  for (const [prefix, text] of CONVERSIONS) {
    if (message.startsWith(prefix)) return { reason: 'EvaluationError', message: text };
  }
  if (/^(timestamp|duration|int32|uint32) out of range$/.test(message)) {
    return { reason: 'EvaluationError', message };
  }
  if (message.startsWith('error parsing regexp')) {
    return {
      reason: 'EvaluationError',
      message: 'matches(): the pattern is not a valid RE2 regular expression',
    };
  }
  if (message.startsWith('Maximum call stack size exceeded')) {
    return { reason: 'EvaluationError', message: 'the expression is nested too deeply' };
  }
  return { reason: 'EvaluationError', message: 'evaluation error' };
}

/** Conversion failures: the library quotes the input; these texts say only what failed. */
const CONVERSIONS: readonly (readonly [string, string])[] = [
  ['Cannot convert ', 'conversion error: the value is not a valid number for int() or uint()'],
  ['Unable to convert string', 'conversion error: the string is not a valid bool'],
  ['Failed to parse timestamp', 'conversion error: the string is not a valid RFC 3339 timestamp'],
  ['Failed to parse duration', 'conversion error: the string is not a valid duration'],
  ['Failed to decode bytes as string', 'conversion error: the bytes are not valid UTF-8'],
  ['invalid argument to function', 'invalid argument to a function'],
  ['duration string exceeds', 'conversion error: the duration string is too long'],
];
